//! The `metadata-rest` sink: an OpenMetadata server's REST API.
//!
//! Services go with `PUT /v1/services/databaseServices`; every other kind
//! with `PUT /v1/<collection>/bulk` (a JSON array of one kind's Create*
//! requests), or one `PUT /v1/<collection>` per entity on servers without
//! `/bulk`. Phase 2 patches the tables that have foreign keys with them
//! (every referenced table exists by then), and sends lineage edges by id,
//! ids resolved by name once and cached.

mod client;
mod run_status;
mod tags;
// One copy for the SDK and the host: see the file's own comment.

pub use client::OpenMetadataError;

use super::Document;
use super::catalog::Unresolved;
use crate::config::{Secret, Workflow};
use crate::model::{Kind, Relation, ServiceKind, fqn};
use crate::percent::encode;
use crate::retry::RetryPolicy;
use crate::state::StateError;
use client::Client;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use thiserror::Error;
use tokio::sync::Mutex;

/// Requests in flight at once in phase 2 (listing tables, patching them):
/// OpenMetadata has no bulk PATCH.
const PHASE_TWO_REQUESTS: usize = 8;
/// Tables per page when listing a schema's.
const LIST_PAGE: usize = 1_000;

/// Tables on the server: FQN → (id, constraints).
type ServerTables = HashMap<String, (String, Vec<Value>)>;

#[derive(Debug, Error)]
pub enum SinkSetupError {
    #[error("sink metadata-rest: workflowConfig.openMetadataServerConfig with hostPort and jwtToken is required")]
    NoServer,
    #[error(transparent)]
    Client(#[from] OpenMetadataError),
}

impl SinkSetupError {
    /// Whether setting up may succeed later (the server was unreachable).
    pub fn may_pass(&self) -> bool {
        matches!(self, SinkSetupError::Client(e) if e.may_pass())
    }
}

pub struct OpenMetadataSink {
    client: Client,
    /// Cleared for good when the server answers `/bulk` with 404 or 405.
    bulk: AtomicBool,
    /// Entities the server took, by FQN, with their type: what phase 2 may
    /// point at.
    written: Mutex<HashMap<String, String>>,
    /// Ids by (type, FQN), for lineage.
    ids: Mutex<HashMap<(String, String), String>>,
    /// Dashboard owners by what the source called them (an email, else a
    /// name): the user's reference, or `None` when the server has none.
    owners: Mutex<HashMap<String, Option<Value>>>,
    /// What the run's report should say (owners not found).
    warnings: std::sync::Mutex<Vec<String>>,
    /// Source tags made on the server: the tag's FQN, or `None` when the
    /// server refused it (`tags`).
    tags: Mutex<HashMap<String, Option<String>>>,
    /// The service's type (`Airflow`): its tags' classification is named
    /// after it (`AirflowTags`).
    service_type: std::sync::Mutex<String>,
    /// The ingestion pipeline the run reports its status to, if any.
    run_status: Option<run_status::RunStatus>,
}

impl OpenMetadataSink {
    pub fn new(workflow: &Workflow, retry: RetryPolicy) -> Result<OpenMetadataSink, SinkSetupError> {
        let server = workflow.server().ok_or(SinkSetupError::NoServer)?;
        let token: Secret =
            server.security_config.as_ref().and_then(|s| s.jwt_token.clone()).ok_or(SinkSetupError::NoServer)?;
        let client = Client::new(server.host_port.as_str(), token, retry)?;
        Ok(OpenMetadataSink {
            client,
            bulk: AtomicBool::new(true),
            written: Mutex::new(HashMap::new()),
            ids: Mutex::new(HashMap::new()),
            owners: Mutex::new(HashMap::new()),
            warnings: std::sync::Mutex::new(Vec::new()),
            tags: Mutex::new(HashMap::new()),
            service_type: std::sync::Mutex::new(String::new()),
            run_status: workflow
                .ingestion_pipeline()
                .map(|(fqn, run)| run_status::RunStatus::new(fqn, run, workflow.success_threshold())),
        })
    }

    /// `GET /v1/system/version`: the server's version, for `weir check`.
    pub async fn version(&self) -> Result<String, String> {
        let answer = self.client.send(Method::GET, "/v1/system/version", None).await.map_err(|e| e.to_string())?;
        let version = answer["version"].as_str().unwrap_or("(no version given)");
        Ok(format!("OpenMetadata {version} at {}", self.server()))
    }

    /// Whether the token may read the services the run writes: one listing,
    /// for `weir check` (a refused token is 401, a token without the
    /// rights 403).
    pub async fn check_token(&self, kind: ServiceKind) -> Result<String, String> {
        let path = match kind {
            ServiceKind::Database => "/v1/services/databaseServices?limit=1",
            ServiceKind::Dashboard => "/v1/services/dashboardServices?limit=1",
            ServiceKind::Pipeline => "/v1/services/pipelineServices?limit=1",
        };
        match self.client.send(Method::GET, path, None).await {
            Ok(_) => Ok("the token is accepted".into()),
            Err(e) if e.status() == Some(401) => Err(format!("the token is refused: {e}")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// `GET /v1/services/ingestionPipelines/name/{fqn}`, for `weir check`.
    pub async fn find_ingestion_pipeline(&self, fqn: &str) -> Result<String, String> {
        let path = format!("/v1/services/ingestionPipelines/name/{}", encode(fqn));
        let pipeline = self.client.send(Method::GET, &path, None).await.map_err(|e| e.to_string())?;
        Ok(format!("{fqn} exists (id {})", pipeline["id"].as_str().unwrap_or("?")))
    }

    /// Reports the run `running` to its ingestion pipeline, if the workflow
    /// names one.
    pub async fn report_running(&self, run_id: &str, started_ms: i64) {
        if let Some(status) = &self.run_status
            && let Some(warning) = status.running(&self.client, run_id, started_ms).await
        {
            self.warn(warning);
        }
    }

    /// Reports how the run ended to its ingestion pipeline, if any: with
    /// the report of a run that finished, with the reason of one that
    /// could not go on. Returns what the report should warn about.
    pub async fn report_end(&self, run_id: &str, outcome: Result<&crate::report::RunReport, &str>) -> Option<String> {
        let status = self.run_status.as_ref()?;
        let service_type = self.service_type.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match outcome {
            Ok(report) => status.finished(&self.client, report, &service_type).await,
            Err(reason) => status.failed(&self.client, run_id, reason, &service_type).await,
        }
    }

    /// Requests the client retried.
    pub fn retries(&self) -> usize {
        self.client.retries()
    }

    /// The server's API URL, for the report.
    pub fn server(&self) -> &str {
        self.client.api()
    }

    pub async fn put_service(
        &self,
        name: &str,
        service_type: &str,
        kind: ServiceKind,
    ) -> Result<(), OpenMetadataError> {
        *self.service_type.lock().unwrap_or_else(|e| e.into_inner()) = service_type.to_string();
        let body = json!({ "name": name, "serviceType": service_type });
        let path = match kind {
            ServiceKind::Database => "/v1/services/databaseServices",
            ServiceKind::Dashboard => "/v1/services/dashboardServices",
            ServiceKind::Pipeline => "/v1/services/pipelineServices",
        };
        let entity = self.client.send(Method::PUT, path, Some(&body)).await?;
        self.remember(&entity, kind.entity_type(), name).await;
        Ok(())
    }

    /// Phase 1: writes `docs`; returns the ones the server refused, by FQN.
    pub async fn write(&self, docs: &[Document]) -> Result<HashMap<String, String>, SinkError> {
        let mut refused = HashMap::new();
        // Runs of one kind: a `/bulk` request carries one kind only.
        for group in docs.chunk_by(|a, b| a.kind == b.kind) {
            if group[0].kind == "dashboard" {
                refused.extend(self.put_all(&self.with_owners(group).await).await?);
            } else if group[0].kind == Kind::Pipeline.entity_type() {
                let docs = self.with_tags(self.with_owners(group).await).await;
                refused.extend(self.put_all(&docs).await?);
            } else if group[0].kind == Kind::PipelineStatus.entity_type() {
                refused.extend(self.put_statuses(group).await);
            } else {
                refused.extend(self.put_all(group).await?);
            }
        }
        Ok(refused)
    }

    /// Logs `warning` and keeps it for the run's report.
    fn warn(&self, warning: String) {
        tracing::warn!(sink = "metadata-rest", "{warning}");
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).push(warning);
    }

    /// The classification a pipeline's source tags go in.
    fn tag_classification(&self) -> String {
        let service_type = self.service_type.lock().unwrap_or_else(|e| e.into_inner()).clone();
        format!("{}Tags", if service_type.is_empty() { "Pipeline" } else { service_type.as_str() })
    }

    /// What the report should say from this sink, taken once.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Dashboards and pipelines with their owners as OpenMetadata's
    /// `owners`: the users the server has with that email (found by its
    /// search, as OpenMetadata's own ingestion does) or name. An owner the
    /// server lacks is reported once and its entities go without it.
    async fn with_owners(&self, docs: &[Document]) -> Vec<Document> {
        // A dashboard has one owner (`owner`), a pipeline a list (`owners`).
        let owners_of = |d: &Document| -> Vec<String> {
            match (d.extra.get("owner"), d.extra.get("owners")) {
                (Some(Value::String(one)), _) => vec![one.clone()],
                (_, Some(Value::Array(many))) => many.iter().filter_map(Value::as_str).map(String::from).collect(),
                _ => Vec::new(),
            }
        };
        let wanted: Vec<String> = {
            let known = self.owners.lock().await;
            let mut wanted: Vec<String> = docs.iter().flat_map(owners_of).filter(|o| !known.contains_key(o)).collect();
            wanted.sort_unstable();
            wanted.dedup();
            wanted
        };
        let found: Vec<(String, Option<Value>)> = futures_util::stream::iter(wanted)
            .map(|owner| async move {
                let reference = self.user(&owner).await;
                (owner, reference)
            })
            .buffer_unordered(PHASE_TWO_REQUESTS)
            .collect()
            .await;
        let mut known = self.owners.lock().await;
        let kind = docs.first().map(|d| d.kind.as_str()).unwrap_or("entity");
        for (owner, reference) in found {
            if reference.is_none() {
                let warning = format!(
                    "{kind} owner `{owner}` is not a user of the OpenMetadata server: its {kind}s go without it"
                );
                self.warn(warning);
            }
            known.insert(owner, reference);
        }
        docs.iter()
            .map(|d| {
                let mut doc = d.clone();
                let references: Vec<Value> =
                    owners_of(d).iter().filter_map(|o| known.get(o).cloned().flatten()).collect();
                if !references.is_empty()
                    && let Some(body) = doc.body.as_object_mut()
                {
                    body.insert("owners".into(), Value::Array(references));
                }
                doc
            })
            .collect()
    }

    /// The user the server has for an owner: by email through the search
    /// API, else by name. `None` when there is none, or the server would
    /// not say.
    async fn user(&self, owner: &str) -> Option<Value> {
        let found = if owner.contains('@') {
            let path = format!(
                "/v1/search/query?q={}&from=0&size=1&index=user_search_index",
                encode(&format!("email.keyword:{}", owner.to_lowercase()))
            );
            self.client.send(Method::GET, &path, None).await.map(|hits| hits["hits"]["hits"][0]["_source"].clone())
        } else {
            self.client.send(Method::GET, &format!("/v1/users/name/{}", encode(owner)), None).await
        };
        match found {
            Ok(user) => user["id"].as_str().map(|id| json!({ "id": id, "type": "user" })),
            Err(e) if e.status() == Some(404) => None,
            Err(e) => {
                tracing::warn!(sink = "metadata-rest", "the owner `{owner}` could not be looked up: {e}");
                None
            }
        }
    }

    /// Phase 2: foreign keys, then lineage. Records whose ends the server
    /// does not have come back unresolved.
    pub async fn apply_relations(&self, relations: &[Relation]) -> Result<Vec<Unresolved>, SinkError> {
        let mut unresolved = Vec::new();
        let written = self.written.lock().await.clone();
        // Foreign keys, gathered per owning table. Whether both ends are
        // there is the server's to say (an unchanged table was not sent by
        // this run, and is there all the same).
        let mut keys: HashMap<&str, Vec<&Relation>> = HashMap::new();
        for r in relations {
            if let Relation::ForeignKey { table, .. } = r {
                keys.entry(table.as_str()).or_default().push(r);
            }
        }
        unresolved.extend(self.patch_foreign_keys(&keys).await?);
        // A lineage end this run did not write may still be on the server
        // (a dashboard's upstream tables, from another service's run): it
        // is looked up by name, and reported when the server lacks it.
        for r in relations {
            if let Relation::Lineage { from, to, body, .. } = r
                && let Err(reason) = self.put_lineage(from, to, body, &written).await
            {
                unresolved.push(Unresolved { owner: r.owner().to_string(), kind: r.kind(), reason });
            }
        }
        Ok(unresolved)
    }

    /// Adds the foreign keys to their owning tables as OpenMetadata's own
    /// ingestion does: a JSON Patch of `tableConstraints` on each table,
    /// after phase 1 (a PUT again would be skipped by the server, its
    /// `sourceHash` being the one it has). The tables' ids and constraints
    /// are listed schema by schema, a page of 1,000 at a time; the patch
    /// sets the whole list (what the server has, plus the keys it lacks),
    /// so a retried patch gives the same table. A table that has its keys
    /// already is not patched.
    async fn patch_foreign_keys(&self, keys: &HashMap<&str, Vec<&Relation>>) -> Result<Vec<Unresolved>, SinkError> {
        let mut unresolved = Vec::new();
        // The schemas of the owners and of the tables they refer to: what
        // is listed, and who is told when a listing fails.
        let mut schemas: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let schema_of = |table: &str| {
            let parts = fqn::split(table);
            fqn::build(&parts[..parts.len().saturating_sub(1)]).ok().filter(|_| parts.len() == 4)
        };
        for (owner, records) in keys {
            match schema_of(owner) {
                Some(schema) => schemas.entry(schema).or_default().push(owner),
                None => {
                    unresolved.extend(unresolved_all(owner, records, "is not a table FQN".into()));
                    continue;
                }
            }
            for r in records {
                if let Some(schema) = schema_of(r.target()) {
                    schemas.entry(schema).or_default();
                }
            }
        }
        let listed: Vec<Result<ServerTables, (String, OpenMetadataError)>> = futures_util::stream::iter(schemas.keys())
            .map(|schema| async move { self.tables_of(schema).await.map_err(|e| (schema.clone(), e)) })
            .buffer_unordered(PHASE_TWO_REQUESTS)
            .collect()
            .await;
        let mut tables = HashMap::new();
        for result in listed {
            match result {
                Ok(found) => tables.extend(found),
                Err((schema, err)) => {
                    for owner in &schemas[&schema] {
                        let reason = format!("the tables of schema `{schema}` could not be listed: {err}");
                        unresolved.extend(unresolved_all(owner, &keys[owner], reason));
                    }
                }
            }
        }
        let mut patches = Vec::new();
        for (owner, records) in keys {
            let Some((id, constraints)) = tables.get(*owner) else {
                let reason = "the server has no such table (its write failed, or it was removed)".to_string();
                unresolved.extend(unresolved_all(owner, records, reason));
                continue;
            };
            let mut all = constraints.clone();
            let before = all.len();
            let mut patched = Vec::with_capacity(records.len());
            for record in records {
                if !tables.contains_key(record.target()) {
                    unresolved.push(Unresolved {
                        owner: owner.to_string(),
                        kind: record.kind(),
                        reason: format!(
                            "refers to `{}`, which the server does not have (filtered out or failed)",
                            record.target()
                        ),
                    });
                    continue;
                }
                patched.push(*record);
                let body = record.body();
                if !all.iter().any(|c| same_constraint(c, &body)) {
                    all.push(body);
                }
            }
            if all.len() > before {
                let ops = json!([{ "op": "add", "path": "/tableConstraints", "value": all }]);
                patches.push((*owner, patched, format!("/v1/tables/{}", encode(id)), ops));
            }
        }
        let results: Vec<_> = futures_util::stream::iter(patches)
            .map(|(owner, records, path, ops)| async move { (owner, records, self.client.patch(&path, &ops).await) })
            .buffer_unordered(PHASE_TWO_REQUESTS)
            .collect()
            .await;
        for (owner, records, result) in results {
            if let Err(err) = result {
                unresolved.extend(unresolved_all(owner, &records, err.to_string()));
            }
        }
        Ok(unresolved)
    }

    /// The tables of one schema on the server: FQN → (id, constraints).
    async fn tables_of(&self, schema: &str) -> Result<ServerTables, OpenMetadataError> {
        let mut tables = HashMap::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!(
                "/v1/tables?databaseSchema={}&fields=tableConstraints&limit={LIST_PAGE}&include=non-deleted",
                encode(schema)
            );
            if let Some(cursor) = &after {
                path.push_str(&format!("&after={}", encode(cursor)));
            }
            let page = self.client.send(Method::GET, &path, None).await?;
            for table in page["data"].as_array().into_iter().flatten() {
                let (Some(fqn), Some(id)) = (table["fullyQualifiedName"].as_str(), table["id"].as_str()) else {
                    continue;
                };
                let constraints = table["tableConstraints"].as_array().cloned().unwrap_or_default();
                tables.insert(fqn.to_string(), (id.to_string(), constraints));
            }
            match page["paging"]["after"].as_str() {
                Some(cursor) if !cursor.is_empty() && after.as_deref() != Some(cursor) => after = Some(cursor.into()),
                _ => return Ok(tables),
            }
        }
    }

    /// One edge by ids; the reason when the server refused it or kept
    /// failing.
    async fn put_lineage(
        &self,
        from: &str,
        to: &str,
        body: &Value,
        written: &HashMap<String, String>,
    ) -> Result<(), String> {
        let end = |fqn: &str, side: &str| -> (String, String) {
            let kind = body[side]["type"].as_str().or(written.get(fqn).map(String::as_str)).unwrap_or("table");
            (kind.to_string(), fqn.to_string())
        };
        let mut ends = Vec::with_capacity(2);
        for (kind, fqn) in [end(from, "fromEntity"), end(to, "toEntity")] {
            let id = self.id_of(&kind, &fqn).await.map_err(|e| match e.status() {
                Some(404) => format!(
                    "refers to {kind} `{fqn}`, which the server does not have (filtered out, failed, or never ingested)"
                ),
                _ => e.to_string(),
            })?;
            ends.push(json!({ "id": id, "type": kind }));
        }
        let mut edge = json!({ "fromEntity": ends[0], "toEntity": ends[1] });
        if let Some(sql) = body.get("sqlQuery").and_then(Value::as_str) {
            edge["lineageDetails"] = json!({ "sqlQuery": sql, "source": "ViewLineage" });
        }
        self.client
            .send(Method::PUT, "/v1/lineage", Some(&json!({ "edge": edge })))
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Soft-deletes entities ((kind, FQN)) gone from the source, as
    /// OpenMetadata's own ingestion marks them (`hardDelete=false`,
    /// `recursive=true`, as its `delete_entity` sends): the server keeps
    /// them, flagged `deleted`, and a later PUT of the same FQN restores
    /// them (`EntityRepository.update`). By name (`deleteByName`), so no id
    /// has to be looked up first. There is no bulk delete: a few at once.
    /// One the server no longer has is gone already. Returns those it
    /// refused, with its reason.
    pub async fn mark_deleted(&self, entities: &[(&str, &str)]) -> Vec<(String, String, String)> {
        futures_util::stream::iter(entities)
            .map(|(kind, fqn)| async move {
                let path = format!("/v1/{}/name/{}?hardDelete=false&recursive=true", collection(kind), encode(fqn));
                match self.client.send(Method::DELETE, &path, None).await {
                    Ok(_) => None,
                    Err(e) if e.status() == Some(404) => None,
                    Err(e) => Some((kind.to_string(), fqn.to_string(), e.to_string())),
                }
            })
            .buffer_unordered(PHASE_TWO_REQUESTS)
            .filter_map(|refused| async move { refused })
            .collect()
            .await
    }

    /// The id of an entity, asked of the server once.
    async fn id_of(&self, kind: &str, fqn: &str) -> Result<String, OpenMetadataError> {
        let key = (kind.to_string(), fqn.to_string());
        if let Some(id) = self.ids.lock().await.get(&key) {
            return Ok(id.clone());
        }
        let path = format!("/v1/{}/name/{}", collection(kind), encode(fqn));
        let entity = self.client.send(Method::GET, &path, None).await?;
        let id = entity["id"].as_str().unwrap_or_default().to_string();
        self.ids.lock().await.insert(key, id.clone());
        Ok(id)
    }

    /// Writes documents of one kind: `/bulk` while the server has it, one
    /// request per entity otherwise. Returns the refused ones by FQN.
    async fn put_all(&self, docs: &[Document]) -> Result<HashMap<String, String>, SinkError> {
        let Some(first) = docs.first() else { return Ok(HashMap::new()) };
        let collection = collection(&first.kind);
        if self.bulk.load(Ordering::Relaxed) {
            let path = format!("/v1/{collection}/bulk?async=false&overrideMetadata=false");
            let bodies = Value::Array(docs.iter().map(|d| d.body.clone()).collect());
            match self.client.send(Method::PUT, &path, Some(&bodies)).await {
                Ok(result) => {
                    let refused = refused_items(&result, docs);
                    self.note_written(docs.iter().filter(|d| !refused.contains_key(&d.fqn))).await;
                    return Ok(refused);
                }
                Err(err) if matches!(err.status(), Some(404) | Some(405)) => {
                    tracing::warn!(sink = "metadata-rest", "{err}; this server has no /bulk: one request per entity");
                    self.bulk.store(false, Ordering::Relaxed);
                }
                Err(err) => return Err(err.into()),
            }
        }
        let mut refused = HashMap::new();
        for (i, doc) in docs.iter().enumerate() {
            match self.client.send(Method::PUT, &format!("/v1/{collection}"), Some(&doc.body)).await {
                Ok(entity) => self.remember(&entity, &doc.kind, &doc.fqn).await,
                Err(err) if err.status().is_some_and(|s| (400..500).contains(&s) && s != 401 && s != 403) => {
                    refused.insert(doc.fqn.clone(), err.to_string());
                }
                // The server keeps failing (or refuses us): what was
                // written stays written, this one and the rest are not.
                Err(err) => {
                    let reason = err.to_string();
                    refused.insert(doc.fqn.clone(), reason.clone());
                    for rest in &docs[i + 1..] {
                        refused.insert(rest.fqn.clone(), format!("not sent: an earlier request failed: {reason}"));
                    }
                    break;
                }
            }
        }
        Ok(refused)
    }

    /// Pipeline runs, each onto its pipeline (the document's parent) as
    /// OpenMetadata's own ingestion adds them: `PUT
    /// /v1/pipelines/{fqn}/status`, which keeps one status per `timestamp`
    /// and replaces it when the same run is sent again. There is no bulk
    /// form: a few at once. Returns the refused ones by FQN.
    async fn put_statuses(&self, docs: &[Document]) -> HashMap<String, String> {
        // Gathered first: a lazy map's closure would not be `Send` for
        // every lifetime, as the sink's task needs.
        let sends: Vec<_> = docs.iter().enumerate().map(|(at, doc)| self.put_status(at, doc)).collect();
        let results: Vec<(usize, Result<Value, OpenMetadataError>)> =
            futures_util::stream::iter(sends).buffer_unordered(PHASE_TWO_REQUESTS).collect().await;
        let mut refused = HashMap::new();
        for (at, result) in results {
            let doc = &docs[at];
            match result {
                Ok(_) => self.note_written(std::iter::once(doc)).await,
                Err(e) if e.status() == Some(404) => {
                    let pipeline = doc.parent.as_deref().unwrap_or_default();
                    refused.insert(doc.fqn.clone(), format!("the server has no pipeline `{pipeline}` to add it to"));
                }
                Err(e) => {
                    refused.insert(doc.fqn.clone(), e.to_string());
                }
            }
        }
        refused
    }

    async fn put_status(&self, at: usize, doc: &Document) -> (usize, Result<Value, OpenMetadataError>) {
        let path = format!("/v1/pipelines/{}/status", encode(doc.parent.as_deref().unwrap_or_default()));
        (at, self.client.send(Method::PUT, &path, Some(&doc.body)).await)
    }

    async fn note_written(&self, docs: impl Iterator<Item = &Document>) {
        let mut written = self.written.lock().await;
        for doc in docs {
            written.insert(doc.fqn.clone(), doc.kind.clone());
        }
    }

    /// Records an entity the server answered with (its id saves a lookup).
    async fn remember(&self, entity: &Value, kind: &str, fqn: &str) {
        self.written.lock().await.insert(fqn.to_string(), kind.to_string());
        if let Some(id) = entity.get("id").and_then(Value::as_str) {
            self.ids.lock().await.insert((kind.to_string(), fqn.to_string()), id.to_string());
        }
    }
}

#[derive(Debug, Error)]
pub enum SinkError {
    #[error(transparent)]
    Server(#[from] OpenMetadataError),
    #[error(transparent)]
    State(#[from] StateError),
}

impl SinkError {
    /// Whether the write may succeed later.
    pub fn may_pass(&self) -> bool {
        match self {
            SinkError::Server(e) => e.may_pass(),
            SinkError::State(e) => e.may_pass(),
        }
    }
}

/// The failed items of a `BulkOperationResult`, by FQN. An item names its
/// entity by FQN (a string) when the write failed, or carries the whole
/// request when the request itself was refused.
fn refused_items(result: &Value, docs: &[Document]) -> HashMap<String, String> {
    let mut refused = HashMap::new();
    for item in result.get("failedRequest").and_then(Value::as_array).into_iter().flatten() {
        let message = item.get("message").and_then(Value::as_str).unwrap_or("refused by the server").to_string();
        let fqn = match item.get("request") {
            Some(Value::String(fqn)) => Some(fqn.clone()),
            Some(request) => docs
                .iter()
                .find(|d| &d.body == request)
                .or_else(|| docs.iter().find(|d| d.body.get("name") == request.get("name")))
                .map(|d| d.fqn.clone()),
            None => None,
        };
        match fqn {
            Some(fqn) => {
                refused.insert(fqn, message);
            }
            None => tracing::warn!(sink = "metadata-rest", "a failed bulk item names no entity of the batch: {item}"),
        }
    }
    refused
}

/// Each of `records`, unresolved for `reason`.
fn unresolved_all(owner: &str, records: &[&Relation], reason: String) -> Vec<Unresolved> {
    records.iter().map(|r| Unresolved { owner: owner.to_string(), kind: r.kind(), reason: reason.clone() }).collect()
}

/// Whether two table constraints say the same: their type, columns and
/// referred columns (FQNs compared as the server normalizes them).
fn same_constraint(a: &Value, b: &Value) -> bool {
    let referred = |v: &Value| -> Vec<Vec<String>> {
        v["referredColumns"].as_array().into_iter().flatten().filter_map(Value::as_str).map(fqn::split).collect()
    };
    a["constraintType"] == b["constraintType"] && a["columns"] == b["columns"] && referred(a) == referred(b)
}

/// The REST collection of an entity type. Documents only ever have a kind
/// of [`crate::sink::document::collection`]'s table; anything else would be
/// a bug, and goes nowhere a path could escape to.
fn collection(kind: &str) -> &'static str {
    crate::sink::document::collection(kind).unwrap_or("unknownEntityKind")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(fqn: &str, name: &str) -> Document {
        Document {
            kind: "table".into(),
            fqn: fqn.into(),
            parent: None,
            name: name.into(),
            body: json!({ "name": name, "databaseSchema": "s.d.x" }),
            extra: Value::Null,
            source_hash: String::new(),
        }
    }

    #[test]
    fn failed_bulk_items_are_found_by_fqn_or_by_request() {
        let docs = [doc("s.d.x.a", "a"), doc("s.d.x.b", "b"), doc("s.d.x.c", "c")];
        let result = json!({
            "status": "partialSuccess",
            "failedRequest": [
                { "request": "s.d.x.a", "message": "a broke" },
                { "request": { "name": "c", "databaseSchema": "s.d.x" }, "message": "c is invalid" },
            ],
        });
        let refused = refused_items(&result, &docs);
        assert_eq!(refused.len(), 2);
        assert_eq!(refused["s.d.x.a"], "a broke");
        assert_eq!(refused["s.d.x.c"], "c is invalid");
    }

    #[test]
    fn fqns_are_encoded_for_a_path() {
        assert_eq!(encode(r#"svc.db."my.schema".t 1"#), "svc.db.%22my.schema%22.t%201");
    }
}
