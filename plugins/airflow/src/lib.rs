//! The Airflow connector: DAGs as pipelines with their tasks, runs as
//! pipeline statuses with their task instances, and lineage from the
//! tables a DAG's assets name. It speaks Airflow 3's REST API (`/api/v2`),
//! or Airflow 2's (`/api/v1`) where that is all the server has, through
//! the host's HTTP capability, granted for `hostPort` only.
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
            runs::process(&api, &runs, &mut batch);
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

#[cfg(test)]
mod tests {
    use super::*;
    use weir_sdk::serde_json::{Value, json};
    use weir_sdk::testing::{Answer, TestHost};

    const HOST: &str = "http://airflow.test:8080";

    fn host() -> TestHost {
        TestHost::new("airflow")
            .connection("hostPort", HOST)
            .connection("connection", json!({"type": "RestAPI", "authConfig": {"username": "weir"}}))
            .http(Answer::get(&format!("{HOST}/api/v2/version")).json(&json!({"version": "3.3.2"})))
    }

    fn login(token: &str) -> Answer {
        Answer::post(&format!("{HOST}/auth/token")).status(201).json(&json!({"access_token": token}))
    }

    fn dags(ids: impl Iterator<Item = String>, total: usize) -> Value {
        let dags: Vec<Value> = ids.map(|id| json!({"dag_id": id})).collect();
        json!({"dags": dags, "total_entries": total})
    }

    #[test]
    fn the_password_is_a_placeholder_and_a_refused_token_means_one_login_more() {
        let list = format!("{HOST}/api/v2/dags?order_by=dag_id&limit=100&offset=0");
        let host = host()
            .http(login("first").times(1))
            .http(login("second"))
            .http(Answer::get(&list).status(401).json(&json!({"detail": "expired"})).times(1))
            .http(Answer::get(&list).json(&dags(["a".to_string()].into_iter(), 1)));
        let refs = host.discover(&mut Airflow::new(), EntityKind::Pipeline).unwrap();
        assert_eq!(refs.iter().map(|r| r.path.clone()).collect::<Vec<_>>(), [vec!["a".to_string()]]);
        let sent = host.sent();
        let logins: Vec<_> = sent.iter().filter(|s| s.url.ends_with("/auth/token")).collect();
        assert_eq!(logins.len(), 2, "logged in again after the 401");
        let body = String::from_utf8(logins[0].body.clone().unwrap_or_default()).unwrap();
        assert_eq!(body, r#"{"password":"{{secret:password}}","username":"weir"}"#);
        let lists: Vec<_> = sent.iter().filter(|s| s.url.starts_with(&list)).collect();
        assert_eq!(lists[1].header("authorization"), Some("Bearer second"));
    }

    #[test]
    fn a_long_list_is_read_a_page_then_every_other_page_at_once() {
        let page = |offset: usize, n: usize| {
            let url = format!("{HOST}/api/v2/dags?order_by=dag_id&limit=100&offset={offset}");
            Answer::get(&url).json(&dags((offset..offset + n).map(|i| format!("dag_{i:03}")), 250))
        };
        let host = host().http(login("t")).http(page(0, 100)).http(page(100, 100)).http(page(200, 50));
        let refs = host.discover(&mut Airflow::new(), EntityKind::Pipeline).unwrap();
        assert_eq!(refs.len(), 250);
        assert_eq!(refs[249].path, ["dag_249"]);
        let lists = host.sent().iter().filter(|s| s.url.contains("/api/v2/dags?")).count();
        assert_eq!(lists, 3);
    }

    #[test]
    fn runs_are_read_after_the_last_ingested_one_and_a_refused_login_says_what_to_check() {
        let list = format!("{HOST}/api/v2/dags?order_by=dag_id&limit=100&offset=0");
        let runs = format!("{HOST}/api/v2/dags/load/dagRuns");
        let host = host()
            .last_run("load", 1_796_724_930_123)
            .http(login("t"))
            .http(Answer::get(&list).json(&dags(["load".to_string()].into_iter(), 1)))
            .http(Answer::get(&runs).json(&json!({"dag_runs": [
                {"dag_run_id": "manual__1", "state": "success", "run_after": "2026-12-08T11:00:00Z", "end_date": null}
            ], "total_entries": 1})));
        let refs = host.discover(&mut Airflow::new(), EntityKind::PipelineStatus).unwrap();
        assert_eq!(refs[0].path, ["load", "manual__1"]);
        let asked = host.sent().into_iter().find(|s| s.url.starts_with(&runs)).unwrap();
        assert!(asked.url.contains("run_after_gte=2026-12-08T10%3A15%3A30.124Z"), "{}", asked.url);
        assert!(asked.url.contains("order_by=-run_after&limit=10"), "{}", asked.url);

        let refused = host_refusing_login();
        let error = refused.discover(&mut Airflow::new(), EntityKind::Pipeline).unwrap_err();
        assert!(
            error.message.contains("Airflow refused the login of `weir` (status 401: Invalid credentials)"),
            "{}",
            error.message
        );
    }

    fn host_refusing_login() -> TestHost {
        host().http(
            Answer::post(&format!("{HOST}/auth/token")).status(401).json(&json!({"detail": "Invalid credentials"})),
        )
    }

    #[test]
    fn an_airflow_2_server_is_read_through_api_v1_with_basic_credentials() {
        let list = format!("{HOST}/api/v1/dags?order_by=dag_id&limit=100&offset=0");
        let host = TestHost::new("airflow")
            .connection("hostPort", HOST)
            .connection("connection", json!({"authConfig": {"username": "weir"}}))
            .http(Answer::get(&format!("{HOST}/api/v2/version")).status(404))
            .http(Answer::get(&format!("{HOST}/api/v1/version")).json(&json!({"version": "2.10.5"})))
            .http(Answer::get(&list).json(&dags(["a".to_string()].into_iter(), 1)));
        let refs = host.discover(&mut Airflow::new(), EntityKind::Pipeline).unwrap();
        assert_eq!(refs[0].path, ["a"]);
        let sent = host.sent();
        assert!(!sent.iter().any(|s| s.url.contains("/auth/token")), "Airflow 2 has no login");
        let asked = sent.iter().find(|s| s.url == list).unwrap();
        assert_eq!(asked.header("authorization"), Some("Basic {{secret:password|basic:weir}}"));
    }
}
