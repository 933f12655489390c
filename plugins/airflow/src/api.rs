//! Airflow 3's REST API (`/api/v2`) over the host's HTTP capability. A
//! user and password are traded for a JWT at `POST /auth/token`, with a
//! placeholder where the password goes (the host fills it in, so it never
//! enters the sandbox); a configured token is sent as is. The token lives
//! for the instance's life (its [`Session`]); a 401 logs in again once.
//! Every batch of calls goes out through `send_all`, a few at once (as
//! many as the server takes), and lists are read a first page, then every
//! other page together.

use crate::settings::{Auth, Settings};
use std::cell::RefCell;
use weir_sdk::http::{self, Request, Response};
use weir_sdk::serde_json::{Value, json};
use weir_sdk::{Failure, Result};

/// Airflow's default `[api] maximum_page_limit`; a server with a lower one
/// answers with fewer items, and paging follows what it answers.
pub const PAGE: usize = 100;

/// Calls per `send_all`: a wave, so one batch's calls (2 per DAG) do not
/// all wait on the host at once; the host caps what is on the wire for
/// the whole run (`weir.http.maxInFlight`, 8 for Airflow by default).
const AT_ONCE: usize = 32;

/// What one instance keeps between calls: the token, and that the server
/// speaks `/api/v2`. Correctness never depends on it.
#[derive(Default)]
pub struct Session {
    token: RefCell<Option<String>>,
    checked_version: RefCell<bool>,
}

/// One call: a GET, or a POST with a JSON body, below `/api/v2`.
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

    /// Sends `calls` at once; one answer per call, in order. Answers of 401
    /// are asked again once, after a new login.
    pub fn send_all(&self, calls: &[Call]) -> Vec<Result<Value>> {
        if calls.is_empty() {
            return Vec::new();
        }
        let token = match self.check_version().and_then(|()| self.token()) {
            Ok(token) => token,
            Err(failure) => return calls.iter().map(|_| Err(failure.clone())).collect(),
        };
        let mut answers = self.send(calls.iter().collect(), &token);
        let refused: Vec<usize> =
            (0..answers.len()).filter(|&i| matches!(&answers[i], Ok(r) if r.status() == 401)).collect();
        if !refused.is_empty() && self.settings.auth != Auth::Token {
            weir_sdk::log::info("Airflow refused the token; logging in again");
            self.forget_token(&token);
            match self.token() {
                Ok(token) => {
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

    /// Sends in waves of [`AT_ONCE`].
    fn send(&self, calls: Vec<&Call>, token: &str) -> Vec<Result<Response>> {
        let base = format!("{}/api/v2", self.settings.host);
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
                    request.bearer(token).header("accept", "application/json")
                })
                .collect();
            answers.extend(http::send_all(requests).into_iter().map(|a| a.map_err(|f| self.unreachable(f))));
        }
        answers
    }

    /// `/api/v2/version` answers without a login; a server without it is
    /// not Airflow 3.
    fn check_version(&self) -> Result<()> {
        if *self.session.checked_version.borrow() {
            return Ok(());
        }
        if !matches!(self.settings.api_version.as_str(), "auto" | "v2") {
            return Err(Failure::config(format!(
                "connection.apiVersion `{}`: this connector reads Airflow 3's REST API (v2) only",
                self.settings.api_version
            )));
        }
        let host = &self.settings.host;
        let answer = http::get(format!("{host}/api/v2/version")).send().map_err(|f| self.unreachable(f))?;
        match answer.status() {
            200 => {}
            404 => {
                let v1 = http::get(format!("{host}/api/v1/version")).send().ok().filter(Response::is_success);
                let what = match v1 {
                    Some(_) => "speaks Airflow 2's /api/v1 only; this connector reads Airflow 3's /api/v2",
                    None => "has no /api/v2/version: is hostPort the Airflow API server?",
                };
                return Err(Failure::config(format!("{host} {what}")));
            }
            status => return Err(status_failure(status, "/version", &answer)),
        }
        if let Ok(version) = answer.json::<Value>()
            && let Some(v) = version.get("version").and_then(Value::as_str)
        {
            weir_sdk::log::debug(&format!("Airflow {v} at {host}"));
        }
        *self.session.checked_version.borrow_mut() = true;
        Ok(())
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
