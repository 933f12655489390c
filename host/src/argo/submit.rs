//! `weir ingest` of a workflow with `distributedExecution.enabled: true`:
//! the run is submitted to an Argo Server as one Workflow and watched to
//! its end. Progress comes from the state store (shards done of the plan),
//! the summary from the report finalize keeps in the catalog: the same
//! summary a one-process run prints. `--resume RUN_ID` asks Argo to retry
//! the run's failed pods (and finalize), and watches again.

use super::render::{RenderError, RenderOptions, Submission, run_name, submission};
use super::server::{ArgoError, ArgoServer, WorkflowStatus};
use crate::config::Workflow;
use crate::plan::IngestOptions;
use crate::plan::distributed;
use crate::plan::ingest::{self, IngestError};
use crate::report::RunReport;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How often the workflow's status is read.
const POLL: Duration = Duration::from_secs(2);
/// How often progress is logged when no bar is drawn (in a pod, say).
const LOG_EVERY: Duration = Duration::from_secs(10);
/// Status reads that may fail in a row (the server restarting) before the
/// watch gives up; the workflow keeps running.
const READ_FAILURES: u32 = 10;

#[derive(Debug, Error)]
pub enum SubmitError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Argo(#[from] ArgoError),
    #[error("workflowConfig.distributedExecution.{key}: {reason}")]
    Setting { key: &'static str, reason: String },
    /// The watch stopped; the workflow goes on.
    #[error(
        "stopped watching workflow {name} ({why}); it goes on in the cluster: `argo watch -n {namespace} {name}` \
         follows it, `weir ingest -c FILE --resume {name}` watches it again"
    )]
    Unwatched { name: String, namespace: String, why: String },
}

impl SubmitError {
    pub fn may_pass(&self) -> bool {
        match self {
            SubmitError::Ingest(e) => e.may_pass(),
            SubmitError::Argo(e) => e.may_pass(),
            SubmitError::Unwatched { .. } => true,
            SubmitError::Render(_) | SubmitError::Setting { .. } => false,
        }
    }
}

/// What the watch shows while the workflow runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shown {
    /// A progress bar on stderr (a terminal).
    pub bar: bool,
    /// Else a line on stderr every few seconds (a CI log).
    pub lines: bool,
}

/// How a submitted run ended, as far as this machine can tell.
#[derive(Debug)]
pub struct Watched {
    pub name: String,
    pub namespace: String,
    pub server: String,
    /// The final status, with the pods that failed.
    pub status: WorkflowStatus,
    /// The report finalize kept in the catalog, when it got that far.
    pub report: Option<RunReport>,
    /// Shards of the plan not done, when the state store could tell.
    pub unfinished: Option<u64>,
    /// Why there is no report, when the catalog could not be read.
    pub report_unread: Option<String>,
}

/// Submits `workflow` (read from `text`) as the run `run_id` (else a name
/// made up) and watches it to its end.
pub async fn submit(
    workflow: &Workflow,
    options: &IngestOptions,
    text: &str,
    run_id: Option<String>,
    shown: Shown,
) -> Result<Watched, SubmitError> {
    distributed::check_shared(workflow, options)?;
    let server = server_of(workflow)?;
    let kinds = distributed::kinds(workflow, options).await?;
    let name = run_id.unwrap_or_else(|| run_name(workflow));
    let Submission { workflow: document, namespace, secret_name, secret_keys } =
        submission(workflow, text, &kinds, &RenderOptions::default(), &name)?;
    if !secret_keys.is_empty() {
        tracing::info!(
            "the pods read {} from the Kubernetes Secret `{secret_name}` in namespace {namespace}",
            secret_keys.join(", ")
        );
    }
    let created = server.create(&namespace, &document).await?;
    tracing::info!(workflow = %created, namespace = %namespace, server = %server.base(), "submitted");
    if shown.bar || shown.lines {
        eprintln!("submitted workflow {created} to {} (namespace {namespace})", server.base());
    }
    watch(workflow, options, &server, &namespace, &created, shown).await
}

/// Finishes the submitted run `run_id`: a failed workflow is retried (its
/// succeeded pods kept), a running one watched, an ended one reported.
pub async fn resume(
    workflow: &Workflow,
    options: &IngestOptions,
    run_id: &str,
    shown: Shown,
) -> Result<Watched, SubmitError> {
    distributed::check_shared(workflow, options)?;
    let server = server_of(workflow)?;
    let namespace = namespace_of(workflow);
    let status = server.status(&namespace, run_id, false).await?;
    if matches!(status.phase.as_str(), "Failed" | "Error") {
        server.retry(&namespace, run_id).await?;
        tracing::info!(workflow = run_id, "retried: its failed pods run again, then finalize");
        if shown.bar || shown.lines {
            eprintln!("retrying workflow {run_id}: its failed pods run again, then finalize");
        }
    }
    watch(workflow, options, &server, &namespace, run_id, shown).await
}

fn namespace_of(workflow: &Workflow) -> String {
    workflow
        .distributed()
        .and_then(|d| d.namespace.clone())
        .unwrap_or_else(|| super::render::DEFAULT_NAMESPACE.to_string())
}

/// The Argo Server the workflow names, with its token.
fn server_of(workflow: &Workflow) -> Result<ArgoServer, SubmitError> {
    let settings = workflow.distributed().cloned().unwrap_or_default();
    let url = settings.argo_server.as_ref().map(|u| u.as_str().to_string()).ok_or(SubmitError::Setting {
        key: "argoServer",
        reason: "not set: name the Argo Server to submit to (https://HOST:2746), or run `weir argo render` and \
                 apply what it writes"
            .into(),
    })?;
    let variable = settings.token_variable();
    // The token is among the workflow's secrets: no log line shows it.
    let token = settings.argo_token();
    if token.is_none() && settings.token_env.is_some() {
        return Err(SubmitError::Setting {
            key: "tokenEnv",
            reason: format!("names ${variable}, which is not set: export it (`argo auth token` prints a token)"),
        });
    }
    Ok(ArgoServer::new(&url, token, variable, settings.insecure_skip_verify)?)
}

/// Reads the workflow's status until it ends, showing the shards done.
async fn watch(
    workflow: &Workflow,
    options: &IngestOptions,
    server: &ArgoServer,
    namespace: &str,
    name: &str,
    shown: Shown,
) -> Result<Watched, SubmitError> {
    let unwatched = |why: String| SubmitError::Unwatched { name: name.into(), namespace: namespace.into(), why };
    // The state store may not be reachable from here (a name only the
    // cluster resolves): then Argo's own count of pods stands in.
    let state = match ingest::open_state(workflow, true).await {
        Ok(state) => Some(state),
        Err(e) => {
            tracing::warn!("the state store is not reachable from here ({e}): progress is Argo's count of pods");
            None
        }
    };
    let bar = progress_bar(shown.bar);
    let mut last_log = Instant::now();
    let mut failures = 0;
    let mut tally = None;
    let status = loop {
        let status = tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                bar.finish_and_clear();
                return Err(unwatched("interrupted".into()));
            }
            status = server.status(namespace, name, false) => status,
        };
        let status = match status {
            Ok(status) => {
                failures = 0;
                status
            }
            Err(e) if e.may_pass() && failures < READ_FAILURES => {
                failures += 1;
                tracing::warn!("{e}; reading again in {} s", POLL.as_secs());
                tokio::time::sleep(POLL).await;
                continue;
            }
            Err(e) if e.may_pass() => {
                bar.finish_and_clear();
                return Err(unwatched(e.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(state) = &state {
            match state.shard_tally(name).await {
                // finalize clears the plan: keep the last count seen.
                Ok((_, 0)) => {}
                Ok(t) => tally = Some(t),
                Err(e) => tracing::debug!("progress not readable: {e}"),
            }
        }
        let (done, all) = tally.unwrap_or_else(|| pods_of(&status.progress));
        bar.set_length(all);
        bar.set_position(done);
        bar.set_message(status.phase.clone());
        if shown.lines && last_log.elapsed() >= LOG_EVERY {
            last_log = Instant::now();
            eprintln!("workflow {name}: {}, {done}/{all} shards done", status.phase);
        }
        if status.ended() {
            break status;
        }
        tokio::time::sleep(POLL).await;
    };
    bar.finish_and_clear();
    let status = server.status(namespace, name, true).await.unwrap_or(status);
    let unfinished = match &state {
        Some(state) => state.shard_tally(name).await.ok().map(|(done, all)| all - done),
        None => None,
    };
    if let Some(state) = state {
        state.close().await;
    }
    let (report, report_unread) = match distributed::recorded_report(workflow, options, name).await {
        Ok(report) => (report, None),
        Err(e) => (None, Some(e)),
    };
    tracing::info!(workflow = name, phase = %status.phase, "ended");
    Ok(Watched {
        name: name.into(),
        namespace: namespace.into(),
        server: server.base().into(),
        status,
        report,
        unfinished,
        report_unread,
    })
}

/// `"3/10"` → (3, 10).
fn pods_of(progress: &str) -> (u64, u64) {
    let (done, all) = progress.split_once('/').unwrap_or(("0", "0"));
    (done.trim().parse().unwrap_or(0), all.trim().parse().unwrap_or(0))
}

fn progress_bar(enabled: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(0),
        if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:>8} [{bar:40}] {pos}/{len} {msg} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("shards");
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argo_progress_reads_as_pods_done_of_all() {
        assert_eq!(pods_of("3/10"), (3, 10));
        assert_eq!(pods_of(""), (0, 0));
    }
}
