//! What a run did: counts per kind, every failure with its reason, batch
//! timings. Printed as a table at the end of a run and kept as JSON.

use serde::Serialize;
use std::io::Write;

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindCounts {
    pub kind: String,
    /// Listed by `discover`.
    pub found: usize,
    /// Dropped by filter patterns or include flags.
    pub filtered: usize,
    pub written: usize,
    pub failed: usize,
    /// `process` calls for this kind.
    pub batches: usize,
    /// Statements the plugin sent for this kind, discovery included.
    pub queries: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    /// The FQN, or the entity path when no FQN could be built.
    pub entity: String,
    pub kind: String,
    /// `transient`, `permanent`, `config`, `denied`, `fault` or `invalid`.
    pub error: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchStats {
    pub count: usize,
    /// Plugin instances lost to traps, memory or deadlines.
    pub faults: usize,
    pub retries: usize,
    pub slowest_ms: u64,
    pub total_ms: u64,
}

/// Where a run's wall time went, phase by phase, in seconds.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
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

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub run_id: String,
    pub service: String,
    pub plugin: String,
    pub plugin_version: String,
    pub catalog: String,
    pub instances: u32,
    pub elapsed_secs: f64,
    pub kinds: Vec<KindCounts>,
    pub failures: Vec<FailureRecord>,
    pub relations_applied: usize,
    pub relations_unresolved: Vec<FailureRecord>,
    pub batches: BatchStats,
    pub phases: Phases,
    pub warnings: Vec<String>,
}

impl RunReport {
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

    /// Adds one batch's cost to the kind's and the run's totals.
    pub fn count_batch(&mut self, kind: &str, effort: &crate::plan::Effort, faulted: bool) {
        let counts = self.kind_mut(kind);
        counts.batches += 1;
        counts.queries += effort.queries;
        let ms = effort.elapsed.as_millis() as u64;
        let stats = &mut self.batches;
        stats.count += 1;
        stats.retries += effort.retries as usize;
        stats.faults += usize::from(faulted);
        stats.total_ms += ms;
        stats.slowest_ms = stats.slowest_ms.max(ms);
    }

    pub fn kind_mut(&mut self, kind: &str) -> &mut KindCounts {
        if let Some(i) = self.kinds.iter().position(|k| k.kind == kind) {
            return &mut self.kinds[i];
        }
        self.kinds.push(KindCounts { kind: kind.to_string(), ..KindCounts::default() });
        let last = self.kinds.len() - 1;
        &mut self.kinds[last]
    }

    /// The end-of-run summary for a terminal.
    pub fn print_summary(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out)?;
        writeln!(out, "{} ({} {}) → {}", self.service, self.plugin, self.plugin_version, self.catalog)?;
        let header = ["kind", "found", "filtered", "written", "failed"];
        let mut rows: Vec<[String; 5]> = self
            .kinds
            .iter()
            .map(|k| {
                [
                    k.kind.clone(),
                    k.found.to_string(),
                    k.filtered.to_string(),
                    k.written.to_string(),
                    k.failed.to_string(),
                ]
            })
            .collect();
        let total = |f: fn(&KindCounts) -> usize| self.kinds.iter().map(f).sum::<usize>().to_string();
        rows.push([
            "total".into(),
            total(|k| k.found),
            total(|k| k.filtered),
            total(|k| k.written),
            total(|k| k.failed),
        ]);
        let widths: Vec<usize> = (0..5)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0))
            .collect();
        let line = |cells: [&str; 5]| {
            let mut s = format!("  {:<w$}", cells[0], w = widths[0]);
            for i in 1..5 {
                s.push_str(&format!("  {:>w$}", cells[i], w = widths[i]));
            }
            s
        };
        writeln!(out, "{}", line(header))?;
        for (i, r) in rows.iter().enumerate() {
            if i == rows.len() - 1 {
                writeln!(out, "  {}", "-".repeat(widths.iter().sum::<usize>() + 8))?;
            }
            writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]))?;
        }
        writeln!(
            out,
            "relations applied: {}, unresolved: {}; {} queries; batches: {} ({} plugin faults, {} retries); {} instances; {:.2} s",
            self.relations_applied,
            self.relations_unresolved.len(),
            self.queries(),
            self.batches.count,
            self.batches.faults,
            self.batches.retries,
            self.instances,
            self.elapsed_secs
        )?;
        const SHOWN: usize = 20;
        if !self.failures.is_empty() {
            writeln!(out, "failures:")?;
            for f in self.failures.iter().take(SHOWN) {
                writeln!(out, "  {} [{}] {}: {}", f.entity, f.kind, f.error, f.reason)?;
            }
            if self.failures.len() > SHOWN {
                writeln!(out, "  … and {} more (see the JSON report)", self.failures.len() - SHOWN)?;
            }
        }
        for w in &self.warnings {
            writeln!(out, "warning: {w}")?;
        }
        Ok(())
    }
}
