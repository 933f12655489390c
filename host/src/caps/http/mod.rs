//! Outbound HTTP for plugins, deny by default: only origins the workflow
//! grants (`weir.http.allow`, and a connection's `hostPort` for a plugin
//! that asks for HTTP) are reachable. Every refusal or failure is a value
//! the plugin can report, never a trap.
//!
//! - `origin.rs`: the grant grammar and the policy (origins, address ranges).
//! - `settings.rs` and `grant.rs`: `weir.http` in the workflow, and which
//!   origins a run grants from it and the plugin's `describe()`.
//! - `rate.rs`: a token bucket per origin.
//! - `secrets.rs`: `{{secret:NAME}}` placeholders, filled in by the host.
//! - `client.rs`: the client that applies policy, limits, retries and
//!   redaction to every request.

pub mod client;
pub mod grant;
pub mod origin;
pub mod rate;
pub mod secrets;
mod settings;
#[cfg(test)]
mod tests;

use crate::caps::{Grants, Redactor};
use crate::contract::types::{ErrorKind, Failure};
use crate::contract::weir::connector::http::{Host, Request, Response};
use client::{HttpClient, HttpErrorKind, HttpRequest};
use std::sync::Arc;

pub use settings::HttpSettings;

/// One instance's HTTP: the run's client (`None` when nothing is granted).
pub struct HttpState {
    plugin: Arc<str>,
    client: Option<Arc<HttpClient>>,
    redactor: Arc<Redactor>,
}

impl HttpState {
    pub fn new(grants: &Grants) -> Self {
        HttpState { plugin: grants.plugin.clone(), client: grants.http.clone(), redactor: grants.redactor.clone() }
    }
}

impl Host for HttpState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, Failure>> {
        let state = &*self;
        let Some(client) = state.client.clone() else {
            return Ok(Err(state.no_grant(&request)));
        };
        let answer = client.send(http_request(request)).await;
        Ok(state.answer(answer))
    }

    async fn send_all(&mut self, requests: Vec<Request>) -> wasmtime::Result<Vec<Result<Response, Failure>>> {
        let state = &*self;
        let Some(client) = state.client.clone() else {
            return Ok(requests.iter().map(|r| Err(state.no_grant(r))).collect());
        };
        let answers = client.send_all(requests.into_iter().map(http_request).collect()).await;
        Ok(answers.into_iter().map(|a| state.answer(a)).collect())
    }
}

impl HttpState {
    fn no_grant(&self, request: &Request) -> Failure {
        let url = self.redactor.redact(&request.url);
        tracing::warn!(plugin = %self.plugin, url = %url, "denied an HTTP request: the workflow grants no origin");
        Failure {
            kind: ErrorKind::Denied,
            message: format!("HTTP to {url} denied: the workflow grants no origin (weir.http.allow)"),
        }
    }

    fn answer(&self, answer: Result<client::HttpResponse, client::HttpError>) -> Result<Response, Failure> {
        match answer {
            Ok(response) => {
                // A server that echoes the request (an error page quoting the
                // login form) would hand the plugin the secret the host
                // filled in: it never enters the sandbox, this way either.
                let redactor = &self.redactor;
                let headers =
                    response.headers.into_iter().map(|(name, value)| (name, redactor.redact(&value))).collect();
                let body = match redactor.redact_bytes(&response.body) {
                    Some(clean) => clean,
                    None => response.body,
                };
                Ok(Response { status: response.status, headers, body })
            }
            Err(err) => {
                // Already redacted by the client.
                let message = err.to_string();
                tracing::warn!(plugin = %self.plugin, "{message}");
                let kind = match err.kind() {
                    HttpErrorKind::Denied => ErrorKind::Denied,
                    HttpErrorKind::Transient => ErrorKind::Transient,
                    HttpErrorKind::Permanent => ErrorKind::Permanent,
                };
                Err(Failure { kind, message })
            }
        }
    }
}

fn http_request(request: Request) -> HttpRequest {
    HttpRequest { method: request.method, url: request.url, headers: request.headers, body: request.body }
}
