//! HTTP to an OpenMetadata server: bearer auth, JSON bodies, and retries
//! of what a busy server answers (429 honouring `Retry-After`, 5xx,
//! timeouts) with exponential backoff and jitter. The token never appears
//! in an error.

use crate::config::Secret;
use crate::retry::RetryPolicy;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum OpenMetadataError {
    #[error("OpenMetadata {method} {path} answered {status}: {message}")]
    Status { method: Method, path: String, status: u16, message: String },
    #[error("OpenMetadata {method} {path}: {reason}")]
    Transport { method: Method, path: String, reason: String },
    #[error("OpenMetadata {method} {path}: the answer is not JSON: {reason}")]
    Answer { method: Method, path: String, reason: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

impl OpenMetadataError {
    /// Whether the same request may succeed later: the server was down,
    /// busy or unreachable (after the client's own retries), not refusing.
    pub fn may_pass(&self) -> bool {
        match self {
            OpenMetadataError::Status { status, .. } => *status == 429 || *status >= 500,
            OpenMetadataError::Transport { .. } => true,
            OpenMetadataError::Answer { .. } | OpenMetadataError::Client(_) => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            OpenMetadataError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub struct Client {
    http: reqwest::Client,
    /// `http://host:8585/api`, no trailing slash.
    api: String,
    token: Secret,
    retry: RetryPolicy,
    retries: AtomicUsize,
}

/// A request that took longer than this failed (and may be retried).
const TIMEOUT: Duration = Duration::from_secs(120);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

impl Client {
    pub fn new(api: &str, token: Secret, retry: RetryPolicy) -> Result<Client, OpenMetadataError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OpenMetadataError::Client(e.to_string()))?;
        Ok(Client { http, api: api.trim_end_matches('/').to_string(), token, retry, retries: AtomicUsize::new(0) })
    }

    pub fn api(&self) -> &str {
        &self.api
    }

    /// Requests retried so far.
    pub fn retries(&self) -> usize {
        self.retries.load(Ordering::Relaxed)
    }

    /// Sends `body` to `path` (under `/api`), retrying what a busy server
    /// answers; returns the answer's JSON (`Null` when empty).
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, OpenMetadataError> {
        self.send_as(method, path, body, "application/json").await
    }

    /// [`Client::send`] of a JSON Patch (RFC 6902): `PATCH` with its own
    /// content type. Only patches that give the same result applied twice
    /// may be sent, since a retry may repeat one the server applied.
    pub async fn patch(&self, path: &str, ops: &Value) -> Result<Value, OpenMetadataError> {
        self.send_as(Method::PATCH, path, Some(ops), "application/json-patch+json").await
    }

    async fn send_as(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<Value, OpenMetadataError> {
        let mut backoff = self.retry.backoff();
        loop {
            let (err, asked) = match self.once(method.clone(), path, body, content_type).await {
                Ok(value) => return Ok(value),
                Err((err, Some(asked))) => (err, asked),
                Err((err, None)) => return Err(err),
            };
            let Some(wait) = backoff.next(asked) else { return Err(err) };
            self.retries.fetch_add(1, Ordering::Relaxed);
            let attempt = backoff.retries();
            tracing::warn!(sink = "metadata-rest", attempt, "{err}; retrying in {:.1} s", wait.as_secs_f64());
            tokio::time::sleep(wait).await;
        }
    }

    /// One request. An error comes with `Some(asked)` when it is worth
    /// retrying, `asked` being the wait the server asked for, if it did.
    async fn once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<Value, (OpenMetadataError, Option<Option<Duration>>)> {
        let url = format!("{}{path}", self.api);
        let mut request = self.http.request(method.clone(), &url).bearer_auth(self.token.expose());
        if let Some(body) = body {
            request = request.header("content-type", content_type).body(body.to_string());
        }
        let transport = |e: reqwest::Error| {
            let retry = (e.is_timeout() || e.is_connect() || e.is_request()).then_some(None);
            // reqwest's message names the URL, never the headers.
            let reason = e.without_url().to_string();
            (OpenMetadataError::Transport { method: method.clone(), path: path.to_string(), reason }, retry)
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        // A server asking for more than five minutes is waited on for five.
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::retry::retry_after)
            .map(|wait| wait.min(MAX_RETRY_AFTER));
        let text = response.text().await.map_err(transport)?;
        if !status.is_success() {
            let retry = match status {
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => Some(retry_after),
                s if s.is_server_error() && s != StatusCode::NOT_IMPLEMENTED => Some(None),
                _ => None,
            };
            let message = error_message(&text);
            let err = OpenMetadataError::Status { method, path: path.to_string(), status: status.as_u16(), message };
            return Err((err, retry));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| {
            (OpenMetadataError::Answer { method: method.clone(), path: path.to_string(), reason: e.to_string() }, None)
        })
    }
}

/// The server's own words: OpenMetadata answers `{"code", "message"}`.
fn error_message(text: &str) -> String {
    let from_json = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string));
    let message = from_json.unwrap_or_else(|| text.trim().to_string());
    let mut short: String = message.chars().take(500).collect();
    if short.len() < message.len() {
        short.push('…');
    }
    if short.is_empty() { "(no message)".into() } else { short }
}
