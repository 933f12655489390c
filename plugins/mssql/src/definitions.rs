//! The text of a module (view, procedure, function) as sys.sql_modules
//! keeps it, and what to say when SQL Server will not show it.
//!
//! `definition` is NULL for a module created WITH ENCRYPTION (the server
//! keeps only an obfuscated copy, for itself) and for one the login may use
//! but lacks VIEW DEFINITION on. Either way nothing can be read; the
//! entity says which, as a T-SQL comment where the code would be, so that
//! a reader of the catalog knows the gap is not a bug of the ingestion.

/// The definition to record: the module's text without the blank lines
/// and spaces around it, or a comment saying why there is none.
pub fn text(definition: Option<&str>, encrypted: bool) -> String {
    match definition {
        Some(text) => text.trim().to_string(),
        None if encrypted => "-- Created WITH ENCRYPTION: SQL Server does not reveal the definition.".to_string(),
        None => "-- The definition is not visible: the login lacks VIEW DEFINITION on this object.".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_trimmed_and_gaps_explained() {
        assert_eq!(text(Some("\r\nCREATE VIEW v AS SELECT 1 AS one\r\n"), false), "CREATE VIEW v AS SELECT 1 AS one");
        assert!(text(None, true).contains("WITH ENCRYPTION"));
        assert!(text(None, false).contains("VIEW DEFINITION"));
    }
}
