//! The contract's generated types turned into [`crate::model`]'s, so that
//! the layers past the sandbox need not know the contract's version.

use crate::contract::types::EntityKind;
use crate::model::{Kind, ServiceKind};

crate::model::entity_kind_conversions!(EntityKind);

/// The service a plugin's kinds fill: dashboard kinds make a dashboard
/// service, anything else a database service.
pub fn service_kind(kinds: &[EntityKind]) -> ServiceKind {
    if kinds.iter().any(|k| matches!(k, EntityKind::Dashboard | EntityKind::Chart | EntityKind::DataModel)) {
        ServiceKind::Dashboard
    } else {
        ServiceKind::Database
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EntityKind as K;

    #[test]
    fn dashboard_kinds_make_a_dashboard_service() {
        assert_eq!(service_kind(&[K::Database, K::DatabaseSchema, K::Table]), ServiceKind::Database);
        assert_eq!(service_kind(&[K::Chart, K::Dashboard]), ServiceKind::Dashboard);
        assert_eq!(service_kind(&[K::DataModel]).entity_type(), "dashboardService");
    }
}
