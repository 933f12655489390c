//! `weir check -c workflow.yaml`: the connection test, step by step.

use super::Ui;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use weir::plan::preflight::{CheckReport, check};

#[derive(clap::Args)]
pub struct Args {
    /// The workflow file (YAML, OpenMetadata format).
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
    /// Seconds each step may take (default: 60 to connect, 180 to list or
    /// read, 30 for the rest).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// The steps as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args, catalog: Option<PathBuf>, ui: Ui) -> Result<ExitCode> {
    let (workflow, options) = super::ingest::load(&args.config, catalog, ui, None)?;
    let timeout = args.timeout.filter(|t| t.is_finite() && *t > 0.0).map(Duration::from_secs_f64);
    let report =
        check(&workflow, &options, timeout).await.with_context(|| format!("check {}", args.config.display()))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else if !ui.quiet {
        print(&report, &mut out)?;
    }
    Ok(ExitCode::from(if report.passed() { super::exit::DONE } else { super::exit::FATAL }))
}

fn print(report: &CheckReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{} ({}, plugin {})", report.service, report.source_type, report.plugin)?;
    let width = report.steps.iter().map(|s| s.name.len()).max().unwrap_or(10);
    let mut part = "";
    for step in &report.steps {
        if step.part != part {
            part = step.part;
            let title = match part {
                "source" => "source",
                "sink" => "sink",
                _ => "state store",
            };
            writeln!(out, "{title}")?;
        }
        let mark = match step.outcome {
            "passed" => "pass",
            "failed" => "FAIL",
            _ => "skip",
        };
        let needed = if step.mandatory { "mandatory" } else { "optional " };
        let detail = weir::text::escape_controls(&step.detail);
        writeln!(out, "  {mark}  {:<width$}  {needed}  {:>6.2} s  {detail}", step.name, step.secs)?;
        if let Some(missing) = &step.missing {
            writeln!(out, "        {:<width$}  missing: {missing}", "")?;
        }
    }
    let count = |mandatory: bool, outcome: &str| {
        report.steps.iter().filter(|s| s.mandatory == mandatory && s.outcome == outcome).count()
    };
    let skipped = count(true, "skipped");
    let skipped = if skipped > 0 { format!(" ({skipped} more skipped after it)") } else { String::new() };
    match (count(true, "failed"), count(false, "failed")) {
        (0, 0) if skipped.is_empty() => writeln!(out, "every step passed"),
        (0, n) if skipped.is_empty() => {
            writeln!(out, "every mandatory step passed; {n} optional failed (a run goes on without what they read)")
        }
        (n, _) => writeln!(out, "{n} mandatory steps failed{skipped}: a run would not work"),
    }
}
