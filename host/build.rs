//! Compiles every connector under `plugins/` for wasm32-wasip2 and embeds
//! the components in the binary (see `src/plugins.rs`). Installs the
//! wasm32-wasip2 target with rustup when it is missing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().map(Path::to_path_buf).unwrap_or_else(|| manifest_dir.clone());
    let out_dir = PathBuf::from(env("OUT_DIR"));
    for watched in ["plugins", "sdk"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    ensure_target();
    // A target directory of its own: the outer cargo holds the lock on ours.
    let target_root = out_dir.ancestors().nth(4).map(Path::to_path_buf).unwrap_or_else(|| root.join("target"));
    let target_dir = target_root.join("plugins");
    let plugins_dir = root.join("plugins");
    let names = plugin_names(&plugins_dir);

    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(plugins_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for var in
        ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR", "RUSTC_WORKSPACE_WRAPPER"]
    {
        cargo.env_remove(var);
    }
    let output = cargo.output().unwrap_or_else(|e| panic!("cannot run cargo to build the plugins: {e}"));
    if !output.status.success() {
        panic!(
            "building the plugins under {} failed:\n{}",
            plugins_dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let mut table =
        String::from("/// Built-in plugins: (name, component bytes).\npub static BUILTIN: &[(&str, &[u8])] = &[\n");
    for name in &names {
        let built =
            target_dir.join(TARGET).join("release").join(format!("weir_plugin_{}.wasm", name.replace('-', "_")));
        let embedded = out_dir.join(format!("{name}.wasm"));
        std::fs::copy(&built, &embedded)
            .unwrap_or_else(|e| panic!("plugin {name}: cannot copy {}: {e}", built.display()));
        let _ = writeln!(table, "    ({name:?}, include_bytes!({:?})),", embedded.display().to_string());
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("builtin_plugins.rs"), table)
        .unwrap_or_else(|e| panic!("cannot write plugin table: {e}"));
}

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("cargo did not set {key}"))
}

/// Every `plugins/<name>/Cargo.toml`, sorted.
fn plugin_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// The standard library for wasm32-wasip2 must be installed.
fn ensure_target() {
    if target_installed() {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target with rustup");
    let added = Command::new("rustup").args(["target", "add", TARGET]).status();
    if !matches!(added, Ok(s) if s.success()) || !target_installed() {
        panic!("the {TARGET} target is not installed and could not be added; run: rustup target add {TARGET}");
    }
}

fn target_installed() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).args(["--print", "sysroot"]).output() else { return false };
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&sysroot).join("lib/rustlib").join(TARGET).join("lib").is_dir()
}
