//! The Airflow connector: DAGs as pipelines with their tasks, runs as
//! pipeline statuses with their task instances, and lineage from the
//! tables a DAG's assets name. It speaks Airflow 3's REST API (`/api/v2`)
//! through the host's HTTP capability, granted for `hostPort` only.
//!
//! - `settings`: the workflow keys; `api`: login, token, batched calls and
//!   paged lists.
//! - `discover`: the DAG list; each DAG's newest runs.
//! - `pipelines`, `runs`, `assets`: a batch in a fixed number of rounds of
//!   concurrent calls. `time`: Airflow's timestamps.

mod api;
mod assets;
mod discover;
mod pipelines;
mod runs;
mod settings;
mod time;

use api::{Api, Session};
use settings::Settings;
use weir_sdk::{Batch, Capability, Config, Connector, EntityKind, EntityRef, Failure, PluginInfo, Result};

/// One instance's connector: its Airflow session.
pub struct Airflow {
    session: Session,
}

impl Connector for Airflow {
    fn new() -> Self {
        Airflow { session: Session::default() }
    }

    fn describe() -> PluginInfo {
        PluginInfo {
            name: "airflow".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            source_types: vec!["airflow".to_string()],
            entity_kinds: vec![EntityKind::Pipeline, EntityKind::PipelineStatus],
            // The connection's hostPort; the host grants it implicitly.
            capabilities: vec![Capability::Http("connection".to_string())],
            config_schema: SOURCE_CONFIG_SCHEMA.to_string(),
        }
    }

    fn discover(&mut self, config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let settings = Settings::from_config(config)?;
        discover::discover(&settings, &Api::new(&settings, &self.session), config, kind)
    }

    fn process(&mut self, config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        let settings = Settings::from_config(config)?;
        let api = Api::new(&settings, &self.session);
        let mut batch = Batch::default();
        let mut pipelines = Vec::new();
        let mut runs = Vec::new();
        for r in refs {
            match (r.kind, r.path.len()) {
                (EntityKind::Pipeline, 1) => pipelines.push(r),
                (EntityKind::PipelineStatus, 2) => runs.push(r),
                _ => {
                    let error = Failure::permanent(format!(
                        "the Airflow connector processes DAGs ([dag]) and runs ([dag, run]), not {:?}",
                        r.path
                    ));
                    batch.failures.push(weir_sdk::EntityFailure { path: r.path, error });
                }
            }
        }
        if !pipelines.is_empty() {
            pipelines::process(&settings, &api, &pipelines, &mut batch);
        }
        if !runs.is_empty() {
            runs::process(&settings, &api, &runs, &mut batch);
        }
        Ok(batch)
    }
}

/// The `sourceConfig.config` keys read, as JSON Schema.
const SOURCE_CONFIG_SCHEMA: &str = r##"{
  "type": "object",
  "properties": {
    "type": {"const": "PipelineMetadata"},
    "pipelineFilterPattern": {"$ref": "#/definitions/filterPattern", "description": "on DAG ids"},
    "lineageInformation": {"type": "object", "properties": {"dbServicePrefixes": {"type": "array", "items": {"type": "string"}}}},
    "includeLineage": {"type": "boolean", "default": true},
    "includeOwners": {"type": "boolean", "default": true},
    "includeTags": {"type": "boolean", "default": true},
    "statusLookbackDays": {"type": "integer", "minimum": 0}
  },
  "definitions": {
    "filterPattern": {"type": "object", "properties": {
      "includes": {"type": "array", "items": {"type": "string"}},
      "excludes": {"type": "array", "items": {"type": "string"}}}}
  }
}"##;

weir_sdk::export_connector!(Airflow);
