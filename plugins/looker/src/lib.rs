//! The Looker connector: dashboards and their elements (as charts), and
//! LookML explores (as data models), with lineage from the database tables
//! explores read to the explores, and from explores to the charts and
//! dashboards built on them. It speaks Looker API 4.0 through the host's
//! HTTP capability, granted for the connection's `hostPort` only.
//!
//! - `settings`: the workflow keys; `api`: login, token, batched GETs.
//! - `discover`: two listing calls; refs are dashboards and explores.
//! - `dashboards` and `explores`: a batch in one round of concurrent GETs.
//! - `types`: Looker's type names in OpenMetadata's vocabulary; `model`:
//!   JSON reading. Table names go to services through `weir_sdk::tables`.

mod api;
mod dashboards;
mod discover;
mod explores;
mod model;
mod settings;
mod types;

use api::{Api, Session};
use settings::Settings;
use weir_sdk::{Batch, Capability, Config, Connector, EntityKind, EntityRef, Failure, PluginInfo, Result};

/// One instance's connector: its Looker session.
pub struct Looker {
    session: Session,
}

impl Connector for Looker {
    fn new() -> Self {
        Looker { session: Session::default() }
    }

    fn describe() -> PluginInfo {
        PluginInfo {
            name: "looker".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            source_types: vec!["looker".to_string()],
            entity_kinds: vec![EntityKind::DataModel, EntityKind::Dashboard],
            // The connection's hostPort; the host grants it implicitly.
            capabilities: vec![Capability::Http("connection".to_string())],
            config_schema: SOURCE_CONFIG_SCHEMA.to_string(),
        }
    }

    fn discover(&mut self, config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let settings = Settings::from_config(config)?;
        discover::discover(&settings, &self.session, kind)
    }

    fn process(&mut self, config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        let settings = Settings::from_config(config)?;
        let api = Api::new(&settings, &self.session);
        let mut batch = Batch::default();
        let (dashboards, rest): (Vec<EntityRef>, Vec<EntityRef>) =
            refs.into_iter().partition(|r| r.kind == EntityKind::Dashboard);
        let (explores, other): (Vec<EntityRef>, Vec<EntityRef>) =
            rest.into_iter().partition(|r| r.kind == EntityKind::DataModel);
        for r in other {
            let error = Failure::permanent("the Looker connector only processes dashboards and explores");
            batch.failures.push(weir_sdk::EntityFailure { path: r.path, error });
        }
        let (dashboards, explores) = (checked(dashboards, &mut batch), checked(explores, &mut batch));
        if !explores.is_empty() {
            explores::process(&settings, &api, &explores, &mut batch);
        }
        if !dashboards.is_empty() {
            dashboards::process(&settings, &api, &dashboards, &mut batch);
        }
        Ok(batch)
    }
}

/// Refs whose path is one name; the others fail.
fn checked(refs: Vec<EntityRef>, batch: &mut Batch) -> Vec<EntityRef> {
    let (good, bad): (Vec<EntityRef>, Vec<EntityRef>) = refs.into_iter().partition(|r| r.path.len() == 1);
    for r in bad {
        let error = Failure::permanent(format!("a Looker ref has one name, not {:?}", r.path));
        batch.failures.push(weir_sdk::EntityFailure { path: r.path, error });
    }
    good
}

/// The `sourceConfig.config` keys read, as JSON Schema.
const SOURCE_CONFIG_SCHEMA: &str = r##"{
  "type": "object",
  "properties": {
    "type": {"const": "DashboardMetadata"},
    "dashboardFilterPattern": {"$ref": "#/definitions/filterPattern", "description": "on dashboard titles"},
    "chartFilterPattern": {"$ref": "#/definitions/filterPattern", "description": "on element titles"},
    "dataModelFilterPattern": {"$ref": "#/definitions/filterPattern", "description": "on explore names"},
    "projectFilterPattern": {"$ref": "#/definitions/filterPattern", "description": "on dashboard folders"},
    "lineageInformation": {"type": "object", "properties": {"dbServicePrefixes": {"type": "array", "items": {"type": "string"}}}},
    "includeDataModels": {"type": "boolean", "default": true},
    "includeOwners": {"type": "boolean", "default": true}
  },
  "definitions": {
    "filterPattern": {"type": "object", "properties": {
      "includes": {"type": "array", "items": {"type": "string"}},
      "excludes": {"type": "array", "items": {"type": "string"}}}}
  }
}"##;

weir_sdk::export_connector!(Looker);
