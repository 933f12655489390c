//! Airflow's REST API over the host's HTTP capability: Airflow 3's
//! `/api/v2`, or Airflow 2's `/api/v1` when the server has only that
//! (asked once, at `/api/v2/version` then `/api/v1/version`; `apiVersion`
//! in the connection skips the question). On Airflow 3 a user and password
//! are traded for a JWT at `POST /auth/token`, with a placeholder where
//! the password goes (the host fills it in, so it never enters the
//! sandbox), kept for the instance's life (its [`Session`]); a 401 logs in
//! again once. On Airflow 2 they go as basic credentials, which the host
//! encodes from the same placeholder. A configured token is sent as is.
//! Every batch of calls goes out through `send_all`, a few at once (as
//! many as the server takes), and lists are read a first page, then every
//! other page together.

use crate::settings::{Auth, Settings};
use std::cell::RefCell;
use weir_sdk::http::{self, Request, Response};
use weir_sdk::percent::encode;
use weir_sdk::serde_json::{Value, json};
use weir_sdk::{Failure, Result};

/// Airflow's default `[api] maximum_page_limit`; a server with a lower one
/// answers with fewer items, and paging follows what it answers.
pub const PAGE: usize = 100;

/// Calls per `send_all`: a wave, so one batch's calls (2 per DAG) do not
/// all wait on the host at once; the host caps what is on the wire for
/// the whole run (`weir.http.maxInFlight`, 8 for Airflow by default).
const AT_ONCE: usize = 32;

/// Which REST API the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Airflow 3: `/api/v2`.
    V2,
    /// Airflow 2: `/api/v1`.
    V1,
}

/// What one instance keeps between calls: the token, and the server's API
/// version. Correctness never depends on it.
#[derive(Default)]
pub struct Session {
    token: RefCell<Option<String>>,
    version: RefCell<Option<Version>>,
}

/// One call: a GET, or a POST with a JSON body, below `/api/v2` (or v1).
#[derive(Debug, Clone)]
pub struct Call {
    pub path: String,
    pub body: Option<Value>,
}

impl Call {
    pub fn get(path: impl Into<String>) -> Call {
        Call { path: path.into(), body: None }
    }

    pub fn post(path: impl Into<String>, body: Value) -> Call {
        Call { path: path.into(), body: Some(body) }
    }

    /// The same call for another page.
    fn page(&self, offset: usize) -> Call {
        match &self.body {
            None => {
                let sep = if self.path.contains('?') { '&' } else { '?' };
                Call::get(format!("{}{sep}limit={PAGE}&offset={offset}", self.path))
            }
            Some(body) => {
                let mut body = body.clone();
                body["page_limit"] = json!(PAGE);
                body["page_offset"] = json!(offset);
                Call::post(self.path.clone(), body)
            }
        }
    }
}

pub struct Api<'s> {
    settings: &'s Settings,
    session: &'s Session,
}

impl<'s> Api<'s> {
    pub fn new(settings: &'s Settings, session: &'s Session) -> Self {
        Api { settings, session }
    }

    /// Every item of a paged list (the array under `key`), in order.
    pub fn list(&self, call: &Call, key: &str) -> Result<Vec<Value>> {
        self.list_all(std::slice::from_ref(call), key).pop().unwrap_or_else(|| Ok(Vec::new()))
    }

    /// Several paged lists at once: the first page of each together, then
    /// every remaining page of all of them together.
    pub fn list_all(&self, calls: &[Call], key: &str) -> Vec<Result<Vec<Value>>> {
        let firsts: Vec<Call> = calls.iter().map(|c| c.page(0)).collect();
        let mut lists: Vec<Result<Vec<Value>>> = Vec::with_capacity(calls.len());
        let mut more: Vec<(usize, Call)> = Vec::new();
        for (i, answer) in self.send_all(&firsts).into_iter().enumerate() {
            let list = answer.and_then(|page| {
                let items = items(&page, key, &firsts[i].path)?;
                let total = page.get("total_entries").and_then(Value::as_u64).unwrap_or(0) as usize;
                let size = items.len();
                if size > 0 {
                    more.extend((1..total.div_ceil(size)).map(|k| (i, calls[i].page(k * size))));
                }
                Ok(items)
            });
            lists.push(list);
        }
        let rest: Vec<Call> = more.iter().map(|(_, c)| c.clone()).collect();
        for ((i, call), answer) in more.iter().zip(self.send_all(&rest)) {
            if let Ok(list) = &mut lists[*i] {
                match answer.and_then(|page| items(&page, key, &call.path)) {
                    Ok(items) => list.extend(items),
                    Err(failure) => lists[*i] = Err(failure),
                }
            }
        }
        lists
    }

    /// The server's API version, asked of it the first time.
    pub fn version(&self) -> Result<Version> {
        if let Some(version) = *self.session.version.borrow() {
            return Ok(version);
        }
        let version = self.ask_version()?;
        *self.session.version.borrow_mut() = Some(version);
        Ok(version)
    }

    /// The web UI's page of a DAG.
    pub fn dag_url(&self, dag: &str) -> String {
        let page = format!("{}/dags/{}", self.settings.host, encode(dag));
        match self.session.version.borrow().unwrap_or(Version::V2) {
            Version::V2 => page,
            Version::V1 => format!("{page}/grid"),
        }
    }

    /// The web UI's page of a task of a DAG.
    pub fn task_url(&self, dag: &str, task: &str) -> String {
        match self.session.version.borrow().unwrap_or(Version::V2) {
            Version::V2 => format!("{}/tasks/{}", self.dag_url(dag), encode(task)),
            Version::V1 => format!("{}?task_id={}", self.dag_url(dag), encode(task)),
        }
    }

    /// The web UI's page of a task's run, with its log.
    pub fn log_url(&self, dag: &str, run: &str, task: &str) -> String {
        match self.session.version.borrow().unwrap_or(Version::V2) {
            Version::V2 => format!("{}/runs/{}/tasks/{}", self.dag_url(dag), encode(run), encode(task)),
            Version::V1 => {
                format!("{}?dag_run_id={}&task_id={}&tab=logs", self.dag_url(dag), encode(run), encode(task))
            }
        }
    }

    /// Sends `calls` at once; one answer per call, in order. Answers of 401
    /// are asked again once, after a new login.
    pub fn send_all(&self, calls: &[Call]) -> Vec<Result<Value>> {
        if calls.is_empty() {
            return Vec::new();
        }
        let authorization = match self.version().and_then(|v| self.credentials(v)) {
            Ok(authorization) => authorization,
            Err(failure) => return calls.iter().map(|_| Err(failure.clone())).collect(),
        };
        let mut answers = self.send(calls.iter().collect(), &authorization);
        let refused: Vec<usize> =
            (0..answers.len()).filter(|&i| matches!(&answers[i], Ok(r) if r.status() == 401)).collect();
        if let (false, Ok(Version::V1), Auth::Password { username }) =
            (refused.is_empty(), self.version(), &self.settings.auth)
        {
            let refusal = Failure::config(format!(
                "Airflow refused the login of `{username}` (status 401): check authConfig's username and password, \
                 and that its API takes basic auth ([api] auth_backends)"
            ));
            for i in refused {
                answers[i] = Err(refusal.clone());
            }
        } else if !refused.is_empty() && self.settings.auth != Auth::Token {
            weir_sdk::log::info("Airflow refused the token; logging in again");
            self.forget_token(authorization.trim_start_matches("Bearer "));
            match self.token() {
                Ok(token) => {
                    let token = format!("Bearer {token}");
                    let again = self.send(refused.iter().map(|&i| &calls[i]).collect(), &token);
                    for (i, answer) in refused.into_iter().zip(again) {
                        answers[i] = answer;
                    }
                }
                Err(failure) => {
                    for i in refused {
                        answers[i] = Err(failure.clone());
                    }
                }
            }
        }
        answers.into_iter().zip(calls).map(|(answer, call)| answer.and_then(|r| json_of(r, call))).collect()
    }

    /// Sends in waves of [`AT_ONCE`], with `authorization` as given.
    fn send(&self, calls: Vec<&Call>, authorization: &str) -> Vec<Result<Response>> {
        let api = match self.session.version.borrow().unwrap_or(Version::V2) {
            Version::V2 => "v2",
            Version::V1 => "v1",
        };
        let base = format!("{}/api/{api}", self.settings.host);
        let mut answers = Vec::with_capacity(calls.len());
        for wave in calls.chunks(AT_ONCE) {
            let requests: Vec<Request> = wave
                .iter()
                .map(|call| {
                    let url = format!("{base}{}", call.path);
                    let request = match &call.body {
                        None => http::get(url),
                        Some(body) => http::post(url).json(body),
                    };
                    request.header("authorization", authorization).header("accept", "application/json")
                })
                .collect();
            answers.extend(http::send_all(requests).into_iter().map(|a| a.map_err(|f| self.unreachable(f))));
        }
        answers
    }

    /// `/api/v2/version`, else `/api/v1/version`: both answer without a
    /// login.
    fn ask_version(&self) -> Result<Version> {
        let host = &self.settings.host;
        let wanted = self.settings.api_version.as_str();
        if !matches!(wanted, "auto" | "v2" | "v1") {
            return Err(Failure::config(format!(
                "connection.apiVersion `{wanted}`: v2 (Airflow 3), v1 (Airflow 2) or auto (ask the server)"
            )));
        }
        for (version, path) in [(Version::V2, "v2"), (Version::V1, "v1")] {
            if (wanted == "v2" && version == Version::V1) || (wanted == "v1" && version == Version::V2) {
                continue;
            }
            let answer = http::get(format!("{host}/api/{path}/version")).send().map_err(|f| self.unreachable(f))?;
            match answer.status() {
                200 => {
                    if let Ok(info) = answer.json::<Value>()
                        && let Some(v) = info.get("version").and_then(Value::as_str)
                    {
                        weir_sdk::log::debug(&format!("Airflow {v} at {host}, /api/{path}"));
                    }
                    return Ok(version);
                }
                404 => continue,
                status => return Err(status_failure(status, &format!("/api/{path}/version"), &answer)),
            }
        }
        Err(Failure::config(format!(
            "{host} has no /api/v2/version nor /api/v1/version: is hostPort Airflow's API server?"
        )))
    }

    /// The `authorization` header every call carries.
    fn credentials(&self, version: Version) -> Result<String> {
        match (&self.settings.auth, version) {
            (Auth::Token, _) => Ok(format!("Bearer {}", http::secret("token"))),
            (Auth::Password { username }, Version::V1) => Ok(http::basic_auth(username, "password")),
            (Auth::Password { .. }, Version::V2) => Ok(format!("Bearer {}", self.token()?)),
        }
    }

    fn token(&self) -> Result<String> {
        if self.settings.auth == Auth::Token {
            return Ok(http::secret("token"));
        }
        if let Some(token) = self.session.token.borrow().clone() {
            return Ok(token);
        }
        self.login()
    }

    fn login(&self) -> Result<String> {
        let Auth::Password { username } = &self.settings.auth else { return Ok(http::secret("token")) };
        let response = http::post(format!("{}/auth/token", self.settings.host))
            .json(&json!({"username": username, "password": http::secret("password")}))
            .send()
            .map_err(|f| self.unreachable(f))?;
        match response.status() {
            200 | 201 => {}
            400 | 401 | 403 => {
                return Err(Failure::config(format!(
                    "Airflow refused the login of `{username}` (status {}{}): check authConfig's username and password",
                    response.status(),
                    detail(&response)
                )));
            }
            status => return Err(status_failure(status, "/auth/token", &response)),
        }
        let body: Value = response.json().map_err(|f| f.context("Airflow login"))?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::permanent("Airflow's login answer has no access_token"))?
            .to_string();
        *self.session.token.borrow_mut() = Some(token.clone());
        Ok(token)
    }

    /// Drops the cached token if it is still the refused one.
    fn forget_token(&self, refused: &str) {
        let mut token = self.session.token.borrow_mut();
        if token.as_deref() == Some(refused) {
            *token = None;
        }
    }

    fn unreachable(&self, failure: Failure) -> Failure {
        failure.context(format!("Airflow at {}", self.settings.host))
    }
}

fn items(page: &Value, key: &str, path: &str) -> Result<Vec<Value>> {
    page.get(key)
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| Failure::permanent(format!("{}: the answer has no `{key}` list", shown(path))))
}

fn json_of(response: Response, call: &Call) -> Result<Value> {
    if !response.is_success() {
        return Err(status_failure(response.status(), &call.path, &response));
    }
    // A body cut short by a proxy or a restart is worth asking again.
    response.json::<Value>().map_err(|f| Failure::transient(format!("{}: {}", shown(&call.path), f.message)))
}

fn status_failure(status: u16, path: &str, response: &Response) -> Failure {
    let text = format!("{} answered {status}{}", shown(path), detail(response));
    match status {
        404 => Failure::permanent(format!("{text} (not found: deleted since discovery?)")),
        401 | 403 => Failure::denied(format!("{text} (the user lacks a permission, or the token is not valid)")),
        408 | 429 | 500..=599 => Failure::transient(text),
        _ => Failure::permanent(text),
    }
}

/// Airflow's own error text (`{"detail": ...}`), when there is one.
fn detail(response: &Response) -> String {
    let Ok(body) = response.json::<Value>() else { return String::new() };
    match body.get("detail") {
        Some(Value::String(s)) => format!(": {s}"),
        Some(other @ (Value::Array(_) | Value::Object(_))) => format!(": {other}"),
        _ => String::new(),
    }
}

/// A path without its query.
fn shown(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}
