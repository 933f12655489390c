//! The host's own check that a plugin's statement only reads.
//!
//! `ApplicationIntent=ReadOnly` only routes a session to a readable
//! secondary of an availability group; on a plain server, or a primary, it
//! stops nothing. So every statement is parsed (sqlparser, T-SQL dialect)
//! before it is sent, and only one query that reads gets through: a SELECT,
//! or a WITH whose parts are all SELECTs. No SELECT INTO, no DML in any
//! corner of the tree, no EXEC, no second statement, and none of the row-set
//! functions that reach other servers. The catalog connector needs no
//! procedure, so no procedure is let through.

use sqlparser::ast::{Statement, TableFactor, Visit, Visitor};
use sqlparser::dialect::MsSqlDialect;
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// Row-set functions that open a connection to another data source: a
/// linked server can write, and the sandbox would reach past its grant.
const REMOTE_ROWSETS: [&str; 3] = ["openrowset", "openquery", "opendatasource"];

/// `Ok` when `statement` is one read-only query; `Err` says what was found.
pub fn check(statement: &str) -> Result<(), String> {
    let parsed = Parser::parse_sql(&MsSqlDialect {}, statement)
        .map_err(|e| format!("the statement does not parse as T-SQL, so it cannot be checked to be read-only: {e}"))?;
    let [only] = parsed.as_slice() else {
        return Err(format!("one statement per query, found {}", parsed.len()));
    };
    if !matches!(only, Statement::Query(_)) {
        return Err(format!("only SELECT queries are allowed, found `{}`", leading_words(statement)));
    }
    match only.visit(&mut ReadsOnly) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(reason) => Err(reason),
    }
}

struct ReadsOnly;

impl Visitor for ReadsOnly {
    type Break = String;

    /// A statement nested in a query (a CTE or set operand that inserts,
    /// updates, deletes or merges).
    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<String> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            other => ControlFlow::Break(format!("a query may not contain `{}`", leading_words(&other.to_string()))),
        }
    }

    fn pre_visit_query(&mut self, query: &sqlparser::ast::Query) -> ControlFlow<String> {
        if query.locks.is_empty() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break("a query may not take row locks".into())
        }
    }

    fn pre_visit_select(&mut self, select: &sqlparser::ast::Select) -> ControlFlow<String> {
        match &select.into {
            Some(_) => ControlFlow::Break("SELECT INTO creates a table".into()),
            None => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        let name = match factor {
            TableFactor::Table { name, args: Some(_), .. } | TableFactor::Function { name, .. } => name,
            _ => return ControlFlow::Continue(()),
        };
        let last = name.0.last().map(|part| part.to_string().to_ascii_lowercase()).unwrap_or_default();
        if REMOTE_ROWSETS.contains(&last.as_str()) {
            ControlFlow::Break(format!("{name} reaches another data source"))
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// The first words of a statement, to name it in an error without
/// echoing all of it.
fn leading_words(statement: &str) -> String {
    statement.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
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
