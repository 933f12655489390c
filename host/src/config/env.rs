//! Strings that may hold `${env:NAME}` references, resolved while the file
//! is parsed so a missing variable is reported with its key and line.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A configuration string with its `${env:NAME}` references resolved.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EnvString(pub String);

impl EnvString {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EnvString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for EnvString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EnvString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        resolve(&raw, |name| std::env::var(name).ok()).map(EnvString).map_err(serde::de::Error::custom)
    }
}

impl Serialize for EnvString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A secret (password, token): resolved like [`EnvString`], but printed as
/// `***` by `Debug` and `Display`, and never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret read from elsewhere than the workflow file.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for the one place that hands it to a driver.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EnvString::deserialize(d).map(|s| Secret(s.0))
    }
}

/// A YAML value kept as written (a third-party plugin's `sourceConfig`),
/// with `${env:NAME}` resolved in every string in it, as in the rest of the
/// file.
pub fn yaml_with_env<'de, D: Deserializer<'de>>(d: D) -> Result<serde_yaml::Value, D::Error> {
    let mut value = serde_yaml::Value::deserialize(d)?;
    resolve_yaml(&mut value, &|name| std::env::var(name).ok()).map_err(serde::de::Error::custom)?;
    Ok(value)
}

pub(super) fn resolve_yaml(
    value: &mut serde_yaml::Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    use serde_yaml::Value;
    match value {
        Value::String(s) => *s = resolve(s, lookup)?,
        Value::Sequence(items) => {
            for item in items {
                resolve_yaml(item, lookup)?;
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                resolve_yaml(item, lookup).map_err(|e| format!("{}: {e}", key.as_str().unwrap_or("?")))?;
            }
        }
        Value::Tagged(tagged) => resolve_yaml(&mut tagged.value, lookup)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Replaces each `${env:NAME}` in `raw` using `lookup`.
pub fn resolve(raw: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find("${env:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let Some(end) = after.find('}') else {
            return Err(format!("unterminated `${{env:` reference in {raw:?}"));
        };
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`${{env:{name}}}` is not a valid environment variable name"));
        }
        match lookup(name) {
            Some(value) => out.push_str(&value),
            None => return Err(format!("`${{env:{name}}}`: environment variable `{name}` is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "PW").then(|| "s3cret".to_string())
    }

    #[test]
    fn resolves_references_anywhere_in_the_string() {
        assert_eq!(resolve("a-${env:PW}-b${env:PW}", lookup).as_deref(), Ok("a-s3cret-bs3cret"));
        assert_eq!(resolve("plain", lookup).as_deref(), Ok("plain"));
    }

    #[test]
    fn missing_variables_and_bad_syntax_are_named() {
        assert_eq!(resolve("${env:NOPE}", lookup), Err("`${env:NOPE}`: environment variable `NOPE` is not set".into()));
        assert!(resolve("${env:PW", lookup).unwrap_err().contains("unterminated"));
        assert!(resolve("${env:A B}", lookup).unwrap_err().contains("not a valid"));
    }

    #[test]
    fn references_in_free_form_yaml_are_resolved_everywhere() {
        let mut value: serde_yaml::Value =
            serde_yaml::from_str("a: ${env:PW}\nb: [x, '${env:PW}']\nc: {d: 1}").unwrap();
        resolve_yaml(&mut value, &lookup).unwrap();
        assert_eq!(value, serde_yaml::from_str::<serde_yaml::Value>("a: s3cret\nb: [x, s3cret]\nc: {d: 1}").unwrap());
        let mut missing: serde_yaml::Value = serde_yaml::from_str("a: {b: '${env:NOPE}'}").unwrap();
        assert!(resolve_yaml(&mut missing, &lookup).unwrap_err().starts_with("a: b: `${env:NOPE}`"));
    }

    #[test]
    fn secrets_never_print() {
        let s: Secret = serde_yaml::from_str("hunter2").unwrap();
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }
}
