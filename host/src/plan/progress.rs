//! Progress: what discovery found, how much has been processed (with rate
//! and ETA) and how much written. Bars on a terminal; where there is none
//! (a pod, whose log `kubectl logs -f` follows) a log line every few
//! seconds instead; nothing when the user asked for quiet.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// How a run shows where it stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProgressView {
    #[default]
    Hidden,
    /// Bars on stderr, a terminal.
    Bars,
    /// A `progress` log line (target `weir::progress`) every
    /// [`line_interval`]: refs done of total, rate, written.
    Lines,
}

/// The time between two progress lines: `WEIR_PROGRESS_SECS`, else 5 s.
pub fn line_interval() -> Duration {
    let secs = std::env::var("WEIR_PROGRESS_SECS").ok().and_then(|s| s.parse::<f64>().ok());
    Duration::from_secs_f64(secs.filter(|s| s.is_finite() && *s >= 0.1).unwrap_or(5.0))
}

pub struct Progress {
    multi: MultiProgress,
    discovered: ProgressBar,
    processed: ProgressBar,
    written: ProgressBar,
    /// The task that writes progress lines, for [`ProgressView::Lines`].
    lines: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub fn new(view: ProgressView) -> Progress {
        let target =
            if view == ProgressView::Bars { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
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
        let lines = (view == ProgressView::Lines).then(|| {
            let (processed, written) = (processed.clone(), written.clone());
            tokio::spawn(write_lines(processed, written, line_interval()))
        });
        Progress { multi, discovered, processed, written, lines }
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
        if let Some(lines) = &self.lines {
            lines.abort();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(lines) = &self.lines {
            lines.abort();
        }
    }
}

/// A line every `every` while there is work planned and not all done: the
/// refs done of the total, the rate since the last line, what is being
/// processed, and how much the sink has written.
async fn write_lines(processed: ProgressBar, written: ProgressBar, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut last = (0u64, std::time::Instant::now());
    loop {
        tick.tick().await;
        let (done, total) = (processed.position(), processed.length().unwrap_or(0));
        if total == 0 {
            continue;
        }
        let secs = last.1.elapsed().as_secs_f64().max(1e-3);
        let rate = (done.saturating_sub(last.0)) as f64 / secs;
        last = (done, std::time::Instant::now());
        let eta = (rate > 0.0).then(|| (total.saturating_sub(done)) as f64 / rate);
        tracing::info!(
            target: "weir::progress",
            done,
            total,
            percent = (done as f64 * 100.0 / total as f64 * 10.0).round() / 10.0,
            rate_per_sec = (rate * 10.0).round() / 10.0,
            eta_secs = eta.map(|e| e.round() as u64),
            kind = %processed.message(),
            written = written.position(),
            "progress"
        );
    }
}

fn style(bar: &ProgressBar, template: &str) {
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
}
