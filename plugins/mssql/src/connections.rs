//! How SQL Server tells database names apart. Which connection reads which
//! database is `weir_sdk::sql_kit`'s.

/// Whether two database names name the same database. SQL Server compares
/// them with the server's collation, case-insensitive unless the server
/// was installed otherwise; a case-sensitive server whose databases differ
/// only in case is not worth a query to find out. So
/// `connection.database: adventureworks` reaches AdventureWorks, and the
/// configured spelling names it, as OpenMetadata's connector does.
pub fn same_database(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_compare_case_insensitively() {
        assert!(same_database("AdventureWorks", "adventureworks"));
        assert!(!same_database("AdventureWorks", "AdventureWorksDW"));
    }
}
