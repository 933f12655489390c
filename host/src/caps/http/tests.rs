//! The HTTP capability's host side, end to end against small HTTP/1.1
//! servers on 127.0.0.1, without any wasm.

use super::HttpSettings;
use super::client::{HttpClient, HttpError, HttpErrorKind, HttpRequest, HttpResponse};
use super::origin::OriginPolicy;
use crate::caps::Redactor;
use crate::retry::RetryPolicy;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the test server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the test server answers.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
    /// Send `Content-Length` (otherwise the body ends when the connection
    /// closes).
    length: bool,
}

impl Reply {
    fn status(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: Vec::new(), delay: Duration::ZERO, length: true }
    }

    fn ok(body: &str) -> Reply {
        Reply { body: body.as_bytes().to_vec(), ..Reply::status(200) }
    }

    fn redirect(status: u16, location: &str) -> Reply {
        Reply::status(status).header("location", location)
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

type Handler = Arc<dyn Fn(usize, &Seen) -> Reply + Send + Sync>;

/// A one-request-per-connection HTTP/1.1 server; `handler` gets the index
/// of the request (0 for the first) and the request.
struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(handler: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("local_addr: {e}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Handler = Arc::new(handler);
        let (seen_, connections_) = (seen.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                connections_.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, handler.clone(), seen_.clone()));
            }
        });
        Server { addr, seen, connections, task }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, handler: Handler, seen: Arc<Mutex<Vec<Seen>>>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > 64 << 10 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let request = Seen { method, path, headers, body };
    let index = {
        let mut seen = seen.lock().map_err(|_| std::io::Error::other("poisoned"))?;
        seen.push(request.clone());
        seen.len() - 1
    };
    let reply = handler(index, &request);
    tokio::time::sleep(reply.delay).await;
    let mut out = format!("HTTP/1.1 {} Test\r\nconnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if reply.length {
        out.push_str(&format!("content-length: {}\r\n", reply.body.len()));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes()).await?;
    stream.write_all(&reply.body).await?;
    stream.shutdown().await
}

fn settings() -> HttpSettings {
    HttpSettings {
        allow: Vec::new(),
        timeout: Duration::from_secs(10),
        max_response_bytes: 1 << 20,
        rate_per_sec: 0.0,
        burst: 1,
        max_in_flight: 16,
        max_redirects: 5,
        max_retry_after: Duration::from_secs(30),
    }
}

fn client_with(entries: &[String], settings: HttpSettings, secrets: &[&str]) -> HttpClient {
    let policy = OriginPolicy::new(entries).unwrap_or_else(|e| panic!("{e}"));
    let redactor = Arc::new(Redactor::new(secrets.iter().map(|s| s.to_string())));
    let retry = RetryPolicy { attempts: 3, base_delay_ms: 10, max_delay_ms: 50 };
    HttpClient::new(policy, settings, retry, redactor).unwrap_or_else(|e| panic!("{e}"))
}

fn granted(entries: &[String]) -> HttpClient {
    client_with(entries, settings(), &[])
}

fn get(url: &str) -> HttpRequest {
    HttpRequest { method: "GET".into(), url: url.into(), headers: Vec::new(), body: None }
}

fn ok(result: Result<HttpResponse, HttpError>) -> HttpResponse {
    result.unwrap_or_else(|e| panic!("expected an answer, got: {e}"))
}

fn err(result: Result<HttpResponse, HttpError>) -> HttpError {
    match result {
        Ok(response) => panic!("expected an error, got status {}", response.status),
        Err(e) => e,
    }
}

#[tokio::test]
async fn granted_origin_answers_with_the_body() {
    let server = Server::start(|_, seen| Reply::ok(&format!("hello {}", seen.path)).header("x-answer", "42")).await;
    let client = granted(&[server.origin()]);
    let response = ok(client.send(get(&server.url("/things?page=2"))).await);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello /things?page=2");
    assert!(response.headers.contains(&("x-answer".to_string(), "42".to_string())), "{:?}", response.headers);
    assert_eq!(client.requests(), 1);
}

#[tokio::test]
async fn ungranted_origin_is_denied_without_a_connection() {
    let server = Server::start(|_, _| Reply::ok("should not be reached")).await;
    let client = granted(&["https://api.example.com".to_string()]);
    let error = err(client.send(get(&server.url("/"))).await);
    assert_eq!(error.kind(), HttpErrorKind::Denied, "{error}");
    let text = error.to_string();
    assert!(text.contains(&format!("{} is not granted", server.origin())), "{text}");
    assert!(text.contains("granted: https://api.example.com"), "{text}");
    let other_port = client.send(get(&format!("http://127.0.0.1:{}/", server.port() ^ 1))).await;
    assert_eq!(err(other_port).kind(), HttpErrorKind::Denied);
    let ftp = err(client.send(get("ftp://api.example.com/file")).await);
    assert_eq!(ftp.kind(), HttpErrorKind::Denied, "{ftp}");
    assert_eq!(server.connections(), 0);
    assert_eq!(client.requests(), 0);
}

#[tokio::test]
async fn redirect_to_an_ungranted_origin_is_denied() {
    let elsewhere = Server::start(|_, _| Reply::ok("should not be reached")).await;
    let target = elsewhere.url("/landing");
    let server = Server::start(move |_, _| Reply::redirect(302, &target)).await;
    let client = granted(&[server.origin()]);
    let error = err(client.send(get(&server.url("/start"))).await);
    assert_eq!(error.kind(), HttpErrorKind::Denied, "{error}");
    let text = error.to_string();
    assert!(text.contains(&format!("redirected to {}/landing", elsewhere.origin())), "{text}");
    assert!(text.contains(&format!("{} is not granted", elsewhere.origin())), "{text}");
    assert_eq!(server.connections(), 1);
    assert_eq!(elsewhere.connections(), 0);
}

#[tokio::test]
async fn redirect_to_a_granted_origin_is_followed() {
    let landing = Server::start(|_, seen| Reply::ok(&format!("{} {}", seen.method, seen.path))).await;
    let (to_307, to_303) = (landing.url("/kept"), landing.url("/changed"));
    let server = Server::start(move |_, seen| match seen.path.as_str() {
        "/307" => Reply::redirect(307, &to_307),
        "/303" => Reply::redirect(303, &to_303),
        _ => Reply::redirect(302, "/307"),
    })
    .await;
    let client = granted(&[server.origin(), landing.origin()]);
    let post = |path: &str| HttpRequest {
        method: "POST".into(),
        url: server.url(path),
        headers: vec![
            ("authorization".into(), "Bearer abc".into()),
            ("content-type".into(), "text/plain".into()),
            ("x-trace".into(), "t1".into()),
        ],
        body: Some(b"payload".to_vec()),
    };

    // 307 repeats the request, body and all; credentials stay behind when
    // the origin changes.
    let response = ok(client.send(post("/307")).await);
    assert_eq!(response.body, b"POST /kept");
    let seen = landing.seen();
    assert_eq!(seen[0].body, b"payload");
    assert_eq!(seen[0].header("x-trace"), Some("t1"));
    assert_eq!(seen[0].header("authorization"), None);

    // 303 turns into a GET without a body.
    let response = ok(client.send(post("/303")).await);
    assert_eq!(response.body, b"GET /changed");
    let seen = landing.seen();
    assert!(seen[1].body.is_empty());
    assert_eq!(seen[1].header("content-type"), None);

    // A relative Location on the same origin, then a 307 onwards.
    let response = ok(client.send(get(&server.url("/relative"))).await);
    assert_eq!(response.body, b"GET /kept");
}

#[tokio::test]
async fn redirects_are_bounded() {
    let server = Server::start(|n, _| Reply::redirect(302, &format!("/hop{n}"))).await;
    let client = granted(&[server.origin()]);
    let error = err(client.send(get(&server.url("/"))).await);
    assert_eq!(error.kind(), HttpErrorKind::Permanent, "{error}");
    assert!(error.to_string().contains("more than 5 redirects"), "{error}");
    assert_eq!(server.connections(), 6);
}

#[tokio::test]
async fn an_oversized_body_fails_naming_the_cap() {
    let server = Server::start(|_, seen| {
        let reply = Reply { body: vec![b'x'; 4096], ..Reply::status(200) };
        if seen.path == "/streamed" { Reply { length: false, ..reply } } else { reply }
    })
    .await;
    let client = client_with(&[server.origin()], HttpSettings { max_response_bytes: 1024, ..settings() }, &[]);
    for path in ["/declared", "/streamed"] {
        let error = err(client.send(get(&server.url(path))).await);
        assert_eq!(error.kind(), HttpErrorKind::Permanent, "{error}");
        assert!(error.to_string().contains("larger than the cap of 1024 bytes"), "{path}: {error}");
    }
    // Exactly at the cap is fine.
    let small = client_with(&[server.origin()], HttpSettings { max_response_bytes: 4096, ..settings() }, &[]);
    assert_eq!(ok(small.send(get(&server.url("/streamed"))).await).body.len(), 4096);
}

#[tokio::test]
async fn a_slow_server_times_out_as_transient() {
    let server = Server::start(|_, _| Reply { delay: Duration::from_secs(5), ..Reply::ok("late") }).await;
    let client =
        client_with(&[server.origin()], HttpSettings { timeout: Duration::from_millis(300), ..settings() }, &[]);
    let started = Instant::now();
    let error = err(client.send(get(&server.url("/slow"))).await);
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(error.kind(), HttpErrorKind::Transient, "{error}");
    assert!(error.to_string().contains("no complete response within 0.3 s"), "{error}");
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        listener.local_addr().unwrap_or_else(|e| panic!("local_addr: {e}")).port()
    };
    let origin = format!("http://127.0.0.1:{port}");
    let client = granted(std::slice::from_ref(&origin));
    let error = err(client.send(get(&format!("{origin}/x?token=abc"))).await);
    assert_eq!(error.kind(), HttpErrorKind::Transient, "{error}");
    let text = error.to_string();
    assert!(text.starts_with(&format!("HTTP GET {origin}/x?…: ")), "{text}");
    assert!(!text.contains("abc"), "{text}");
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let server =
        Server::start(|n, _| if n == 0 { Reply::status(429).header("retry-after", "1") } else { Reply::ok("finally") })
            .await;
    let client = granted(&[server.origin()]);
    let started = Instant::now();
    let response = ok(client.send(get(&server.url("/"))).await);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited only {:?}", started.elapsed());
    assert_eq!(response.body, b"finally");
    assert_eq!((client.requests(), client.retries()), (2, 1));
}

#[tokio::test]
async fn a_503_is_retried_with_backoff() {
    let server = Server::start(|n, _| if n < 2 { Reply::status(503) } else { Reply::ok("up") }).await;
    let client = granted(&[server.origin()]);
    let response = ok(client.send(get(&server.url("/"))).await);
    assert_eq!(response.body, b"up");
    assert_eq!((client.requests(), client.retries()), (3, 2));
}

#[tokio::test]
async fn a_server_busy_past_the_retries_is_transient() {
    let server = Server::start(|_, _| Reply::status(429).header("retry-after", "0")).await;
    let client = granted(&[server.origin()]);
    let error = err(client.send(get(&server.url("/"))).await);
    assert_eq!(error.kind(), HttpErrorKind::Transient, "{error}");
    assert!(error.to_string().contains("answered 429 after 3 retries"), "{error}");
    assert_eq!(server.connections(), 4);

    // A wait longer than the host allows is not waited for.
    let long = Server::start(|_, _| Reply::status(503).header("retry-after", "3600")).await;
    let client = granted(&[long.origin()]);
    let started = Instant::now();
    let error = err(client.send(get(&long.url("/"))).await);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind(), HttpErrorKind::Transient, "{error}");
    assert!(error.to_string().contains("asks to wait 3600 s"), "{error}");
    assert_eq!(long.connections(), 1);
}

#[tokio::test]
async fn a_granted_name_resolving_to_loopback_is_refused_unless_the_address_is_granted() {
    let server = Server::start(|_, _| Reply::ok("local")).await;
    let by_name = format!("http://localhost:{}", server.port());
    let client = granted(std::slice::from_ref(&by_name));
    let error = err(client.send(get(&format!("{by_name}/"))).await);
    assert_eq!(error.kind(), HttpErrorKind::Denied, "{error}");
    assert!(error.to_string().contains("`localhost` resolves to"), "{error}");
    assert!(error.to_string().contains("loopback"), "{error}");
    assert_eq!(server.connections(), 0);

    for address in ["127.0.0.1", "127.0.0.0/8"] {
        let client = granted(&[by_name.clone(), address.to_string()]);
        assert_eq!(ok(client.send(get(&format!("{by_name}/"))).await).body, b"local", "{address}");
    }
    // Granting the IP-literal origin grants its address too.
    let client = granted(&[by_name.clone(), server.origin()]);
    assert_eq!(ok(client.send(get(&format!("{by_name}/"))).await).body, b"local");
}

#[tokio::test]
async fn invalid_requests_are_permanent_and_make_no_connection() {
    let server = Server::start(|_, _| Reply::ok("unused")).await;
    let client = granted(&[server.origin()]);
    let with = |method: &str, url: &str, headers: &[(&str, &str)]| HttpRequest {
        method: method.into(),
        url: url.into(),
        headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        body: None,
    };
    let url = server.url("/");
    for (request, expect) in [
        (with("GE T", &url, &[]), "not an HTTP method"),
        (with("CONNECT", &url, &[]), "not an HTTP method"),
        (with("GET", "not a url", &[]), "not a URL"),
        (with("GET", &url, &[("host", "evil.example")]), "header `host` is set by the host"),
        (with("GET", &url, &[("bad header", "x")]), "not a valid header name"),
        (with("GET", &url, &[("x-ok", "line\nbreak")]), "not a valid header value"),
    ] {
        let error = err(client.send(request).await);
        assert_eq!(error.kind(), HttpErrorKind::Permanent, "{error}");
        assert!(error.to_string().contains(expect), "expected `{expect}` in {error}");
    }
    assert_eq!(server.connections(), 0);
}

/// Log output captured for one test (the tokio test runtime polls every
/// future on the test's thread, where the subscriber is set).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0.lock().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }
}

#[tokio::test]
async fn secrets_never_appear_in_errors_or_log_lines() {
    const SECRET: &str = "s3cr3t-T0ken";
    // Not known to the redactor: hidden because queries are never shown.
    const UNLISTED: &str = "unlisted-api-key";
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let ungranted = Server::start(|_, _| Reply::ok("unused")).await;
    let elsewhere = format!("{}/cb?code={SECRET}&key={UNLISTED}", ungranted.origin());
    let busy = AtomicUsize::new(0);
    let server = Server::start(move |_, seen| match seen.path.split('?').next().unwrap_or_default() {
        path if path.ends_with("/big") => Reply { body: vec![b'x'; 4096], ..Reply::status(200) },
        "/slow" => Reply { delay: Duration::from_secs(5), ..Reply::ok("late") },
        "/away" => Reply::redirect(302, &elsewhere),
        "/busy" if busy.fetch_add(1, Ordering::SeqCst) == 0 => Reply::status(429).header("retry-after", "0"),
        path if path.starts_with("/loop") => Reply::redirect(302, &format!("/loop/{SECRET}?token={SECRET}")),
        _ => Reply::ok("fine"),
    })
    .await;
    let settings =
        HttpSettings { max_response_bytes: 1024, timeout: Duration::from_millis(300), max_redirects: 2, ..settings() };
    let client = client_with(&[server.origin()], settings, &[SECRET]);
    let request = |url: String| HttpRequest {
        method: "POST".into(),
        url,
        headers: vec![("authorization".into(), format!("Bearer {SECRET}")), ("x-api-key".into(), UNLISTED.into())],
        body: Some(format!("client_secret={SECRET}").into_bytes()),
    };
    let query = format!("?access_token={SECRET}&api_key={UNLISTED}");
    let mut errors = Vec::new();
    for url in [
        format!("{}/data{query}", ungranted.origin()),
        format!("https://user:{SECRET}@api.example.com/data{query}"),
        server.url(&format!("/away{query}")),
        server.url(&format!("/big{query}")),
        server.url(&format!("/{SECRET}/big{query}")),
        server.url(&format!("/slow{query}")),
        server.url(&format!("/loop{query}")),
        format!("http://localhost:{}/data{query}", server.port()),
        format!("not a url{query}"),
    ] {
        errors.push(err(client.send(request(url)).await).to_string());
    }
    let bad_value =
        HttpRequest { headers: vec![("x-token".into(), format!("{SECRET}\n"))], ..request(server.url("/")) };
    errors.push(err(client.send(bad_value).await).to_string());
    // A retried request writes a warning with its URL.
    assert_eq!(ok(client.send(request(server.url(&format!("/busy{query}")))).await).body, b"fine");

    let logs = captured.text();
    assert!(logs.contains("retrying"), "no retry warning was logged:\n{logs}");
    assert!(logs.contains("denied"), "no denial was logged:\n{logs}");
    assert_eq!(errors.len(), 10);
    for text in errors.iter().chain([&logs]) {
        assert!(!text.contains(SECRET), "the secret leaked: {text}");
        assert!(!text.contains(UNLISTED), "a query value leaked: {text}");
    }
    assert!(errors.iter().any(|e| e.contains("/***/big?…")), "{errors:#?}");
    assert_eq!(ungranted.connections(), 0);
}

#[tokio::test]
async fn requests_to_one_origin_keep_to_the_rate() {
    let server = Server::start(|_, _| Reply::ok("ok")).await;
    let other = Server::start(|_, _| Reply::ok("ok")).await;
    let settings = HttpSettings { rate_per_sec: 5.0, burst: 1, ..settings() };
    let client = Arc::new(client_with(&[server.origin(), other.origin()], settings, &[]));
    let started = Instant::now();
    let calls = (0..6).map(|_| {
        let client = client.clone();
        let url = server.url("/");
        async move { client.send(get(&url)).await.map(|r| r.status) }
    });
    let statuses = futures_util::future::join_all(calls).await;
    let elapsed = started.elapsed();
    assert!(statuses.iter().all(|s| matches!(s, Ok(200))), "{statuses:?}");
    // One at once, then one every 200 ms: (6 - 1) / 5 = 1 s at least.
    assert!(elapsed >= Duration::from_millis(990), "6 requests at 5/s took only {elapsed:?}");

    // Another origin has a bucket of its own.
    let started = Instant::now();
    assert_eq!(ok(client.send(get(&other.url("/"))).await).status, 200);
    assert!(started.elapsed() < Duration::from_millis(150), "{:?}", started.elapsed());
}

/// A client for the Looker fixture, with its secret behind a placeholder.
async fn looker_client(max_in_flight: usize) -> (weir_fixtures::looker::LookerFixture, HttpClient) {
    use super::secrets::ConnectionSecrets;
    use weir_fixtures::looker::{CLIENT_SECRET, LookerFixture, LookerSpec};
    let fixture = LookerFixture::start(LookerSpec::default()).await.expect("the Looker fixture");
    let origin = fixture.base_url();
    let client =
        client_with(std::slice::from_ref(&origin), HttpSettings { max_in_flight, ..settings() }, &[CLIENT_SECRET])
            .with_secrets(ConnectionSecrets::new(Some(origin), vec![("clientSecret".into(), CLIENT_SECRET.into())]));
    (fixture, client)
}

fn login_request(fixture: &weir_fixtures::looker::LookerFixture) -> HttpRequest {
    let body =
        format!("client_id={}&client_secret=%7B%7Bsecret%3AclientSecret%7D%7D", weir_fixtures::looker::CLIENT_ID);
    HttpRequest {
        method: "POST".into(),
        url: format!("{}/login", fixture.api_url()),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: Some(body.into_bytes()),
    }
}

#[tokio::test]
async fn a_secret_placeholder_logs_in_and_many_requests_go_out_at_once_in_order() {
    let (fixture, client) = looker_client(3).await;
    let login = ok(client.send(login_request(&fixture)).await);
    assert_eq!(login.status, 200, "{}", String::from_utf8_lossy(&login.body));
    let token: serde_json::Value = serde_json::from_slice(&login.body).expect("an AccessToken");
    let token = token["access_token"].as_str().expect("access_token").to_string();

    fixture.set_latency(Duration::from_millis(100));
    let ids: Vec<String> =
        fixture.instance().dashboards.iter().take(8).map(|d| d.id.clone()).chain(["999999".into()]).collect();
    let requests = ids
        .iter()
        .map(|id| HttpRequest {
            headers: vec![("authorization".into(), format!("Bearer {token}"))],
            ..get(&format!("{}/dashboards/{id}?fields=id,title", fixture.api_url()))
        })
        .collect();
    let started = Instant::now();
    let answers = client.send_all(requests).await;
    let elapsed = started.elapsed();
    // In order: each answer is its own request's.
    for (id, answer) in ids.iter().zip(&answers) {
        let response = answer.as_ref().expect("an answer");
        if id == "999999" {
            assert_eq!(response.status, 404);
        } else {
            let body: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
            assert_eq!(body["id"], id.as_str(), "{body}");
        }
    }
    // At most 3 at once: 9 requests of 100 ms take at least 3 rounds.
    assert!(fixture.peak_in_flight() <= 3, "peak {}", fixture.peak_in_flight());
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    fixture.assert_no_violations();
}

#[tokio::test]
async fn a_secret_placeholder_goes_nowhere_but_the_connection_origin() {
    let (fixture, _) = looker_client(4).await;
    let other = Server::start(|_, _| Reply::ok("should not be reached")).await;
    let origin = fixture.base_url();
    let secrets = super::secrets::ConnectionSecrets::new(
        Some(origin.clone()),
        vec![("clientSecret".into(), weir_fixtures::looker::CLIENT_SECRET.into())],
    );
    let client = client_with(&[origin, other.origin()], settings(), &[weir_fixtures::looker::CLIENT_SECRET])
        .with_secrets(secrets);
    let mut request = login_request(&fixture);
    request.url = format!("{}/login", other.origin());
    let error = err(client.send(request).await);
    assert_eq!(error.kind(), HttpErrorKind::Denied, "{error}");
    assert!(error.to_string().contains("connection's own origin"), "{error}");
    assert!(other.seen().is_empty(), "nothing may reach the other origin");
    // Nor in a URL, even to the right origin.
    let in_url = get(&format!("{}/login?client_secret={{{{secret:clientSecret}}}}", fixture.api_url()));
    assert_eq!(err(client.send(in_url).await).kind(), HttpErrorKind::Denied);
    assert_eq!(fixture.requests().len(), 0);
}
