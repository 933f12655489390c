//! A client of the Argo Server's HTTP API (`/api/v1`, Argo's
//! `swagger.json`): create a workflow, read its status, retry it.
//!
//! The token is sent as `Authorization` exactly as Argo takes it: `argo
//! auth token` prints `Bearer ...` already, and a bare service-account
//! token gets the prefix. Without a token (a server in `server` auth mode)
//! no header is sent.

use crate::config::Secret;
use crate::percent::encode as segment;
use serde_json::{Value, json};
use std::time::Duration;
use thiserror::Error;

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Error)]
pub enum ArgoError {
    #[error("the Argo Server's client cannot be made: {0}")]
    Client(String),
    #[error("the Argo Server at {server} cannot be reached: {reason}")]
    Unreachable { server: String, reason: String },
    #[error(
        "the Argo Server at {server} refused the token{from}: {message} (a token comes from `argo auth token`, or \
         a service account's token with `create`/`get` on workflows.argoproj.io)"
    )]
    Unauthenticated { server: String, from: String, message: String },
    #[error("the Argo Server at {server} answered {status} to {action}: {message}")]
    Refused { server: String, action: String, status: u16, message: String },
    #[error("the Argo Server at {server} answered {action} with what is not a workflow: {reason}")]
    Malformed { server: String, action: String, reason: String },
}

impl ArgoError {
    /// Whether trying again later may succeed: the server unreachable or
    /// answering 5xx.
    pub fn may_pass(&self) -> bool {
        match self {
            ArgoError::Unreachable { .. } => true,
            ArgoError::Refused { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// Where a workflow stands, as much of its status as `weir ingest` shows.
#[derive(Debug, Clone, Default)]
pub struct WorkflowStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Error`; empty before
    /// the controller has seen it.
    pub phase: String,
    pub message: String,
    /// `succeeded/total` pods, as Argo counts them.
    pub progress: String,
    /// The pods that did not succeed, when the status was read with them.
    pub failed_pods: Vec<FailedPod>,
}

impl WorkflowStatus {
    /// Whether the workflow has ended.
    pub fn ended(&self) -> bool {
        matches!(self.phase.as_str(), "Succeeded" | "Failed" | "Error")
    }
}

/// A pod that failed or was lost, from the status's nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedPod {
    /// As `argo get` shows it: `table(table-0003)(1)`.
    pub name: String,
    /// The template it ran: `discover`, `process`, `finalize`.
    pub template: String,
    pub phase: String,
    pub exit_code: Option<i32>,
    pub message: String,
}

pub struct ArgoServer {
    http: reqwest::Client,
    /// `https://argo.example:2746`, no trailing slash.
    base: String,
    authorization: Option<Secret>,
    /// Where the token came from, for an error that says what to fix.
    token_from: String,
}

impl ArgoServer {
    /// `token_from` names the variable the token was read from.
    pub fn new(
        base: &str,
        token: Option<Secret>,
        token_from: &str,
        insecure_skip_verify: bool,
    ) -> Result<ArgoServer, ArgoError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
            .tls_danger_accept_invalid_certs(insecure_skip_verify)
            .build()
            .map_err(|e| ArgoError::Client(e.to_string()))?;
        let authorization = token.map(|t| {
            let t = t.expose().trim();
            Secret::new(if t.starts_with("Bearer ") { t.to_string() } else { format!("Bearer {t}") })
        });
        Ok(ArgoServer {
            http,
            base: base.trim_end_matches('/').to_string(),
            authorization,
            token_from: token_from.into(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /api/v1/workflows/{namespace}`: the created workflow's name.
    pub async fn create(&self, namespace: &str, workflow: &Value) -> Result<String, ArgoError> {
        let body = json!({ "namespace": namespace, "workflow": workflow });
        let path = format!("/api/v1/workflows/{}", segment(namespace));
        let created = self.call(reqwest::Method::POST, &path, Some(&body), "the workflow's creation").await?;
        created["metadata"]["name"].as_str().map(String::from).ok_or_else(|| ArgoError::Malformed {
            server: self.base.clone(),
            action: "the workflow's creation".into(),
            reason: "no metadata.name".into(),
        })
    }

    /// `GET /api/v1/workflows/{namespace}/{name}`, with only the fields
    /// shown; the nodes (large, one per pod) only `with_pods`.
    pub async fn status(&self, namespace: &str, name: &str, with_pods: bool) -> Result<WorkflowStatus, ArgoError> {
        let mut fields = String::from("metadata.name,status.phase,status.message,status.progress");
        if with_pods {
            fields.push_str(",status.nodes");
        }
        let path = format!("/api/v1/workflows/{}/{}?fields={fields}", segment(namespace), segment(name));
        let workflow = self.call(reqwest::Method::GET, &path, None, "a status read").await?;
        Ok(status_of(&workflow["status"]))
    }

    /// `PUT /api/v1/workflows/{namespace}/{name}/retry`: the failed pods,
    /// and what depends on them, run again; the succeeded ones are kept.
    pub async fn retry(&self, namespace: &str, name: &str) -> Result<(), ArgoError> {
        let body = json!({ "name": name, "namespace": namespace });
        let path = format!("/api/v1/workflows/{}/{}/retry", segment(namespace), segment(name));
        self.call(reqwest::Method::PUT, &path, Some(&body), "the retry").await.map(|_| ())
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        action: &str,
    ) -> Result<Value, ArgoError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization.expose());
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let unreachable = |e: reqwest::Error| ArgoError::Unreachable {
            server: self.base.clone(),
            reason: crate::caps::http::client::error_chain(&e),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(unreachable)?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            if !value.is_object() {
                return Err(ArgoError::Malformed {
                    server: self.base.clone(),
                    action: action.into(),
                    reason: "the answer is not a JSON object".into(),
                });
            }
            return Ok(value);
        }
        // grpc-gateway's error: {code, message}.
        let message = value["message"].as_str().map(String::from).unwrap_or_else(|| text.chars().take(300).collect());
        let message = crate::text::escape_controls(&message).into_owned();
        if status == 401 {
            let from = if self.authorization.is_some() {
                format!(" read from ${}", self.token_from)
            } else {
                format!(" (none was sent: ${} is not set)", self.token_from)
            };
            return Err(ArgoError::Unauthenticated { server: self.base.clone(), from, message });
        }
        Err(ArgoError::Refused { server: self.base.clone(), action: action.into(), status, message })
    }
}

fn status_of(status: &Value) -> WorkflowStatus {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut failed_pods: Vec<FailedPod> = status["nodes"]
        .as_object()
        .into_iter()
        .flat_map(|nodes| nodes.values())
        .filter(|n| n["type"] == "Pod" && matches!(n["phase"].as_str(), Some("Failed" | "Error")))
        .map(|n| FailedPod {
            name: text(&n["displayName"]),
            template: text(&n["templateName"]),
            phase: text(&n["phase"]),
            exit_code: n["outputs"]["exitCode"].as_str().and_then(|c| c.parse().ok()),
            message: text(&n["message"]),
        })
        .collect();
    failed_pods.sort_by(|a, b| a.name.cmp(&b.name));
    WorkflowStatus {
        phase: text(&status["phase"]),
        message: text(&status["message"]),
        progress: text(&status["progress"]),
        failed_pods,
    }
}
