//! Outbound HTTP. The contract declares it; this version of the host grants
//! no origin to anyone, so every call is refused with `denied` (a value the
//! plugin can report, never a trap).

use crate::runtime::bindings::types::{ErrorKind, Failure};
use crate::runtime::bindings::weir::connector::http::{Host, Request, Response};
use crate::runtime::instance::HostState;

impl Host for HostState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, Failure>> {
        let plugin = self.caps.grants.plugin.clone();
        let url = self.caps.grants.redactor.redact(&request.url);
        tracing::warn!(plugin = %plugin, url = %url, "denied an HTTP request: no origin is granted");
        Ok(Err(Failure {
            kind: ErrorKind::Denied,
            message: format!("HTTP to {url} denied: this weir grants no HTTP origins yet"),
        }))
    }
}
