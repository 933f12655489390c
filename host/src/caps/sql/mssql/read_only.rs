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
    // T-SQL names are matched without regard to case, quoted (`[OPENQUERY]`)
    // or not, on the default collations: fold them all.
    let last = folded_parts(name).pop().unwrap_or_default().to_lowercase();
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

    /// The parser is the gate: its corners (comments, DML nested in a CTE,
    /// EXEC hidden in strings and calls, sequences, remote row sets by every
    /// spelling) must not let a write through. Harmless text that looks
    /// like a write (in a comment or a string) still reads.
    #[test]
    fn the_corners_of_the_parser_let_no_write_through() {
        let refused = [
            "SELECT 1 -- harmless\n; DROP TABLE dbo.t",
            "/* a comment */ DELETE FROM dbo.t",
            "SELECT 1 /* */; /* */ UPDATE dbo.t SET a = 1",
            "WITH x AS (SELECT 1 AS a) DELETE FROM dbo.t",
            "WITH x AS (SELECT 1 AS a) INSERT INTO dbo.t SELECT a FROM x",
            "WITH x AS (SELECT 1 AS a) UPDATE dbo.t SET a = 2",
            "WITH x AS (SELECT 1 AS a) MERGE dbo.t AS t USING x ON t.a = x.a WHEN MATCHED THEN DELETE;",
            "EXECUTE('DROP TABLE dbo.t')",
            "EXEC('SELECT 1')",
            "EXEC dbo.any_procedure",
            "SELECT NEXT VALUE FOR dbo.seq",
            "SELECT * FROM OPENROWSET(BULK 'C:\\secret.txt', SINGLE_CLOB) AS r",
            "SELECT * FROM openrowset('MSDASQL', 'Driver=x;', 'SELECT 1') AS r",
            "SELECT * FROM [OPENQUERY](linked, 'DELETE FROM t') AS r",
            "SELECT * FROM master.sys.OPENDATASOURCE('SQLNCLI', 'Data Source=x') AS r",
            "SELECT * FROM dbo.t AS a JOIN OPENQUERY(linked, 'SELECT 1') AS b ON 1 = 1",
            "SELECT (SELECT TOP 1 1 FROM OPENQUERY(linked, 'SELECT 1') AS q) AS x",
            "SELECT 1 UNION ALL SELECT * FROM OPENQUERY(linked, 'SELECT 1') AS q",
            "SELECT a INTO dbo.copy FROM (SELECT 1 AS a) AS s",
            "SELECT a FROM dbo.t WITH (UPDLOCK)",
            "SELECT a FROM dbo.t WITH (XLOCK, HOLDLOCK)",
            "DECLARE @x int; SELECT @x",
            "WAITFOR DELAY '01:00:00'",
            "SHUTDOWN WITH NOWAIT",
            "BEGIN TRANSACTION",
            "SET IMPLICIT_TRANSACTIONS ON",
            "USE master",
            "DBCC DROPCLEANBUFFERS",
            "BULK INSERT dbo.t FROM 'C:\\x.csv'",
            "GRANT SELECT ON dbo.t TO public",
            "TRUNCATE TABLE dbo.t",
        ];
        for sql in refused {
            assert!(check(sql).is_err(), "`{sql}` was let through");
        }
        for sql in [
            "SELECT 'EXEC sp_configure; DROP TABLE dbo.t' AS text",
            "SELECT 1 AS one /* DELETE FROM dbo.t */",
            "SELECT [delete] FROM dbo.[drop table] AS t",
            "WITH a AS (SELECT 1 AS v), b AS (SELECT v FROM a) SELECT v FROM b",
            "SELECT name FROM sys.objects WHERE name LIKE N'%INSERT%'",
        ] {
            assert_eq!(check(sql), Ok(()), "{sql}");
        }
    }
}
