//! Secret placeholders: a plugin writes `{{secret:clientSecret}}` where a
//! secret goes (a login form, a header) and the host puts the value in on
//! the way out, only for the connection's own origin. The value never
//! enters the sandbox, so a plugin cannot leak it by logging or by sending
//! it anywhere else. `{{secret:password|basic:USER}}` stands for the
//! base64 of `USER:<password>`, for an `Authorization: Basic` header.

use super::origin::origin_of;
use reqwest::Url;

const OPEN: &str = "{{secret:";
const CLOSE: &str = "}}";
/// The same markers percent-encoded, as they appear in a form body or URL.
const OPEN_ENCODED: &str = "%7B%7Bsecret%3A";
const CLOSE_ENCODED: &str = "%7D%7D";

/// The connection's secrets by key, and the one origin they may go to.
#[derive(Debug, Clone, Default)]
pub struct ConnectionSecrets {
    origin: Option<String>,
    values: Vec<(String, String)>,
}

/// Where a request stands once its placeholders are filled in.
#[derive(Debug, PartialEq, Eq)]
pub enum Filled {
    /// The request carried no placeholder.
    None,
    /// Placeholders were replaced: the request now holds a secret, so it
    /// must not be repeated to another origin (a redirect).
    Secret,
}

impl ConnectionSecrets {
    /// `origin` is the connection's `scheme://host:port`; `values` pairs a
    /// key (`clientSecret`) with its value.
    pub fn new(origin: Option<String>, values: Vec<(String, String)>) -> Self {
        ConnectionSecrets { origin, values }
    }

    /// Replaces the placeholders in `headers` and `body`; the reason when
    /// the request may not carry them (a URL, another origin, an unknown
    /// key). Nothing in the reason is a secret.
    pub fn fill(
        &self,
        url: &Url,
        headers: &mut [(String, String)],
        body: &mut Option<Vec<u8>>,
    ) -> Result<Filled, String> {
        let in_url = has_placeholder(url.as_str());
        let in_headers = headers.iter().any(|(_, v)| has_placeholder(v));
        let in_body = body.as_deref().is_some_and(|b| has_placeholder(&String::from_utf8_lossy(b)));
        if !(in_url || in_headers || in_body) {
            return Ok(Filled::None);
        }
        if in_url {
            return Err("a secret placeholder may not go in a URL (URLs end up in logs)".into());
        }
        let origin = origin_of(url);
        if self.origin.as_deref() != Some(origin.as_str()) {
            return Err(format!(
                "secret placeholders are only filled in for the connection's own origin, not {origin}"
            ));
        }
        let json = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.to_ascii_lowercase().contains("json"));
        for (_, value) in headers.iter_mut() {
            *value = self.replace(value, Encoding::Raw)?;
        }
        if let Some(bytes) = body.as_mut() {
            let text = String::from_utf8(std::mem::take(bytes))
                .map_err(|_| "a body with a secret placeholder must be UTF-8 text".to_string())?;
            let text = self.replace(&text, Encoding::Percent)?;
            let text = self.replace(&text, if json { Encoding::Json } else { Encoding::Raw })?;
            *bytes = text.into_bytes();
        }
        Ok(Filled::Secret)
    }

    fn replace(&self, text: &str, encoding: Encoding) -> Result<String, String> {
        let (open, close) = match encoding {
            Encoding::Percent => (OPEN_ENCODED, CLOSE_ENCODED),
            Encoding::Raw | Encoding::Json => (OPEN, CLOSE),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = find_ignore_case(rest, open) {
            out.push_str(&rest[..start]);
            let after = &rest[start + open.len()..];
            let Some(end) = find_ignore_case(after, close) else {
                return Err("an unterminated secret placeholder".into());
            };
            let placeholder = &after[..end];
            // `NAME|basic:USER`: HTTP basic credentials, which the plugin
            // cannot encode without the value.
            let (key, basic_user) = match placeholder.split_once("|basic:") {
                Some((key, user)) => (key, Some(user)),
                None => (placeholder, None),
            };
            let Some((_, value)) = self.values.iter().find(|(k, _)| k == key) else {
                let known: Vec<&str> = self.values.iter().map(|(k, _)| k.as_str()).collect();
                return Err(format!("the connection has no secret `{key}` (it has: {})", known.join(", ")));
            };
            let basic;
            let value = match basic_user {
                Some(user) => {
                    basic = basic_credentials(user, value);
                    &basic
                }
                None => value,
            };
            match encoding {
                Encoding::Raw => out.push_str(value),
                Encoding::Percent => out.push_str(&crate::percent::encode(value)),
                Encoding::Json => {
                    let quoted = serde_json::Value::from(value.as_str()).to_string();
                    out.push_str(&quoted[1..quoted.len() - 1]);
                }
            }
            rest = &after[end + close.len()..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// What `Authorization: Basic` carries for `user` and `password`: also a
/// secret, to redact wherever it might be echoed.
pub fn basic_credentials(user: &str, password: &str) -> String {
    base64(format!("{user}:{password}").as_bytes())
}

/// Standard base64 with padding (RFC 4648), as basic auth wants it.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Encoding {
    Raw,
    Percent,
    Json,
}

fn has_placeholder(text: &str) -> bool {
    text.contains(OPEN) || find_ignore_case(text, OPEN_ENCODED).is_some()
}

/// Percent-encoding may use either case for its hex digits.
fn find_ignore_case(text: &str, needle: &str) -> Option<usize> {
    let (t, n) = (text.as_bytes(), needle.as_bytes());
    if n.len() > t.len() {
        return None;
    }
    (0..=t.len() - n.len()).find(|&i| t[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> ConnectionSecrets {
        ConnectionSecrets::new(
            Some("https://looker.example.com:19999".into()),
            vec![("clientSecret".into(), "s3cr&t \"x\"".into())],
        )
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn a_form_body_gets_the_encoded_secret() {
        let mut body = Some(b"client_id=me&client_secret=%7B%7Bsecret%3AclientSecret%7D%7D".to_vec());
        let filled = secrets().fill(&url("https://looker.example.com:19999/api/4.0/login"), &mut [], &mut body);
        assert_eq!(filled, Ok(Filled::Secret));
        assert_eq!(body.as_deref(), Some(&b"client_id=me&client_secret=s3cr%26t%20%22x%22"[..]));
    }

    #[test]
    fn json_bodies_and_headers_get_the_value_escaped_as_they_need() {
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("x-key".to_string(), "{{secret:clientSecret}}".to_string()),
        ];
        let mut body = Some(br#"{"secret":"{{secret:clientSecret}}"}"#.to_vec());
        let filled = secrets().fill(&url("https://looker.example.com:19999/x"), &mut headers, &mut body);
        assert_eq!(filled, Ok(Filled::Secret));
        assert_eq!(headers[1].1, "s3cr&t \"x\"");
        assert_eq!(body.as_deref(), Some(&br#"{"secret":"s3cr&t \"x\""}"#[..]));
    }

    #[test]
    fn other_origins_urls_and_unknown_keys_are_refused() {
        let s = secrets();
        let mut body = Some(b"{{secret:clientSecret}}".to_vec());
        let err = s.fill(&url("https://evil.example.com/"), &mut [], &mut body).unwrap_err();
        assert!(err.contains("connection's own origin"), "{err}");
        let err = s.fill(&url("https://looker.example.com:19999/?s={{secret:clientSecret}}"), &mut [], &mut None);
        assert!(err.unwrap_err().contains("URL"));
        let mut body = Some(b"{{secret:password}}".to_vec());
        let err = s.fill(&url("https://looker.example.com:19999/"), &mut [], &mut body).unwrap_err();
        assert!(err.contains("no secret `password`") && !err.contains("s3cr"), "{err}");
    }

    #[test]
    fn a_basic_placeholder_is_the_base64_of_user_and_secret() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"weir:pw"), "d2Vpcjpwdw==");
        let s = ConnectionSecrets::new(Some("http://airflow:8080".into()), vec![("password".into(), "pw".into())]);
        let mut headers = vec![("authorization".to_string(), "Basic {{secret:password|basic:weir}}".to_string())];
        assert_eq!(s.fill(&url("http://airflow:8080/api/v1/dags"), &mut headers, &mut None), Ok(Filled::Secret));
        assert_eq!(headers[0].1, "Basic d2Vpcjpwdw==");
    }

    #[test]
    fn requests_without_placeholders_are_left_alone() {
        let mut body = Some(b"plain".to_vec());
        assert_eq!(secrets().fill(&url("https://elsewhere.example.com/"), &mut [], &mut body), Ok(Filled::None));
        assert_eq!(body.as_deref(), Some(&b"plain"[..]));
    }
}
