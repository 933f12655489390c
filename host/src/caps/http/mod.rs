//! Outbound HTTP for plugins, deny by default: only origins the workflow
//! grants (`weir.http.allow`, and a connection's `hostPort` for a plugin
//! that asks for HTTP) are reachable. Every refusal or failure is a value
//! the plugin can report, never a trap.
//!
//! - `origin.rs`: the grant grammar and the policy (origins, address ranges).
//! - `rate.rs`: a token bucket per origin.
//! - `secrets.rs`: `{{secret:NAME}}` placeholders, filled in by the host.
//! - `client.rs`: the client that applies policy, limits, retries and
//!   redaction to every request.

pub mod client;
pub mod origin;
pub mod rate;
pub mod secrets;
#[cfg(test)]
mod tests;

use crate::runtime::bindings::types::{ErrorKind, Failure};
use crate::runtime::bindings::weir::connector::http::{Host, Request, Response};
use crate::runtime::instance::HostState;
use client::{HttpErrorKind, HttpRequest};

impl Host for HostState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, Failure>> {
        let Some(client) = self.caps.grants.http.clone() else {
            return Ok(Err(self.no_grant(&request)));
        };
        let answer = client.send(http_request(request)).await;
        Ok(self.answer(answer))
    }

    async fn send_all(&mut self, requests: Vec<Request>) -> wasmtime::Result<Vec<Result<Response, Failure>>> {
        let Some(client) = self.caps.grants.http.clone() else {
            return Ok(requests.iter().map(|r| Err(self.no_grant(r))).collect());
        };
        let answers = client.send_all(requests.into_iter().map(http_request).collect()).await;
        Ok(answers.into_iter().map(|a| self.answer(a)).collect())
    }
}

impl HostState {
    fn no_grant(&self, request: &Request) -> Failure {
        let url = self.caps.grants.redactor.redact(&request.url);
        tracing::warn!(plugin = %self.caps.grants.plugin, url = %url, "denied an HTTP request: the workflow grants no origin");
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
                let redactor = &self.caps.grants.redactor;
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
                tracing::warn!(plugin = %self.caps.grants.plugin, "{message}");
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
