//! `weir ingest` of a workflow with `distributedExecution.enabled: true`:
//! submitted to an Argo Server and watched (see [`weir::argo::submit`]).
//! It ends as a one-process run does: the summary, the JSON report, the
//! exit status of the report; or, when finalize never recorded one, what
//! Argo says went wrong and how to finish the run.

use super::Ui;
use super::exit::{FATAL, MAY_PASS};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use weir::argo::submit::{self, Shown, Watched};
use weir::config::Workflow;
use weir::plan::IngestOptions;

pub async fn run(
    config: &Path,
    workflow: &Workflow,
    options: &IngestOptions,
    run_id: Option<String>,
    resume: Option<String>,
    report: Vec<PathBuf>,
    ui: Ui,
) -> Result<ExitCode> {
    let shown = Shown { bar: ui.progress, lines: !ui.progress && !ui.quiet };
    let watched = match &resume {
        Some(run_id) => submit::resume(workflow, options, run_id, shown)
            .await
            .with_context(|| format!("resume workflow {run_id} of {}", config.display()))?,
        None => {
            let text = std::fs::read_to_string(config).with_context(|| format!("read {}", config.display()))?;
            submit::submit(workflow, options, &text, run_id, shown)
                .await
                .with_context(|| format!("submit {} to Argo", config.display()))?
        }
    };
    if !ui.quiet {
        println!("workflow {} {} (namespace {}, {})", watched.name, phase(&watched), watched.namespace, watched.server);
    }
    match &watched.report {
        Some(run_report) => super::ingest::finish(run_report, &report, ui),
        None => Ok(ExitCode::from(unreported(config, &watched))),
    }
}

fn phase(watched: &Watched) -> String {
    let status = &watched.status;
    if status.message.is_empty() { status.phase.clone() } else { format!("{}: {}", status.phase, status.message) }
}

/// What a run that ended without a report says, and its exit status: 1
/// when a pod failed for good (exit 1: the config, a plugin that will not
/// load), else 75: finishing it later may work.
fn unreported(config: &Path, watched: &Watched) -> u8 {
    let status = &watched.status;
    if status.phase == "Succeeded" {
        // finalize ran, but its report cannot be read from here.
        eprintln!(
            "the run's report is in the catalog's `run` table under {}, which cannot be read from here: {}",
            watched.name,
            watched.report_unread.as_deref().unwrap_or("no report")
        );
        return super::exit::DONE;
    }
    eprintln!("error: workflow {} ended {} without a run report", watched.name, status.phase);
    for pod in &status.failed_pods {
        let detail = match (pod.exit_code, pod.message.as_str()) {
            (Some(code), _) => format!("exit {code}"),
            (None, "") => "lost".to_string(),
            (None, message) => message.to_string(),
        };
        eprintln!("  {:<40} {:<8} {detail}", pod.name, pod.phase);
    }
    if let Some(n) = watched.unfinished.filter(|n| *n > 0) {
        eprintln!("  {n} shards of the plan are not done");
    }
    if let Some(why) = &watched.report_unread {
        eprintln!("  (the catalog could not be read: {why})");
    }
    let fatal = status.failed_pods.iter().any(|p| p.exit_code == Some(i32::from(FATAL)));
    if fatal {
        eprintln!("a pod failed for good (exit 1): see its log, `argo logs -n {} {}`", watched.namespace, watched.name);
        FATAL
    } else {
        eprintln!(
            "finish it with `weir ingest -c {} --resume {}`: Argo runs the failed pods again, keeping the shards done, \
             then finalize",
            config.display(),
            watched.name
        );
        MAY_PASS
    }
}
