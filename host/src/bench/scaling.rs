//! `weir bench postgres --scaling`: the ingestion of `bench postgres` at
//! several instance counts, each behind a [`LatencyProxy`] adding one of
//! several round-trip times, printed as one table.
//!
//! Against a remote database every query waits a round trip, and more
//! instances overlap those waits; on localhost the same run is bound by the
//! CPU. The matrix shows both, and where adding instances stops helping.
//! Every cell goes through a proxy, the 0 ms one too, so the proxy's own
//! cost is on both sides of a comparison.

use super::BenchError;
use super::latency::LatencyProxy;
use super::measure::{
    RunFigures, RunSpec, SourceInfo, TARGET_TABLES, TargetCheck, TempDir, Warmup, run_repeated, runs_basis,
    source_info, warm_up,
};
use super::target::PgUrl;
use crate::procfs::reset_peak_rss;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// The target against a remote database: 10,000 tables in 10 s
/// with 10 ms round trips and 16 instances.
pub const TARGET_RTT: Duration = Duration::from_millis(10);
pub const TARGET_INSTANCES: u32 = 16;
pub const TARGET_WALL_SECS: f64 = 10.0;

/// The matrix `weir bench postgres --scaling` runs unless told otherwise.
pub const DEFAULT_RTTS_MS: [u64; 2] = [0, 10];
pub const DEFAULT_INSTANCES: [u32; 5] = [1, 2, 4, 8, 16];

/// A cell counts as saturated when its throughput is within this share of
/// the best at its round-trip time: closer than run-to-run noise.
const SATURATED: f64 = 0.95;

pub struct ScalingOptions {
    pub url: PgUrl,
    pub batch_size: usize,
    /// Round-trip times the proxy adds, one column group each.
    pub rtts: Vec<Duration>,
    /// Instance counts, one row each.
    pub instances: Vec<u32>,
    /// Runs per cell; the median one is reported.
    pub repeat: usize,
    /// Compile cache directory (`None`: compile on every load).
    pub cache_dir: Option<PathBuf>,
    /// Where the temporary catalogs go.
    pub work_dir: PathBuf,
    /// Progress lines on stderr.
    pub verbose: bool,
}

/// One instance count at one round-trip time.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    #[serde(skip)]
    pub rtt: Duration,
    pub rtt_ms: f64,
    /// Connections the proxy accepted during the cell's runs: proof that
    /// the ingestion's traffic went through it.
    pub proxied_connections: u64,
    /// Round trips to the server (the proxy's request flights) in the
    /// cell's runs, per run.
    pub round_trips: u64,
    /// Wall time at the fewest instances (same round-trip time) over this
    /// cell's.
    pub speedup: f64,
    /// This cell's wall time over the lowest round-trip time's at the same
    /// instance count: what the latency costs.
    pub vs_lowest_rtt: f64,
    /// Every run's wall time (`--repeat`); the other figures are the
    /// median run's.
    pub repeats: Vec<f64>,
    #[serde(flatten)]
    pub run: RunFigures,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingResult {
    pub source: SourceInfo,
    /// The server the proxies forward to (no password).
    pub upstream: String,
    pub warmup: Warmup,
    pub batch_size: usize,
    /// The columns and rows, ascending.
    pub rtt_ms: Vec<f64>,
    pub instances: Vec<u32>,
    /// Every instance count at the lowest round-trip time, then at the
    /// next one.
    pub cells: Vec<Cell>,
    pub targets: Vec<TargetCheck>,
    /// How a statement's rollback is sent, compared at one instance and
    /// the highest round-trip time.
    pub rollback: Option<RollbackComparison>,
    pub notes: Vec<String>,
}

/// The same run with each statement's rollback sent with the next
/// statement's `BEGIN` (the default) and on its own
/// (`weir.sql.eagerRollback`, how weir ran before): one round trip less per
/// statement is what a pod far from its database gains.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackComparison {
    pub rtt_ms: f64,
    pub instances: u32,
    pub lazy: Cell,
    pub eager: Cell,
    /// Eager wall time over lazy: above 1, the default is faster.
    pub wall_ratio: f64,
    /// Round trips per statement, lazy and eager.
    pub lazy_per_query: f64,
    pub eager_per_query: f64,
}

/// Runs the matrix: for each round-trip time, for each instance count, a
/// fresh proxy and the same ingestion as `bench postgres` through it.
pub async fn bench_scaling(options: &ScalingOptions) -> Result<ScalingResult, BenchError> {
    let rtts = ascending(&options.rtts);
    let instances = ascending(&options.instances);
    if rtts.is_empty() {
        return Err(BenchError::EmptyMatrix("round-trip time"));
    }
    if instances.is_empty() {
        return Err(BenchError::EmptyMatrix("instance count"));
    }
    let upstream = options.url.host_port()?;
    let source = source_info(&options.url).await?;
    let warmup = warm_up(&instances, options.cache_dir.as_deref()).await?;

    let mut cells = Vec::with_capacity(rtts.len() * instances.len());
    for &rtt in &rtts {
        for &count in &instances {
            cells.push(run_cell(options, &upstream, rtt, count, false).await?);
        }
    }
    compare(&mut cells, &rtts, &instances);
    let rollback = match (rtts.last(), instances.first()) {
        (Some(&rtt), Some(&count)) if !rtt.is_zero() => {
            let lazy = find(&cells, rtt, count).cloned();
            let eager = run_cell(options, &upstream, rtt, count, true).await?;
            lazy.map(|lazy| RollbackComparison::of(lazy, eager))
        }
        _ => None,
    };

    let targets = targets(&cells);
    let mut notes = saturation_notes(&cells, &rtts, &instances);
    let tables = cells.iter().map(|c| c.run.tables).max().unwrap_or_default();
    if tables < TARGET_TABLES {
        notes
            .push(format!("the target is for {TARGET_TABLES} tables; this database has {tables} (generate 100 × 100)"));
    }
    if cells.iter().any(|c| c.run.failed > 0) {
        notes.push("some entities failed: the figures cover a partial catalog".into());
    }
    Ok(ScalingResult {
        source,
        upstream: options.url.describe(),
        warmup,
        batch_size: options.batch_size,
        rtt_ms: rtts.iter().copied().map(millis).collect(),
        instances,
        cells,
        targets,
        rollback,
        notes,
    })
}

/// One instance count at one round-trip time, through a proxy of its own:
/// no connection of one cell outlives it into the next, and its counts are
/// the cell's own.
async fn run_cell(
    options: &ScalingOptions,
    upstream: &str,
    rtt: Duration,
    count: u32,
    eager_rollback: bool,
) -> Result<Cell, BenchError> {
    let proxy = LatencyProxy::start(upstream, rtt).await?;
    let url = options.url.via(proxy.addr())?;
    let spec = RunSpec {
        url: &url,
        instances: count,
        batch_size: options.batch_size,
        cache_dir: options.cache_dir.as_deref(),
        verbose: options.verbose,
        eager_rollback,
    };
    let eager = if eager_rollback { ", eager rollback" } else { "" };
    let label = format!("rtt {} ms{eager}", millis(rtt));
    let dir = TempDir::new(&options.work_dir, &format!("rtt{}us-{count}{}", rtt.as_micros(), eager.len()))?;
    let peak_ok = reset_peak_rss();
    let runs = run_repeated(&spec, &label, dir.path(), &options.work_dir, options.repeat, peak_ok).await?;
    let repeats = runs.walls.len().max(1) as u64;
    Ok(Cell {
        rtt,
        rtt_ms: millis(rtt),
        proxied_connections: proxy.connections(),
        round_trips: proxy.requests() / repeats,
        speedup: 1.0,
        vs_lowest_rtt: 1.0,
        repeats: runs.walls,
        run: runs.median,
    })
}

impl RollbackComparison {
    fn of(lazy: Cell, eager: Cell) -> RollbackComparison {
        let per_query = |c: &Cell| c.round_trips as f64 / c.run.queries.max(1) as f64;
        RollbackComparison {
            rtt_ms: lazy.rtt_ms,
            instances: lazy.run.instances,
            wall_ratio: eager.run.wall_secs / lazy.run.wall_secs.max(f64::EPSILON),
            lazy_per_query: per_query(&lazy),
            eager_per_query: per_query(&eager),
            lazy,
            eager,
        }
    }

    fn line(&self) -> String {
        format!(
            "rollback at rtt {} ms, {} instance(s): with the next BEGIN (default) {:.2} s, {:.1} round trips a \
             query; on its own (weir.sql.eagerRollback) {:.2} s, {:.1}: the default is {:.2}× as fast (round trips \
             of the whole run, connecting and each session's open and close included, over its queries)",
            self.rtt_ms,
            self.instances,
            self.lazy.run.wall_secs,
            self.lazy_per_query,
            self.eager.run.wall_secs,
            self.eager_per_query,
            self.wall_ratio
        )
    }
}

fn ascending<T: Ord + Copy>(values: &[T]) -> Vec<T> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn find(cells: &[Cell], rtt: Duration, instances: u32) -> Option<&Cell> {
    cells.iter().find(|c| c.rtt == rtt && c.run.instances == instances)
}

/// Fills each cell's speed-up (against the fewest instances) and its cost
/// of latency (against the lowest round-trip time).
fn compare(cells: &mut [Cell], rtts: &[Duration], instances: &[u32]) {
    let (Some(&fewest), Some(&lowest)) = (instances.first(), rtts.first()) else { return };
    let all: &[Cell] = cells;
    let wall = |rtt, n| find(all, rtt, n).map(|c| c.run.wall_secs);
    let reference: Vec<(Option<f64>, Option<f64>)> =
        all.iter().map(|c| (wall(c.rtt, fewest), wall(lowest, c.run.instances))).collect();
    for (cell, (by_instances, by_rtt)) in cells.iter_mut().zip(reference) {
        let own = cell.run.wall_secs.max(f64::EPSILON);
        cell.speedup = by_instances.map_or(1.0, |w| w / own);
        cell.vs_lowest_rtt = by_rtt.map_or(1.0, |w| own / w.max(f64::EPSILON));
    }
}

fn targets(cells: &[Cell]) -> Vec<TargetCheck> {
    let name = format!("wall at {} ms RTT, {TARGET_INSTANCES} instances", millis(TARGET_RTT));
    let check = match find(cells, TARGET_RTT, TARGET_INSTANCES) {
        Some(c) => TargetCheck::judge(
            &name,
            TARGET_WALL_SECS,
            Some(c.run.wall_secs),
            "s",
            runs_basis("median", c.repeats.len()),
            c.run.tables >= TARGET_TABLES,
        ),
        None => TargetCheck::judge(&name, TARGET_WALL_SECS, None, "s", "not in the matrix".into(), false),
    };
    vec![check]
}

/// Where throughput stops rising, per round-trip time.
fn saturation_notes(cells: &[Cell], rtts: &[Duration], instances: &[u32]) -> Vec<String> {
    let mut notes = Vec::new();
    if instances.len() < 2 {
        return notes;
    }
    for &rtt in rtts {
        let row: Vec<&Cell> = instances.iter().filter_map(|&n| find(cells, rtt, n)).collect();
        let Some(best) = row.iter().max_by(|a, b| a.run.tables_per_sec.total_cmp(&b.run.tables_per_sec)) else {
            continue;
        };
        let Some(first) = row.iter().find(|c| c.run.tables_per_sec >= SATURATED * best.run.tables_per_sec) else {
            continue;
        };
        let largest = instances.last().copied().unwrap_or_default();
        let text = if best.run.instances == largest && first.run.instances == largest {
            format!("still rising at {largest} instances ({:.0} tables/s)", best.run.tables_per_sec)
        } else {
            format!(
                "within {:.0} % of its best ({:.0} tables/s at {}) from {} instances on",
                100.0 * (1.0 - SATURATED),
                best.run.tables_per_sec,
                best.run.instances,
                first.run.instances
            )
        };
        notes.push(format!("rtt {} ms: throughput {text}", millis(rtt)));
    }
    notes
}

/// Share of the machine's CPU time that was busy during the run.
fn cpu_busy(run: &RunFigures) -> Option<f64> {
    let cpu = run.cpu?;
    let total = cpu.weir_secs + cpu.others_secs + cpu.idle_secs;
    (total > 0.0).then(|| 1.0 - cpu.idle_secs / total)
}

/// Columns under each round-trip time.
const GROUP: [&str; 4] = ["wall", "tables/s", "speed-up", "CPU busy"];

impl ScalingResult {
    /// The aligned table for a terminal: a row per instance count, a column
    /// group per round-trip time, then the cost of latency per row.
    pub fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let s = &self.source;
        writeln!(
            out,
            "weir bench postgres --scaling: {} (PostgreSQL {}): {} schemas, {} tables, {} views; {} cores; shard size {}",
            s.database, s.server_version, s.schemas, s.tables, s.views, s.cores, self.batch_size
        )?;
        writeln!(
            out,
            "every run reaches {} through a latency proxy on 127.0.0.1 (rtt 0 ms: a pass-through)",
            self.upstream
        )?;
        writeln!(
            out,
            "compile cache warm-up: {} in {:.2} s (not counted below)",
            self.warmup.outcome, self.warmup.secs
        )?;
        writeln!(out)?;

        let lowest = self.rtt_ms.first().copied().unwrap_or_default();
        let higher = self.rtt_ms.get(1..).unwrap_or_default();
        let mut header = vec!["instances".to_string()];
        for _ in &self.rtt_ms {
            header.extend(GROUP.iter().map(|c| c.to_string()));
        }
        header.extend(higher.iter().map(|r| format!("{r} ms / {lowest} ms")));
        let mut rows = vec![header];
        for &n in &self.instances {
            let mut row = vec![n.to_string()];
            for &rtt in &self.rtt_ms {
                match self.cells.iter().find(|c| c.rtt_ms == rtt && c.run.instances == n) {
                    Some(c) => row.extend([
                        format!("{:.2} s", c.run.wall_secs),
                        format!("{:.0}", c.run.tables_per_sec),
                        format!("{:.2}×", c.speedup),
                        cpu_busy(&c.run).map_or("—".into(), |b| format!("{:.0} %", 100.0 * b)),
                    ]),
                    None => row.extend(GROUP.iter().map(|_| "—".to_string())),
                }
            }
            for &rtt in higher {
                let cell = self.cells.iter().find(|c| c.rtt_ms == rtt && c.run.instances == n);
                row.push(cell.map_or("—".into(), |c| format!("{:.2}×", c.vs_lowest_rtt)));
            }
            rows.push(row);
        }

        let columns = rows.iter().map(Vec::len).max().unwrap_or(1);
        let widths: Vec<usize> = (0..columns)
            .map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0))
            .collect();
        const GAP: usize = 3;
        // Titles over each group, starting where the group starts.
        let mut titles = " ".repeat(widths[0]);
        for (g, rtt) in self.rtt_ms.iter().enumerate() {
            let span: usize = widths.iter().skip(1 + g * GROUP.len()).take(GROUP.len()).map(|w| w + GAP).sum();
            titles.push_str(&format!("{:<span$}", format!("{:GAP$}rtt {rtt} ms", "")));
        }
        if !higher.is_empty() {
            titles.push_str(&format!("{:GAP$}wall, vs rtt {lowest} ms", ""));
        }
        writeln!(out, "{}", titles.trim_end())?;
        for r in &rows {
            let mut line = format!("{:<w$}", r[0], w = widths[0]);
            for (i, cell) in r.iter().enumerate().skip(1) {
                line.push_str(&format!("{:GAP$}{:>w$}", "", cell, w = widths[i]));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        writeln!(out)?;
        for t in &self.targets {
            writeln!(out, "{}", t.line())?;
        }
        if let Some(rollback) = &self.rollback {
            writeln!(out, "{}", rollback.line())?;
        }
        for n in &self.notes {
            writeln!(out, "note: {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(rtt_ms: u64, instances: u32, tables: usize, wall_secs: f64) -> Cell {
        let rtt = Duration::from_millis(rtt_ms);
        Cell {
            rtt,
            rtt_ms: millis(rtt),
            proxied_connections: u64::from(instances) + 1,
            round_trips: 0,
            speedup: 1.0,
            vs_lowest_rtt: 1.0,
            repeats: vec![wall_secs],
            run: RunFigures {
                label: format!("rtt {rtt_ms} ms"),
                instances,
                wall_secs,
                tables,
                tables_per_sec: tables as f64 / wall_secs,
                ..RunFigures::default()
            },
        }
    }

    /// A 10,000-table matrix that scales at 10 ms and saturates at 0 ms.
    fn matrix(wall_at_16: f64) -> Vec<Cell> {
        let walls0 = [4.0, 2.5, 2.4, 2.4, 2.5];
        let walls10 = [40.0, 20.0, 10.5, 6.0, wall_at_16];
        let counts = [1, 2, 4, 8, 16];
        let mut cells: Vec<Cell> = counts.iter().zip(walls0).map(|(&n, w)| cell(0, n, 10_500, w)).collect();
        cells.extend(counts.iter().zip(walls10).map(|(&n, w)| cell(10, n, 10_500, w)));
        compare(&mut cells, &[Duration::ZERO, TARGET_RTT], &counts);
        cells
    }

    #[test]
    fn speed_up_is_against_one_instance_and_the_latency_cost_against_zero_rtt() {
        let cells = matrix(4.0);
        let at = |rtt: u64, n: u32| find(&cells, Duration::from_millis(rtt), n).unwrap();
        assert_eq!(at(10, 1).speedup, 1.0);
        assert_eq!(at(10, 16).speedup, 10.0);
        assert_eq!(at(0, 2).speedup, 1.6);
        assert_eq!(at(0, 4).vs_lowest_rtt, 1.0);
        assert_eq!(at(10, 1).vs_lowest_rtt, 10.0);
    }

    #[test]
    fn the_remote_target_needs_its_cell_and_the_full_catalog() {
        let verdict = |cells: &[Cell]| targets(cells)[0].verdict.clone();
        assert_eq!(verdict(&matrix(4.0)), "PASS");
        assert_eq!(verdict(&matrix(10.5)), "MISS");
        let small: Vec<Cell> = [1, 16].iter().map(|&n| cell(10, n, 42, 0.1)).collect();
        assert_eq!(verdict(&small), "n/a");
        let without: Vec<Cell> = [1, 8].iter().map(|&n| cell(10, n, 10_500, 1.0)).collect();
        let check = &targets(&without)[0];
        assert_eq!((check.verdict.as_str(), check.basis.as_str()), ("n/a", "not in the matrix"));
    }

    #[test]
    fn notes_say_where_throughput_stops_rising() {
        let notes = saturation_notes(&matrix(4.0), &[Duration::ZERO, TARGET_RTT], &[1, 2, 4, 8, 16]);
        assert!(notes[0].starts_with("rtt 0 ms: throughput within 5 % of its best"), "{notes:?}");
        assert!(notes[0].ends_with("from 2 instances on"), "{notes:?}");
        assert!(notes[1].starts_with("rtt 10 ms: throughput still rising at 16 instances"), "{notes:?}");
    }

    #[test]
    fn prints_a_row_per_instance_count_and_a_group_per_rtt() {
        let cells = matrix(4.0);
        let result = ScalingResult {
            source: SourceInfo {
                database: "weir_bench".into(),
                server_version: "15".into(),
                schemas: 100,
                tables: 10_000,
                views: 500,
                cores: 2,
            },
            upstream: "postgres@127.0.0.1:5432/weir_bench".into(),
            warmup: Warmup { outcome: "cached".into(), secs: 0.0 },
            batch_size: 200,
            rtt_ms: vec![0.0, 10.0],
            instances: vec![1, 2, 4, 8, 16],
            targets: targets(&cells),
            rollback: Some(RollbackComparison::of(
                Cell { round_trips: 2_000, ..cells[5].clone() },
                Cell { round_trips: 3_000, ..cell(10, 1, 10_500, 60.0) },
            )),
            cells,
            notes: vec![],
        };
        let mut out = Vec::new();
        result.print(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let header = text.lines().find(|l| l.starts_with("instances")).unwrap();
        let last = text.lines().find(|l| l.starts_with("16 ")).unwrap();
        assert_eq!(header.chars().count(), last.chars().count(), "{text}");
        assert!(header.ends_with("10 ms / 0 ms"), "{header}");
        assert!(last.contains("4.00 s") && last.ends_with("1.60×"), "{last}");
        let titles = text.lines().find(|l| l.contains("rtt 10 ms")).unwrap();
        let column = |line: &str, what: &str| line.find(what).map(|b| line[..b].chars().count());
        // The second group's title starts right after the first group's last column.
        let group_end = column(header, "CPU busy").unwrap() + "CPU busy".len();
        assert_eq!(column(titles, "rtt 10 ms"), Some(group_end + 3), "{text}");
        assert!(text.contains("wall at 10 ms RTT, 16 instances ≤ 10 s: 4.00 s (one run)  PASS"), "{text}");
        let rollback = text.lines().find(|l| l.starts_with("rollback at rtt 10 ms, 1 instance")).unwrap();
        assert!(rollback.contains("(default) 40.00 s") && rollback.contains("1.50× as fast"), "{rollback}");
    }
}
