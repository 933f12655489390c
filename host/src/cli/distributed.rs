//! The stages of a distributed run, one command each, as the pods of an
//! Argo workflow run them: `weir discover`, `weir process` per shard, then
//! `weir finalize`. They share a run id and the workflow's PostgreSQL state
//! store (`weir.stateStore`).

use super::Ui;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use weir::plan::distributed::{self, ShardOutcome};

#[derive(clap::Args)]
pub struct DiscoverArgs {
    /// The workflow file (YAML, OpenMetadata format).
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
    /// The run's id, the same for every stage of the run.
    #[arg(long, value_name = "ID")]
    run_id: String,
    /// Where to write the shard ids, as JSON: `{"table": ["table-0000", ...], ...}`
    /// by kind, parents first. Each kind's list is also written beside it
    /// as `<PATH stem>.<kind>.json` (what an Argo `withParam` reads).
    #[arg(long, value_name = "PATH")]
    shards_out: PathBuf,
}

#[derive(clap::Args)]
pub struct ProcessArgs {
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
    #[arg(long, value_name = "ID")]
    run_id: String,
    /// The shard to process, one of the ids `weir discover` wrote.
    #[arg(long, value_name = "SHARD_ID")]
    shard: String,
    /// Seconds the shard stays this process's without a renewal: a process
    /// that dies loses it this long after its last renewal.
    #[arg(long, value_name = "SECS", default_value_t = distributed::DEFAULT_LEASE.as_secs())]
    lease_secs: u64,
    /// Also write this shard's part of the report to this file (JSON, or
    /// HTML when it ends in `.html`).
    #[arg(long, value_name = "FILE")]
    report: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct FinalizeArgs {
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
    #[arg(long, value_name = "ID")]
    run_id: String,
    /// Also write the run report to this file (JSON, or a self-contained
    /// HTML page when it ends in `.html`).
    #[arg(long, value_name = "FILE")]
    report: Vec<PathBuf>,
}

pub async fn discover(args: DiscoverArgs, catalog: Option<PathBuf>, ui: Ui) -> Result<ExitCode> {
    let (workflow, options) = super::ingest::load(&args.config, catalog, ui, None)?;
    let discovered = distributed::discover(&workflow, &options, &args.run_id)
        .await
        .with_context(|| format!("discover {}", args.config.display()))?;
    write_json(&args.shards_out, &discovered.to_json())?;
    for (kind, ids) in &discovered.kinds {
        write_json(&beside(&args.shards_out, kind), &serde_json::json!(ids))?;
    }
    if !ui.quiet {
        let shards: usize = discovered.kinds.iter().map(|(_, ids)| ids.len()).sum();
        let how = if discovered.reused { "kept the plan stored earlier" } else { "planned" };
        println!("run {}: {how}, {shards} shards → {}", args.run_id, args.shards_out.display());
        for (kind, ids) in &discovered.kinds {
            println!("  {kind:<18} {:>6} shards", ids.len());
        }
    }
    Ok(ExitCode::from(super::exit::DONE))
}

pub async fn process(args: ProcessArgs, catalog: Option<PathBuf>, ui: Ui) -> Result<ExitCode> {
    let (workflow, options) = super::ingest::load(&args.config, catalog, ui, None)?;
    let lease = Duration::from_secs(args.lease_secs.max(1));
    let outcome = distributed::process(&workflow, &options, &args.run_id, &args.shard, lease)
        .await
        .with_context(|| format!("process shard {} of run {}", args.shard, args.run_id))?;
    match outcome {
        ShardOutcome::AlreadyDone => {
            if !ui.quiet {
                println!("shard {} of run {}: done by an earlier attempt", args.shard, args.run_id);
            }
            Ok(ExitCode::from(super::exit::DONE))
        }
        ShardOutcome::Processed(part) => super::ingest::finish(&part, &args.report, ui),
    }
}

pub async fn finalize(args: FinalizeArgs, catalog: Option<PathBuf>, ui: Ui) -> Result<ExitCode> {
    let (workflow, options) = super::ingest::load(&args.config, catalog, ui, None)?;
    let report = distributed::finalize(&workflow, &options, &args.run_id)
        .await
        .with_context(|| format!("finalize run {}", args.run_id))?;
    super::ingest::finish(&report, &args.report, ui)
}

/// `shards.json` → `shards.table.json`.
fn beside(path: &Path, kind: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "shards".into());
    path.with_file_name(format!("{stem}.{kind}.json"))
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    std::fs::write(path, value.to_string()).with_context(|| format!("write {}", path.display()))
}
