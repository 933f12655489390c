//! OpenMetadata filter patterns, applied by the plugin at discovery.
//!
//! T-SQL has no regular expressions (LIKE is not one), so unlike the
//! PostgreSQL connector nothing can be pushed into the catalog queries:
//! discovery reads every name and drops the filtered ones here, before
//! counting their columns or naming them in warnings. The host applies the
//! same patterns to what discovery returns and has the last word; both use
//! the SDK's matcher (Rust's `regex`, anchored at the start,
//! case-insensitive), so the plugin never drops a name the host would keep.
//! With `useFqnForFiltering` the host matches fully qualified names, which
//! the plugin does not build: it then keeps everything and leaves the
//! filtering to the host.

use weir_sdk::filter::FilterPattern;
use weir_sdk::serde_json::{self, Value};
use weir_sdk::{Failure, Result};

/// The patterns of `sourceConfig.config` that discovery applies.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub database: FilterPattern,
    pub schema: FilterPattern,
    pub table: FilterPattern,
    pub procedure: FilterPattern,
    /// `useFqnForFiltering`: the host matches whole FQNs; nothing is
    /// filtered here.
    pub use_fqn: bool,
}

impl Filters {
    pub fn from_source(source: &Value) -> Result<Filters> {
        Ok(Filters {
            database: pattern(source, "databaseFilterPattern")?,
            schema: pattern(source, "schemaFilterPattern")?,
            table: pattern(source, "tableFilterPattern")?,
            procedure: pattern(source, "storedProcedureFilterPattern")?,
            use_fqn: match source.get("useFqnForFiltering") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(Failure::config(format!(
                        "sourceConfig.config.useFqnForFiltering must be a boolean, not {other}"
                    )));
                }
            },
        })
    }

    pub fn keeps_database(&self, name: &str) -> bool {
        self.use_fqn || self.database.keeps(name)
    }

    pub fn keeps_schema(&self, name: &str) -> bool {
        self.use_fqn || self.schema.keeps(name)
    }

    /// A table, view or synonym: its schema's pattern and its own.
    pub fn keeps_table(&self, schema: &str, name: &str) -> bool {
        self.use_fqn || (self.schema.keeps(schema) && self.table.keeps(name))
    }

    pub fn keeps_procedure(&self, schema: &str, name: &str) -> bool {
        self.use_fqn || (self.schema.keeps(schema) && self.procedure.keeps(name))
    }
}

/// One `*FilterPattern`, compiled; an invalid regular expression is a
/// configuration error naming it.
fn pattern(source: &Value, key: &str) -> Result<FilterPattern> {
    match source.get(key) {
        None | Some(Value::Null) => Ok(FilterPattern::default()),
        Some(value @ Value::Object(_)) => serde_json::from_value(value.clone())
            .map_err(|e| Failure::config(format!("sourceConfig.config.{key}: {e}"))),
        Some(other) => Err(Failure::config(format!(
            "sourceConfig.config.{key} must be {{includes: [..], excludes: [..]}}, not {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(json: &str) -> Result<Filters> {
        Filters::from_source(&serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn patterns_apply_per_level_as_the_host_applies_them() {
        let f = filters(
            r#"{"databaseFilterPattern": {"excludes": ["^ReportServer"]},
                "schemaFilterPattern": {"includes": ["sales", "^hr$"]},
                "tableFilterPattern": {"excludes": ["tmp_"]},
                "storedProcedureFilterPattern": {"excludes": ["^sp_"]}}"#,
        )
        .unwrap_or_else(|e| panic!("{}", e.message));
        assert!(f.keeps_database("AdventureWorks"));
        assert!(!f.keeps_database("ReportServerTempDB"));
        // Anchored at the start, case-insensitive.
        assert!(f.keeps_schema("Sales"));
        assert!(!f.keeps_schema("presales"));
        assert!(f.keeps_table("SALES", "Orders"));
        assert!(!f.keeps_table("sales", "tmp_orders"));
        assert!(!f.keeps_table("dbo", "Orders"));
        assert!(!f.keeps_procedure("hr", "sp_helpme"));
        assert!(f.keeps_procedure("hr", "uspHire"));
    }

    #[test]
    fn fqn_filtering_is_left_to_the_host() {
        let f = filters(r#"{"useFqnForFiltering": true, "schemaFilterPattern": {"includes": ["svc\\.db\\.sales"]}}"#)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert!(f.use_fqn);
        assert!(f.keeps_schema("dbo"));
        assert!(f.keeps_table("dbo", "t"));
    }

    #[test]
    fn nothing_configured_keeps_everything() {
        let f = filters("{}").unwrap_or_else(|e| panic!("{}", e.message));
        assert!(f.keeps_database("master") && f.keeps_schema("dbo") && f.keeps_procedure("dbo", "p"));
    }

    #[test]
    fn malformed_patterns_are_config_errors() {
        for json in [
            r#"{"schemaFilterPattern": ["a"]}"#,
            r#"{"tableFilterPattern": {"includes": "a"}}"#,
            r#"{"tableFilterPattern": {"includes": ["("]}}"#,
            r#"{"useFqnForFiltering": "yes"}"#,
        ] {
            match filters(json) {
                Err(e) => assert!(matches!(e.kind, weir_sdk::ErrorKind::Config), "{json}: {}", e.message),
                Ok(_) => panic!("accepted {json}"),
            }
        }
    }
}
