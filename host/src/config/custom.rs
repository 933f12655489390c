//! A plugin's own `serviceConnection.config` keys (a third-party
//! connector's `token:`, `workspace:`): kept as written when the file is
//! read, then checked against what the plugin declares once it is loaded.
//!
//! A plugin declares them in its `describe()` config schema, under the
//! top-level `connection` keyword: a JSON Schema of an object whose
//! `properties` are its keys. A property with `"format": "password"`
//! (OpenMetadata's own marker for secrets) is a secret: never handed to
//! the plugin, redacted everywhere, and filled in by the host for a
//! `{{secret:NAME}}` placeholder sent to the connection's own origin.

use super::ConfigError;
use super::connection::ConnectionConfig;
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt;

/// One key of `serviceConnection.config` that is none of the host's.
#[derive(Clone)]
pub struct CustomKey {
    pub name: String,
    /// As written, `${env:NAME}` resolved.
    pub value: Json,
    /// Its line in the workflow file, when it is written in block style.
    pub line: Option<usize>,
}

// The value may be a secret: only the name and line print.
impl fmt::Debug for CustomKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomKey({}, line {:?})", self.name, self.line)
    }
}

impl CustomKey {
    /// `source.serviceConnection.config.NAME (line N)`, for messages.
    pub fn located(&self) -> String {
        let key = format!("source.serviceConnection.config.{}", self.name);
        match self.line {
            Some(line) => format!("{key} (line {line})"),
            None => key,
        }
    }
}

/// The connection keys of a workflow text that `ConnectionConfig` does not
/// know, in file order. `${env:NAME}` errors name the key and line.
pub(super) fn read(text: &str, origin: &str) -> Result<Vec<CustomKey>, ConfigError> {
    #[derive(Deserialize)]
    struct Pass {
        source: PassSource,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PassSource {
        service_connection: PassConnection,
    }
    #[derive(Deserialize)]
    struct PassConnection {
        #[serde(default)]
        config: serde_yaml::Mapping,
    }
    let parse = |message: String| ConfigError::Parse { origin: origin.to_string(), message };
    let pass: Pass = serde_yaml::from_str(text).map_err(|e| parse(e.to_string()))?;
    let known = known_keys();
    let mut custom = Vec::new();
    for (key, value) in pass.source.service_connection.config {
        let Some(name) = key.as_str().filter(|k| !known.contains(k)) else { continue };
        let line = line_of(text, &["source", "serviceConnection", "config", name]);
        let key = CustomKey { name: name.to_string(), value: Json::Null, line };
        let mut value = value;
        super::env::resolve_yaml(&mut value, &|name| std::env::var(name).ok())
            .map_err(|e| parse(format!("{}: {e}", key.located())))?;
        let value = serde_json::to_value(&value)
            .map_err(|e| parse(format!("{}: not a value a plugin can be given: {e}", key.located())))?;
        custom.push(CustomKey { value, ..key });
    }
    Ok(custom)
}

/// The keys `ConnectionConfig` reads, as serde spells them: asked of its
/// derived `Deserialize` itself, so the list cannot drift from the struct.
fn known_keys() -> &'static [&'static str] {
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Fields<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("only a struct's fields are asked for"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("only a struct's fields are asked for"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    static KNOWN: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut fields: &'static [&'static str] = &[];
        let _ = ConnectionConfig::deserialize(Fields(&mut fields));
        fields
    })
}

/// Whether `ConnectionConfig` reads `name` itself.
pub fn is_host_key(name: &str) -> bool {
    known_keys().contains(&name)
}

/// The closest of `keys` to a misspelt one, if one is close.
pub(super) fn suggestion<'k>(name: &str, keys: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let distance = |a: &str, b: &str| {
        let (a, b): (Vec<char>, Vec<char>) = (a.to_lowercase().chars().collect(), b.to_lowercase().chars().collect());
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let substitution = previous + usize::from(ca != cb);
                previous = row[j + 1];
                row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
            }
        }
        row[b.len()]
    };
    keys.into_iter().map(|k| (distance(name, k), k)).filter(|(d, _)| *d <= 2).min().map(|(_, k)| k)
}

/// The closest key the host knows to a misspelt one.
pub(super) fn known_suggestion(name: &str) -> Option<&'static str> {
    suggestion(name, known_keys().iter().copied())
}

/// The line (1-based) of the key at `path` in block-style YAML: each key
/// found at a deeper indentation than its parent's. `None` for flow style
/// (`config: {token: x}`), where no line is its own.
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    let mut open: Vec<(usize, String)> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') || body.starts_with('-') {
            continue;
        }
        let Some((key, _)) = body.split_once(':') else { continue };
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        let indent = line.len() - body.len();
        while open.last().is_some_and(|(depth, _)| *depth >= indent) {
            open.pop();
        }
        open.push((indent, key.to_string()));
        if open.len() == path.len() && open.iter().zip(path).all(|((_, k), p)| k == p) {
            return Some(index + 1);
        }
    }
    None
}

/// What a plugin declares of its connection keys.
#[derive(Default)]
pub struct ConnectionSchema {
    /// Each key the plugin takes, and whether it is a secret.
    keys: BTreeMap<String, bool>,
    validator: Option<jsonschema::Validator>,
}

impl ConnectionSchema {
    /// Reads the `connection` keyword of a plugin's config schema (none: the
    /// plugin takes no key of its own). `Err` says what is wrong with it.
    pub fn of(config_schema: &str) -> Result<ConnectionSchema, String> {
        let schema: Json = match serde_json::from_str(config_schema) {
            Ok(schema) => schema,
            Err(e) => return Err(format!("its config schema is not JSON: {e}")),
        };
        let Some(connection) = schema.get("connection") else {
            return Ok(ConnectionSchema::default());
        };
        let Some(properties) = connection.get("properties").and_then(Json::as_object) else {
            return Err("its config schema's `connection` has no `properties` object naming its keys".into());
        };
        let keys =
            properties.iter().map(|(k, p)| (k.clone(), p.get("format").and_then(Json::as_str) == Some("password")));
        let validator = jsonschema::options()
            .build(connection)
            .map_err(|e| format!("its config schema's `connection` is not a valid JSON Schema: {e}"))?;
        Ok(ConnectionSchema { keys: keys.collect(), validator: Some(validator) })
    }

    pub fn is_secret(&self, name: &str) -> bool {
        self.keys.get(name).copied().unwrap_or(false)
    }

    /// Checks the workflow's custom keys: each one the plugin takes, each
    /// value as its schema says. A secret's value is never quoted.
    pub fn check(&self, plugin: &str, custom: &[CustomKey], origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid { origin: origin.to_string(), key, message };
        for key in custom {
            if !self.keys.contains_key(&key.name) {
                let takes = if self.keys.is_empty() {
                    "it declares no key of its own".to_string()
                } else {
                    format!("its own keys are {}", self.keys.keys().cloned().collect::<Vec<_>>().join(", "))
                };
                let own = self.keys.keys().map(String::as_str);
                let hint = suggestion(&key.name, own.chain(known_keys().iter().copied()))
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                return Err(invalid(
                    key.located(),
                    format!("unknown field `{}`{hint}: plugin `{plugin}` does not take it; {takes}", key.name),
                ));
            }
        }
        let Some(validator) = &self.validator else { return Ok(()) };
        let object: serde_json::Map<String, Json> = custom.iter().map(|k| (k.name.clone(), k.value.clone())).collect();
        let object = Json::Object(object);
        let Some(error) = validator.iter_errors(&object).next() else { return Ok(()) };
        let pointer = error.instance_path.to_string();
        let name = pointer.trim_start_matches('/').split('/').next().unwrap_or_default();
        let found = custom.iter().find(|k| k.name == name);
        let key = found.map(CustomKey::located).unwrap_or_else(|| "source.serviceConnection.config".to_string());
        let message = if self.is_secret(name) {
            format!("does not match what plugin `{plugin}` declares ({}); a secret, so not shown", error.schema_path)
        } else {
            format!("{error} (plugin `{plugin}` declares it)")
        };
        Err(invalid(key, message))
    }

    /// The custom keys the plugin may see: every one that is not a secret.
    pub fn visible<'c>(&self, custom: &'c [CustomKey]) -> impl Iterator<Item = &'c CustomKey> {
        custom.iter().filter(|k| !self.is_secret(&k.name))
    }

    /// The custom secrets by name, for `{{secret:NAME}}` and redaction.
    pub fn secrets(&self, custom: &[CustomKey]) -> Vec<(String, String)> {
        custom
            .iter()
            .filter(|k| self.is_secret(&k.name))
            .map(|k| {
                let text = match &k.value {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.name.clone(), text)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "source:\n  type: acme\n  serviceConnection:\n    config:\n      type: Custom\n      \
                        token: ${env:HOME}\n      # a comment\n      workspace: sales\n      retries: 3\n";

    #[test]
    fn keys_the_host_does_not_know_are_kept_with_their_lines() {
        let custom = read(TEXT, "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<(&str, Option<usize>)> = custom.iter().map(|k| (k.name.as_str(), k.line)).collect();
        assert_eq!(names, [("token", Some(6)), ("workspace", Some(8)), ("retries", Some(9))]);
        assert_eq!(custom[0].value, Json::from(std::env::var("HOME").unwrap_or_default()), "env resolved");
        assert_eq!(custom[2].value, Json::from(3));
        assert!(known_keys().contains(&"hostPort") && known_keys().contains(&"type"), "{:?}", known_keys());
        assert_eq!(known_suggestion("databse"), Some("database"));
        assert_eq!(known_suggestion("token"), None);
    }

    #[test]
    fn a_declared_schema_checks_names_and_values_and_marks_secrets() {
        let schema = ConnectionSchema::of(
            r#"{"connection": {"type": "object", "required": ["token"], "properties": {
                "token": {"type": "string", "format": "password"},
                "workspace": {"type": "string"}, "retries": {"type": "integer", "maximum": 5}}}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let custom = read(TEXT, "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
        schema.check("acme", &custom, "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
        assert!(schema.is_secret("token") && !schema.is_secret("workspace"));
        let visible: Vec<&str> = schema.visible(&custom).map(|k| k.name.as_str()).collect();
        assert_eq!(visible, ["workspace", "retries"]);
        assert_eq!(schema.secrets(&custom)[0].0, "token");

        let typo = read(&TEXT.replace("workspace", "workspce"), "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
        let err = schema.check("acme", &typo, "wf.yaml").map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("config.workspce (line 8)") && err.contains("unknown field `workspce`"), "{err}");
        assert!(err.contains("did you mean `workspace`?"), "{err}");
        assert!(err.contains("its own keys are retries, token, workspace"), "{err}");

        let big = read(&TEXT.replace("retries: 3", "retries: 9"), "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
        let err = schema.check("acme", &big, "wf.yaml").map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("config.retries (line 9)") && err.contains('9'), "{err}");

        let number = read(&TEXT.replace("${env:HOME}", "12345"), "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
        let err = schema.check("acme", &number, "wf.yaml").map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("config.token (line 6)") && !err.contains("12345"), "a secret is not quoted: {err}");

        let none = ConnectionSchema::of("{}").unwrap_or_else(|e| panic!("{e}"));
        let err = none.check("acme", &custom, "wf.yaml").map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("it declares no key of its own"), "{err}");
        assert!(ConnectionSchema::of(r#"{"connection": {"type": "object"}}"#).is_err());
    }

    #[test]
    fn lines_are_found_by_indentation_and_not_in_flow_style() {
        let text = "a:\n  b:\n    c: 1\n  c: 2\nc: 3\n";
        assert_eq!(line_of(text, &["a", "b", "c"]), Some(3));
        assert_eq!(line_of(text, &["a", "c"]), Some(4));
        assert_eq!(line_of(text, &["c"]), Some(5));
        assert_eq!(line_of("a: {b: 1}\n", &["a", "b"]), None);
    }
}
