//! What every layer speaks of, defined once and using nothing else of
//! weir's: entity kinds with their names and order ([`Kind`]), FQNs
//! ([`fqn`]), the relations applied in phase 2, the kind of service a run
//! fills, the run counts, what a piece of work cost. Nothing here knows the contract's
//! generated types; turning those into these is `runtime::into_model`'s.

pub mod entity;
pub mod fqn;
/// Shared with the SDK, so plugins and host name and order kinds alike.
#[path = "../../../sdk/src/kind.rs"]
mod kind;

pub use kind::Kind;
pub(crate) use kind::entity_kind_conversions;

use serde_json::Value;
use std::time::Duration;

/// What kind of service a run ingests: OpenMetadata keeps databases and
/// dashboards in separate service collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    Database,
    Dashboard,
    Pipeline,
}

impl ServiceKind {
    /// The service a plugin's kinds fill: dashboard kinds make a dashboard
    /// service, pipeline kinds a pipeline service, anything else a
    /// database service.
    pub fn of(kinds: &[Kind]) -> ServiceKind {
        if kinds.iter().any(|k| matches!(k, Kind::Dashboard | Kind::Chart | Kind::DataModel)) {
            ServiceKind::Dashboard
        } else if kinds.iter().any(|k| matches!(k, Kind::Pipeline | Kind::PipelineStatus)) {
            ServiceKind::Pipeline
        } else {
            ServiceKind::Database
        }
    }

    /// OpenMetadata's entity type name.
    pub fn entity_type(self) -> &'static str {
        match self {
            ServiceKind::Database => "databaseService",
            ServiceKind::Dashboard => "dashboardService",
            ServiceKind::Pipeline => "pipelineService",
        }
    }
}

/// A record that points at another entity, applied in phase 2.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Relation {
    ForeignKey {
        table: String,
        name: String,
        columns: Vec<String>,
        referred_table: String,
        referred_columns: Vec<String>,
    },
    Lineage {
        from: String,
        to: String,
        body: Value,
        /// The upstream end is the entity that produced the edge (a
        /// pipeline writing another service's table): it owns the edge,
        /// and the downstream end is the one that must exist.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        owned_by_from: bool,
    },
}

impl Relation {
    /// The entity whose processing produced this record: rewriting that
    /// entity replaces its records.
    pub fn owner(&self) -> &str {
        match self {
            Relation::ForeignKey { table, .. } => table,
            Relation::Lineage { to, owned_by_from: false, .. } => to,
            Relation::Lineage { from, owned_by_from: true, .. } => from,
        }
    }

    /// The entity this record needs to exist.
    pub fn target(&self) -> &str {
        match self {
            Relation::ForeignKey { referred_table, .. } => referred_table,
            Relation::Lineage { from, owned_by_from: false, .. } => from,
            Relation::Lineage { to, owned_by_from: true, .. } => to,
        }
    }
}

/// What became of one kind's entities in a run: every one found is
/// filtered, written, unchanged, failed or cancelled.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KindCounts {
    pub kind: String,
    /// Listed by `discover`.
    pub found: usize,
    /// Dropped by filter patterns or include flags.
    pub filtered: usize,
    pub written: usize,
    /// Not sent: the sink has it as it is (its content hash is the one the
    /// sink was last sent).
    pub unchanged: usize,
    pub failed: usize,
    /// Never processed: the run was stopped (`maxFailures`) first.
    pub cancelled: usize,
    /// Entities or failures the plugin returned without being asked for
    /// them (reported, never written, outside `found`).
    pub unrequested: usize,
    /// Seen by an earlier run and gone from the source now: marked deleted
    /// in the sink (outside `found`).
    pub deleted: usize,
    /// `process` calls for this kind.
    pub batches: usize,
    /// Statements the plugin sent for this kind, discovery included.
    pub queries: u64,
}

/// What a piece of work cost, whatever became of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkCost {
    /// `process` calls made, retries and bisection included.
    pub calls: u32,
    pub retries: u32,
    /// Instances lost to faults on the way.
    pub faults: u32,
    /// Statements the plugin sent, retries included.
    pub queries: u64,
    pub elapsed: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboard_kinds_make_a_dashboard_service() {
        assert_eq!(ServiceKind::of(&[Kind::Database, Kind::DatabaseSchema, Kind::Table]), ServiceKind::Database);
        assert_eq!(ServiceKind::of(&[Kind::Chart, Kind::Dashboard]), ServiceKind::Dashboard);
        assert_eq!(ServiceKind::of(&[Kind::DataModel]).entity_type(), "dashboardService");
        assert_eq!(ServiceKind::of(&[Kind::Pipeline, Kind::PipelineStatus]).entity_type(), "pipelineService");
    }
}
