//! The `metadata-rest` sink: an OpenMetadata server's REST API.
//!
//! Services go with `PUT /v1/services/databaseServices`; every other kind
//! with `PUT /v1/<collection>/bulk` (a JSON array of one kind's Create*
//! requests), or one `PUT /v1/<collection>` per entity on servers without
//! `/bulk`. Phase 2 sends the tables that have foreign keys again, with
//! them (every referenced table exists by then), and lineage edges by id,
//! ids resolved by name once and cached.

mod client;
// One copy for the SDK and the host: see the file's own comment.

pub use client::OpenMetadataError;

use super::Document;
use super::catalog::Unresolved;
use crate::config::{Secret, Workflow};
use crate::model::{Relation, ServiceKind};
use crate::percent::encode;
use crate::retry::RetryPolicy;
use crate::state::{StateError, StateStore};
use client::Client;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use thiserror::Error;
use tokio::sync::Mutex;

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
    /// OpenMetadata's `serviceType` for the service (`Postgres`).
    service_type: String,
    /// Cleared for good when the server answers `/bulk` with 404 or 405.
    bulk: AtomicBool,
    /// Entities the server took, by FQN, with their type: what phase 2 may
    /// point at.
    written: Mutex<HashMap<String, String>>,
    /// Ids by (type, FQN), for lineage.
    ids: Mutex<HashMap<(String, String), String>>,
    state: Arc<StateStore>,
    run_id: Arc<str>,
    /// Documents per phase-2 request.
    batch_size: usize,
}

impl OpenMetadataSink {
    pub fn new(
        workflow: &Workflow,
        state: Arc<StateStore>,
        run_id: Arc<str>,
        retry: RetryPolicy,
    ) -> Result<OpenMetadataSink, SinkSetupError> {
        let server = workflow.server().ok_or(SinkSetupError::NoServer)?;
        let token: Secret =
            server.security_config.as_ref().and_then(|s| s.jwt_token.clone()).ok_or(SinkSetupError::NoServer)?;
        let client = Client::new(server.host_port.as_str(), token, retry)?;
        Ok(OpenMetadataSink {
            client,
            service_type: service_type(workflow),
            bulk: AtomicBool::new(true),
            written: Mutex::new(HashMap::new()),
            ids: Mutex::new(HashMap::new()),
            state,
            run_id,
            batch_size: super::PipelineSettings::of(workflow).batch_size,
        })
    }

    /// Requests the client retried.
    pub fn retries(&self) -> usize {
        self.client.retries()
    }

    /// The server's API URL, for the report.
    pub fn server(&self) -> &str {
        self.client.api()
    }

    pub async fn put_service(&self, name: &str, kind: ServiceKind) -> Result<(), OpenMetadataError> {
        let body = json!({ "name": name, "serviceType": self.service_type });
        let path = match kind {
            ServiceKind::Database => "/v1/services/databaseServices",
            ServiceKind::Dashboard => "/v1/services/dashboardServices",
        };
        let entity = self.client.send(Method::PUT, path, Some(&body)).await?;
        self.remember(&entity, kind.entity_type(), name).await;
        Ok(())
    }

    /// Phase 1: writes `docs`; returns the ones the server refused, by FQN.
    pub async fn write(&self, docs: &[Document]) -> Result<HashMap<String, String>, SinkError> {
        // A table's request is kept: phase 2 sends it again with its keys.
        let tables: Vec<(&str, &Value)> =
            docs.iter().filter(|d| d.kind == "table").map(|d| (d.fqn.as_str(), &d.body)).collect();
        self.state.keep_documents(&self.run_id, &tables).await?;
        let mut refused = HashMap::new();
        // Runs of one kind: a `/bulk` request carries one kind only.
        for group in docs.chunk_by(|a, b| a.kind == b.kind) {
            refused.extend(self.put_all(group).await?);
        }
        Ok(refused)
    }

    /// Phase 2: foreign keys, then lineage. Records whose ends the server
    /// does not have come back unresolved.
    pub async fn apply_relations(&self, relations: &[Relation]) -> Result<Vec<Unresolved>, SinkError> {
        let mut unresolved = Vec::new();
        let written = self.written.lock().await.clone();
        let missing = |r: &Relation, fqn: &str| Unresolved {
            owner: r.owner().to_string(),
            kind: r.kind(),
            reason: format!("refers to `{fqn}`, which the server did not take in this run (filtered out or failed)"),
        };
        // Foreign keys, gathered per owning table.
        let mut keys: HashMap<&str, Vec<&Relation>> = HashMap::new();
        for r in relations {
            if let Relation::ForeignKey { table, .. } = r {
                if let Some(absent) = [r.owner(), r.target()].into_iter().find(|f| !written.contains_key(*f)) {
                    unresolved.push(missing(r, absent));
                    continue;
                }
                keys.entry(table.as_str()).or_default().push(r);
            }
        }
        unresolved.extend(self.put_foreign_keys(&keys).await?);
        // A lineage end this run did not write may still be on the server
        // (a dashboard's upstream tables, from another service's run): it
        // is looked up by name, and reported when the server lacks it.
        for r in relations {
            if let Relation::Lineage { from, to, body } = r
                && let Err(reason) = self.put_lineage(from, to, body, &written).await
            {
                unresolved.push(Unresolved { owner: r.owner().to_string(), kind: r.kind(), reason });
            }
        }
        Ok(unresolved)
    }

    /// Sends the owners' kept Create* requests again, with their foreign
    /// keys added to `tableConstraints`.
    async fn put_foreign_keys(&self, keys: &HashMap<&str, Vec<&Relation>>) -> Result<Vec<Unresolved>, SinkError> {
        let mut owners: Vec<&str> = keys.keys().copied().collect();
        owners.sort_unstable();
        let mut unresolved = Vec::new();
        for chunk in owners.chunks(self.batch_size.max(1)) {
            let kept = self.state.documents(&self.run_id, chunk).await?;
            let mut docs = Vec::with_capacity(chunk.len());
            for owner in chunk {
                let records = &keys[owner];
                let Some(mut body) = kept.get(*owner).cloned() else {
                    unresolved.extend(records.iter().map(|r| Unresolved {
                        owner: owner.to_string(),
                        kind: r.kind(),
                        reason: "the table's request was not kept in the state store".into(),
                    }));
                    continue;
                };
                let constraints = body.as_object_mut().map(|o| o.entry("tableConstraints").or_insert(json!([])));
                if let Some(Value::Array(list)) = constraints {
                    list.extend(records.iter().map(|r| r.body()));
                }
                docs.push(Document {
                    kind: "table".into(),
                    fqn: owner.to_string(),
                    parent: None,
                    name: String::new(),
                    body,
                    extra: Value::Null,
                    source_hash: String::new(),
                });
            }
            // A server that keeps failing leaves these keys unresolved;
            // phase 2 goes on with the rest.
            let refused = match self.put_all(&docs).await {
                Ok(refused) => refused,
                Err(err) => docs.iter().map(|d| (d.fqn.clone(), err.to_string())).collect(),
            };
            for (fqn, reason) in refused {
                unresolved.extend(keys.get(fqn.as_str()).into_iter().flatten().map(|r| Unresolved {
                    owner: fqn.clone(),
                    kind: r.kind(),
                    reason: reason.clone(),
                }));
            }
        }
        Ok(unresolved)
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

/// The REST collection of an entity type. Documents only ever have a kind
/// of [`crate::sink::document::collection`]'s table; anything else would be
/// a bug, and goes nowhere a path could escape to.
fn collection(kind: &str) -> &'static str {
    crate::sink::document::collection(kind).unwrap_or("unknownEntityKind")
}

/// OpenMetadata's `serviceType`: the connection's `type` (`Postgres`), else
/// `source.type` as written.
fn service_type(workflow: &Workflow) -> String {
    workflow.source.service_connection.config.kind.clone().unwrap_or_else(|| workflow.source.kind.clone())
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
