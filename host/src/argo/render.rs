//! `weir argo render`: the workflow file as three Kubernetes documents.
//!
//! - A ConfigMap with the workflow file, every secret replaced by
//!   `${env:WEIR_...}` (see [`SECRET_KEYS`]) and every other `${env:...}`
//!   resolved here, so a pod depends on nothing of the machine that
//!   rendered it.
//! - A WorkflowTemplate whose DAG runs `weir discover`, then for each kind
//!   of entity, parents first, one `weir process` pod per shard (fanned out
//!   with `withParam` over the ids discover wrote), then `weir finalize`.
//!   Each pod reads the secrets from the named Kubernetes Secret through
//!   `secretKeyRef`, never from a parameter. A pod is retried only when its
//!   cause may pass: exit status 75, a kill (137) or a lost pod.
//! - A Workflow that runs the template; its name is the run id, so `argo
//!   retry` resumes the same run.

use crate::config::{DistributedExecution, SECRET_KEYS, Workflow};
use crate::model::Kind;
use serde_json::{Value, json};
use thiserror::Error;

/// Where the ConfigMap is mounted in every pod.
pub const CONFIG_DIR: &str = "/etc/weir";
/// The workflow file in it.
pub const CONFIG_FILE: &str = "workflow.yaml";
/// Where discover writes the shard ids, inside its pod.
pub const SHARDS_OUT: &str = "/tmp/weir/shards.json";

/// Runs of a pod in all, the first included, when the workflow does not say.
const DEFAULT_ATTEMPTS: u32 = 4;
const DEFAULT_BACKOFF_SECS: u32 = 10;
const DEFAULT_BACKOFF_FACTOR: u32 = 2;

/// What `retryStrategy.expression` retries: the exit status of a cause
/// that may pass, a pod killed (SIGKILL, the OOM killer: 137), or a pod
/// lost (Argo's `Error`). 0, 1 and 2 are final.
pub const RETRY_WHEN: &str =
    r#"lastRetry.exitCode == "75" || lastRetry.exitCode == "137" || lastRetry.status == "Error""#;

#[derive(Debug, Error)]
pub enum RenderError {
    #[error("the workflow file does not parse as YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
    #[error("no image: pass --image REGISTRY/weir:TAG or set workflowConfig.distributedExecution.image")]
    NoImage,
}

/// The command line's choices, which win over the workflow's.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub image: Option<String>,
    pub namespace: Option<String>,
    /// The Kubernetes Secret holding the workflow's secrets.
    pub secret: Option<String>,
}

/// The rendered documents, and what the Secret must hold.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub config_map: Value,
    pub template: Value,
    pub workflow: Value,
    pub secret_name: String,
    /// The keys of the Secret the pods read: one per secret of the file.
    pub secret_keys: Vec<String>,
}

impl Rendered {
    /// The three documents as one YAML stream, with a header saying which
    /// Secret to create.
    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        let mut out = String::from("# Rendered by `weir argo render`.\n");
        if self.secret_keys.is_empty() {
            out.push_str("# The workflow holds no secret.\n");
        } else {
            out.push_str(&format!(
                "# Before submitting, create the Secret the pods read:\n#   kubectl create secret generic {}{} \\\n",
                self.secret_name,
                namespace_flag(&self.config_map)
            ));
            let flags: Vec<String> = self.secret_keys.iter().map(|k| format!("#     --from-literal={k}=...")).collect();
            out.push_str(&flags.join(" \\\n"));
            out.push('\n');
        }
        for doc in [&self.config_map, &self.template, &self.workflow] {
            out.push_str("---\n");
            out.push_str(&serde_yaml::to_string(doc)?);
        }
        Ok(out)
    }
}

fn namespace_flag(doc: &Value) -> String {
    doc["metadata"]["namespace"].as_str().map(|ns| format!(" -n {ns}")).unwrap_or_default()
}

/// Renders `workflow` (read from `text`) whose plugin discovers `kinds`
/// (parents first).
pub fn render(
    workflow: &Workflow,
    text: &str,
    kinds: &[Kind],
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let prepared = Prepared::new(workflow, text, options)?;
    let config_name = format!("{}-workflow", prepared.base);
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": prepared.metadata(config_name.clone()),
        "data": { CONFIG_FILE: prepared.file },
    });
    let spec = prepared.spec(kinds, Delivery::ConfigMap(&config_name));
    let template = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": prepared.metadata(prepared.base.clone()),
        "spec": spec,
    });
    let mut run_metadata = prepared.metadata(String::new());
    if let Value::Object(m) = &mut run_metadata {
        m.remove("name");
        m.insert("generateName".into(), json!(format!("{}-", prepared.base)));
    }
    let workflow_doc = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": run_metadata,
        "spec": { "workflowTemplateRef": { "name": prepared.base } },
    });
    Ok(Rendered {
        config_map,
        template,
        workflow: workflow_doc,
        secret_name: prepared.secret_name,
        secret_keys: prepared.secret_keys,
    })
}

/// A Workflow to submit to an Argo Server: what [`render`] writes, in one
/// document. The Argo Server creates workflows but no ConfigMap, so the
/// workflow file (secrets stripped as in the ConfigMap) reaches each pod as
/// a raw input artifact at the same path; Argo writes those itself, with
/// no artifact repository. The workflow's name is the run id.
#[derive(Debug, Clone)]
pub struct Submission {
    pub workflow: Value,
    /// Where it is submitted (the Argo Server's path has it).
    pub namespace: String,
    pub secret_name: String,
    pub secret_keys: Vec<String>,
}

/// The namespace of a submitted workflow when neither the command line
/// nor the workflow says: Kubernetes' own default.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The submission of `workflow` under the name `run_id`.
pub fn submission(
    workflow: &Workflow,
    text: &str,
    kinds: &[Kind],
    options: &RenderOptions,
    run_id: &str,
) -> Result<Submission, RenderError> {
    if !is_dns_label(run_id) {
        return Err(RenderError::Invalid {
            key: "--run-id".into(),
            reason: format!(
                "`{run_id}` cannot name an Argo workflow: use at most 63 lower-case letters, digits and dashes, \
                 starting and ending with a letter or digit"
            ),
        });
    }
    let mut prepared = Prepared::new(workflow, text, options)?;
    let namespace = prepared.namespace.get_or_insert_with(|| DEFAULT_NAMESPACE.to_string()).clone();
    let spec = prepared.spec(kinds, Delivery::Inline(&prepared.file));
    let workflow_doc = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": prepared.metadata(run_id.to_string()),
        "spec": spec,
    });
    Ok(Submission {
        workflow: workflow_doc,
        namespace,
        secret_name: prepared.secret_name,
        secret_keys: prepared.secret_keys,
    })
}

/// How the workflow file reaches the pods.
#[derive(Clone, Copy)]
enum Delivery<'a> {
    /// Mounted from the ConfigMap of that name.
    ConfigMap(&'a str),
    /// Written by Argo from a raw artifact holding it.
    Inline(&'a str),
}

/// What every document of a run is made from.
struct Prepared {
    settings: DistributedExecution,
    image: String,
    namespace: Option<String>,
    /// `weir-<service>`: the stem of every name.
    base: String,
    secret_name: String,
    /// The workflow file without its secrets.
    file: String,
    secret_keys: Vec<String>,
}

impl Prepared {
    fn new(workflow: &Workflow, text: &str, options: &RenderOptions) -> Result<Prepared, RenderError> {
        let settings = workflow.distributed().cloned().unwrap_or_default();
        let image = options.image.clone().or_else(|| settings.image.clone()).ok_or(RenderError::NoImage)?;
        let namespace = options.namespace.clone().or_else(|| settings.namespace.clone());
        let base = format!("weir-{}", dns_label(workflow.source.service_name.as_str()));
        let secret_name =
            options.secret.clone().or_else(|| settings.secret_name.clone()).unwrap_or(format!("{base}-secrets"));
        let (file, secret_keys) = without_secrets(text)?;
        Ok(Prepared { settings, image, namespace, base, secret_name, file, secret_keys })
    }

    fn metadata(&self, name: String) -> Value {
        let mut m = json!({ "name": name, "labels": { "app.kubernetes.io/name": "weir" } });
        if let Some(ns) = &self.namespace {
            m["namespace"] = json!(ns);
        }
        m
    }

    /// The WorkflowSpec: the DAG and the three pod templates.
    fn spec(&self, kinds: &[Kind], delivery: Delivery<'_>) -> Value {
        let settings = &self.settings;
        let pod = Pod {
            image: self.image.clone(),
            secret_name: self.secret_name.clone(),
            secret_keys: self.secret_keys.clone(),
            settings,
            delivery,
        };
        let config = format!("{CONFIG_DIR}/{CONFIG_FILE}");
        let run_id = "{{workflow.name}}";
        let discover_args = vec!["discover", "-c", &config, "--run-id", run_id, "--shards-out", SHARDS_OUT];
        let lease = settings.lease_seconds.map(|s| s.to_string());
        let mut process_args =
            vec!["process", "-c", &config, "--run-id", run_id, "--shard", "{{inputs.parameters.shard}}"];
        if let Some(lease) = &lease {
            process_args.extend(["--lease-secs", lease.as_str()]);
        }
        let finalize_args = vec!["finalize", "-c", &config, "--run-id", run_id];
        let outputs: Vec<Value> = kinds
            .iter()
            .map(|k| {
                json!({
                    "name": k.entity_type(),
                    "valueFrom": { "path": shards_file(*k), "default": "[]" },
                })
            })
            .collect();

        // The DAG: discover; each kind after the one before, whatever became
        // of its shards (a shard with entity failures exits 2 and is not run
        // again, but its children and the finalize still run); finalize last.
        let mut tasks = vec![json!({ "name": "discover", "template": "discover" })];
        let mut previous: Option<String> = None;
        for kind in kinds {
            let name = task_name(*kind);
            let depends = match &previous {
                None => "discover".to_string(),
                Some(before) => finished(before),
            };
            tasks.push(json!({
                "name": name,
                "template": "process",
                "depends": depends,
                "withParam": format!("{{{{tasks.discover.outputs.parameters.{}}}}}", kind.entity_type()),
                "arguments": { "parameters": [{ "name": "shard", "value": "{{item}}" }] },
            }));
            previous = Some(name);
        }
        tasks.push(json!({
            "name": "finalize",
            "template": "finalize",
            "depends": previous.as_deref().map(finished).unwrap_or_else(|| "discover".into()),
        }));

        let mut spec = json!({
            "entrypoint": "run",
            "podGC": { "strategy": "OnPodSuccess" },
            "templates": [
                { "name": "run", "dag": { "failFast": false, "tasks": tasks } },
                pod.template("discover", &discover_args, Vec::new(), Some(outputs)),
                pod.template("process", &process_args, vec![json!({ "name": "shard" })], None),
                pod.template("finalize", &finalize_args, Vec::new(), None),
            ],
        });
        if let Delivery::ConfigMap(name) = delivery {
            spec["volumes"] = json!([{ "name": "workflow", "configMap": { "name": name } }]);
        }
        if let Some(p) = settings.parallelism {
            spec["parallelism"] = json!(p);
        }
        if let Some(account) = &settings.service_account_name {
            spec["serviceAccountName"] = json!(account);
        }
        spec
    }
}

/// What every pod of the run has in common.
struct Pod<'a> {
    image: String,
    secret_name: String,
    secret_keys: Vec<String>,
    settings: &'a DistributedExecution,
    delivery: Delivery<'a>,
}

impl Pod<'_> {
    fn template(&self, name: &str, args: &[&str], parameters: Vec<Value>, outputs: Option<Vec<Value>>) -> Value {
        let mut env = vec![
            json!({ "name": "WEIR_POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } }),
            json!({ "name": "WEIR_LOG_FORMAT", "value": "json" }),
        ];
        env.extend(self.secret_keys.iter().map(
            |key| json!({ "name": key, "valueFrom": { "secretKeyRef": { "name": self.secret_name, "key": key } } }),
        ));
        let mut container = json!({
            "image": self.image,
            "command": ["weir"],
            "args": args,
            "env": env,
        });
        let mut inputs = serde_json::Map::new();
        if !parameters.is_empty() {
            inputs.insert("parameters".into(), json!(parameters));
        }
        match self.delivery {
            Delivery::ConfigMap(_) => {
                container["volumeMounts"] = json!([{ "name": "workflow", "mountPath": CONFIG_DIR, "readOnly": true }]);
            }
            Delivery::Inline(file) => {
                let path = format!("{CONFIG_DIR}/{CONFIG_FILE}");
                inputs
                    .insert("artifacts".into(), json!([{ "name": "workflow", "path": path, "raw": { "data": file } }]));
            }
        }
        let mut resources = serde_json::Map::new();
        if let Some(requests) = &self.settings.resource_requests {
            resources.insert("requests".into(), json!(requests));
        }
        if let Some(limits) = &self.settings.resource_limits {
            resources.insert("limits".into(), json!(limits));
        }
        if !resources.is_empty() {
            container["resources"] = Value::Object(resources);
        }
        let retry = self.settings.retry_policy.clone().unwrap_or_default();
        let attempts = retry.max_attempts.unwrap_or(DEFAULT_ATTEMPTS).max(1);
        // The schema has IntOrString as a string: numbers are written so.
        let mut template = json!({
            "name": name,
            "container": container,
            "retryStrategy": {
                "limit": (attempts - 1).to_string(),
                "retryPolicy": "Always",
                "expression": RETRY_WHEN,
                "backoff": {
                    "duration": retry.backoff_seconds.unwrap_or(DEFAULT_BACKOFF_SECS).to_string(),
                    "factor": retry.backoff_factor.unwrap_or(DEFAULT_BACKOFF_FACTOR).to_string(),
                },
            },
        });
        if !inputs.is_empty() {
            template["inputs"] = Value::Object(inputs);
        }
        if let Some(outputs) = outputs {
            template["outputs"] = json!({ "parameters": outputs });
        }
        template
    }
}

/// Where discover writes the ids of `kind`'s shards: `shards.table.json`
/// beside [`SHARDS_OUT`], as `weir discover` names them.
pub fn shards_file(kind: Kind) -> String {
    let dir = SHARDS_OUT.rsplit_once('/').map(|(d, _)| d).unwrap_or("/tmp");
    format!("{dir}/shards.{}.json", kind.entity_type())
}

/// A DAG task name for `kind`'s shards: `databaseSchema` → `database-schema`.
pub fn task_name(kind: Kind) -> String {
    let mut name = String::new();
    for c in kind.entity_type().chars() {
        if c.is_ascii_uppercase() {
            name.push('-');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

/// `depends` on a fan-out task having ended, whatever its pods' results:
/// all done, some failed, or no shard at all.
fn finished(task: &str) -> String {
    ["Succeeded", "Failed", "Errored", "Skipped", "Omitted"]
        .iter()
        .map(|r| format!("{task}.{r}"))
        .collect::<Vec<_>>()
        .join(" || ")
}

/// Whether `name` can name a Kubernetes object whose pods are named after
/// it: a DNS label (RFC 1123).
pub fn is_dns_label(name: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| ok(c) || c == '-')
        && name.starts_with(ok)
        && name.ends_with(ok)
}

/// A run id for a submitted workflow: `weir-<service>-<time>`.
pub fn run_name(workflow: &Workflow) -> String {
    let base = format!("weir-{}", dns_label(workflow.source.service_name.as_str()));
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    format!("{base}-{millis:x}")
}

/// A Kubernetes name from a service name: lower case letters, digits and
/// dashes, at most 40 characters (room for the suffixes).
fn dns_label(name: &str) -> String {
    let mut label = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            label.push(c);
        } else if !label.ends_with('-') {
            label.push('-');
        }
    }
    let label: String = label.trim_matches('-').chars().take(40).collect();
    let label = label.trim_end_matches('-').to_string();
    if label.is_empty() { "run".into() } else { label }
}

/// The workflow file with each secret replaced by `${env:WEIR_...}` and
/// every other `${env:...}` resolved; and the variables the pods need.
fn without_secrets(text: &str) -> Result<(String, Vec<String>), RenderError> {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(text)?;
    let mut keys: Vec<String> = Vec::new();
    for (path, env) in SECRET_KEYS {
        if let Some(slot) = at_path(&mut doc, path) {
            *slot = serde_yaml::Value::String(format!("${{env:{env}}}"));
            if !keys.iter().any(|k| k == env) {
                keys.push(env.to_string());
            }
        }
    }
    // A plugin's own connection keys: which are secrets only the plugin
    // knows, so every one goes to the Secret.
    if let Some(config) = at_path(&mut doc, &["source", "serviceConnection", "config"]).and_then(|c| c.as_mapping_mut())
    {
        for (key, value) in config.iter_mut() {
            let Some(name) = key.as_str().filter(|k| !crate::config::custom::is_host_key(k)) else { continue };
            let env = custom_secret_env(name);
            *value = serde_yaml::Value::String(format!("${{env:{env}}}"));
            if !keys.contains(&env) {
                keys.push(env);
            }
        }
    }
    resolve_env(&mut doc, &mut Vec::new(), &keys)?;
    Ok((serde_yaml::to_string(&doc)?, keys))
}

/// `WEIR_CONNECTION_TABLES_PATH` for a plugin's `tablesPath`.
fn custom_secret_env(key: &str) -> String {
    let mut env = String::from("WEIR_CONNECTION_");
    let mut previous_lower = false;
    for c in key.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            env.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        env.push(if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' });
    }
    env
}

fn at_path<'v>(doc: &'v mut serde_yaml::Value, path: &[&str]) -> Option<&'v mut serde_yaml::Value> {
    let mut at = doc;
    for key in path {
        at = at.as_mapping_mut()?.get_mut(*key)?;
    }
    (!at.is_null()).then_some(at)
}

/// Resolves `${env:...}` in every string but the secrets' own references.
fn resolve_env(value: &mut serde_yaml::Value, path: &mut Vec<String>, secrets: &[String]) -> Result<(), RenderError> {
    match value {
        serde_yaml::Value::String(s) => {
            let own = secrets.iter().any(|k| *s == format!("${{env:{k}}}"));
            if !own {
                *s = crate::config::resolve_env(s, |name| std::env::var(name).ok())
                    .map_err(|reason| RenderError::Invalid { key: path.join("."), reason })?;
            }
        }
        serde_yaml::Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                path.push(k.as_str().unwrap_or("?").to_string());
                resolve_env(v, path, secrets)?;
                path.pop();
            }
        }
        serde_yaml::Value::Sequence(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                resolve_env(v, path, secrets)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_become_env_references_and_other_env_references_are_resolved() {
        // SAFETY: a variable only this test reads.
        unsafe { std::env::set_var("WEIR_RENDER_TEST_HOST", "db.internal:5432") };
        let text = "source:\n  serviceConnection:\n    config:\n      hostPort: ${env:WEIR_RENDER_TEST_HOST}\n      authType:\n        password: Very-Secret-1\nweir:\n  stateStore: postgres://w:Very-Secret-2@h/s\n";
        let (file, keys) = without_secrets(text).unwrap();
        assert!(!file.contains("Very-Secret"), "{file}");
        assert!(file.contains("db.internal:5432"), "{file}");
        assert!(file.contains("${env:WEIR_SOURCE_PASSWORD}") && file.contains("${env:WEIR_STATE_STORE}"), "{file}");
        assert_eq!(keys, ["WEIR_SOURCE_PASSWORD", "WEIR_STATE_STORE"]);
    }

    #[test]
    fn a_plugins_own_connection_keys_all_go_to_the_secret() {
        let text = "source:\n  serviceConnection:\n    config:\n      hostPort: https://api.example\n      \
                    token: Very-Secret-3\n      tablesPath: /v2\n";
        let (file, keys) = without_secrets(text).unwrap();
        assert!(!file.contains("Very-Secret"), "{file}");
        assert!(file.contains("https://api.example"), "the host's own keys stay: {file}");
        assert!(file.contains("${env:WEIR_CONNECTION_TOKEN}"), "{file}");
        assert_eq!(keys, ["WEIR_CONNECTION_TOKEN", "WEIR_CONNECTION_TABLES_PATH"]);
    }

    #[test]
    fn a_run_id_must_be_a_dns_label_to_name_a_workflow() {
        assert!(is_dns_label("sales-2026-12-03"));
        for bad in ["", "Sales", "a_b", "-a", "a-", &"x".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }

    #[test]
    fn names_are_kubernetes_names() {
        assert_eq!(dns_label("My_Postgres.prod"), "my-postgres-prod");
        assert_eq!(dns_label("__"), "run");
        assert_eq!(task_name(Kind::DatabaseSchema), "database-schema");
        assert_eq!(task_name(Kind::Table), "table");
    }
}
