//! The HTTP client behind the `http` capability. Every plugin request goes
//! through [`HttpClient::send`], which:
//!
//! 1. checks the URL's origin against the [`OriginPolicy`] before anything
//!    touches the network;
//! 2. resolves names with a resolver that drops loopback, private and other
//!    non-public addresses unless the policy grants them (IP literals are
//!    never resolved; their origin grant is the address grant);
//! 3. waits for a token from the origin's bucket ([`RateLimiter`]);
//! 4. sends with a deadline covering connect, headers and body, and reads
//!    the body in chunks, failing (never truncating) past the size cap;
//! 5. retries 429 and 503, honouring `Retry-After` in seconds, otherwise
//!    with the [`RetryPolicy`] backoff;
//! 6. follows redirects itself, re-checking each hop against the policy.
//!
//! Every error text and log line passes through the run's [`Redactor`], and
//! URLs are shown without user info, fragment or query (`?…`).

use super::origin::{Denied, OriginPolicy, origin_of};
use super::rate::RateLimiter;
use super::secrets::{ConnectionSecrets, Filled};
use super::settings::HttpSettings;
use crate::caps::Redactor;
use crate::retry::RetryPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thiserror::Error;

/// A request as the plugin sends it.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// The final answer, after redirects and retries. Any status the server
/// gives is an answer, except 429 and 503 once retries are spent (those
/// are [`HttpError::Busy`]).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// How the WIT `failure` should classify an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpErrorKind {
    /// Not granted: the request (or a redirect, or an address) is refused.
    Denied,
    /// Worth retrying later: timeouts, connection failures, busy servers.
    Transient,
    /// Retrying will not help: a malformed request, a body over the cap,
    /// too many redirects.
    Permanent,
}

/// Every text here is already redacted. `target` reads `GET
/// https://host:port/path?…`.
#[derive(Debug, Error)]
pub enum HttpError {
    #[error("HTTP {target} denied: {reason}")]
    Denied { target: String, reason: String },
    #[error("HTTP {target}: invalid request: {reason}")]
    Invalid { target: String, reason: String },
    #[error("HTTP {target}: more than {max} redirects (weir.http.maxRedirects)")]
    Redirects { target: String, max: u32 },
    #[error("HTTP {target}: the response is larger than the cap of {max} bytes (weir.http.maxResponseMib)")]
    TooLarge { target: String, max: u64 },
    #[error("HTTP {target}: no complete response within {secs:.1} s (weir.http.timeoutSecs)")]
    Timeout { target: String, secs: f64 },
    #[error("HTTP {target}: {reason}")]
    Transport { target: String, reason: String },
    #[error("HTTP {target} answered {status} after {retries} retries{detail}")]
    Busy { target: String, status: u16, retries: u32, detail: String },
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

impl HttpError {
    pub fn kind(&self) -> HttpErrorKind {
        match self {
            HttpError::Denied { .. } => HttpErrorKind::Denied,
            HttpError::Timeout { .. } | HttpError::Transport { .. } | HttpError::Busy { .. } => {
                HttpErrorKind::Transient
            }
            HttpError::Invalid { .. }
            | HttpError::Redirects { .. }
            | HttpError::TooLarge { .. }
            | HttpError::Setup(_) => HttpErrorKind::Permanent,
        }
    }
}

/// Headers the host owns: the plugin may not set them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-connection",
];

/// Headers dropped when a redirect leaves the origin they were meant for.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie"];

/// One client per run, shared by all of its instances (the rate limit is
/// per run and origin).
pub struct HttpClient {
    http: reqwest::Client,
    policy: Arc<OriginPolicy>,
    settings: HttpSettings,
    retry: RetryPolicy,
    redactor: Arc<Redactor>,
    limiter: RateLimiter,
    in_flight: tokio::sync::Semaphore,
    secrets: ConnectionSecrets,
    requests: AtomicU64,
    retries: AtomicU64,
}

impl HttpClient {
    pub fn new(
        policy: OriginPolicy,
        settings: HttpSettings,
        retry: RetryPolicy,
        redactor: Arc<Redactor>,
    ) -> Result<HttpClient, HttpError> {
        let policy = Arc::new(policy);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, out of the policy's reach.
            .no_proxy()
            .dns_resolver(PolicyResolver { policy: policy.clone() })
            .connect_timeout(settings.timeout)
            .user_agent(concat!("weir/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Setup(redactor.redact(&error_chain(&e))))?;
        let limiter = RateLimiter::new(settings.rate_per_sec, settings.burst);
        Ok(HttpClient {
            http,
            policy,
            redactor,
            limiter,
            in_flight: tokio::sync::Semaphore::new(settings.max_in_flight.max(1)),
            secrets: ConnectionSecrets::default(),
            settings,
            retry,
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        })
    }

    /// The connection's secrets, filled in for `{{secret:NAME}}`.
    pub fn with_secrets(mut self, secrets: ConnectionSecrets) -> HttpClient {
        self.secrets = secrets;
        self
    }

    /// Sends every request concurrently (within the in-flight cap and the
    /// rate limit); answers in the order of `requests`.
    pub async fn send_all(&self, requests: Vec<HttpRequest>) -> Vec<Result<HttpResponse, HttpError>> {
        futures_util::future::join_all(requests.into_iter().map(|r| self.send(r))).await
    }

    pub fn policy(&self) -> &OriginPolicy {
        &self.policy
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Requests put on the wire so far (retries and redirect hops included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Retries of 429 and 503 so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Sends a plugin's request; see the module documentation.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let HttpRequest { method, url, mut headers, mut body } = request;
        let mut url = match Url::parse(&url) {
            Ok(url) => url,
            Err(e) => {
                let target = self.redactor.redact(&format!("{method} {}", unparsed_url(&url)));
                return Err(HttpError::Invalid { target, reason: format!("not a URL: {e}") });
            }
        };
        let mut method = match Method::from_bytes(method.as_bytes()) {
            Ok(m) if m != Method::CONNECT => m,
            _ => {
                let shown: String = method.chars().take(32).collect();
                let target = self.target(&Method::GET, &url);
                let reason = self.redactor.redact(&format!("`{shown}` is not an HTTP method weir sends"));
                return Err(HttpError::Invalid { target, reason });
            }
        };
        if let Err(denied) = self.policy.check(&url) {
            return Err(self.denied(&method, &url, denied));
        }
        let filled = match self.secrets.fill(&url, &mut headers, &mut body) {
            Ok(filled) => filled,
            Err(reason) => return Err(self.denied(&method, &url, Denied { origin: origin_of(&url), reason })),
        };
        let mut headers = self.headers(&method, &url, headers)?;
        let mut redirects = 0;
        loop {
            let response = self.with_retries(&method, &url, &headers, body.as_deref()).await?;
            let Some(next) = self.redirect_target(&method, &url, &response)? else {
                return Ok(response);
            };
            redirects += 1;
            if redirects > self.settings.max_redirects {
                return Err(HttpError::Redirects {
                    target: self.target(&method, &url),
                    max: self.settings.max_redirects,
                });
            }
            if let Err(denied) = self.policy.check(&next) {
                let reason = format!("redirected to {}: {denied}", display_url(&next));
                return Err(self.denied(&method, &url, Denied { origin: denied.origin, reason }));
            }
            if filled == Filled::Secret && origin_of(&next) != origin_of(&url) {
                let reason = format!(
                    "redirected to {} with a secret in the request; it only goes to the connection's origin",
                    display_url(&next)
                );
                return Err(self.denied(&method, &url, Denied { origin: origin_of(&next), reason }));
            }
            tracing::debug!(
                cap = "http",
                from = %self.target(&method, &url),
                to = %self.redactor.redact(&display_url(&next)),
                status = response.status,
                "following a redirect"
            );
            // 303, and 301/302 after a POST, become a GET without a body
            // (as browsers do); 307 and 308 repeat the request as it was.
            let status = response.status;
            if (status == 303 && method != Method::HEAD) || (matches!(status, 301 | 302) && method == Method::POST) {
                method = Method::GET;
                body = None;
                headers.remove(reqwest::header::CONTENT_TYPE);
            }
            if origin_of(&next) != origin_of(&url) {
                for name in CREDENTIAL_HEADERS {
                    headers.remove(*name);
                }
            }
            url = next;
        }
    }

    /// Where a redirect answer points, if it is one that is followed.
    fn redirect_target(&self, method: &Method, url: &Url, response: &HttpResponse) -> Result<Option<Url>, HttpError> {
        if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
            return Ok(None);
        }
        let Some((_, location)) = response.headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("location"))
        else {
            return Ok(None);
        };
        url.join(location).map(Some).map_err(|e| HttpError::Invalid {
            target: self.target(method, url),
            reason: format!("the server redirected to an invalid location: {e}"),
        })
    }

    /// One request, retried while the server answers 429 or 503.
    async fn with_retries(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<HttpResponse, HttpError> {
        let origin = origin_of(url);
        let mut backoff = self.retry.backoff();
        loop {
            let permit = self.in_flight.acquire().await;
            self.limiter.acquire(&origin).await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let response =
                match tokio::time::timeout(self.settings.timeout, self.once(method, url, headers, body)).await {
                    Ok(result) => result?,
                    Err(_) => return Err(self.timeout(method, url)),
                };
            drop(permit);
            if !matches!(response.status, 429 | 503) {
                return Ok(response);
            }
            let status = response.status;
            let retry_after = retry_after(&response.headers);
            if let Some(wait) = retry_after
                && wait > self.settings.max_retry_after
            {
                let detail = format!(
                    "; it asks to wait {} s, longer than weir.http.maxRetryAfterSecs ({} s)",
                    wait.as_secs(),
                    self.settings.max_retry_after.as_secs()
                );
                let retries = backoff.retries();
                return Err(HttpError::Busy { target: self.target(method, url), status, retries, detail });
            }
            let Some(wait) = backoff.next(retry_after) else {
                let retries = backoff.retries();
                return Err(HttpError::Busy {
                    target: self.target(method, url),
                    status,
                    retries,
                    detail: String::new(),
                });
            };
            self.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                cap = "http",
                target = %self.target(method, url),
                status,
                retry = backoff.retries(),
                "server busy; retrying in {:.1} s",
                wait.as_secs_f64()
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: send, then read the body in chunks up to the cap.
    async fn once(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<HttpResponse, HttpError> {
        let mut request = self.http.request(method.clone(), url.clone()).headers(headers.clone());
        if let Some(body) = body {
            request = request.body(body.to_vec());
        }
        let mut response = request.send().await.map_err(|e| self.transport(method, url, &e))?;
        let max = self.settings.max_response_bytes;
        let too_large = || HttpError::TooLarge { target: self.target(method, url), max };
        if response.content_length().is_some_and(|len| len > max) {
            return Err(too_large());
        }
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(method, url, &e))? {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse { status, headers, body })
    }

    /// The plugin's headers, checked. A refused value is never echoed.
    fn headers(&self, method: &Method, url: &Url, given: Vec<(String, String)>) -> Result<HeaderMap, HttpError> {
        let invalid = |reason: String| HttpError::Invalid {
            target: self.target(method, url),
            reason: self.redactor.redact(&reason),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in given {
            let shown: String = name.chars().take(64).collect();
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(format!("`{shown}` is not a valid header name")))?;
            if RESERVED_HEADERS.contains(&name.as_str()) {
                return Err(invalid(format!("header `{name}` is set by the host, not the plugin")));
            }
            let value = HeaderValue::from_str(&value)
                .map_err(|_| invalid(format!("the value of header `{name}` is not a valid header value")))?;
            headers.append(name, value);
        }
        Ok(headers)
    }

    /// `METHOD url` for messages: redacted, no query, no user info.
    fn target(&self, method: &Method, url: &Url) -> String {
        self.redactor.redact(&format!("{method} {}", display_url(url)))
    }

    fn denied(&self, method: &Method, url: &Url, denied: Denied) -> HttpError {
        let err = HttpError::Denied { target: self.target(method, url), reason: self.redactor.redact(&denied.reason) };
        // The caller reports the error (redacted already); this line is
        // for tracing a run.
        tracing::debug!(cap = "http", "{err}");
        err
    }

    fn timeout(&self, method: &Method, url: &Url) -> HttpError {
        HttpError::Timeout { target: self.target(method, url), secs: self.settings.timeout.as_secs_f64() }
    }

    fn transport(&self, method: &Method, url: &Url, err: &reqwest::Error) -> HttpError {
        if let Some(denied) = find_source::<AddressDenied>(err) {
            return self.denied(method, url, denied.0.clone());
        }
        if err.is_timeout() {
            return self.timeout(method, url);
        }
        let reason = self.redactor.redact(&error_chain(err));
        if err.is_builder() {
            return HttpError::Invalid { target: self.target(method, url), reason };
        }
        HttpError::Transport { target: self.target(method, url), reason }
    }
}

/// `scheme://host[:port]/path`, with `?…` standing for any query; no user
/// info, no fragment.
pub fn display_url(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let query = if url.query().is_some() { "?…" } else { "" };
    format!("{}://{host}{port}{}{query}", url.scheme(), url.path())
}

/// A URL that did not parse, shown up to its query or fragment.
fn unparsed_url(url: &str) -> String {
    let cut = url.find(['?', '#', '@']).unwrap_or(url.len());
    let shown: String = url[..cut].chars().take(200).collect();
    if cut < url.len() { format!("{shown}…") } else { shown }
}

/// `Retry-After` in whole seconds (an HTTP date is ignored: the backoff
/// applies).
fn retry_after(headers: &[(String, String)]) -> Option<Duration> {
    let (_, value) = headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))?;
    crate::retry::retry_after(value)
}

/// An error and its causes, `outer: inner: innermost`, without the URL.
pub(crate) fn error_chain(err: &reqwest::Error) -> String {
    let mut text = crate::text::error_chain(err);
    if let Some(url) = err.url() {
        // reqwest names the URL in its own message; show it the safe way.
        text = text.replace(url.as_str(), &display_url(url));
    }
    text
}

fn find_source<'a, E: std::error::Error + 'static>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a E> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// A resolution refused by the policy, carried through reqwest's error
/// chain so that [`HttpClient::send`] can report it as `Denied`.
#[derive(Debug, Error)]
#[error("{0}")]
struct AddressDenied(Denied);

/// Resolves with tokio, then keeps only the addresses the policy allows.
/// When none is left the connection is refused with the first reason.
struct PolicyResolver {
    policy: Arc<OriginPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let mut allowed = Vec::with_capacity(found.len());
            for addr in found {
                match policy.check_addr(&host, addr.ip()) {
                    Ok(()) => allowed.push(addr),
                    Err(denied) => {
                        refused.get_or_insert(denied);
                    }
                }
            }
            if allowed.is_empty() {
                return Err(match refused {
                    Some(denied) => Box::new(AddressDenied(denied)) as Box<dyn std::error::Error + Send + Sync>,
                    None => format!("`{host}` resolves to no address").into(),
                });
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_query_user_or_fragment() {
        let url = Url::parse("https://me:pw@api.example.com:8443/a/b?token=x#frag").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(display_url(&url), "https://api.example.com:8443/a/b?…");
        assert_eq!(unparsed_url("ht!tp://x/y?token=abc"), "ht!tp://x/y…");
        assert_eq!(unparsed_url("nope"), "nope");
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let h = |v: &str| vec![("Retry-After".to_string(), v.to_string())];
        assert_eq!(retry_after(&h(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&h("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(&[]), None);
    }

    #[test]
    fn error_kinds() {
        let t = || "GET http://x/".to_string();
        assert_eq!(HttpError::Denied { target: t(), reason: String::new() }.kind(), HttpErrorKind::Denied);
        assert_eq!(HttpError::Timeout { target: t(), secs: 1.0 }.kind(), HttpErrorKind::Transient);
        assert_eq!(
            HttpError::Busy { target: t(), status: 429, retries: 3, detail: String::new() }.kind(),
            HttpErrorKind::Transient
        );
        assert_eq!(HttpError::TooLarge { target: t(), max: 1 }.kind(), HttpErrorKind::Permanent);
        assert_eq!(HttpError::Redirects { target: t(), max: 1 }.kind(), HttpErrorKind::Permanent);
    }
}
