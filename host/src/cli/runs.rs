//! `weir runs list` and `weir runs show RUN_ID`: the run history the state
//! store keeps, for runs in one process and runs whose stages ran in pods.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use weir::state::{RunRecord, RunStatus, StateStore};

#[derive(clap::Subcommand)]
pub enum Command {
    /// The latest runs, newest first: start, duration, status, exit
    /// status, counts.
    List {
        #[command(flatten)]
        store: Store,
        /// Only the runs of this service.
        #[arg(long, value_name = "NAME")]
        service: Option<String>,
        /// At most this many runs.
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One run: when, how it ended, counts per kind, failures by reason,
    /// and the shards of a run that is still going.
    Show {
        run_id: String,
        #[command(flatten)]
        store: Store,
        /// The record as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which state store to read.
#[derive(clap::Args)]
pub struct Store {
    /// Read the state store this workflow names (`weir.stateStore` or
    /// `weir.statePath`).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The state store itself: a SQLite file or postgres://USER:PASSWORD@HOST/DB
    /// (default: the one `weir ingest` uses on this machine).
    #[arg(long, env = "WEIR_STATE_STORE", value_name = "PATH|URL", conflicts_with = "config")]
    state_store: Option<String>,
}

impl Store {
    async fn open(&self) -> Result<StateStore> {
        if let Some(config) = &self.config {
            let workflow = weir::config::Workflow::load(config)?;
            weir::logging::redact_secrets(workflow.secrets());
            return Ok(weir::plan::open_state(&workflow).await?);
        }
        match &self.state_store {
            Some(url) if weir::engines::is_postgres_url(url) => {
                weir::logging::redact_secrets(weir::engines::url_secrets(url));
                Ok(StateStore::open_postgres(url).await?)
            }
            Some(path) => Ok(StateStore::open(std::path::Path::new(path)).await?),
            None => Ok(StateStore::open(&StateStore::default_path()).await?),
        }
    }
}

pub async fn run(command: Command) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match command {
        Command::List { store, service, limit, json } => {
            let state = store.open().await?;
            let mut runs = state.run_history(service.as_deref(), limit).await.context("read the run history")?;
            for run in &mut runs {
                mark_interrupted(&state, run).await;
            }
            state.close().await;
            if json {
                for run in &runs {
                    writeln!(out, "{}", serde_json::to_string(run)?)?;
                }
            } else {
                print_list(&runs, &mut out)?;
            }
        }
        Command::Show { run_id, store, json } => {
            let state = store.open().await?;
            let Some(mut run) = state.run_of(&run_id).await.context("read the run history")? else {
                let shown = state.shown().to_string();
                state.close().await;
                bail!("run {run_id} is not in the run history of the state store {shown} (see `weir runs list`)");
            };
            mark_interrupted(&state, &mut run).await;
            let shards = if run.ended_ms.is_none() { state.shards(&run_id).await.unwrap_or_default() } else { vec![] };
            state.close().await;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&run)?)?;
            } else {
                print_run(&run, &shards, &mut out)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_list(runs: &[RunRecord], out: &mut impl Write) -> std::io::Result<()> {
    if runs.is_empty() {
        return writeln!(out, "no runs recorded in this state store yet");
    }
    let header =
        ["run", "service", "started (UTC)", "took", "status", "exit", "found", "written", "unchanged", "failed"];
    let rows: Vec<[String; 10]> = runs
        .iter()
        .map(|r| {
            let count = |f: fn(&weir::model::KindCounts) -> usize| {
                r.summary.as_ref().map(|s| s.kinds.iter().map(f).sum::<usize>().to_string()).unwrap_or_default()
            };
            [
                r.run_id.clone(),
                r.service.clone(),
                when(r.started_ms),
                took(r),
                status(r),
                r.exit_code.map(|c| c.to_string()).unwrap_or_default(),
                count(|k| k.found),
                count(|k| k.written),
                count(|k| k.unchanged),
                count(|k| k.failed),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            // Names left, numbers right.
            if i < 5 { s.push_str(&format!("{cell:<w$}  ")) } else { s.push_str(&format!("{cell:>w$}  ")) }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for r in &rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

fn print_run(run: &RunRecord, shards: &[weir::state::ShardState], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "run {} of {}: {}", run.run_id, run.service, status(run))?;
    let how = if run.distributed {
        "in separate processes (discover, process per shard, finalize)"
    } else {
        "in one process"
    };
    writeln!(out, "  started   {} by {} ({how})", when(run.started_ms), run.process)?;
    match run.ended_ms {
        Some(ended) => writeln!(out, "  ended     {} after {}", when(ended), took(run))?,
        None => writeln!(out, "  ended     not yet ({} so far)", took(run))?,
    }
    if let Some(code) = run.exit_code {
        writeln!(out, "  exit      {code}")?;
    }
    if let Some(error) = &run.error {
        writeln!(out, "  error     {}", weir::text::escape_controls(error))?;
    }
    if let Some(s) = &run.summary {
        writeln!(out, "  plugin    {} {} → {}", s.plugin, s.plugin_version, s.catalog)?;
        weir::report::RunReport { kinds: s.kinds.clone(), ..Default::default() }.print_counts(out)?;
        writeln!(
            out,
            "  {} shards{}; relations applied {}, unresolved {}; marked deleted {}",
            s.shards,
            match s.processes.len() {
                0 => String::new(),
                n => format!(" on {n} pods"),
            },
            s.relations_applied,
            s.relations_unresolved,
            s.marked_deleted
        )?;
        if !s.failure_reasons.is_empty() {
            writeln!(out, "  failures by reason:")?;
            for (error, reason, n) in &s.failure_reasons {
                writeln!(out, "    {n:>5} × {error}: {}", weir::text::escape_controls(reason))?;
            }
        }
        if let Some(stopped) = &s.stopped {
            writeln!(out, "  stopped: {}", weir::text::escape_controls(stopped))?;
        }
        for w in &s.warnings {
            writeln!(out, "  warning: {}", weir::text::escape_controls(w))?;
        }
    }
    if !shards.is_empty() {
        let done = shards.iter().filter(|s| s.status != "pending" && s.status != "running").count();
        let running: Vec<String> = shards
            .iter()
            .filter(|s| s.status == "running")
            .map(|s| format!("{} on {}", s.id, s.owner.as_deref().unwrap_or("?")))
            .collect();
        writeln!(out, "  shards    {done} of {} done, {} running", shards.len(), running.len())?;
        for r in running.iter().take(20) {
            writeln!(out, "    {r}")?;
        }
    }
    Ok(())
}

/// A one-process run still "running" whose process is gone was killed:
/// it says so, and how to finish it.
async fn mark_interrupted(state: &StateStore, run: &mut RunRecord) {
    if run.status == RunStatus::Running
        && !run.distributed
        && state.run_alive(&run.run_id).await.ok().flatten() != Some(true)
    {
        run.status = RunStatus::Interrupted;
        run.error = Some(format!("its process is gone; finish it with `weir ingest --resume {}`", run.run_id));
    }
}

fn status(run: &RunRecord) -> String {
    run.status.as_str().to_string()
}

/// Milliseconds since the epoch as a UTC time to the second.
fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// How long the run took, or has taken so far.
fn took(run: &RunRecord) -> String {
    let end = run.ended_ms.unwrap_or_else(|| weir::plan::unix_ms() as i64);
    let secs = (end - run.started_ms).max(0) as f64 / 1000.0;
    match secs {
        s if s < 10.0 => format!("{s:.2} s"),
        s if s < 60.0 => format!("{s:.1} s"),
        s if s < 3600.0 => format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64),
        s => format!("{}h{:02}m", (s / 3600.0) as u64, ((s % 3600.0) / 60.0) as u64),
    }
}
