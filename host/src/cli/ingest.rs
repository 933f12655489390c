use super::Ui;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use weir::config::Workflow;
use weir::plan::{IngestOptions, ingest};
use weir::report::RunReport;

#[derive(clap::Args)]
pub struct Args {
    /// The workflow file (YAML, OpenMetadata format).
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
    /// Also write the run report to this file: JSON, or a self-contained
    /// HTML page (counts, failures, the shards' timeline) when it ends in
    /// `.html`. May be given more than once.
    #[arg(long, value_name = "FILE")]
    report: Vec<PathBuf>,
    /// Stop the run cleanly once more than N entities have failed (what was
    /// processed is still written). Overrides `weir.maxFailures`.
    #[arg(long, value_name = "N")]
    max_failures: Option<usize>,
    /// The run's id (default: made up, and logged): a scheduler that names
    /// its runs can resume one by its name.
    #[arg(long, value_name = "ID", conflicts_with = "resume")]
    run_id: Option<String>,
    /// Finish a run that was killed or stopped on the way: the shards it
    /// recorded done are kept, the rest are done, then phase 2 runs.
    #[arg(long, value_name = "RUN_ID")]
    resume: Option<String>,
    /// Send every entity to the sink, changed or not (by default one whose
    /// content is what the sink was last sent is skipped, and counted
    /// unchanged). As `sourceConfig.config.overrideMetadata: true`.
    #[arg(long)]
    full: bool,
    /// Discover, plan and process, print the plan's shards and what a run
    /// would send, skip as unchanged or mark deleted, and stop: nothing is
    /// written to the sink or the state store.
    #[arg(long, conflicts_with = "resume")]
    dry_run: bool,
}

pub async fn run(args: Args, catalog: Option<PathBuf>, ui: Ui) -> Result<ExitCode> {
    let (workflow, mut options) = load(&args.config, catalog, ui, args.max_failures)?;
    options.full = args.full;
    if args.dry_run {
        let dry = weir::plan::dry_run(&workflow, &options)
            .await
            .with_context(|| format!("ingest --dry-run {}", args.config.display()))?;
        print_dry_run(&dry, &mut std::io::stdout().lock())?;
        return Ok(ExitCode::SUCCESS);
    }
    if workflow.distributed().is_some_and(|d| d.enabled) {
        return super::submitted::run(&args.config, &workflow, &options, args.run_id, args.resume, args.report, ui)
            .await;
    }
    let report = match &args.resume {
        Some(run_id) => weir::plan::resume(&workflow, &options, run_id).await,
        None => ingest(&workflow, &IngestOptions { run_id: args.run_id.clone(), ..options }).await,
    }
    .with_context(|| format!("ingest {}", args.config.display()))?;
    finish(&report, &args.report, ui)
}

/// Reads the workflow (its secrets kept out of every log line from here
/// on) and the options the command line sets.
pub fn load(
    config: &Path,
    catalog: Option<PathBuf>,
    ui: Ui,
    max_failures: Option<usize>,
) -> Result<(Workflow, IngestOptions)> {
    let workflow = Workflow::load(config)?;
    let mut secrets = workflow.secrets();
    if let Some(url) = catalog.as_ref().and_then(|c| c.to_str()).filter(|c| weir::engines::is_postgres_url(c)) {
        secrets.extend(weir::engines::url_secrets(url));
    }
    weir::logging::redact_secrets(secrets);
    let options = IngestOptions {
        catalog,
        progress: ui.progress_view(),
        cache_dir: super::cache_dir(),
        base_dir: config.parent().map(PathBuf::from),
        max_failures,
        run_id: None,
        full: false,
    };
    Ok((workflow, options))
}

/// What a dry run found: the discovery's counts, the plan's shards, what
/// would be marked deleted.
fn print_dry_run(dry: &weir::plan::DryRun, out: &mut impl std::io::Write) -> Result<()> {
    let report = &dry.report;
    writeln!(
        out,
        "{} ({} {}) → {}: dry run, nothing written",
        report.service, report.plugin, report.plugin_version, report.catalog
    )?;
    for k in &report.kinds {
        writeln!(out, "  {:<16} found {:>7}  filtered {:>7}", k.kind, k.found, k.filtered)?;
    }
    let plan = &dry.plan;
    writeln!(out, "plan ({}): {} shards, {} refs", plan.strategy, plan.shards.len(), plan.refs())?;
    for shard in &plan.shards {
        writeln!(out, "  {:<24} {:>6} refs  cost {}", shard.id, shard.refs.len(), shard.cost)?;
    }
    writeln!(out, "a run would:")?;
    for p in &dry.preview {
        writeln!(out, "  {:<16} send {:>7}  unchanged {:>7}  fail {:>5}", p.kind, p.send, p.unchanged, p.fail)?;
    }
    let found = &dry.disappeared;
    for note in &found.notes {
        writeln!(out, "note: {note}")?;
    }
    match (&found.withheld, found.gone.len()) {
        (_, 0) => writeln!(out, "would mark deleted: nothing (every entity the sink holds in this scope was listed)")?,
        (Some(why), _) => writeln!(out, "would mark deleted: nothing, {why}")?,
        (None, n) => {
            writeln!(out, "would mark deleted, if the run has no failures: {n}")?;
            for (kind, fqn) in &found.gone {
                writeln!(out, "  {kind:<16} {fqn}")?;
            }
        }
    }
    for w in &report.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

/// Prints the summary, writes the JSON report, picks the exit status.
pub fn finish(report: &RunReport, report_paths: &[PathBuf], ui: Ui) -> Result<ExitCode> {
    for path in report_paths {
        let html = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
        let text = if html { weir::report::html::render(report) } else { serde_json::to_string_pretty(report)? };
        std::fs::write(path, text).with_context(|| format!("write report {}", path.display()))?;
    }
    if !ui.quiet {
        report.print_summary(&mut std::io::stdout().lock())?;
    }
    if report.failed() > 0 {
        let passing = report.failures.iter().filter(|f| f.may_pass).count();
        let may_pass = match passing {
            0 => String::new(),
            n => format!(" ({n} for a cause that may pass: try again later)"),
        };
        eprintln!("error: {} of {} entities failed{may_pass}; the rest were written", report.failed(), report.found());
    }
    Ok(ExitCode::from(super::exit::of_report(report)))
}
