//! `weir check`: whether a workflow can run, before it runs. The stages a
//! run begins with, each as a named step with its own timeout, the way
//! OpenMetadata's test-connection runs its steps (`testConnections/*.json`:
//! `CheckAccess`, `GetDatabases`, `GetSchemas`, `GetTables`, `GetViews`,
//! `GetTags`, `GetQueries`, each mandatory or not): the plugin loads and
//! connects, each kind it lists is listed, a few entities of each main kind
//! are read, and, on PostgreSQL and SQL Server, the privileges the optional
//! metadata needs are tried with one statement each. Then the sink and the
//! state store: reachable, writable, OpenMetadata's version and token.
//!
//! Nothing is written: no entity reaches the sink, no run the state store.
//! A step that fails says the server's reason and, where the reason names
//! it, the privilege to grant.

use super::ingest::{self, IngestError, IngestOptions};
use super::select::Selection;
use crate::caps::Redactor;
use crate::config::Workflow;
use crate::model::entity::EntityRef;
use crate::model::{Kind, ServiceKind};
use crate::runtime::{Runtime, RuntimeOptions};
use crate::sink::Sink;
use crate::text::error_chain;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each kind of step may take unless `--timeout` says.
const ACCESS_TIMEOUT: Duration = Duration::from_secs(60);
const LIST_TIMEOUT: Duration = Duration::from_secs(180);
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// Entities of each main kind read to prove they can be read.
const SAMPLE: usize = 5;

/// One step's outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// `source`, `sink` or `stateStore`.
    pub part: &'static str,
    pub name: String,
    pub description: String,
    pub mandatory: bool,
    /// `passed`, `failed` or `skipped`.
    pub outcome: &'static str,
    /// What passed (`12 found`), or the server's reason it failed.
    pub detail: String,
    /// The privilege to grant, where the reason names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    pub secs: f64,
    pub timeout_secs: f64,
}

/// Every step, in order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub service: String,
    pub source_type: String,
    pub plugin: String,
    pub steps: Vec<Step>,
}

impl CheckReport {
    /// Every mandatory step passed.
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| !s.mandatory || s.outcome == "passed")
    }
}

/// The steps' plan: their names, what they test, whether the run needs
/// them, and how long they may take.
struct Steps {
    redactor: Arc<Redactor>,
    timeout: Option<Duration>,
    done: Vec<Step>,
}

impl Steps {
    /// Runs `step` within its timeout; records its outcome. `Ok` carries
    /// what passed; `Err` the reason it failed.
    async fn run<T>(
        &mut self,
        part: &'static str,
        (name, description, mandatory): (&str, &str, bool),
        timeout: Duration,
        step: impl Future<Output = Result<(T, String), String>>,
    ) -> Option<T> {
        let timeout = self.timeout.unwrap_or(timeout);
        let started = Instant::now();
        let outcome = match tokio::time::timeout(timeout, step).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs_f64())),
        };
        let secs = started.elapsed().as_secs_f64();
        let (value, outcome, detail) = match outcome {
            Ok((value, detail)) => (Some(value), "passed", detail),
            Err(reason) => (None, "failed", self.redactor.redact(&reason)),
        };
        let missing = if outcome == "failed" { missing_privilege(&detail) } else { None };
        // The table printed at the end says it all; the log says it as it goes.
        tracing::info!(part, step = name, outcome, "{detail}");
        self.done.push(Step {
            part,
            name: name.into(),
            description: description.into(),
            mandatory,
            outcome,
            detail,
            missing,
            secs,
            timeout_secs: timeout.as_secs_f64(),
        });
        value
    }

    /// Records steps that cannot run because an earlier one failed.
    fn skip(&mut self, part: &'static str, steps: &[(&str, &str, bool)], why: &str) {
        for (name, description, mandatory) in steps {
            self.done.push(Step {
                part,
                name: (*name).into(),
                description: (*description).into(),
                mandatory: *mandatory,
                outcome: "skipped",
                detail: why.into(),
                missing: None,
                secs: 0.0,
                timeout_secs: 0.0,
            });
        }
    }
}

/// The step that lists `kind`, as OpenMetadata names such steps.
fn list_step(kind: Kind) -> (String, String, bool) {
    let (name, what, mandatory) = match kind {
        Kind::Database => ("GetDatabases", "list the databases", true),
        Kind::DatabaseSchema => ("GetSchemas", "list the schemas", true),
        Kind::Table => ("GetTables", "list the tables and views", true),
        Kind::StoredProcedure => ("GetStoredProcedures", "list the stored procedures", false),
        Kind::Dashboard => ("GetDashboards", "list the dashboards", true),
        Kind::Chart => ("GetCharts", "list the charts", false),
        Kind::DataModel => ("GetDataModels", "list the data models", false),
        Kind::Pipeline => ("GetPipelines", "list the pipelines", true),
        Kind::PipelineStatus => ("GetPipelineStatus", "list the pipelines' runs", false),
    };
    (name.to_string(), what.to_string(), mandatory)
}

/// The kinds whose entities are read as a sample: what a run is for.
fn sampled(kind: Kind) -> bool {
    matches!(kind, Kind::Table | Kind::Dashboard | Kind::Pipeline)
}

/// `weir check`: every step, whatever fails; nothing written.
pub async fn check(
    workflow: &Workflow,
    options: &IngestOptions,
    timeout: Option<Duration>,
) -> Result<CheckReport, IngestError> {
    let redactor = Arc::new(Redactor::new(workflow.secrets()));
    let mut steps = Steps { redactor: redactor.clone(), timeout, done: Vec::new() };
    let mut report = CheckReport {
        service: workflow.source.service_name.to_string(),
        source_type: workflow.source.kind.clone(),
        plugin: String::new(),
        steps: Vec::new(),
    };
    check_source(workflow, options, &mut steps, &mut report).await?;
    check_sink(workflow, options, &mut steps).await;
    check_state(workflow, &mut steps).await;
    report.steps = steps.done;
    Ok(report)
}

async fn check_source(
    workflow: &Workflow,
    options: &IngestOptions,
    steps: &mut Steps,
    report: &mut CheckReport,
) -> Result<(), IngestError> {
    // A plugin this workflow cannot run is the workflow's error, not a step.
    let wasm = ingest::plugin_bytes(workflow)?;
    let runtime = Runtime::new(RuntimeOptions {
        instances: 1,
        limits: workflow.weir.limits.clone(),
        cache_dir: options.cache_dir.clone(),
    })?;
    let plugin = Arc::new(runtime.load(&wasm).await?);
    let declared = ingest::check_plugin(workflow, &plugin)?;
    report.plugin = format!("{} {}", plugin.info.name, plugin.info.version);
    let secrets = workflow.plugin_secrets(&declared);
    crate::logging::redact_secrets(secrets.clone());
    let redactor = Arc::new(Redactor::new(secrets));
    steps.redactor = redactor.clone();
    let selection = Selection::of(workflow);
    let kinds = ingest::wanted_kinds(&plugin.info.entity_kinds, &selection);
    let later: Vec<(String, String, bool)> = kinds.iter().map(|k| list_step(*k)).collect();

    // CheckAccess: the capabilities granted, which connects to a database,
    // and an instance of the plugin made with them.
    let access = ("CheckAccess", "reach the source and sign in", true);
    let mut throwaway = crate::report::RunReport::default();
    let granted = steps
        .run("source", access, ACCESS_TIMEOUT, async {
            let grants = ingest::grant(workflow, &plugin, &declared, 1, redactor.clone(), options, &mut throwaway)
                .await
                .map_err(|e| error_chain(&e))?;
            let instance = plugin.instantiate(&grants).await.map_err(|f| f.to_string())?;
            let detail = describe_access(&grants);
            Ok(((grants, instance), detail))
        })
        .await;
    let Some((grants, mut instance)) = granted else {
        let names: Vec<(&str, &str, bool)> = later.iter().map(|(n, d, m)| (n.as_str(), d.as_str(), *m)).collect();
        steps.skip("source", &names, "CheckAccess failed");
        return Ok(());
    };
    let config = workflow.plugin_config(&declared, &Default::default());

    let mut samples: Vec<(Kind, Vec<EntityRef>)> = Vec::new();
    for kind in kinds {
        let (name, what, mandatory) = list_step(kind);
        let listed = steps
            .run("source", (&name, &what, mandatory), LIST_TIMEOUT, async {
                let refs = match instance.discover(&config, kind).await {
                    Ok(Ok(refs)) => refs,
                    Ok(Err(failure)) => return Err(failure.message),
                    Err(fault) => return Err(fault.to_string()),
                };
                let found = refs.len();
                let kept: Vec<EntityRef> = refs.into_iter().filter(|r| selection.keeps(r)).collect();
                let detail = format!("{found} found, {} kept by the filters", kept.len());
                Ok((kept, detail))
            })
            .await;
        if let Some(kept) = listed
            && sampled(kind)
        {
            samples.push((kind, kept.into_iter().take(SAMPLE).collect()));
        }
    }

    for (kind, refs) in samples {
        let name = format!("Read{}s", capitalized(kind.entity_type()));
        let what = format!("read a sample of {}s (columns, descriptions, definitions)", kind.entity_type());
        steps
            .run("source", (&name, &what, true), LIST_TIMEOUT, async {
                if refs.is_empty() {
                    return Ok(((), "nothing to read: the listing kept none".to_string()));
                }
                let batch = match instance.process(&config, &refs).await {
                    Ok(Ok(batch)) => batch,
                    Ok(Err(failure)) => return Err(failure.message),
                    Err(fault) => return Err(fault.to_string()),
                };
                if let Some(failed) = batch.failures.first() {
                    let more = batch.failures.len() - 1;
                    let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
                    return Err(format!("{}: {}{more}", failed.path.join("."), failed.error.message));
                }
                Ok(((), format!("{} of {} read", batch.entities.len(), refs.len())))
            })
            .await;
    }

    if let Some((label, engine)) = grants.sql.first_engine() {
        for probe in privilege_probes(engine) {
            let sql = grants.sql.clone();
            let label = label.clone();
            steps
                .run("source", (probe.name, probe.description, false), PROBE_TIMEOUT, async move {
                    let row = sql.probe(&label, probe.statement).await?;
                    (probe.judge)(&row).map(|detail| ((), detail))
                })
                .await;
        }
    }
    drop(instance);
    grants.sql.close().await;
    Ok(())
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn describe_access(grants: &crate::caps::Grants) -> String {
    let mut parts = Vec::new();
    let labels = grants.sql.labels();
    if !labels.is_empty() {
        parts.push(format!("SQL connections: {}", labels.join(", ")));
    }
    if let Some(http) = &grants.http {
        let origins: Vec<String> = http.policy().origins().iter().map(ToString::to_string).collect();
        parts.push(format!("HTTP origins: {}", origins.join(", ")));
    }
    if parts.is_empty() { "the plugin needs no connection".into() } else { parts.join("; ") }
}

/// One statement that needs one privilege.
struct Probe {
    name: &'static str,
    description: &'static str,
    statement: &'static str,
    /// What the first row's counts say: passed with a detail, or failed
    /// with the reason.
    judge: fn(&[i64]) -> Result<String, String>,
}

fn count_of(row: &[i64]) -> i64 {
    row.first().copied().unwrap_or(0)
}

/// The privileges PostgreSQL's and SQL Server's optional metadata needs,
/// after OpenMetadata's optional steps for them.
fn privilege_probes(engine: &str) -> Vec<Probe> {
    match engine {
        "postgres" => vec![
            Probe {
                name: "GetViews",
                description: "read view definitions",
                statement: "SELECT count(pg_catalog.pg_get_viewdef(c.oid))::bigint FROM pg_catalog.pg_class c \
                            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') \
                            AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
                judge: |row| Ok(format!("{} view definitions readable", count_of(row))),
            },
            Probe {
                name: "GetComments",
                description: "read comments (descriptions)",
                statement: "SELECT count(pg_catalog.obj_description(c.oid, 'pg_class'))::bigint \
                            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                            WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') \
                            AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
                judge: |row| Ok(format!("{} tables and views have a comment", count_of(row))),
            },
            Probe {
                name: "GetTags",
                description: "read row-level security policies (pg_policy)",
                statement: "SELECT count(*)::bigint FROM pg_catalog.pg_policy",
                judge: |row| Ok(format!("{} policies readable", count_of(row))),
            },
            Probe {
                name: "GetQueries",
                description: "read query history (pg_stat_statements), for usage and lineage from queries",
                statement: "SELECT count(*)::bigint FROM pg_stat_statements",
                judge: |row| Ok(format!("{} statements in pg_stat_statements", count_of(row))),
            },
        ],
        "mssql" => vec![
            Probe {
                name: "GetViews",
                description: "read view and procedure definitions",
                statement: "SELECT CAST(count(*) AS bigint) AS modules, CAST(count(definition) AS bigint) AS visible \
                            FROM sys.sql_modules",
                judge: |row| {
                    let value = |i: usize| row.get(i).copied().unwrap_or(0);
                    let (modules, visible) = (value(0), value(1));
                    if modules > 0 && visible < modules {
                        Err(format!(
                            "{} of {modules} definitions are hidden from this login: the VIEW DEFINITION permission is \
                             missing",
                            modules - visible
                        ))
                    } else {
                        Ok(format!("{visible} definitions readable"))
                    }
                },
            },
            Probe {
                name: "GetQueries",
                description: "read query history (sys.dm_exec_cached_plans, sys.dm_exec_query_stats)",
                statement: "SELECT CAST(count(*) AS bigint) AS plans FROM sys.dm_exec_cached_plans",
                judge: |row| Ok(format!("{} cached plans readable", count_of(row))),
            },
        ],
        _ => Vec::new(),
    }
}

/// The privilege a server's refusal names, as the statement to grant it,
/// for the reasons PostgreSQL and SQL Server give.
fn missing_privilege(reason: &str) -> Option<String> {
    let lower = reason.to_lowercase();
    if lower.contains("view definition") {
        return Some("GRANT VIEW DEFINITION TO <login's user> (in each database)".into());
    }
    if lower.contains("view server state") || lower.contains("dm_exec") && lower.contains("permission") {
        return Some("GRANT VIEW SERVER STATE TO <login>".into());
    }
    if lower.contains("pg_stat_statements") {
        if lower.contains("does not exist") {
            return Some(
                "the pg_stat_statements extension: CREATE EXTENSION pg_stat_statements (and shared_preload_libraries)"
                    .into(),
            );
        }
        return Some("GRANT pg_read_all_stats TO <user>".into());
    }
    let after = lower.find("permission denied for ")? + "permission denied for ".len();
    let rest = &reason[after..];
    let mut words = rest.split_whitespace();
    let object = words.next()?.to_lowercase();
    let name = words.next().unwrap_or("<name>").trim_end_matches([',', '.', ';']);
    let grant = match object.as_str() {
        "database" => format!("GRANT CONNECT ON DATABASE {name} TO <user>"),
        "schema" => format!("GRANT USAGE ON SCHEMA {name} TO <user>"),
        "table" | "view" | "relation" | "materialized" | "sequence" => format!("GRANT SELECT ON {name} TO <user>"),
        "function" => format!("GRANT EXECUTE ON FUNCTION {name} TO <user>"),
        _ => return None,
    };
    Some(grant)
}

async fn check_sink(workflow: &Workflow, options: &IngestOptions, steps: &mut Steps) {
    match workflow.sink_kind() {
        "metadata-rest" => check_openmetadata(workflow, steps).await,
        "file" => {
            let path = workflow.sink_path();
            let step = ("WriteFile", "the file sink's directory is writable", true);
            steps
                .run("sink", step, PROBE_TIMEOUT, async {
                    let path = path.ok_or("sink.config.path is not set")?;
                    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
                    let probe = dir.join(format!(".weir-check-{}", std::process::id()));
                    std::fs::write(&probe, b"").map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
                    let _ = std::fs::remove_file(&probe);
                    Ok(((), format!("{} can be written", path.display())))
                })
                .await;
        }
        _ => {
            let location = ingest::catalog_location(workflow, options);
            let step = ("OpenCatalog", "open (or create) the catalog and its tables", true);
            steps
                .run("sink", step, PROBE_TIMEOUT, async {
                    let catalog = crate::sink::catalog::Catalog::open(&location).await.map_err(|e| error_chain(&e))?;
                    let shown = Sink::Catalog(catalog);
                    let target = shown.target();
                    if let Sink::Catalog(c) = shown {
                        c.close().await;
                    }
                    Ok(((), format!("{target} is open for writing")))
                })
                .await;
        }
    }
}

async fn check_openmetadata(workflow: &Workflow, steps: &mut Steps) {
    let reach = ("ReachServer", "OpenMetadata answers, and its version", true);
    let token = ("CheckToken", "the JWT token is accepted", true);
    let sink = match crate::sink::openmetadata::OpenMetadataSink::new(workflow, workflow.weir.retry.clone()) {
        Ok(sink) => sink,
        Err(e) => {
            steps.run::<()>("sink", reach, PROBE_TIMEOUT, async { Err(error_chain(&e)) }).await;
            steps.skip("sink", &[token], "ReachServer failed");
            return;
        }
    };
    let reached = steps.run("sink", reach, PROBE_TIMEOUT, async { sink.version().await.map(|v| ((), v)) }).await;
    if reached.is_none() {
        steps.skip("sink", &[token], "ReachServer failed");
        return;
    }
    let kind = ServiceKind::Database;
    steps.run("sink", token, PROBE_TIMEOUT, async { sink.check_token(kind).await.map(|d| ((), d)) }).await;
    if let Some((fqn, _)) = workflow.ingestion_pipeline() {
        let step = ("GetIngestionPipeline", "the ingestion pipeline the run reports its status to exists", false);
        steps
            .run("sink", step, PROBE_TIMEOUT, async { sink.find_ingestion_pipeline(&fqn).await.map(|d| ((), d)) })
            .await;
    }
}

async fn check_state(workflow: &Workflow, steps: &mut Steps) {
    let step = ("OpenStateStore", "open the state store and write to it (rolled back)", true);
    steps
        .run("stateStore", step, PROBE_TIMEOUT, async {
            let state = ingest::open_state(workflow, false).await.map_err(|e| error_chain(&e))?;
            let written = state.check_writable().await.map_err(|e| error_chain(&e));
            let shown = state.shown().to_string();
            state.close().await;
            written.map(|()| ((), format!("{shown} is writable")))
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_privilege_to_grant() {
        let cases = [
            ("permission denied for database shop", "GRANT CONNECT ON DATABASE shop TO <user>"),
            ("permission denied for schema hr", "GRANT USAGE ON SCHEMA hr TO <user>"),
            ("ERROR: permission denied for table orders", "GRANT SELECT ON orders TO <user>"),
            ("relation \"pg_stat_statements\" does not exist", "the pg_stat_statements extension"),
            ("The user does not have permission to perform this action. VIEW SERVER STATE", "VIEW SERVER STATE"),
        ];
        for (reason, grant) in cases {
            let found = missing_privilege(reason).unwrap_or_default();
            assert!(found.contains(grant), "{reason} → {found}");
        }
        assert_eq!(missing_privilege("connection refused"), None);
    }
}
