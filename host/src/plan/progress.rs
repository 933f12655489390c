//! Progress on a terminal: what discovery found, how much has been
//! processed (with rate and ETA) and how much written. Hidden when stderr
//! is not a terminal or the user asked for quiet.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    multi: MultiProgress,
    discovered: ProgressBar,
    processed: ProgressBar,
    written: ProgressBar,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let multi = MultiProgress::with_draw_target(target);
        let discovered = multi.add(ProgressBar::new_spinner());
        style(&discovered, "{spinner} {prefix:>10} {pos} {msg}");
        discovered.set_prefix("discovered");
        let processed = multi.add(ProgressBar::new(0));
        style(&processed, "  {prefix:>10} [{bar:40}] {pos}/{len} {per_sec} eta {eta} {msg}");
        processed.set_prefix("processed");
        let written = multi.add(ProgressBar::new(0));
        style(&written, "  {prefix:>10} {pos} {per_sec}");
        written.set_prefix("written");
        Progress { multi, discovered, processed, written }
    }

    /// Discovery of `kind` begins.
    pub fn discovering(&self, kind: &str) {
        self.discovered.set_message(format!("(listing {kind}s)"));
        // Discovery is one long call per kind: keep the spinner alive.
        self.discovered.enable_steady_tick(std::time::Duration::from_millis(120));
    }

    pub fn found(&self, count: usize) {
        self.discovered.inc(count as u64);
    }

    /// Discovery is over; `total` refs are planned into `shards` shards.
    pub fn planned(&self, total: usize, shards: usize) {
        self.discovered.finish_with_message(format!("({shards} shards)"));
        self.processed.set_length(total as u64);
    }

    /// Work on `kind` begins.
    pub fn processing(&self, kind: &str) {
        self.processed.set_message(kind.to_string());
    }

    pub fn processed(&self, count: usize) {
        self.processed.inc(count as u64);
    }

    pub fn written(&self, count: usize) {
        self.written.inc(count as u64);
    }

    pub fn finish(&self) {
        for bar in [&self.discovered, &self.processed, &self.written] {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

fn style(bar: &ProgressBar, template: &str) {
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
}
