//! Mark what disappeared: after a clean run, an entity the sink holds from
//! an earlier run of the same service, inside this run's scope, that this
//! run's discovery did not list, is gone from the source, and is marked
//! deleted (OpenMetadata's `markDeleted*` keys, on by default there and
//! here). Done once per run, at its end, whichever process ends it.
//!
//! Seen is what the sink got or had as it is from this run (the catalog's
//! rows and the state store's hashes say which run saw each last), and
//! what discovery listed and the filters kept (the plan), which is all a
//! dry run has. Fail-safes, because a wrong filter, a
//! missing grant or an empty database would otherwise empty the catalog:
//! - nothing is marked after a run with failures, or one cancelled or
//!   stopped (`--max-failures`): something not listed may still exist;
//! - nothing outside today's scope is marked: a stored entity is checked
//!   against today's filters and include flags by its FQN, and a kind
//!   whose scope an FQN cannot tell (views left out by `includeViews:
//!   false`, dashboards filtered by title or folder) is not marked at all;
//! - above `weir.markDeletedMaxFraction` of the scope, nothing is marked
//!   and the run says why.

use super::ingest::IngestError;
use super::select::Selection;
use super::shard::Shard;
use crate::config::{DEFAULT_MARK_DELETED_MAX_FRACTION, Workflow};
use crate::model::Kind;
use crate::model::entity::EntityRef;
use crate::model::fqn;
use crate::report::{MarkedDeleted, RunReport};
use crate::sink::Sink;
use crate::sink::document::ref_fqn;
use crate::state::StateStore;
use std::collections::HashSet;

/// What a run may mark deleted, from its workflow.
pub struct Disappeared {
    /// The kinds whose `markDeleted*` key is on, each with the reason its
    /// scope cannot be told from an FQN today, if it cannot.
    kinds: Vec<(Kind, Option<&'static str>)>,
    max_fraction: f64,
    selection: Selection,
    service: String,
}

/// What [`Disappeared::find`] found.
#[derive(Debug, Default)]
pub struct Finding {
    /// (kind, FQN) of the entities gone, sorted.
    pub gone: Vec<(String, String)>,
    /// Why they are not to be marked, if they are not.
    pub withheld: Option<String>,
    /// Why some kinds were not looked at.
    pub notes: Vec<String>,
}

impl Disappeared {
    pub fn of(workflow: &Workflow) -> Disappeared {
        let metadata = workflow.metadata_config();
        let mut kinds = Vec::new();
        match (workflow.dashboard_config(), workflow.pipeline_config()) {
            // A run is never deleted: its pipeline is, and takes its runs.
            (_, Some(pipeline)) => {
                if pipeline.mark_deleted_pipelines {
                    kinds.push((Kind::Pipeline, None));
                }
            }
            (Some(dashboard), None) => {
                if dashboard.mark_deleted_dashboards {
                    let by_title =
                        dashboard.dashboard_filter_pattern.is_some() || dashboard.project_filter_pattern.is_some();
                    let why = "dashboardFilterPattern or projectFilterPattern is set, and the connector filters \
                               dashboards by title and folder, which their FQN does not hold";
                    kinds.push((Kind::Dashboard, by_title.then_some(why)));
                }
                if dashboard.mark_deleted_data_models {
                    let why = "dataModelFilterPattern is set, and the connector applies it";
                    kinds.push((Kind::DataModel, dashboard.data_model_filter_pattern.is_some().then_some(why)));
                }
            }
            (None, None) => {
                if metadata.mark_deleted_tables {
                    let why = "includeTables or includeViews is off, and an FQN does not say whether it is a view";
                    kinds.push((Kind::Table, (!metadata.include_tables || !metadata.include_views).then_some(why)));
                }
                if metadata.mark_deleted_stored_procedures {
                    kinds.push((Kind::StoredProcedure, None));
                }
            }
        }
        Disappeared {
            kinds,
            max_fraction: workflow.weir.mark_deleted_max_fraction.unwrap_or(DEFAULT_MARK_DELETED_MAX_FRACTION),
            selection: Selection::of(workflow),
            service: workflow.source.service_name.to_string(),
        }
    }

    /// The FQN a discovered reference has in the sink.
    fn seen_fqn(&self, kind: Kind, path: &[String]) -> Option<(String, String)> {
        Some((kind.entity_type().to_string(), ref_fqn(&self.service, path).ok()?))
    }

    /// Whether a stored entity of `kind` is inside today's filters.
    fn in_scope(&self, kind: Kind, stored: &str) -> bool {
        let mut parts = fqn::split(stored);
        if parts.first().map(String::as_str) != Some(self.service.as_str()) {
            return false;
        }
        parts.remove(0);
        self.selection.wants_kind(kind) && self.selection.keeps(&EntityRef { kind, path: parts, cost: 0, key: None })
    }

    /// The entities of `discovered` kinds the sink holds, in scope, that
    /// neither `run_id` saw nor its plan (`listed`) holds, and whether the
    /// fraction allows marking them.
    pub async fn find(
        &self,
        sink: &Sink,
        state: &StateStore,
        run_id: &str,
        discovered: &[String],
        listed: &HashSet<(String, String)>,
    ) -> Result<Finding, IngestError> {
        let mut finding = Finding::default();
        let mut in_scope = 0usize;
        for (kind, undecidable) in &self.kinds {
            let name = kind.entity_type();
            if !discovered.iter().any(|d| d == name) {
                continue;
            }
            let Some(live) = sink.live(state, &self.service, name).await? else { return Ok(Finding::default()) };
            let scoped: Vec<(String, String)> = live.into_iter().filter(|(f, _)| self.in_scope(*kind, f)).collect();
            let gone: Vec<String> = scoped
                .iter()
                .filter(|(f, seen_by)| seen_by != run_id && !in_plan(listed, *kind, f))
                .map(|(f, _)| f.clone())
                .collect();
            if let Some(why) = undecidable {
                if !gone.is_empty() {
                    finding.notes.push(format!(
                        "{} {name} entities not listed by this run were not marked deleted: {why}",
                        gone.len()
                    ));
                }
                continue;
            }
            in_scope += scoped.len();
            finding.gone.extend(gone.into_iter().map(|f| (name.to_string(), f)));
        }
        finding.gone.sort();
        let fraction = finding.gone.len() as f64 / in_scope.max(1) as f64;
        if !finding.gone.is_empty() && fraction > self.max_fraction {
            finding.withheld = Some(format!(
                "{} of the {in_scope} entities earlier runs saw in this scope ({:.0}%) were not listed by this one, \
                 more than weir.markDeletedMaxFraction ({}) allows: none was marked deleted. A wrong filter, a \
                 missing grant or another database looks like this; if they really are gone, raise \
                 weir.markDeletedMaxFraction for one run",
                finding.gone.len(),
                fraction * 100.0,
                self.max_fraction
            ));
        }
        Ok(finding)
    }
}

/// Whether the plan lists a stored entity. A routine's FQN ends with its
/// signature (overloads share a name), which a discovered reference does
/// not carry: it is looked up by name alone, so a dry run does not call an
/// overloaded routine gone while one of that name is there.
fn in_plan(listed: &HashSet<(String, String)>, kind: Kind, stored: &str) -> bool {
    let name = kind.entity_type().to_string();
    if listed.contains(&(name.clone(), stored.to_string())) {
        return true;
    }
    let mut parts = fqn::split(stored);
    match (kind, parts.last_mut()) {
        (Kind::StoredProcedure, Some(last)) if last.ends_with(')') => {
            if let Some(open) = last.find('(') {
                last.truncate(open);
            }
            fqn::build(&parts).is_ok_and(|unsigned| listed.contains(&(name, unsigned)))
        }
        _ => false,
    }
}

/// Why a run marks nothing whatever disappeared: it failed somewhere, was
/// cancelled or was stopped.
fn unclean(report: &RunReport) -> Option<String> {
    if let Some(stopped) = &report.stopped {
        return Some(format!("the run was stopped ({stopped})"));
    }
    if report.cancelled() > 0 {
        return Some(format!("{} entities were cancelled", report.cancelled()));
    }
    if !report.failures.is_empty() {
        return Some(format!("{} entities failed, and one of them may be what was not listed", report.failures.len()));
    }
    None
}

/// The end of a run: marks what disappeared, or says why not, in the
/// report. `seen`: every entity the run's discovery kept.
pub async fn mark(
    workflow: &Workflow,
    sink: &Sink,
    state: &StateStore,
    seen: &HashSet<(String, String)>,
    report: &mut RunReport,
) -> Result<(), IngestError> {
    let disappeared = Disappeared::of(workflow);
    let discovered: Vec<String> = report.kinds.iter().map(|k| k.kind.clone()).collect();
    let finding = disappeared.find(sink, state, &report.run_id, &discovered, seen).await?;
    for note in finding.notes {
        tracing::warn!("{note}");
        report.warnings.push(note);
    }
    if finding.gone.is_empty() {
        return Ok(());
    }
    if let Some(why) = unclean(report) {
        let message = format!("{} entities not listed by this run were not marked deleted: {why}", finding.gone.len());
        tracing::warn!("{message}");
        report.warnings.push(message);
        return Ok(());
    }
    if let Some(withheld) = finding.withheld {
        tracing::warn!("{withheld}");
        report.warnings.push(withheld);
        return Ok(());
    }
    let entities: Vec<(&str, &str)> = finding.gone.iter().map(|(k, f)| (k.as_str(), f.as_str())).collect();
    let refused = sink.mark_deleted(state, &report.service, &entities).await?;
    for (kind, fqn) in &finding.gone {
        if let Some((_, _, reason)) = refused.iter().find(|(k, f, _)| k == kind && f == fqn) {
            let message = format!("{kind} {fqn} is gone from the source but could not be marked deleted: {reason}");
            tracing::warn!("{message}");
            report.warnings.push(message);
            continue;
        }
        tracing::info!(kind = %kind, fqn = %fqn, "marked deleted");
        report.kind_mut(kind).deleted += 1;
        report.marked_deleted.push(MarkedDeleted { kind: kind.clone(), fqn: fqn.clone() });
    }
    Ok(())
}

/// Every entity of a run's plan, (kind, FQN) as the sink names them.
pub fn seen_in_plan(workflow: &Workflow, shards: &[Shard]) -> HashSet<(String, String)> {
    let disappeared = Disappeared::of(workflow);
    shards.iter().flat_map(|s| s.refs.iter().filter_map(|r| disappeared.seen_fqn(s.kind, &r.path))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FailureRecord;

    #[test]
    fn a_run_that_failed_was_cancelled_or_was_stopped_marks_nothing() {
        let clean = RunReport::default();
        assert_eq!(unclean(&clean), None);

        let mut failed = RunReport::default();
        failed.failures.push(FailureRecord {
            entity: "svc.db.s.t".into(),
            kind: "table".into(),
            error: "invalid".into(),
            reason: "broken".into(),
            may_pass: false,
            shard: None,
        });
        assert!(unclean(&failed).is_some_and(|why| why.contains("1 entities failed")));

        let mut cancelled = RunReport::default();
        cancelled.kind_mut("table").cancelled = 3;
        assert!(unclean(&cancelled).is_some_and(|why| why.contains("3 entities were cancelled")));

        let stopped = RunReport { stopped: Some("more than 0 entities failed (--max-failures)".into()), ..clean };
        assert!(unclean(&stopped).is_some_and(|why| why.contains("stopped")));
    }

    #[test]
    fn an_overloaded_routine_is_listed_by_its_name_without_the_signature() {
        let listed = HashSet::from([("storedProcedure".to_string(), "svc.db.s.total".to_string())]);
        assert!(in_plan(&listed, Kind::StoredProcedure, "svc.db.s.total(o bigint)"));
        assert!(!in_plan(&listed, Kind::StoredProcedure, "svc.db.s.purge()"));
        assert!(!in_plan(&listed, Kind::Table, "svc.db.s.total(o bigint)"));
    }
}
