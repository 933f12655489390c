//! `weir plugin test`: the acceptance suite a connector passes before it is
//! trusted with a real run, in the spirit of Airbyte's connector acceptance
//! tests. Each check says pass, fail or skip, and why.
//!
//! The plugin runs through the real host, against the source the workflow
//! names, but writes nowhere the workflow says: every run goes to a file
//! sink and a state store in a scratch folder of its own, so the checks
//! neither disturb a catalog nor see each other's "unchanged".

use crate::config::{ConnectionSchema, SinkConfig, SinkSettings, Workflow};
use crate::model::entity::{Capability, PluginInfo};
use crate::plan::{IngestError, IngestOptions};
use crate::report::RunReport;
use crate::runtime::{Runtime, RuntimeError, RuntimeOptions};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AcceptanceError {
    #[error("cannot read plugin {path}: {source}")]
    Plugin { path: String, source: std::io::Error },
    #[error("plugin: {0}")]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("scratch folder: {0}")]
    Scratch(std::io::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub reason: String,
}

impl Check {
    fn new(name: &'static str, verdict: Verdict, reason: impl Into<String>) -> Check {
        Check { name, verdict, reason: reason.into() }
    }
}

pub struct Options {
    pub plugin: PathBuf,
    pub workflow: PathBuf,
    /// Expected documents (JSON Lines, as the file sink writes them);
    /// written when absent.
    pub golden: Option<PathBuf>,
    /// OpenMetadata's JSON Schemas, the folder holding `api/` and
    /// `entity/`; `None`: the documents are not validated.
    pub schemas: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    /// Where the runs write; removed by the caller.
    pub scratch: PathBuf,
}

/// The most examples a failing check names.
const SHOWN: usize = 5;

/// Runs every check in order. A check whose premise failed (no run to
/// look at) is skipped, saying which.
pub async fn run(options: &Options) -> Result<Vec<Check>, AcceptanceError> {
    let mut checks = Vec::new();
    let wasm = std::fs::read(&options.plugin)
        .map_err(|source| AcceptanceError::Plugin { path: options.plugin.display().to_string(), source })?;
    let runtime = Runtime::new(RuntimeOptions {
        instances: 1,
        limits: Default::default(),
        cache_dir: options.cache_dir.clone(),
    })?;
    let plugin = runtime.load(&wasm).await?;
    checks.push(describe(&plugin.info));

    let mut workflow = Workflow::load(&options.workflow)?;
    crate::logging::redact_secrets(workflow.secrets());
    workflow.weir.plugin = Some(options.plugin.clone());
    let fits = match crate::plan::ingest::check_plugin(&workflow, &plugin) {
        Ok(_) => Check::new("workflow", Verdict::Pass, "the plugin serves source.type and can have what it declares"),
        Err(e) => Check::new("workflow", Verdict::Fail, e.to_string()),
    };
    let fits_ok = fits.verdict == Verdict::Pass;
    checks.push(fits);
    checks.push(source_config(&plugin.info, &workflow));
    const AFTER: [&str; 7] = ["discover", "process", "capabilities", "fqns", "schemas", "repeatable", "golden"];
    if !fits_ok {
        checks.extend(AFTER.map(|name| Check::new(name, Verdict::Skip, "the workflow cannot run this plugin")));
        return Ok(checks);
    }

    let base = options.workflow.parent().map(Path::to_path_buf);
    let scratch = |n: &str| {
        let dir = options.scratch.join(n);
        std::fs::create_dir_all(&dir).map(|()| dir).map_err(AcceptanceError::Scratch)
    };
    let ingest_options = || IngestOptions {
        catalog: None,
        progress: crate::plan::ProgressView::Hidden,
        cache_dir: options.cache_dir.clone(),
        base_dir: base.clone(),
        max_failures: None,
        run_id: None,
        full: true,
    };
    let into = |dir: &Path| redirected(&workflow, dir);

    // Discovery twice, compared.
    let (first_dir, second_dir) = (scratch("discover-1")?, scratch("discover-2")?);
    let first = crate::plan::dry_run(&into(&first_dir), &ingest_options()).await;
    let second = crate::plan::dry_run(&into(&second_dir), &ingest_options()).await;
    checks.push(match (first, second) {
        (Ok(a), Ok(b)) => deterministic(&discovered(&a.plan), &discovered(&b.plan)),
        (Err(e), _) | (_, Err(e)) => Check::new("discover", Verdict::Fail, e.to_string()),
    });

    // Two whole runs.
    let (one, two) = (scratch("run-1")?, scratch("run-2")?);
    let runs = [
        crate::plan::ingest(&into(&one), &ingest_options()).await,
        crate::plan::ingest(&into(&two), &ingest_options()).await,
    ];
    let [first, second] = runs;
    let report = match first {
        Ok(report) => report,
        Err(e) => {
            checks.push(Check::new("process", Verdict::Fail, run_failed(&e)));
            let rest = ["capabilities", "fqns", "schemas", "repeatable", "golden"];
            checks.extend(rest.map(|name| Check::new(name, Verdict::Skip, "the run did not finish")));
            return Ok(checks);
        }
    };
    let documents = read_lines(&one.join(OUT));
    checks.push(processed(&report));
    checks.push(capabilities(&plugin.info, &report));
    checks.push(unique_fqns(&documents));
    checks.push(match &options.schemas {
        Some(dir) => schemas(dir, &documents),
        None => Check::new("schemas", Verdict::Skip, "no OpenMetadata schemas: pass --schemas DIR"),
    });
    checks.push(match second {
        Ok(_) => repeatable(&documents, &read_lines(&two.join(OUT))),
        Err(e) => Check::new("repeatable", Verdict::Fail, format!("the second run failed: {}", run_failed(&e))),
    });
    checks.push(match &options.golden {
        Some(path) => golden(path, &documents),
        None => Check::new("golden", Verdict::Skip, "no golden file: pass --golden FILE to keep and compare one"),
    });
    Ok(checks)
}

/// The file each run writes in its scratch folder.
const OUT: &str = "out.jsonl";

/// The workflow, writing to `dir` only: a file sink and a state file.
fn redirected(workflow: &Workflow, dir: &Path) -> Workflow {
    let mut workflow = workflow.clone();
    let path = dir.join(OUT).display().to_string();
    workflow.sink = Some(SinkConfig {
        kind: "file".into(),
        config: Some(SinkSettings { path: Some(crate::config::EnvString(path)), ..SinkSettings::default() }),
    });
    workflow.weir.state_store = None;
    workflow.weir.state_path = Some(dir.join("state.db"));
    workflow
}

fn run_failed(e: &IngestError) -> String {
    format!("the run failed: {e}")
}

fn describe(info: &PluginInfo) -> Check {
    let mut problems = Vec::new();
    if info.name.trim().is_empty() {
        problems.push("its name is empty".to_string());
    }
    if info.version.trim().is_empty() {
        problems.push("its version is empty".to_string());
    }
    if info.source_types.is_empty() {
        problems.push("it serves no source-types".to_string());
    }
    if info.entity_kinds.is_empty() {
        problems.push("it declares no entity-kinds".to_string());
    }
    for capability in &info.capabilities {
        if let Capability::Sql(label) = capability
            && !matches!(label.as_str(), "source" | "source/*")
        {
            problems.push(format!("sql:{label} is not a label weir grants (sql:source, sql:source/*)"));
        }
    }
    problems.extend(crate::caps::http::grant::malformed(&info.capabilities));
    match serde_json::from_str::<Value>(&info.config_schema) {
        Err(e) => problems.push(format!("its config schema is not JSON: {e}")),
        Ok(schema) => {
            if let Err(e) = jsonschema::options().build(&schema) {
                problems.push(format!("its config schema is not a valid JSON Schema: {e}"));
            }
            if let Err(e) = ConnectionSchema::of(&info.config_schema) {
                problems.push(e);
            }
        }
    }
    if problems.is_empty() {
        let reason = format!(
            "{} {}: {} kinds, capabilities {}, a config schema that compiles",
            info.name,
            info.version,
            info.entity_kinds.len(),
            if info.capabilities.is_empty() { "none".to_string() } else { shown_capabilities(&info.capabilities) }
        );
        Check::new("describe", Verdict::Pass, reason)
    } else {
        Check::new("describe", Verdict::Fail, problems.join("; "))
    }
}

fn shown_capabilities(capabilities: &[Capability]) -> String {
    let shown: Vec<String> = capabilities
        .iter()
        .map(|c| match c {
            Capability::Sql(label) => format!("sql:{label}"),
            Capability::Http(origin) => format!("http:{origin}"),
        })
        .collect();
    shown.join(", ")
}

/// The workflow's `sourceConfig.config` against the plugin's schema of it.
fn source_config(info: &PluginInfo, workflow: &Workflow) -> Check {
    const NAME: &str = "sourceConfig";
    let Ok(mut schema) = serde_json::from_str::<Value>(&info.config_schema) else {
        return Check::new(NAME, Verdict::Skip, "the config schema is not JSON (see describe)");
    };
    // The connection keyword is about other keys.
    if let Value::Object(map) = &mut schema {
        map.remove("connection");
    }
    let Ok(validator) = jsonschema::options().build(&schema) else {
        return Check::new(NAME, Verdict::Skip, "the config schema does not compile (see describe)");
    };
    let config = workflow.source_config_json();
    let errors: Vec<String> =
        validator.iter_errors(&config).take(SHOWN).map(|e| format!("{e} at {}", e.instance_path)).collect();
    if errors.is_empty() {
        Check::new(NAME, Verdict::Pass, "the workflow's sourceConfig.config matches the plugin's config schema")
    } else {
        Check::new(NAME, Verdict::Fail, errors.join("; "))
    }
}

/// Every reference discovered, as `kind path`, in discovery order.
fn discovered(plan: &crate::plan::Plan) -> Vec<String> {
    plan.shards
        .iter()
        .flat_map(|shard| shard.refs.iter().map(move |r| format!("{:?} {}", shard.kind, r.path.join("."))))
        .collect()
}

fn deterministic(first: &[String], second: &[String]) -> Check {
    const NAME: &str = "discover";
    if first == second {
        return Check::new(
            NAME,
            Verdict::Pass,
            format!("{} references, the same twice, in the same order", first.len()),
        );
    }
    let (a, b): (BTreeSet<&String>, BTreeSet<&String>) = (first.iter().collect(), second.iter().collect());
    if a == b {
        return Check::new(NAME, Verdict::Fail, "the same references twice, in another order: sort them");
    }
    let only = |x: &BTreeSet<&String>, y: &BTreeSet<&String>| -> Vec<String> {
        x.difference(y).take(SHOWN).map(|s| s.to_string()).collect()
    };
    Check::new(
        NAME,
        Verdict::Fail,
        format!("two discoveries differ: only in the first {:?}, only in the second {:?}", only(&a, &b), only(&b, &a)),
    )
}

fn processed(report: &RunReport) -> Check {
    const NAME: &str = "process";
    let written: usize = report.kinds.iter().map(|k| k.written).sum();
    let failures: Vec<String> = report
        .failures
        .iter()
        .filter(|f| f.error != "unrequested")
        .map(|f| format!("{}: {} ({})", f.entity, f.reason, f.error))
        .collect();
    // Entities it returned unasked, and failures of references nobody asked for.
    let unrequested: Vec<String> = report
        .failures
        .iter()
        .filter(|f| f.error == "unrequested")
        .chain(&report.unrequested_failures)
        .map(|f| f.entity.clone())
        .collect();
    let mut problems = Vec::new();
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(SHOWN).collect();
        problems.push(format!("{} references failed: {shown:?}", failures.len()));
    }
    if !unrequested.is_empty() {
        let shown: Vec<&String> = unrequested.iter().take(SHOWN).collect();
        problems.push(format!("{} entities nobody asked for: {shown:?}", unrequested.len()));
    }
    if let Some(stopped) = &report.stopped {
        problems.push(format!("the run stopped: {stopped}"));
    }
    if problems.is_empty() {
        Check::new(NAME, Verdict::Pass, format!("every reference processed: {written} entities, none unasked"))
    } else {
        Check::new(NAME, Verdict::Fail, problems.join("; "))
    }
}

/// What it declares against what it used: a denied call is one it does
/// not declare; `sql` declared and never queried is declared for nothing.
fn capabilities(info: &PluginInfo, report: &RunReport) -> Check {
    const NAME: &str = "capabilities";
    let denied: Vec<String> = report
        .failures
        .iter()
        .chain(&report.unrequested_failures)
        .filter(|f| f.error == "denied")
        .take(SHOWN)
        .map(|f| format!("{}: {}", f.entity, f.reason))
        .collect();
    if !denied.is_empty() {
        return Check::new(NAME, Verdict::Fail, format!("calls were denied (declare what it uses): {denied:?}"));
    }
    let declares_sql = info.capabilities.iter().any(|c| matches!(c, Capability::Sql(_)));
    if declares_sql && report.queries() == 0 {
        return Check::new(NAME, Verdict::Fail, "declares sql but ran no query: drop it from describe()");
    }
    Check::new(
        NAME,
        Verdict::Pass,
        format!("no call denied; {} queries (HTTP requests are not counted)", report.queries()),
    )
}

fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

/// The entity documents of a file sink's output: not services, not the
/// deferred records.
fn entities(documents: &[Value]) -> impl Iterator<Item = &Value> {
    documents.iter().filter(|d| d.get("target").is_none() && SCHEMA_OF.iter().any(|(k, _)| d["kind"] == *k))
}

fn unique_fqns(documents: &[Value]) -> Check {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for d in entities(documents) {
        *seen.entry(d["fqn"].as_str().unwrap_or_default()).or_default() += 1;
    }
    let twice: Vec<&str> = seen.iter().filter(|(_, n)| **n > 1).map(|(f, _)| *f).take(SHOWN).collect();
    if twice.is_empty() {
        Check::new("fqns", Verdict::Pass, format!("{} entities, each FQN once", seen.len()))
    } else {
        Check::new("fqns", Verdict::Fail, format!("FQNs written more than once: {twice:?}"))
    }
}

/// Which OpenMetadata schema each kind's document is an instance of.
const SCHEMA_OF: [(&str, &str); 7] = [
    ("database", "api/data/createDatabase.json"),
    ("databaseSchema", "api/data/createDatabaseSchema.json"),
    ("table", "api/data/createTable.json"),
    ("storedProcedure", "api/data/createStoredProcedure.json"),
    ("dashboard", "api/data/createDashboard.json"),
    ("chart", "api/data/createChart.json"),
    ("dashboardDataModel", "api/data/createDashboardDataModel.json"),
];

fn schemas(dir: &Path, documents: &[Value]) -> Check {
    const NAME: &str = "schemas";
    let mut validators = BTreeMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for d in entities(documents) {
        let kind = d["kind"].as_str().unwrap_or_default();
        let Some((_, file)) = SCHEMA_OF.iter().find(|(k, _)| *k == kind) else { continue };
        let validator = match validators.entry(kind) {
            std::collections::btree_map::Entry::Occupied(v) => v.into_mut(),
            std::collections::btree_map::Entry::Vacant(slot) => match openmetadata_validator(dir, file) {
                Ok(v) => slot.insert(v),
                Err(e) => return Check::new(NAME, Verdict::Fail, format!("{file} under {}: {e}", dir.display())),
            },
        };
        checked += 1;
        if let Some(error) = validator.iter_errors(&d["document"]).next() {
            problems.push(format!("{} ({kind}): {error} at {}", d["fqn"].as_str().unwrap_or("?"), error.instance_path));
        }
    }
    if problems.is_empty() {
        Check::new(NAME, Verdict::Pass, format!("{checked} documents valid against {}", dir.display()))
    } else {
        let shown: Vec<&String> = problems.iter().take(SHOWN).collect();
        Check::new(NAME, Verdict::Fail, format!("{} documents invalid: {shown:?}", problems.len()))
    }
}

const SCHEMA_BASE: &str = "https://open-metadata.org/schema/";

/// A validator of one OpenMetadata schema file, its `$ref`s read from the
/// same folder (by path, as OpenMetadata resolves them), never the network.
fn openmetadata_validator(dir: &Path, file: &str) -> Result<jsonschema::Validator, String> {
    struct Folder(PathBuf);
    fn read(dir: &Path, relative: &str) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(relative))?)?;
        if let Value::Object(map) = &mut schema {
            map.insert("$id".into(), format!("{SCHEMA_BASE}{relative}").into());
        }
        Ok(schema)
    }
    impl jsonschema::Retrieve for Folder {
        fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
            let path = uri.as_str().strip_prefix(SCHEMA_BASE).ok_or_else(|| format!("not OpenMetadata's: {uri}"))?;
            read(&self.0, path.split('#').next().unwrap_or(path))
        }
    }
    let schema = read(dir, file).map_err(|e| e.to_string())?;
    jsonschema::options().with_retriever(Folder(dir.to_path_buf())).build(&schema).map_err(|e| e.to_string())
}

/// Lines keyed and sorted, so two runs' files compare whatever order the
/// batches finished in.
fn keyed(documents: &[Value]) -> BTreeMap<String, String> {
    documents
        .iter()
        .map(|d| {
            let key = format!(
                "{} {} {}",
                d["kind"].as_str().unwrap_or_default(),
                d["fqn"].as_str().unwrap_or_default(),
                d["target"].as_str().unwrap_or_default()
            );
            (key, d.to_string())
        })
        .collect()
}

/// The differences between two keyed outputs, a few of each sort.
fn differences(expected: &BTreeMap<String, String>, got: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (key, line) in expected {
        match got.get(key) {
            None => out.push(format!("missing {key}")),
            Some(other) if other != line => out.push(format!("changed {key}")),
            Some(_) => {}
        }
    }
    out.extend(got.keys().filter(|k| !expected.contains_key(*k)).map(|k| format!("new {k}")));
    out
}

fn repeatable(first: &[Value], second: &[Value]) -> Check {
    let found = differences(&keyed(first), &keyed(second));
    if found.is_empty() {
        Check::new("repeatable", Verdict::Pass, format!("two runs wrote the same {} records", first.len()))
    } else {
        let shown: Vec<&String> = found.iter().take(SHOWN).collect();
        Check::new("repeatable", Verdict::Fail, format!("two runs differ in {} records: {shown:?}", found.len()))
    }
}

fn golden(path: &Path, documents: &[Value]) -> Check {
    const NAME: &str = "golden";
    if !path.exists() {
        let mut lines: Vec<String> = keyed(documents).into_values().collect();
        lines.push(String::new());
        return match std::fs::write(path, lines.join("\n")) {
            Ok(()) => Check::new(
                NAME,
                Verdict::Skip,
                format!(
                    "{} written ({} records): review and commit it; later runs compare",
                    path.display(),
                    documents.len()
                ),
            ),
            Err(e) => Check::new(NAME, Verdict::Fail, format!("cannot write {}: {e}", path.display())),
        };
    }
    let expected = read_lines(path);
    let found = differences(&keyed(&expected), &keyed(documents));
    if found.is_empty() {
        Check::new(NAME, Verdict::Pass, format!("the {} records of {}", expected.len(), path.display()))
    } else {
        let shown: Vec<&String> = found.iter().take(SHOWN).collect();
        Check::new(NAME, Verdict::Fail, format!("{} records differ from {}: {shown:?}", found.len(), path.display()))
    }
}
