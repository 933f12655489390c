//! Plugins built against an older contract of the series. A component's
//! types must match the host's exactly, and `0.2.2` added cases to
//! `entity-kind` and `entity`, so a `0.2.0`/`0.2.1` plugin is linked and
//! called through bindings of its own ([`crate::contract::v0_2_1`]); what
//! it returns is turned into the current contract's values here, and what
//! it is given into its own.
//!
//! The two versions name every field and case alike and the older one has
//! a subset of them, so the conversion goes through serde's data model
//! (both bindings derive it): one rule for every type instead of one
//! mapping per record. It copies each value once, which only these older
//! plugins pay.

pub use crate::contract::Contract;
use crate::contract::v0_2_1;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value of one contract version as the other one has it. Fails only
/// when the value uses something the target version does not have (a
/// `pipeline` kind for a `0.2.1` plugin).
pub fn convert<From: Serialize, To: DeserializeOwned>(value: &From) -> Result<To, String> {
    let value = serde_json::to_value(value).map_err(|e| e.to_string())?;
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// The refs an older plugin emits while it discovers, as this host's.
impl v0_2_1::weir::connector::discovery::Host for crate::caps::discovery::DiscoveryState {
    async fn emit(&mut self, refs: Vec<v0_2_1::types::EntityRef>) -> wasmtime::Result<()> {
        let refs: Vec<crate::contract::types::EntityRef> = convert(&refs).map_err(wasmtime::Error::msg)?;
        crate::contract::weir::connector::discovery::Host::emit(self, refs).await
    }
}

// The older types interface has no functions either.
impl v0_2_1::types::Host for crate::caps::CapabilityState {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::types as current;
    use v0_2_1::types as old;

    #[test]
    fn versions_of_the_series_pick_their_bindings() {
        assert_eq!(Contract::for_version("0.2.0"), Contract::V0_2_1);
        assert_eq!(Contract::for_version("0.2.1"), Contract::V0_2_1);
        assert_eq!(Contract::for_version("0.2.2"), Contract::Current);
        assert_eq!(Contract::for_version("0.2.9"), Contract::Current);
    }

    #[test]
    fn an_older_batch_becomes_the_current_one_field_for_field() {
        let batch = old::Batch {
            entities: vec![old::Entity::Dashboard(old::Dashboard {
                name: "5".into(),
                display_name: Some("Sales".into()),
                description: None,
                source_url: Some("https://looker/dashboards/5".into()),
                charts: vec!["7".into()],
                project: Some("shop".into()),
                owner: None,
            })],
            deferred: vec![old::Deferred::Lineage(old::LineageEdge {
                from_kind: old::EntityKind::Table,
                from: vec!["d".into(), "s".into(), "t".into()],
                from_service: Some("pg".into()),
                to_kind: old::EntityKind::Dashboard,
                to: vec!["5".into()],
                to_service: None,
                sql: None,
            })],
            failures: vec![old::EntityFailure {
                path: vec!["6".into()],
                error: old::Failure { kind: old::ErrorKind::Transient, message: "later".into() },
            }],
        };
        let now: current::Batch = convert(&batch).expect("an older batch converts");
        let current::Entity::Dashboard(dashboard) = &now.entities[0] else { panic!("{:?}", now.entities) };
        assert_eq!((dashboard.name.as_str(), dashboard.charts.as_slice()), ("5", &["7".to_string()][..]));
        assert_eq!(dashboard.project.as_deref(), Some("shop"));
        let current::Deferred::Lineage(edge) = &now.deferred[0] else { panic!("not lineage") };
        assert_eq!((edge.from_kind, edge.to_kind), (current::EntityKind::Table, current::EntityKind::Dashboard));
        assert_eq!(now.failures[0].error.kind, current::ErrorKind::Transient);
    }

    #[test]
    fn what_an_older_plugin_cannot_have_is_refused_not_mangled() {
        let kind: Result<old::EntityKind, _> = convert(&current::EntityKind::Pipeline);
        assert!(kind.is_err(), "a 0.2.1 plugin has no pipeline kind");
        let table: old::EntityKind = convert(&current::EntityKind::Table).expect("tables are in both");
        assert_eq!(table, old::EntityKind::Table);
    }
}
