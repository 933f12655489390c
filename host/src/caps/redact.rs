//! Replaces every known secret with `***` in what leaves the host: log
//! lines, errors, reports, the documents written to a sink, and what an
//! HTTP server sends back to a plugin (a server that echoes a request
//! would otherwise hand the plugin the secret the host filled in).
//!
//! A secret is also looked for as it appears escaped in JSON and
//! percent-encoded in a form or URL, the two ways it is most often echoed.

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;
use std::borrow::Cow;

pub const MASK: &str = "***";

#[derive(Clone, Default)]
pub struct Redactor {
    /// `None` when there is no secret to look for.
    finder: Option<AhoCorasick>,
    count: usize,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.count)
    }
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut forms: Vec<String> = Vec::new();
        let mut count = 0;
        for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
            count += 1;
            let json = Value::from(secret.as_str()).to_string();
            forms.push(json[1..json.len() - 1].to_string());
            forms.push(crate::percent::encode(&secret));
            forms.push(secret);
        }
        forms.sort();
        forms.dedup();
        // Leftmost-longest: a secret that contains another is replaced whole.
        let finder = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&forms).ok();
        Redactor { finder: finder.filter(|_| !forms.is_empty()), count }
    }

    pub fn is_empty(&self) -> bool {
        self.finder.is_none()
    }

    pub fn redact(&self, text: &str) -> String {
        self.redact_cow(text).into_owned()
    }

    /// `text` itself when it holds no secret.
    pub fn redact_cow<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.finder {
            Some(finder) if finder.is_match(text) => {
                Cow::Owned(finder.replace_all(text, &vec![MASK; finder.patterns_len()]))
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// Bytes that may not be text (an HTTP body); `None` when they hold no
    /// secret.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let finder = self.finder.as_ref()?;
        if !finder.is_match(bytes) {
            return None;
        }
        let masks = vec![MASK.as_bytes(); finder.patterns_len()];
        Some(finder.replace_all_bytes(bytes, &masks))
    }

    /// Redacts every string of a JSON document, keys included; whether
    /// anything was replaced.
    pub fn redact_json(&self, value: &mut Value) -> bool {
        if self.finder.is_none() {
            return false;
        }
        match value {
            Value::String(s) => self.redact_in_place(s),
            Value::Array(items) => items.iter_mut().fold(false, |found, item| self.redact_json(item) | found),
            Value::Object(map) => {
                let mut found = false;
                let keys: Vec<String> = map.keys().filter(|k| self.holds_secret(k)).cloned().collect();
                for key in keys {
                    if let Some(v) = map.remove(&key) {
                        map.insert(self.redact(&key), v);
                        found = true;
                    }
                }
                map.values_mut().fold(found, |found, v| self.redact_json(v) | found)
            }
            _ => false,
        }
    }

    /// Redacts `text` where it is; whether anything was replaced.
    pub fn redact_in_place(&self, text: &mut String) -> bool {
        match self.redact_cow(text) {
            Cow::Owned(clean) => {
                *text = clean;
                true
            }
            Cow::Borrowed(_) => false,
        }
    }

    pub fn holds_secret(&self, text: &str) -> bool {
        self.finder.as_ref().is_some_and(|f| f.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replaces_every_occurrence_of_every_secret() {
        let r = Redactor::new(["hunter2".to_string(), "tok".to_string()]);
        assert_eq!(r.redact("pw=hunter2 again hunter2, tok"), "pw=*** again ***, ***");
    }

    #[test]
    fn empty_secrets_are_ignored() {
        let r = Redactor::new([String::new()]);
        assert!(r.is_empty());
        assert_eq!(r.redact("nothing to hide"), "nothing to hide");
    }

    #[test]
    fn a_secret_is_found_escaped_as_json_and_percent_encoded() {
        let r = Redactor::new([r#"p"a ss/w"#.to_string()]);
        assert_eq!(r.redact(r#"{"password":"p\"a ss/w"}"#), r#"{"password":"***"}"#);
        assert_eq!(r.redact("password=p%22a%20ss%2Fw&x=1"), "password=***&x=1");
        assert_eq!(r.redact_bytes(b"\x00\xffp\"a ss/w").as_deref(), Some(&b"\x00\xff***"[..]));
        assert_eq!(r.redact_bytes(b"clean"), None);
    }

    #[test]
    fn documents_are_redacted_keys_and_all() {
        let r = Redactor::new(["s3cret".to_string()]);
        let mut doc = json!({"name": "t", "description": "the password is s3cret", "cols": [{"s3cret": 1}]});
        assert!(r.redact_json(&mut doc));
        assert_eq!(doc, json!({"name": "t", "description": "the password is ***", "cols": [{"***": 1}]}));
        assert!(!r.redact_json(&mut doc), "nothing left to redact");
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let r = Redactor::new(["s3cret".to_string()]);
        assert_eq!(format!("{r:?}"), "Redactor(1 secrets)");
    }
}
