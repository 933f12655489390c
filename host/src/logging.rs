//! Where log lines go: stderr, as text for a terminal or JSON for pods.
//! Every line passes through the run's [`Redactor`] on its way out,
//! whatever wrote it (a plugin, a driver's error, the host), and in text
//! form each field has its control characters escaped, so no message can
//! forge a line of its own.

use crate::caps::Redactor;
use crate::text::escape_controls;
use std::io::Write;
use std::sync::{Arc, Mutex, RwLock};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::{FormatFields, MakeWriter};

/// The secrets of the run, once its workflow is read.
static SECRETS: RwLock<Option<Arc<Redactor>>> = RwLock::new(None);
/// What `SECRETS` was built from, so more can be added.
static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Redacts these secrets from every log line from now on, besides those
/// given before: the workflow's own first, a plugin's declared secret keys
/// once it is loaded.
pub fn redact_secrets(more: impl IntoIterator<Item = String>) {
    let Ok(mut known) = KNOWN.lock() else { return };
    known.extend(more);
    known.sort();
    known.dedup();
    if let Ok(mut secrets) = SECRETS.write() {
        *secrets = Some(Arc::new(Redactor::new(known.iter().cloned())));
    }
}

/// Redacts the run's secrets from a text the host prints itself.
pub fn redact(text: &str) -> String {
    match SECRETS.read().ok().and_then(|s| s.clone()) {
        Some(redactor) => redactor.redact(text),
        None => text.to_string(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text { ansi: bool },
    Json,
}

/// Installs the subscriber; a second call does nothing.
pub fn init(format: Format, filter: EnvFilter) {
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(RedactingStderr);
    let _ = match format {
        Format::Json => builder.json().flatten_event(true).try_init(),
        Format::Text { ansi } => builder.with_target(false).with_ansi(ansi).fmt_fields(EscapedFields).try_init(),
    };
}

/// Text fields with their control characters escaped.
struct EscapedFields;

impl<'w> FormatFields<'w> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> std::fmt::Result {
        let mut text = String::new();
        DefaultFields::new().format_fields(Writer::new(&mut text), fields)?;
        writer.write_str(&escape_controls(&text))
    }
}

/// Makes one [`LineWriter`] per log line.
struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter { line: Vec::new() }
    }
}

/// Gathers one formatted line and writes it, redacted, when dropped.
pub struct LineWriter {
    line: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let redactor = SECRETS.read().ok().and_then(|s| s.clone());
        let clean = redactor.as_ref().and_then(|r| r.redact_bytes(&self.line));
        let _ = std::io::stderr().lock().write_all(clean.as_deref().unwrap_or(&self.line));
    }
}
