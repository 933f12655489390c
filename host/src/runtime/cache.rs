//! Compiled plugins on disk, so a second run does not compile again.
//!
//! An entry is keyed by the engine's compatibility hash (wasmtime version,
//! target, settings) and the plugin's SHA-256, so a changed plugin or a new
//! weir binary never loads stale code. Entries are written to a temporary
//! file and renamed, so a crash never leaves a half-written entry.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where a loaded component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOutcome {
    /// Compiled now (and stored, when a cache directory is set).
    Compiled,
    /// Loaded from the cache without compiling.
    Cached,
}

pub struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    /// `dir` = `None` turns caching off.
    pub fn new(dir: Option<PathBuf>) -> Self {
        CompileCache { dir }
    }

    /// `$WEIR_CACHE_DIR`, else `$XDG_CACHE_HOME/weir`, else `~/.cache/weir`.
    pub fn default_dir() -> Option<PathBuf> {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        env("WEIR_CACHE_DIR")
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("weir")))
            .or_else(|| env("HOME").map(|d| d.join(".cache").join("weir")))
    }

    /// Loads `wasm` as a component, from the cache when possible.
    pub fn load(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<(Component, LoadOutcome)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::new(engine, wasm)?, LoadOutcome::Compiled));
        };
        let entry = dir.join(format!("{}.cwasm", cache_key(engine, wasm)));
        if let Ok(bytes) = std::fs::read(&entry) {
            // SAFETY: the file is one this function wrote, named by the hash
            // of the engine and of the plugin bytes. `deserialize` also
            // checks the engine compatibility header before using it.
            match unsafe { Component::deserialize(engine, &bytes) } {
                Ok(component) => return Ok((component, LoadOutcome::Cached)),
                Err(err) => {
                    tracing::debug!(error = %err, path = %entry.display(), "stale compile cache entry; recompiling")
                }
            }
        }
        let compiled = engine.precompile_component(wasm)?;
        if let Err(err) = store_entry(dir, &entry, &compiled) {
            tracing::debug!(error = %err, dir = %dir.display(), "could not write the compile cache");
        }
        // SAFETY: `compiled` was produced by this engine a moment ago.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, LoadOutcome::Compiled))
    }
}

fn store_entry(dir: &Path, entry: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = entry.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, entry)
}

/// Feeds `Hash` output into SHA-256, so the engine's compatibility hash can
/// be part of a stable file name.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.update(Sha256::digest(wasm));
    hex(&hasher.0.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
