//! A run whose stages run in separate processes, as the pods of an Argo
//! workflow do: `discover` plans the run into the shared state store,
//! `process` takes one shard of it, `finalize` applies phase 2 once and
//! puts the report together from every shard's part. What one stage leaves
//! the next is in the state store, never in the processes.

use super::ingest::{self, IngestError, IngestOptions};
use super::run::{Run, Scope};
use super::shard::Shard;
use crate::caps::Redactor;
use crate::config::Workflow;
use crate::model::Kind;
use crate::report::{FailureRecord, RunReport};
use crate::sink::catalog::Catalog;
use crate::state::{Claim, RunStatus, RunSummary, StateStore};
use std::sync::Arc;
use std::time::Duration;

/// Shard pods of a run at most, when `distributedExecution.maxPods` does
/// not say: shards grow to fit.
pub const DEFAULT_MAX_PODS: u32 = 2_000;

/// How long a shard stays a process's without a renewal: a process that
/// died loses its shard this long after its last renewal.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// The plan a discovery left: shard ids per kind, parents first.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Discovered {
    pub kinds: Vec<(String, Vec<String>)>,
    /// The run's discovery, as its report has it.
    #[serde(skip)]
    pub report: RunReport,
    /// Whether this process discovered it, or found a plan stored by an
    /// earlier discovery of the same run id and kept it.
    pub reused: bool,
}

impl Discovered {
    /// `{"databaseSchema": ["databaseSchema-0000"], "table": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> =
            self.kinds.iter().map(|(kind, ids)| (kind.clone(), serde_json::json!(ids))).collect();
        serde_json::Value::Object(map)
    }
}

/// What became of one shard.
#[derive(Debug)]
pub enum ShardOutcome {
    /// Processed by this process: its part of the run report.
    Processed(Box<RunReport>),
    /// An earlier attempt finished it: nothing was done.
    AlreadyDone,
}

/// `weir discover`: lists, filters and plans; stores the plan (the refs of
/// every shard) and the discovery's counts under `run_id`. Run again for a
/// run id that has a plan, it keeps that plan: the shards already done
/// stay done, and their ids do not change under the processes taking them.
pub async fn discover(workflow: &Workflow, options: &IngestOptions, run_id: &str) -> Result<Discovered, IngestError> {
    refuse_unshared_sink(workflow, options)?;
    let mut run = Run::open(workflow, options, run_id.to_string(), true).await?;
    if let Some(stored) = run.state.discovery(run_id).await? {
        let shards = run.state.shards(run_id).await?;
        if !shards.is_empty() {
            let report = read_part(run_id, "discovery", &stored)?;
            let mut kinds: Vec<(String, Vec<String>)> =
                run.wanted_kinds().into_iter().map(|k| (k.entity_type().to_string(), Vec::new())).collect();
            for s in shards {
                match kinds.iter_mut().find(|(k, _)| *k == s.kind) {
                    Some((_, ids)) => ids.push(s.id),
                    None => kinds.push((s.kind, vec![s.id])),
                }
            }
            tracing::info!(run = run_id, "the run has a plan already: kept");
            run.shut().await;
            return Ok(Discovered { kinds, report, reused: true });
        }
    }
    run.begin().await?;
    let max_pods = workflow.distributed().and_then(|d| d.max_pods).unwrap_or(DEFAULT_MAX_PODS);
    let state = run.state.clone();
    let sink = run.sink();
    let plan = ingest::record_failure(&state, Some(&sink), run_id, run.discover(Some(max_pods as usize)).await).await?;
    // Every kind the run lists, shards or none: the DAG has a task for each.
    let mut kinds: Vec<(String, Vec<String>)> =
        run.wanted_kinds().into_iter().map(|k| (k.entity_type().to_string(), Vec::new())).collect();
    for shard in &plan.shards {
        let kind = shard.kind.entity_type().to_string();
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, ids)) => ids.push(shard.id.clone()),
            None => kinds.push((kind, vec![shard.id.clone()])),
        }
    }
    run.close().await?;
    // The discovery is kept last: one killed before it is done again.
    run.keep_plan(&plan).await?;
    let report = run.take_report();
    run.shut().await;
    Ok(Discovered { kinds, report, reused: false })
}

/// `weir process`: claims `shard_id` of `run_id` (waiting out the lease of
/// a process that died holding it), processes its refs and records its
/// part of the report once. The claim is renewed while it works, and given
/// up if the work cannot go on, so the next attempt starts at once.
pub async fn process(
    workflow: &Workflow,
    options: &IngestOptions,
    run_id: &str,
    shard_id: &str,
    lease: Duration,
) -> Result<ShardOutcome, IngestError> {
    refuse_unshared_sink(workflow, options)?;
    let stage = |reason: String| IngestError::Stage { run_id: run_id.to_string(), reason };
    let mut run = Run::open(workflow, options, run_id.to_string(), true).await?;
    let state = run.state.clone();
    let Some(discovery) = state.discovery(run_id).await? else {
        run.shut().await;
        return Err(stage(format!(
            "has no plan in the state store {}: run `weir discover --run-id {run_id}` first, on the same \
             weir.stateStore",
            state.shown()
        )));
    };
    let discovery = read_part(run_id, "discovery", &discovery)?;
    let owner = process_name();
    let (attempt, body) = match claim(&state, run_id, shard_id, &owner, lease).await {
        Ok(Some(claimed)) => claimed,
        Ok(None) => {
            tracing::info!(run = run_id, shard = shard_id, "done by an earlier attempt: nothing to do");
            run.shut().await;
            return Ok(ShardOutcome::AlreadyDone);
        }
        Err(e) => {
            run.shut().await;
            return Err(e);
        }
    };
    let shard: Shard =
        serde_json::from_str(&body).map_err(|e| stage(format!("shard {shard_id} is not readable: {e}")))?;
    tracing::info!(run = run_id, shard = shard_id, attempt, refs = shard.refs.len(), owner = %owner, "claimed");
    let renewal = Renewal::start(state.clone(), run_id, shard_id, &owner, lease);
    let worked = async {
        if attempt > 1 {
            let gone = state.forget_shard(run_id, shard_id).await?;
            tracing::info!(shard = shard_id, records = gone, "records of the earlier attempt forgotten");
        }
        let parents = state.parents(run_id).await?;
        run.process(vec![shard], &Scope::Shard { parents }).await?;
        run.close().await
    }
    .await;
    renewal.stop().await;
    if let Err(e) = worked {
        if let Err(release) = state.release(run_id, shard_id, &owner).await {
            tracing::warn!(shard = shard_id, "could not give the shard up: {release}");
        }
        run.shut().await;
        return Err(e);
    }
    let mut part = run.take_report();
    // The shard's timeline in the run's time, not this process's.
    let offset = part.started_unix_ms.saturating_sub(discovery.started_unix_ms) as f64 / 1000.0;
    for record in &mut part.shards {
        record.started_secs += offset;
        record.ended_secs += offset;
        record.process = Some(owner.clone());
        record.attempts = attempt;
    }
    for failure in part.failures.iter_mut().chain(&mut part.unrequested_failures) {
        failure.shard.get_or_insert_with(|| shard_id.to_string());
    }
    let settled = !part.failures.iter().any(|f| f.may_pass);
    let text = serde_json::to_string(&part).map_err(|e| stage(format!("shard {shard_id}'s outcome: {e}")))?;
    let recorded = state.complete(run_id, shard_id, &owner, &text, settled).await?;
    run.shut().await;
    if !recorded {
        // Its lease ran out while it worked and another process took the
        // shard: that one's counts are the shard's.
        tracing::warn!(shard = shard_id, "the shard was taken by another process before this one finished");
    }
    Ok(ShardOutcome::Processed(Box::new(part)))
}

/// `weir finalize`: the run's report from its discovery and every shard's
/// part, phase 2 applied once, the run recorded in the sink and forgotten
/// by the state store. A shard that never finished counts its refs as
/// cancelled, and the run says which.
pub async fn finalize(workflow: &Workflow, options: &IngestOptions, run_id: &str) -> Result<RunReport, IngestError> {
    refuse_unshared_sink(workflow, options)?;
    let stage = |reason: String| IngestError::Stage { run_id: run_id.to_string(), reason };
    let state = ingest::open_state(workflow, true).await?;
    let Some(discovery) = state.discovery(run_id).await? else {
        state.close().await;
        // A finalize run again (`argo retry` of a workflow whose finalize
        // had done its work) has nothing left to do but say how it ended.
        if let Ok(Some(report)) = recorded_report(workflow, options, run_id).await {
            tracing::info!(run = run_id, "finalized already: its report is the one the catalog keeps");
            return Ok(report);
        }
        return Err(stage(format!(
            "has no plan in the state store {} (never discovered, or finalized already)",
            state.shown()
        )));
    };
    let mut report = read_part(run_id, "discovery", &discovery)?;
    let mut unfinished: Vec<String> = Vec::new();
    for shard in state.shards(run_id).await? {
        match shard.outcome {
            Some(outcome) if shard.status != "running" && shard.status != "pending" => {
                report.absorb(read_part(run_id, &shard.id, &outcome)?);
            }
            _ => {
                let cancelled = match state.shard_body(run_id, &shard.id).await? {
                    Some(body) => serde_json::from_str::<Shard>(&body).map(|s| s.refs.len()),
                    None => Ok(0),
                }
                .map_err(|e| stage(format!("shard {} is not readable: {e}", shard.id)))?;
                let kind = Kind::from_entity_type(&shard.kind).map(Kind::entity_type).unwrap_or("entity");
                report.kind_mut(kind).cancelled += cancelled;
                unfinished.push(format!("{} ({} attempts)", shard.id, shard.attempts));
            }
        }
    }
    if !unfinished.is_empty() {
        let message = format!(
            "{} shards never finished, their entities are counted as cancelled: {}; run them again with `weir \
             process` and finalize again",
            unfinished.len(),
            unfinished.join(", ")
        );
        tracing::error!("{message}");
        report.stopped = Some(message.clone());
        report.failures.push(FailureRecord {
            entity: run_id.to_string(),
            kind: "run".into(),
            error: "unfinished".into(),
            reason: format!("{} shards never finished", unfinished.len()),
            may_pass: true,
            shard: None,
        });
        let summary = RunSummary::of(&report);
        state.record_end(run_id, RunStatus::Failed, report.exit_code(), Some(&summary), Some(&message)).await?;
        state.close().await;
        return Ok(report);
    }
    // The processing phase: from the first shard's start to the last one's
    // end, whichever pods ran them.
    let first = report.shards.iter().map(|s| s.started_secs).fold(f64::INFINITY, f64::min);
    let last = report.shards.iter().map(|s| s.ended_secs).fold(0.0, f64::max);
    report.phases.process_secs = if first.is_finite() { (last - first).max(0.0) } else { 0.0 };
    let redactor = Redactor::new(workflow.secrets());
    let state = Arc::new(state);
    let sink = ingest::open_sink(workflow, options).await?;
    report.catalog = sink.target();
    let report = ingest::finish_run(workflow, &sink, &state, &redactor, report).await?;
    Ok(report)
}

/// The report a finalize of `run_id` kept in the catalog, if one did.
pub async fn recorded_report(
    workflow: &Workflow,
    options: &IngestOptions,
    run_id: &str,
) -> Result<Option<RunReport>, String> {
    let location = ingest::catalog_location(workflow, options);
    let catalog = Catalog::open_existing(&location).await.map_err(|e| e.to_string())?;
    let text = catalog.run_report(run_id).await;
    catalog.close().await;
    match text.map_err(|e| e.to_string())? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| format!("its report is not readable: {e}")),
    }
}

/// Claims the shard, waiting while another process holds it (at most two
/// leases: one that keeps renewing is alive, and this attempt gives way).
/// `None` when it is done already.
async fn claim(
    state: &StateStore,
    run_id: &str,
    shard_id: &str,
    owner: &str,
    lease: Duration,
) -> Result<Option<(u32, String)>, IngestError> {
    let give_up = tokio::time::Instant::now() + lease * 2;
    loop {
        match state.claim(run_id, shard_id, owner, lease).await? {
            Claim::Claimed { attempt, body } => return Ok(Some((attempt, body))),
            Claim::Done => return Ok(None),
            Claim::Missing => {
                return Err(IngestError::Stage {
                    run_id: run_id.to_string(),
                    reason: format!("its plan has no shard `{shard_id}`"),
                });
            }
            Claim::Held { owner: holder, left } => {
                if tokio::time::Instant::now() + left > give_up {
                    return Err(IngestError::Held { shard: shard_id.to_string(), owner: holder });
                }
                tracing::info!(shard = shard_id, holder = %holder, "held by another process for {:.1} s more: waiting", left.as_secs_f64());
                tokio::time::sleep(left + Duration::from_millis(100)).await;
            }
        }
    }
}

/// The lease kept alive while a shard is worked on: renewed every third
/// of it. A lease lost (the store unreachable too long) is logged; the
/// process that takes the shard over records its outcome, not this one.
struct Renewal {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Renewal {
    fn start(state: Arc<StateStore>, run_id: &str, shard_id: &str, owner: &str, lease: Duration) -> Renewal {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let (run_id, shard_id, owner) = (run_id.to_string(), shard_id.to_string(), owner.to_string());
        let task = tokio::spawn(async move {
            let every = (lease / 3).max(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    _ = tokio::time::sleep(every) => {}
                }
                match state.renew(&run_id, &shard_id, &owner, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::error!(shard = %shard_id, "lost the shard's lease: another process may take it");
                        return;
                    }
                    Err(e) => tracing::warn!(shard = %shard_id, "could not renew the shard's lease: {e}"),
                }
            }
        });
        Renewal { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Whether the workflow can run in separate processes: a state store and a
/// sink they all reach. Checked without connecting to either.
pub fn check_shared(workflow: &Workflow, options: &IngestOptions) -> Result<(), IngestError> {
    refuse_unshared_sink(workflow, options)?;
    if workflow.weir.state_store.is_none() {
        return Err(ingest::unshared_state());
    }
    Ok(())
}

/// The kinds a run of `workflow` lists, parents first: its plugin's, as
/// `describe` says, less those the workflow leaves out.
pub async fn kinds(workflow: &Workflow, options: &IngestOptions) -> Result<Vec<Kind>, IngestError> {
    use crate::runtime::{Runtime, RuntimeOptions};
    let runtime = Runtime::new(RuntimeOptions {
        instances: 1,
        limits: workflow.weir.limits.clone(),
        cache_dir: options.cache_dir.clone(),
    })?;
    let plugin = runtime.load(&ingest::plugin_bytes(workflow)?).await?;
    ingest::check_plugin(workflow, &plugin)?;
    let selection = super::select::Selection::of(workflow);
    Ok(ingest::wanted_kinds(&plugin.info.entity_kinds, &selection))
}

/// The file sink writes one file on one machine, as a catalog file is; the
/// OpenMetadata sink keeps what phase 2 needs in memory. Neither serves
/// processes apart yet.
fn refuse_unshared_sink(workflow: &Workflow, options: &IngestOptions) -> Result<(), IngestError> {
    let fix = match workflow.sink_kind() {
        "catalog" => {
            let location = ingest::catalog_location(workflow, options);
            if location.to_str().is_some_and(crate::engines::is_postgres_url) {
                return Ok(());
            }
            "a catalog file is seen by one machine only: set `sink.config.url: postgres://USER:PASSWORD@HOST/DB` \
             (or pass `--catalog postgres://...`)"
        }
        "file" => "the file sink writes one file on one machine: use `sink.type: catalog` for a distributed run",
        "metadata-rest" => {
            "the metadata-rest sink does not run in separate processes yet: run `weir ingest` in one process, or \
             use `sink.type: catalog`"
        }
        _ => return Ok(()),
    };
    Err(IngestError::Unshared { what: "a sink".into(), fix: fix.into() })
}

/// The name this process goes by in the state store and the report: the
/// pod's (`WEIR_POD_NAME`, which the rendered workflow sets from the
/// pod's metadata), else host and pid.
pub fn process_name() -> String {
    if let Ok(pod) = std::env::var("WEIR_POD_NAME")
        && !pod.is_empty()
    {
        return pod;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    format!("{host}:{}", std::process::id())
}

fn read_part(run_id: &str, what: &str, text: &str) -> Result<RunReport, IngestError> {
    serde_json::from_str(text).map_err(|e| IngestError::Stage {
        run_id: run_id.to_string(),
        reason: format!("the state store's record of {what} is not readable: {e}"),
    })
}
