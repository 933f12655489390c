//! Outbound HTTP through the host. Only origins the workflow grants are
//! reachable; the host applies timeouts, a response size cap, a rate limit
//! and retries of 429/503, so a connector needs none of its own.

use crate::bindings::weir::connector::http as host;
use crate::percent::encode;
use crate::{Failure, Result};
use serde::de::DeserializeOwned;

/// A request under construction: `http::get(url).header(..).send()`.
pub struct Request {
    inner: host::Request,
}

/// Starts a `GET` request to `url`; nothing is sent before
/// [`Request::send`] or [`send_all`].
pub fn get(url: impl Into<String>) -> Request {
    Request::new("GET", url)
}

/// Starts a `POST` request to `url`; give it a body with
/// [`Request::json`], [`Request::form`] or [`Request::body`].
pub fn post(url: impl Into<String>) -> Request {
    Request::new("POST", url)
}

impl Request {
    /// A request with any method (`PUT`, `DELETE`, ...), no headers and
    /// no body. The host checks `url` against the granted origins on send.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Request {
        Request { inner: host::Request { method: method.into(), url: url.into(), headers: Vec::new(), body: None } }
    }

    /// Adds a header; adding a name twice sends it twice rather than
    /// replacing it. The value may hold a [`secret`] placeholder.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.inner.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Request {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Sets the raw body, replacing any earlier one, and no content type.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.inner.body = Some(body.into());
        self
    }

    /// A JSON body, with its content type.
    pub fn json(self, value: &serde_json::Value) -> Request {
        self.header("content-type", "application/json").body(value.to_string())
    }

    /// An `application/x-www-form-urlencoded` body from pairs.
    pub fn form(self, pairs: &[(&str, &str)]) -> Request {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        self.header("content-type", "application/x-www-form-urlencoded").body(body.join("&"))
    }

    /// Sends the request. Any status is a response; a refused origin, an
    /// unreachable server or a body over the cap is a failure.
    pub fn send(self) -> Result<Response> {
        #[cfg(target_arch = "wasm32")]
        let answer = host::send(&self.inner);
        #[cfg(not(target_arch = "wasm32"))]
        let answer = crate::testing::send(&self.inner);
        answer.map(|inner| Response { inner })
    }
}

/// Sends every request at once; the host runs them concurrently within the
/// origin's rate limit. Answers come back in the order of `requests`.
pub fn send_all(requests: Vec<Request>) -> Vec<Result<Response>> {
    #[cfg(target_arch = "wasm32")]
    let answers = {
        let requests: Vec<host::Request> = requests.into_iter().map(|r| r.inner).collect();
        host::send_all(&requests)
    };
    #[cfg(not(target_arch = "wasm32"))]
    let answers: Vec<Result<host::Response>> = requests.iter().map(|r| crate::testing::send(&r.inner)).collect();
    answers.into_iter().map(|answer| answer.map(|inner| Response { inner })).collect()
}

/// A placeholder for the connection's secret `name` (`clientSecret`): the
/// host substitutes it in requests to the connection's own origin, so the
/// value never enters the plugin.
pub fn secret(name: &str) -> String {
    format!("{{{{secret:{name}}}}}")
}

/// An `Authorization` header value of HTTP basic credentials for
/// `username` and the connection's secret `name`: the host encodes
/// `username:<secret>` on the way out, so the secret still never enters
/// the plugin.
pub fn basic_auth(username: &str, name: &str) -> String {
    format!("Basic {{{{secret:{name}|basic:{username}}}}}")
}

/// The final answer to a request, after the host's redirects and retries:
/// its status, headers and whole body.
pub struct Response {
    inner: host::Response,
}

impl Response {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.inner.status)
    }

    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as received.
    pub fn bytes(&self) -> &[u8] {
        &self.inner.body
    }

    /// The body as UTF-8 text, invalid sequences replaced by `U+FFFD`.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.inner.body).into_owned()
    }

    /// The body as JSON of type `T`; a body that is not is a permanent
    /// failure naming the status and what went wrong.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.inner.body).map_err(|e| {
            Failure::permanent(format!("the answer (status {}) is not the JSON expected: {e}", self.inner.status))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_percent_encoded() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        let request = post("https://x/login").form(&[("client_id", "id 1"), ("client_secret", "s&t")]);
        assert_eq!(request.inner.body.as_deref(), Some(&b"client_id=id%201&client_secret=s%26t"[..]));
        assert!(request.inner.headers.iter().any(|(k, v)| k == "content-type" && v.contains("urlencoded")));
    }

    #[test]
    fn basic_credentials_are_a_placeholder_the_host_encodes() {
        assert_eq!(basic_auth("weir", "password"), "Basic {{secret:password|basic:weir}}");
    }

    #[test]
    fn a_secret_placeholder_survives_form_encoding_as_the_host_expects() {
        assert_eq!(secret("clientSecret"), "{{secret:clientSecret}}");
        // Braces and colons are percent-encoded in a form body; the host
        // looks for the encoded form too.
        let request = post("https://x/login").form(&[("client_secret", &secret("clientSecret"))]);
        assert_eq!(request.inner.body.as_deref(), Some(&b"client_secret=%7B%7Bsecret%3AclientSecret%7D%7D"[..]));
    }
}
