//! OpenMetadata fully qualified names: parts joined by `.`, a part that
//! contains a dot wrapped in double quotes. A name with a double quote in it
//! cannot be represented (OpenMetadata rejects it), nor can one with `::`.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FqnError {
    #[error("name `{0}` contains a double quote, which OpenMetadata names cannot hold")]
    Quote(String),
    #[error("name `{0}` contains `::`, which OpenMetadata names cannot hold")]
    DoubleColon(String),
    #[error("empty name")]
    Empty,
    #[error("name `{0}` is longer than 256 characters")]
    TooLong(String),
}

/// Quotes one name part the way OpenMetadata does.
pub fn quote(name: &str) -> Result<String, FqnError> {
    if name.is_empty() {
        return Err(FqnError::Empty);
    }
    if name.chars().count() > 256 {
        return Err(FqnError::TooLong(name.to_string()));
    }
    if name.contains("::") {
        return Err(FqnError::DoubleColon(name.to_string()));
    }
    // A quote anywhere, surrounding quotes too: `"q"` is another name than
    // `q`, and both cannot have one FQN.
    if name.contains('"') {
        return Err(FqnError::Quote(name.to_string()));
    }
    Ok(if name.contains('.') { format!("\"{name}\"") } else { name.to_string() })
}

/// Joins name parts into an FQN.
pub fn build<S: AsRef<str>>(parts: &[S]) -> Result<String, FqnError> {
    let quoted: Result<Vec<String>, FqnError> = parts.iter().map(|p| quote(p.as_ref())).collect();
    Ok(quoted?.join("."))
}

/// Splits an FQN into its unquoted parts.
pub fn split(fqn: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in fqn.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_are_quoted() {
        assert_eq!(build(&["svc", "db", "my.schema", "My.Table"]).unwrap(), r#"svc.db."my.schema"."My.Table""#);
        assert_eq!(build(&["svc", "Sales Data", "CamelCase"]).unwrap(), "svc.Sales Data.CamelCase");
    }

    #[test]
    fn quotes_and_double_colons_are_refused() {
        assert_eq!(quote(r#"a"b"#), Err(FqnError::Quote(r#"a"b"#.into())));
        assert!(matches!(quote("a::b"), Err(FqnError::DoubleColon(_))));
        assert_eq!(quote(""), Err(FqnError::Empty));
    }

    #[test]
    fn names_that_hold_quotes_never_meet_the_names_without() {
        // `q` and `"q"`, `a.b` and `"a.b"` are four names; only the two
        // without quotes can be held.
        assert_eq!(quote("q").unwrap(), "q");
        assert_eq!(quote(r#""q""#), Err(FqnError::Quote(r#""q""#.into())));
        assert_eq!(quote("a.b").unwrap(), r#""a.b""#);
        assert_eq!(quote(r#""a.b""#), Err(FqnError::Quote(r#""a.b""#.into())));
    }

    #[test]
    fn split_undoes_build() {
        let parts = ["svc", "db", "my.schema", "t"];
        assert_eq!(split(&build(&parts).unwrap()), parts);
    }
}
