//! OpenMetadata filter patterns, pushed down into the discover queries so
//! that an excluded schema costs nothing.
//!
//! The host applies the same patterns to what discovery returns, with its
//! own regex engine, and stays the source of truth. Pushdown must therefore
//! only ever keep *more* than the host keeps, never less: a name dropped
//! here is gone for good, a name kept here is still filtered by the host.
//! PostgreSQL's regex dialect (ARE) is not the host's, so a pattern goes to
//! the server only when both read it the same way (`pushable`); an include
//! list with any other pattern is not pushed at all (keep everything), an
//! exclude of that kind is left out (exclude less).

use weir_sdk::serde_json::{self, Value, json};
use weir_sdk::sql_kit::{self, ReadPattern};
use weir_sdk::{Failure, Result};

/// One `*FilterPattern` as written, since what matters here is which of
/// its regular expressions PostgreSQL reads as the host does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pattern {
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
}

pub type Filters = sql_kit::Filters<Pattern>;

impl ReadPattern for Pattern {
    fn read(key: &str, object: &Value) -> Result<Pattern> {
        let list = |part: &str| -> Result<Vec<String>> {
            match object.get(part) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(value) => serde_json::from_value(value.clone()).map_err(|_| {
                    Failure::config(format!("sourceConfig.config.{key}.{part} must be a list of strings"))
                }),
            }
        };
        Ok(Pattern { includes: list("includes")?, excludes: list("excludes")? })
    }
}

/// The JSON parameter every discover query takes: per level, the patterns
/// PostgreSQL may apply. Empty lists when pushdown is off: the host matches
/// whole FQNs then, which the queries do not build.
pub fn param(filters: &Filters) -> String {
    if filters.use_fqn {
        return none();
    }
    json!({
        "database": pushed(&filters.database),
        "schema": pushed(&filters.schema),
        "table": pushed(&filters.table),
        "procedure": pushed(&filters.procedure),
    })
    .to_string()
}

/// The parameter that filters nothing: for a rerun after PostgreSQL
/// rejected a pattern.
pub fn none() -> String {
    "{}".to_string()
}

/// What of `pattern` goes to the server, as `{"include": [..], "exclude": [..]}`.
fn pushed(pattern: &Pattern) -> Value {
    // Dropping one include would drop the names only it matches: the list
    // goes whole or not at all.
    let include: Vec<&str> = if pattern.includes.iter().all(|p| pushable(p)) {
        pattern.includes.iter().map(String::as_str).collect()
    } else {
        Vec::new()
    };
    let exclude: Vec<&str> = pattern.excludes.iter().map(String::as_str).filter(|p| pushable(p)).collect();
    json!({ "include": include, "exclude": exclude })
}

/// Whether PostgreSQL matches `pattern` exactly as the host does (Rust's
/// `regex`, `(?i)^(?:pattern)`) on every name. Deliberately narrow:
/// - ASCII only: case-insensitive matching of other letters follows the
///   server's locale in PostgreSQL, Unicode in Rust.
/// - Escapes only of punctuation (`\.`, `\$`) and the control characters
///   both read alike. `\d`, `\w`, `\s` follow the locale in PostgreSQL and
///   Unicode in Rust; `\b` is backspace there and a word boundary here;
///   `\x41BC` is one character there and three here; `\<` is a literal `<`
///   there and a word start here.
/// - Brackets without POSIX classes (locale again), nested classes or the
///   `&&`, `--`, `~~` set operations, which only Rust has.
/// - Groups: plain or `(?:`; flags and named groups are Rust's own.
///
/// `.` is the one remaining difference: PostgreSQL lets it match a newline,
/// Rust does not. That only keeps more on includes; the discover queries
/// run excludes with the `(?p)` flag, under which it does not.
pub fn pushable(pattern: &str) -> bool {
    if !pattern.is_ascii() {
        return false;
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\\' => {
                let Some(escaped) = next else { return false };
                let alike = matches!(escaped, 'n' | 't' | 'r' | 'f' | 'v')
                    || (escaped.is_ascii_punctuation() && !matches!(escaped, '<' | '>'));
                if !alike {
                    return false;
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                i += 1;
                // `[^`, then a `]` first in the class is a literal in both.
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                continue;
            }
            '[' => return false,
            ']' if in_class => in_class = false,
            '&' | '-' | '~' if in_class && next == Some(c) => return false,
            '(' if !in_class && next == Some('?') => {
                if chars.get(i + 2) != Some(&':') {
                    return false;
                }
                i += 3;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    !in_class
}

/// PostgreSQL refused a pattern (`invalid regular expression: ...`,
/// SQLSTATE 2201B; the host passes the message on).
pub fn is_regex_error(failure: &Failure) -> bool {
    failure.message.contains("invalid regular expression")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(json: &str) -> Result<Filters> {
        Filters::from_source(&serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}")))
    }

    fn param(f: &Filters) -> Value {
        serde_json::from_str(&super::param(f)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_the_patterns_of_source_config() {
        let f = filters(
            r#"{"schemaFilterPattern": {"includes": ["^sales$"], "excludes": []},
                "tableFilterPattern": {"excludes": ["tmp_"]},
                "storedProcedureFilterPattern": null}"#,
        )
        .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(f.schema.includes, vec!["^sales$".to_string()]);
        assert_eq!(f.table.excludes, vec!["tmp_".to_string()]);
        assert_eq!(f.procedure, Pattern::default());
        assert!(!f.use_fqn);
        let p = param(&f);
        assert_eq!(p["schema"]["include"], json!(["^sales$"]));
        assert_eq!(p["table"]["exclude"], json!(["tmp_"]));
        assert_eq!(p["procedure"], json!({"include": [], "exclude": []}));
    }

    #[test]
    fn fqn_filtering_pushes_nothing_down() {
        let f = filters(r#"{"useFqnForFiltering": true, "schemaFilterPattern": {"includes": ["svc\\.db\\.sales"]}}"#)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert!(f.use_fqn);
        assert_eq!(super::param(&f), none());
    }

    #[test]
    fn malformed_patterns_are_config_errors() {
        for json in [
            r#"{"schemaFilterPattern": ["a"]}"#,
            r#"{"tableFilterPattern": {"includes": "a"}}"#,
            r#"{"useFqnForFiltering": "yes"}"#,
        ] {
            assert!(filters(json).is_err(), "{json}");
        }
    }

    #[test]
    fn one_unpushable_include_keeps_every_name() {
        let f = Filters {
            schema: Pattern { includes: vec!["sales".into(), r"\w+_prod".into()], excludes: vec![] },
            table: Pattern { includes: vec![], excludes: vec!["tmp_".into(), r"x\b".into()] },
            ..Filters::default()
        };
        let p = param(&f);
        assert_eq!(p["schema"]["include"], json!([]));
        // Excludes go one by one: leaving one out only excludes less.
        assert_eq!(p["table"]["exclude"], json!(["tmp_"]));
    }

    #[test]
    fn patterns_both_engines_read_alike() {
        for p in [
            "sales",
            "^sales$",
            "sales|hr",
            r"dim_.*",
            r"a\.b",
            r"\$x",
            "[a-z_]+[0-9]{2,3}",
            "[^x]",
            "[]a]",
            "[^]a-]",
            "(?:a|b)c?",
            "(tmp)+",
            "a{2}",
        ] {
            assert!(pushable(p), "{p}");
        }
    }

    #[test]
    fn patterns_the_engines_read_differently() {
        for p in [
            r"\d+",
            r"\w",
            r"x\b",
            r"\B",
            r"\x41BC",
            r"\<word",
            r"\pL",
            r"\1",
            "[[:alpha:]]",
            "[a[bc]]",
            "[a-z&&[^x]]",
            "[a--b]",
            "(?i)x",
            "(?P<n>x)",
            "(?<n>x)",
            "données",
            "[abc",
            "trailing\\",
        ] {
            assert!(!pushable(p), "{p}");
        }
    }

    #[test]
    fn regex_errors_are_recognised() {
        let f =
            Failure::permanent("error returned from database: invalid regular expression: parentheses () not balanced");
        assert!(is_regex_error(&f));
        assert!(!is_regex_error(&Failure::permanent("relation does not exist")));
    }
}
