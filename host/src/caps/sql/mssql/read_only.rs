//! SQL Server's rules for the host's read-only statement check
//! ([`crate::caps::sql::read_only`]).
//!
//! `ApplicationIntent=ReadOnly` only routes a session to a readable
//! secondary of an availability group; on a plain server, or a primary, it
//! stops nothing. So every statement is parsed (T-SQL dialect) before it is
//! sent: one query that reads, no EXEC, and none of the row-set functions
//! that reach other servers. The catalog connector needs no procedure, so
//! no procedure is let through.

use crate::caps::sql::read_only::{self, Rules, folded_parts};
use sqlparser::ast::ObjectName;
use sqlparser::dialect::MsSqlDialect;

/// Row-set functions that open a connection to another data source: a
/// linked server can write, and the sandbox would reach past its grant.
const REMOTE_ROWSETS: [&str; 3] = ["openrowset", "openquery", "opendatasource"];

/// `Ok` when `statement` is one read-only query; `Err` says what was found.
pub fn check(statement: &str) -> Result<(), String> {
    let rules = Rules {
        dialect: &MsSqlDialect {},
        language: "T-SQL",
        allow_show: false,
        function: &remote_rowsets_refused,
        operator: &|parts| Err(format!("operator `{}` is not a T-SQL operator", parts.join("."))),
    };
    read_only::check(statement, &rules)
}

fn remote_rowsets_refused(name: &ObjectName) -> Result<(), String> {
    let last = folded_parts(name).pop().unwrap_or_default();
    if REMOTE_ROWSETS.contains(&last.as_str()) { Err(format!("{name} reaches another data source")) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn catalog_reads_pass() {
        for sql in [
            "SELECT name FROM sys.databases WHERE HAS_DBACCESS(name) = 1",
            "WITH t AS (SELECT object_id FROM sys.tables) SELECT c.name FROM sys.columns AS c JOIN t ON t.object_id = c.object_id",
            "SELECT s.name FROM sys.schemas AS s UNION ALL SELECT o.name FROM sys.objects AS o WHERE o.type = @P1",
            "SELECT j.[schema] FROM OPENJSON(@P1) WITH ([schema] nvarchar(128) '$[0]') AS j",
            "SELECT TOP (10) o.name FROM sys.objects AS o CROSS APPLY (SELECT 1 AS one) AS x ORDER BY o.name",
        ] {
            assert_eq!(check(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn writes_and_side_doors_are_refused() {
        let refused = [
            ("DELETE FROM dbo.t", "only SELECT"),
            ("UPDATE dbo.t SET a = 1", "only SELECT"),
            ("INSERT INTO dbo.t VALUES (1)", "only SELECT"),
            ("DROP TABLE dbo.t", "only SELECT"),
            ("EXEC sp_configure 'show advanced options', 1", "only SELECT"),
            ("SELECT 1; DROP TABLE dbo.t", "one statement per query, found 2"),
            ("SELECT * INTO dbo.copy FROM dbo.t", "creates a table"),
            ("SELECT a INTO #scratch FROM dbo.t", "creates a table"),
            ("WITH x AS (SELECT 1 AS a) SELECT a INTO dbo.copy FROM x", "creates a table"),
            ("SELECT * FROM OPENROWSET('SQLNCLI', 'Server=x;', 'SELECT 1') AS r", "another data source"),
            ("SELECT * FROM OPENQUERY(linked, 'SELECT 1') AS r", "another data source"),
            ("SELECT 1 FROM", "does not parse"),
            ("", "found 0"),
        ];
        for (sql, expected) in refused {
            match check(sql) {
                Ok(()) => panic!("`{sql}` was let through"),
                Err(reason) => assert!(reason.contains(expected), "`{sql}`: {reason}"),
            }
        }
    }
}
