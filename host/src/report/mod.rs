//! What a run did: counts per kind, every failure with its reason, batch
//! timings. Printed as a table at the end of a run and kept as JSON.

pub mod html;

use crate::model::KindCounts;
use crate::text::escape_controls;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Every entity written.
pub const EXIT_DONE: u8 = 0;
/// Some entities failed for reasons a retry will not change.
pub const EXIT_FAILURES: u8 = 2;
/// A cause that may pass (`EX_TEMPFAIL`).
pub const EXIT_MAY_PASS: u8 = 75;
/// The run could not go on, and retrying will not help.
pub const EXIT_FATAL: u8 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    /// The FQN, or the entity path when no FQN could be built.
    pub entity: String,
    pub kind: String,
    /// `transient`, `permanent`, `config`, `denied`, `fault` or `invalid`.
    pub error: String,
    pub reason: String,
    /// The cause may pass: a later run may write it (a source or sink that
    /// was down after the retries). Such a failure makes exit status 75.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub may_pass: bool,
    /// The shard it was processed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

/// An entity marked deleted: gone from the source since an earlier run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MarkedDeleted {
    pub kind: String,
    pub fqn: String,
}

/// One shard of the plan, as it ran.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ShardRecord {
    pub id: String,
    pub kind: String,
    pub refs: usize,
    pub cost: u64,
    /// The instances that ran it: more than one when a fault replaced one.
    pub instances: Vec<String>,
    /// Seconds since the run started.
    pub started_secs: f64,
    pub ended_secs: f64,
    pub calls: u32,
    pub retries: u32,
    pub faults: u32,
    pub queries: u64,
    /// Documents handed to the sink (the kind's counts say what it wrote).
    pub sent: usize,
    pub filtered: usize,
    pub failed: usize,
    pub cancelled: usize,
    /// The process that ran it, for a run whose shards ran in pods (the
    /// pod's name, else host and pid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// Times the shard was taken, for a run whose shards ran in pods: more
    /// than one when a pod died or failed and the shard was run again.
    #[serde(skip_serializing_if = "is_zero")]
    pub attempts: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ShardRecord {
    pub fn secs(&self) -> f64 {
        self.ended_secs - self.started_secs
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchStats {
    pub count: usize,
    /// Plugin instances lost to traps, memory or deadlines.
    pub faults: usize,
    pub retries: usize,
    pub slowest_ms: u64,
    pub total_ms: u64,
}

/// Where a run's wall time went, phase by phase, in seconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Phases {
    /// Engine, plugin load (compile or cache) and `describe`.
    pub load_secs: f64,
    /// Connection check and opening the catalog.
    pub connect_secs: f64,
    /// `discover` of every kind, and filtering.
    pub discover_secs: f64,
    /// `process` calls and catalog writes (they overlap).
    pub process_secs: f64,
    /// Phase 2 (relations) and the run record.
    pub relations_secs: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunReport {
    pub run_id: String,
    /// When the run began, in milliseconds since the epoch: the origin of
    /// every shard's timeline, whichever process ran it.
    pub started_unix_ms: u64,
    pub service: String,
    pub plugin: String,
    pub plugin_version: String,
    pub catalog: String,
    pub instances: u32,
    pub elapsed_secs: f64,
    pub kinds: Vec<KindCounts>,
    /// Failures of entities the run asked for: what the exit status and
    /// the counts go by.
    pub failures: Vec<FailureRecord>,
    /// Failures the plugin returned for entities nobody asked for: shown,
    /// never counted against what was asked.
    pub unrequested_failures: Vec<FailureRecord>,
    pub relations_applied: usize,
    pub relations_unresolved: Vec<FailureRecord>,
    /// Entities seen by an earlier run and gone from the source now,
    /// marked deleted in the sink by this one.
    pub marked_deleted: Vec<MarkedDeleted>,
    pub batches: BatchStats,
    /// Sink writes retried after a transient error.
    pub sink_retries: usize,
    pub phases: Phases,
    pub warnings: Vec<String>,
    /// Why the run stopped before processing everything, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Every shard as it ran, in plan order.
    pub shards: Vec<ShardRecord>,
    /// The plan: strategy, shard ids and the refs in each, as the planner
    /// wrote it (the report records it, it does not read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Box<serde_json::value::RawValue>>,
    /// The most memory the weir process held during the run (Linux
    /// `VmHWM`), in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
}

impl RunReport {
    /// Replaces every secret in the texts the report carries.
    pub fn redact(&mut self, redactor: &crate::caps::Redactor) {
        let failures = self
            .failures
            .iter_mut()
            .chain(self.unrequested_failures.iter_mut())
            .chain(self.relations_unresolved.iter_mut());
        for f in failures {
            redactor.redact_in_place(&mut f.entity);
            redactor.redact_in_place(&mut f.reason);
        }
        for m in &mut self.marked_deleted {
            redactor.redact_in_place(&mut m.fqn);
        }
        for text in self.warnings.iter_mut().chain(self.stopped.iter_mut()) {
            redactor.redact_in_place(text);
        }
    }

    /// The exit status of a run that finished with this report: 0 when
    /// every entity was written, 2 when some failed for reasons a retry
    /// will not change, 75 when some failed for a cause that may pass.
    pub fn exit_code(&self) -> u8 {
        if self.failures.iter().any(|f| f.may_pass) {
            EXIT_MAY_PASS
        } else if self.failed() > 0 {
            EXIT_FAILURES
        } else {
            EXIT_DONE
        }
    }

    pub fn found(&self) -> usize {
        self.kinds.iter().map(|k| k.found).sum()
    }
    pub fn written(&self) -> usize {
        self.kinds.iter().map(|k| k.written).sum()
    }
    pub fn failed(&self) -> usize {
        self.failures.len()
    }
    pub fn queries(&self) -> u64 {
        self.kinds.iter().map(|k| k.queries).sum()
    }
    pub fn cancelled(&self) -> usize {
        self.kinds.iter().map(|k| k.cancelled).sum()
    }

    /// Kinds whose counts do not add up: found must equal filtered +
    /// written + failed + cancelled. Empty when every entity is accounted
    /// for.
    pub fn unaccounted(&self) -> Vec<String> {
        self.kinds
            .iter()
            .filter(|k| k.found != k.filtered + k.written + k.unchanged + k.failed + k.cancelled)
            .map(|k| {
                format!(
                    "{}: found {} ≠ filtered {} + written {} + unchanged {} + failed {} + cancelled {}",
                    k.kind, k.found, k.filtered, k.written, k.unchanged, k.failed, k.cancelled
                )
            })
            .collect()
    }

    /// Adds the cost of some `process` calls to the kind's and the run's
    /// totals.
    pub fn count_cost(&mut self, kind: &str, cost: &crate::model::WorkCost) {
        let counts = self.kind_mut(kind);
        counts.batches += cost.calls as usize;
        counts.queries += cost.queries;
        let ms = cost.elapsed.as_millis() as u64;
        let stats = &mut self.batches;
        stats.count += cost.calls as usize;
        stats.retries += cost.retries as usize;
        stats.faults += cost.faults as usize;
        stats.total_ms += ms;
        stats.slowest_ms = stats.slowest_ms.max(ms);
    }

    /// Adds what another process did for the same run (one shard's pod, or
    /// the discovery) to this report: counts are summed, records appended.
    /// The run's identity and the plan stay this report's.
    pub fn absorb(&mut self, part: RunReport) {
        for k in part.kinds {
            let into = self.kind_mut(&k.kind);
            into.found += k.found;
            into.filtered += k.filtered;
            into.written += k.written;
            into.unchanged += k.unchanged;
            into.failed += k.failed;
            into.cancelled += k.cancelled;
            into.unrequested += k.unrequested;
            into.deleted += k.deleted;
            into.batches += k.batches;
            into.queries += k.queries;
        }
        self.failures.extend(part.failures);
        self.unrequested_failures.extend(part.unrequested_failures);
        self.relations_applied += part.relations_applied;
        self.relations_unresolved.extend(part.relations_unresolved);
        self.marked_deleted.extend(part.marked_deleted);
        let (into, from) = (&mut self.batches, part.batches);
        into.count += from.count;
        into.faults += from.faults;
        into.retries += from.retries;
        into.total_ms += from.total_ms;
        into.slowest_ms = into.slowest_ms.max(from.slowest_ms);
        self.sink_retries += part.sink_retries;
        for text in part.warnings {
            if !self.warnings.contains(&text) {
                self.warnings.push(text);
            }
        }
        if self.stopped.is_none() {
            self.stopped = part.stopped;
        }
        self.shards.extend(part.shards);
        self.peak_rss_mib = match (self.peak_rss_mib, part.peak_rss_mib) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    pub fn kind_mut(&mut self, kind: &str) -> &mut KindCounts {
        if let Some(i) = self.kinds.iter().position(|k| k.kind == kind) {
            return &mut self.kinds[i];
        }
        self.kinds.push(KindCounts { kind: kind.to_string(), ..KindCounts::default() });
        let last = self.kinds.len() - 1;
        &mut self.kinds[last]
    }

    /// The end-of-run summary for a terminal: counts per kind, where the
    /// time went, failures grouped by reason, the slowest shards.
    pub fn print_summary(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out)?;
        writeln!(out, "{} ({} {}) → {}", self.service, self.plugin, self.plugin_version, self.catalog)?;
        self.print_counts(out)?;
        let processed = self.written() + self.failed_refs();
        // A distributed run's shards ran in pods, each its own instances.
        let mut pods: Vec<&str> = self.shards.iter().filter_map(|s| s.process.as_deref()).collect();
        pods.sort_unstable();
        pods.dedup();
        let ran_on = match pods.len() {
            0 => format!("{} instances", self.instances),
            n => format!("{n} pods of {} instances", self.instances),
        };
        writeln!(
            out,
            "{:.2} s wall, {:.0} entities/s; {} shards on {ran_on}; {} calls ({} plugin faults, {} retries), {} queries",
            self.elapsed_secs,
            processed as f64 / self.phases.process_secs.max(1e-3),
            self.shards.len(),
            self.batches.count,
            self.batches.faults,
            self.batches.retries,
            self.queries(),
        )?;
        writeln!(
            out,
            "relations applied: {}, unresolved: {}",
            self.relations_applied,
            self.relations_unresolved.len()
        )?;
        if !self.marked_deleted.is_empty() {
            const SHOWN: usize = 10;
            let names: Vec<String> =
                self.marked_deleted.iter().take(SHOWN).map(|m| escape_controls(&m.fqn).into_owned()).collect();
            let more = self.marked_deleted.len().saturating_sub(SHOWN);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            writeln!(out, "marked deleted (gone from the source): {}{more}", names.join(", "))?;
        }
        self.print_failures(out)?;
        self.print_slowest_shards(out)?;
        for problem in self.unaccounted() {
            writeln!(out, "accounting error: {problem}")?;
        }
        if let Some(stopped) = &self.stopped {
            writeln!(out, "stopped: {stopped}")?;
        }
        for w in &self.warnings {
            writeln!(out, "warning: {}", escape_controls(w))?;
        }
        Ok(())
    }

    fn failed_refs(&self) -> usize {
        self.kinds.iter().map(|k| k.failed).sum()
    }

    /// The counts per kind as a table, with a total; columns that would
    /// hold only zeros (unchanged, cancelled, deleted) left out.
    pub fn print_counts(&self, out: &mut impl Write) -> std::io::Result<()> {
        let with_cancelled = self.cancelled() > 0;
        let with_unchanged = self.kinds.iter().any(|k| k.unchanged > 0);
        let with_deleted = self.kinds.iter().any(|k| k.deleted > 0);
        let mut header = vec!["kind", "found", "filtered", "written"];
        if with_unchanged {
            header.push("unchanged");
        }
        header.push("failed");
        if with_cancelled {
            header.push("cancelled");
        }
        if with_deleted {
            header.push("deleted");
        }
        let cells = |k: &KindCounts| {
            let mut row = vec![k.kind.clone(), k.found.to_string(), k.filtered.to_string(), k.written.to_string()];
            if with_unchanged {
                row.push(k.unchanged.to_string());
            }
            row.push(k.failed.to_string());
            if with_cancelled {
                row.push(k.cancelled.to_string());
            }
            if with_deleted {
                row.push(k.deleted.to_string());
            }
            row
        };
        let mut rows: Vec<Vec<String>> = self.kinds.iter().map(cells).collect();
        let total = KindCounts {
            kind: "total".into(),
            found: self.found(),
            filtered: self.kinds.iter().map(|k| k.filtered).sum(),
            written: self.written(),
            unchanged: self.kinds.iter().map(|k| k.unchanged).sum(),
            failed: self.failed_refs(),
            cancelled: self.cancelled(),
            deleted: self.kinds.iter().map(|k| k.deleted).sum(),
            ..KindCounts::default()
        };
        rows.push(cells(&total));
        let widths: Vec<usize> = (0..header.len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0))
            .collect();
        let line = |cells: &[&str]| {
            let mut s = format!("  {:<w$}", cells[0], w = widths[0]);
            for (cell, w) in cells.iter().zip(&widths).skip(1) {
                s.push_str(&format!("  {cell:>w$}"));
            }
            s
        };
        writeln!(out, "{}", line(&header))?;
        for (i, r) in rows.iter().enumerate() {
            if i == rows.len() - 1 {
                writeln!(out, "  {}", "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)))?;
            }
            let r: Vec<&str> = r.iter().map(String::as_str).collect();
            writeln!(out, "{}", line(&r))?;
        }
        let unrequested: usize = self.kinds.iter().map(|k| k.unrequested).sum();
        if unrequested > 0 {
            writeln!(out, "  (and {unrequested} entities or failures the plugin returned without being asked)")?;
        }
        Ok(())
    }

    /// Failures with the same error and reason, counted together, the
    /// largest groups first.
    pub fn failure_groups(&self) -> Vec<FailureGroup<'_>> {
        groups_of(&self.failures)
    }

    fn print_failures(&self, out: &mut impl Write) -> std::io::Result<()> {
        print_groups(out, "failures by reason:", &self.failures)?;
        let title = "failures the plugin returned for entities it was not asked for (not counted above):";
        print_groups(out, title, &self.unrequested_failures)
    }

    fn print_slowest_shards(&self, out: &mut impl Write) -> std::io::Result<()> {
        const SHOWN: usize = 5;
        if self.shards.len() < 2 {
            return Ok(());
        }
        // Only shards worth a look: a tenth of a second or more.
        let mut shards: Vec<&ShardRecord> = self.shards.iter().filter(|s| s.calls > 0 && s.secs() >= 0.1).collect();
        shards.sort_by(|a, b| b.secs().total_cmp(&a.secs()));
        let cells: Vec<String> = shards
            .iter()
            .take(SHOWN)
            .map(|s| {
                let on = s.process.clone().unwrap_or_else(|| s.instances.join("→"));
                let again = if s.attempts > 1 { format!(", attempt {}", s.attempts) } else { String::new() };
                format!("{} {:.2} s ({} refs on {on}{again})", s.id, s.secs(), s.refs)
            })
            .collect();
        if !cells.is_empty() {
            writeln!(out, "slowest shards: {}", cells.join("; "))?;
        }
        Ok(())
    }
}

/// `failures` grouped by error and reason, the largest groups first.
fn groups_of(failures: &[FailureRecord]) -> Vec<FailureGroup<'_>> {
    let mut groups: Vec<FailureGroup<'_>> = Vec::new();
    for f in failures {
        match groups.iter_mut().find(|g| g.error == f.error && g.reason == f.reason) {
            Some(group) => group.entities.push(&f.entity),
            None => groups.push(FailureGroup { error: &f.error, reason: &f.reason, entities: vec![&f.entity] }),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.entities.len()));
    groups
}

/// Failures under `title`, a few entities per reason, on one line each.
fn print_groups(out: &mut impl Write, title: &str, failures: &[FailureRecord]) -> std::io::Result<()> {
    const GROUPS: usize = 10;
    const EXAMPLES: usize = 3;
    let groups = groups_of(failures);
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(out, "{title}")?;
    for g in groups.iter().take(GROUPS) {
        let shown: Vec<String> = g.entities.iter().take(EXAMPLES).map(|e| escape_controls(e).into_owned()).collect();
        let more = g.entities.len().saturating_sub(EXAMPLES);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        // One line each: a reason may hold what a plugin or server said.
        writeln!(out, "  {:>5} × {}: {}", g.entities.len(), g.error, escape_controls(g.reason))?;
        writeln!(out, "          {}{more}", shown.join(", "))?;
    }
    if groups.len() > GROUPS {
        writeln!(out, "  … and {} more reasons (see the JSON report)", groups.len() - GROUPS)?;
    }
    Ok(())
}

/// Failures that share an error and a reason.
pub struct FailureGroup<'a> {
    pub error: &'a str,
    pub reason: &'a str,
    pub entities: Vec<&'a str>,
}
