//! Outbound HTTP for plugins, deny by default: only origins the workflow
//! grants (`weir.http.allow`, and a connection's `hostPort` for a plugin
//! that asks for HTTP) are reachable. Every refusal or failure is a value
//! the plugin can report, never a trap.
//!
//! - `origin.rs`: the grant grammar and the policy (origins, address ranges).
//! - `rate.rs`: a token bucket per origin.
//! - `client.rs`: the client that applies policy, limits, retries and
//!   redaction to every request.

pub mod client;
pub mod origin;
pub mod rate;
#[cfg(test)]
mod tests;

use crate::runtime::bindings::types::{ErrorKind, Failure};
use crate::runtime::bindings::weir::connector::http::{Host, Request, Response};
use crate::runtime::instance::HostState;
use client::{HttpErrorKind, HttpRequest};

impl Host for HostState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, Failure>> {
        let plugin = self.caps.grants.plugin.clone();
        let Some(client) = self.caps.grants.http.clone() else {
            let url = self.caps.grants.redactor.redact(&request.url);
            tracing::warn!(plugin = %plugin, url = %url, "denied an HTTP request: the workflow grants no origin");
            return Ok(Err(Failure {
                kind: ErrorKind::Denied,
                message: format!("HTTP to {url} denied: the workflow grants no origin (weir.http.allow)"),
            }));
        };
        let request =
            HttpRequest { method: request.method, url: request.url, headers: request.headers, body: request.body };
        match client.send(request).await {
            Ok(response) => {
                Ok(Ok(Response { status: response.status, headers: response.headers, body: response.body }))
            }
            Err(err) => {
                // Already redacted by the client.
                let message = err.to_string();
                tracing::warn!(plugin = %plugin, "{message}");
                let kind = match err.kind() {
                    HttpErrorKind::Denied => ErrorKind::Denied,
                    HttpErrorKind::Transient => ErrorKind::Transient,
                    HttpErrorKind::Permanent => ErrorKind::Permanent,
                };
                Ok(Err(Failure { kind, message }))
            }
        }
    }
}
