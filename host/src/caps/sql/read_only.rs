//! The host's own check that a plugin's statement only reads, before
//! anything is sent: one engine's session settings are never the only
//! thing between a plugin and a write (a superuser's read-only transaction
//! still runs `COPY ... TO PROGRAM`; SQL Server's read-only intent stops
//! nothing on a primary).
//!
//! Every statement is parsed in the engine's dialect (sqlparser) and only
//! one query that reads gets through: a SELECT, a VALUES, or a WITH whose
//! parts are all queries. No SELECT INTO, no row locks, no DML in any corner
//! of the tree, no second statement. Each function the query names is put
//! to the engine's own rule ([`Rules::function`]), so side effects hidden
//! in a call are refused too.

use sqlparser::ast::{Expr, ObjectName, Statement, TableFactor, Visit, Visitor};
use sqlparser::dialect::Dialect;
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// What one engine lets through.
pub struct Rules<'a> {
    pub dialect: &'a dyn Dialect,
    /// The dialect's name, for messages (`T-SQL`, `PostgreSQL`).
    pub language: &'static str,
    /// `SHOW name` reads a setting; PostgreSQL lets it through.
    pub allow_show: bool,
    /// Decides a function the statement calls, in an expression or as a
    /// table; `Err` says why it is refused.
    pub function: &'a dyn Fn(&ObjectName) -> Result<(), String>,
    /// Decides an operator the dialect cannot name as a built-in one
    /// (PostgreSQL's `OPERATOR(schema.op)`); `Err` says why.
    pub operator: &'a dyn Fn(&[String]) -> Result<(), String>,
}

/// `Ok` when `statement` is one read-only query under `rules`; `Err` says
/// what was found.
pub fn check(statement: &str, rules: &Rules) -> Result<(), String> {
    let parsed = Parser::parse_sql(rules.dialect, statement).map_err(|e| {
        format!("the statement does not parse as {}, so it cannot be checked to be read-only: {e}", rules.language)
    })?;
    let [only] = parsed.as_slice() else {
        return Err(format!("one statement per query, found {}", parsed.len()));
    };
    let show = rules.allow_show && matches!(only, Statement::ShowVariable { .. });
    if !matches!(only, Statement::Query(_)) && !show {
        let allowed = if rules.allow_show { "SELECT, VALUES and SHOW" } else { "SELECT queries" };
        return Err(format!("only {allowed} are allowed, found `{}`", leading_words(statement)));
    }
    match only.visit(&mut ReadsOnly { rules }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(reason) => Err(reason),
    }
}

struct ReadsOnly<'r, 'a> {
    rules: &'r Rules<'a>,
}

impl Visitor for ReadsOnly<'_, '_> {
    type Break = String;

    /// A statement nested in a query (a CTE or set operand that inserts,
    /// updates, deletes or merges).
    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<String> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            Statement::ShowVariable { .. } if self.rules.allow_show => ControlFlow::Continue(()),
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
        // T-SQL's table hints that take update or exclusive locks, or hold
        // shared ones to the end of a transaction: what `FOR UPDATE` is
        // elsewhere (a reader that starves writers).
        const LOCKING_HINTS: [&str; 8] =
            ["updlock", "xlock", "tablock", "tablockx", "holdlock", "serializable", "repeatableread", "paglock"];
        if let TableFactor::Table { with_hints, .. } = factor
            && let Some(hint) =
                with_hints.iter().map(|h| h.to_string().to_lowercase()).find(|h| LOCKING_HINTS.contains(&h.as_str()))
        {
            return ControlFlow::Break(format!("a query may not take locks (table hint {})", hint.to_uppercase()));
        }
        match factor {
            // `FROM f(...)`: a function used as a table.
            TableFactor::Table { name, args: Some(_), .. } | TableFactor::Function { name, .. } => {
                verdict((self.rules.function)(name))
            }
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        match expr {
            Expr::Function(call) => verdict((self.rules.function)(&call.name)),
            Expr::BinaryOp { op, .. } => match op {
                sqlparser::ast::BinaryOperator::PGCustomBinaryOperator(parts) => verdict((self.rules.operator)(parts)),
                sqlparser::ast::BinaryOperator::Custom(symbol) => {
                    verdict((self.rules.operator)(std::slice::from_ref(symbol)))
                }
                _ => ControlFlow::Continue(()),
            },
            _ => ControlFlow::Continue(()),
        }
    }
}

fn verdict(outcome: Result<(), String>) -> ControlFlow<String> {
    match outcome {
        Ok(()) => ControlFlow::Continue(()),
        Err(reason) => ControlFlow::Break(reason),
    }
}

/// The first words of a statement, to name it in an error without
/// echoing all of it.
fn leading_words(statement: &str) -> String {
    statement.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// An object name's parts as the server resolves them: unquoted parts fold
/// to lower case (PostgreSQL's rule; SQL Server compares names without
/// case by default, so folding is safe there too).
pub fn folded_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part.as_ident() {
            Some(ident) if ident.quote_style.is_none() => ident.value.to_lowercase(),
            Some(ident) => ident.value.clone(),
            None => part.to_string().to_lowercase(),
        })
        .collect()
}
