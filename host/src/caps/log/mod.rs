//! Plugin log lines, into the host's `tracing` stream with the plugin's
//! name, redacted and bounded so a chatty plugin cannot flood the output.

use crate::caps::{Grants, Redactor};
use crate::contract::weir::connector::log::{Host, Level};
use std::sync::Arc;

/// Lines one instance may log before the rest are dropped.
const MAX_LINES: u32 = 10_000;
/// Longest message kept, in bytes; a field's value gets as much.
const MAX_MESSAGE: usize = 8 * 1024;
/// Longest field name kept, in bytes.
const MAX_KEY: usize = 64;
/// Fields kept per line.
const MAX_FIELDS: usize = 32;

/// One instance's logging: who it logs as, where its warnings go, and how
/// many lines it has used.
pub struct LogState {
    plugin: Arc<str>,
    redactor: Arc<Redactor>,
    warnings: Arc<PluginMessages>,
    /// The shard being processed, for log lines (`None` outside `process`).
    shard: Option<Arc<str>>,
    lines: u32,
}

impl LogState {
    pub fn new(grants: &Grants) -> Self {
        LogState {
            plugin: grants.plugin.clone(),
            redactor: grants.redactor.clone(),
            warnings: grants.warnings.clone(),
            shard: None,
            lines: 0,
        }
    }

    /// Names the shard later lines belong to.
    pub fn set_shard(&mut self, shard: Option<Arc<str>>) {
        self.shard = shard;
    }
}

/// Warnings and errors a plugin logged during a run, kept for its report.
#[derive(Default)]
pub struct PluginMessages {
    lines: std::sync::Mutex<Vec<String>>,
}

/// Lines kept for the report, and how much of each; the log stream has
/// them all, whole.
const MAX_COLLECTED: usize = 200;
const MAX_COLLECTED_LINE: usize = 2 * 1024;

impl PluginMessages {
    fn push(&self, line: &str) {
        if let Ok(mut lines) = self.lines.lock()
            && lines.len() < MAX_COLLECTED
        {
            lines.push(truncate(line, MAX_COLLECTED_LINE).to_string());
        }
    }

    /// Takes what was collected so far.
    pub fn take(&self) -> Vec<String> {
        self.lines.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }
}

impl Host for LogState {
    async fn log(&mut self, level: Level, message: String, fields: Vec<(String, String)>) -> wasmtime::Result<()> {
        let state = self;
        state.lines = state.lines.saturating_add(1);
        let plugin = &state.plugin;
        if state.lines == MAX_LINES + 1 {
            tracing::warn!(plugin = %plugin, "plugin logged {MAX_LINES} lines; dropping the rest");
        }
        if state.lines > MAX_LINES {
            return Ok(());
        }
        // What a line may hold is bounded here: the strings the plugin
        // passed are freed when this call returns, whatever their size.
        let redactor = &state.redactor;
        let mut text = redactor.redact(truncate(&message, MAX_MESSAGE));
        for (key, value) in fields.iter().take(MAX_FIELDS) {
            let value = redactor.redact(truncate(value, MAX_MESSAGE));
            text.push_str(&format!(" {}={value}", redactor.redact(truncate(key, MAX_KEY))));
        }
        if fields.len() > MAX_FIELDS {
            text.push_str(&format!(" (and {} more fields)", fields.len() - MAX_FIELDS));
        }
        if matches!(level, Level::Warn | Level::Error) {
            state.warnings.push(&format!("{plugin}: {text}"));
        }
        let shard = state.shard.as_deref().unwrap_or("-");
        match level {
            Level::Trace => tracing::trace!(plugin = %plugin, shard, "{text}"),
            Level::Debug => tracing::debug!(plugin = %plugin, shard, "{text}"),
            Level::Info => tracing::info!(plugin = %plugin, shard, "{text}"),
            Level::Warn => tracing::warn!(plugin = %plugin, shard, "{text}"),
            Level::Error => tracing::error!(plugin = %plugin, shard, "{text}"),
        }
        Ok(())
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
