//! The Looker API 4.0 over the host's HTTP capability: login with the
//! client id and a placeholder for the secret (the host fills it in, so
//! the secret never enters the sandbox), a bearer token kept for the
//! instance's life (its [`Session`]), and a fresh login when it expires or
//! a call answers 401. Batches of GETs go out together through `send_all`.

use crate::settings::Settings;
use std::cell::RefCell;
use std::time::{Duration, Instant};
use weir_sdk::http::{self, Response};
use weir_sdk::serde::Deserialize;
use weir_sdk::serde_json::Value;
use weir_sdk::{Failure, Result};

/// A token is renewed this long before Looker says it expires.
const RENEW_MARGIN: Duration = Duration::from_secs(60);

struct Token {
    value: String,
    renew_at: Instant,
}

/// The token of one instance, kept between its calls to spare a login per
/// batch; correctness never depends on it (a 401 logs in again).
#[derive(Default)]
pub struct Session {
    token: RefCell<Option<Token>>,
}

#[derive(Deserialize)]
#[serde(crate = "weir_sdk::serde")]
struct AccessToken {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

pub struct Api<'s> {
    settings: &'s Settings,
    session: &'s Session,
}

impl<'s> Api<'s> {
    pub fn new(settings: &'s Settings, session: &'s Session) -> Self {
        Api { settings, session }
    }

    /// One GET, parsed as JSON.
    pub fn get(&self, path: &str) -> Result<Value> {
        self.get_all(&[path.to_string()]).pop().unwrap_or_else(|| Err(Failure::permanent("no answer")))
    }

    /// GETs `paths` (below `/api/4.0`) at once; one answer per path, in
    /// order. Answers of 401 are asked again once, after a new login.
    pub fn get_all(&self, paths: &[String]) -> Vec<Result<Value>> {
        let token = match self.token() {
            Ok(token) => token,
            Err(failure) => return paths.iter().map(|_| Err(failure.clone())).collect(),
        };
        let mut answers = self.send(paths.iter().collect(), &token);
        let unauthorized: Vec<usize> = answers
            .iter()
            .enumerate()
            .filter(|(_, a)| matches!(a, Ok(r) if r.status() == 401))
            .map(|(i, _)| i)
            .collect();
        if !unauthorized.is_empty() {
            weir_sdk::log::info("the Looker token was refused; logging in again");
            self.forget_token(&token);
            match self.token() {
                Ok(token) => {
                    let again = self.send(unauthorized.iter().map(|&i| &paths[i]).collect(), &token);
                    for (i, answer) in unauthorized.into_iter().zip(again) {
                        answers[i] = answer;
                    }
                }
                Err(failure) => {
                    for i in unauthorized {
                        answers[i] = Err(failure.clone());
                    }
                }
            }
        }
        answers.into_iter().zip(paths).map(|(answer, path)| answer.and_then(|r| json_of(r, path))).collect()
    }

    fn send(&self, paths: Vec<&String>, token: &str) -> Vec<Result<Response>> {
        let api = self.settings.api();
        let requests = paths
            .iter()
            .map(|p| http::get(format!("{api}{p}")).bearer(token).header("accept", "application/json"))
            .collect();
        http::send_all(requests)
    }

    fn token(&self) -> Result<String> {
        let cached =
            self.session.token.borrow().as_ref().filter(|t| Instant::now() < t.renew_at).map(|t| t.value.clone());
        if let Some(token) = cached {
            return Ok(token);
        }
        let token = self.login()?;
        Ok(token)
    }

    fn login(&self) -> Result<String> {
        let response = http::post(format!("{}/login", self.settings.api()))
            .form(&[("client_id", &self.settings.client_id), ("client_secret", &http::secret("clientSecret"))])
            .send()
            .map_err(|f| f.context("Looker login"))?;
        match response.status() {
            200 => {}
            // Looker answers a wrong id or secret with 404.
            401 | 403 | 404 => {
                return Err(Failure::config(format!(
                    "Looker refused the login (status {}): check clientId and clientSecret",
                    response.status()
                )));
            }
            status => return Err(status_failure(status, "/login", &response)),
        }
        let token: AccessToken = response.json().map_err(|f| f.context("Looker login"))?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_MARGIN).max(Duration::from_secs(1));
        let value = token.access_token.clone();
        *self.session.token.borrow_mut() = Some(Token { value: token.access_token, renew_at });
        Ok(value)
    }

    /// Drops the cached token if it is still the refused one.
    fn forget_token(&self, refused: &str) {
        let mut token = self.session.token.borrow_mut();
        if token.as_ref().is_some_and(|t| t.value == refused) {
            *token = None;
        }
    }
}

fn json_of(response: Response, path: &str) -> Result<Value> {
    if !response.is_success() {
        return Err(status_failure(response.status(), path, &response));
    }
    // A body cut short by a proxy or a restart is worth asking again.
    response.json::<Value>().map_err(|f| Failure::transient(format!("GET {}: {}", shown(path), f.message)))
}

fn status_failure(status: u16, path: &str, response: &Response) -> Failure {
    let message = error_message(response);
    let text = format!("GET {} answered {status}{message}", shown(path));
    match status {
        404 => {
            Failure::permanent(format!("{text} (not found: deleted since discovery, or not visible to this client)"))
        }
        401 | 403 => Failure::denied(text),
        408 | 429 | 500..=599 => Failure::transient(text),
        _ => Failure::permanent(text),
    }
}

/// Looker's own error text, `{"message": ...}`, when there is one.
fn error_message(response: &Response) -> String {
    response
        .json::<Value>()
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(|m| format!(": {m}")))
        .unwrap_or_default()
}

/// A path without its query (the field lists are long and say nothing).
fn shown(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}
