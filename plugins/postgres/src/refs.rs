//! How messages write a name, and the single JSON parameter each
//! set-based query takes, so that a batch of any size is one statement per
//! query.

use weir_sdk::serde_json::{self, json};

/// A name in a dotted path for messages (`db."odd.schema".table`): quoted
/// as PostgreSQL quotes identifiers when a dot, quote or space would
/// otherwise blur it.
pub fn quote(name: &str) -> String {
    if name.contains(['.', '"', ' ']) { format!("\"{}\"", name.replace('"', "\"\"")) } else { name.to_string() }
}

/// `["a", "b"]`: the last name of each path (databases, schemas).
pub fn names_param(paths: &[Vec<String>]) -> String {
    let names: Vec<&str> = paths.iter().filter_map(|p| p.last()).map(String::as_str).collect();
    serde_json::Value::from(names).to_string()
}

/// `[{"s": schema, "t": table}]`, for `json_to_recordset`.
pub fn tables_param(paths: &[Vec<String>]) -> String {
    let rows: Vec<serde_json::Value> =
        paths.iter().filter(|p| p.len() == 3).map(|p| json!({ "s": p[1], "t": p[2] })).collect();
    serde_json::Value::from(rows).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_escape_names() {
        let paths = vec![vec!["db".to_string(), "Edge Cases".into(), "Mixed.Case \"Table\"".into()]];
        assert_eq!(tables_param(&paths), r#"[{"s":"Edge Cases","t":"Mixed.Case \"Table\""}]"#);
        assert_eq!(names_param(&[vec!["db".into(), "sch".into()]]), r#"["sch"]"#);
        assert_eq!(tables_param(&[]), "[]");
    }

    #[test]
    fn dotted_quotes_odd_names() {
        let path = ["db".to_string(), "Edge Cases".into(), "a\"b".into(), "plain".into()];
        assert_eq!(crate::ENGINE.dotted(&path), r#"db."Edge Cases"."a""b".plain"#);
    }
}
