//! What the CREATE text in `sqlite_master.sql` tells us beyond the pragmas:
//! descriptions written as `--` comments, CHECK constraints, and whether a
//! table is `WITHOUT ROWID`.
//!
//! SQLite has no COMMENT statement, but it stores the CREATE statement as
//! written (from the table name on, comments included), so the comments are
//! the only place a schema author can document a table. The conventions:
//!
//! ```sql
//! CREATE TABLE orders ( -- Orders placed by customers.      <- table
//!     id     INTEGER PRIMARY KEY, -- Order number.          <- column `id`
//!     status TEXT NOT NULL
//!            CHECK (status <> ''), -- Where the order is.   <- column `status`
//!     ...
//! ```
//!
//! A trailing comment belongs to the column whose definition holds the first
//! token of that line, so a definition spread over several lines may carry
//! its comment on any of them (the first one wins).

use crate::lexer::{Kind, Token, tokenize, unquote};
use std::collections::HashMap;

/// The parts of a CREATE TABLE statement the pragmas do not give.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TableDdl {
    pub description: Option<String>,
    /// Columns in declaration order, names unquoted.
    pub columns: Vec<ColumnDdl>,
    pub checks: Vec<Check>,
    pub without_rowid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDdl {
    pub name: String,
    pub description: Option<String>,
}

/// A CHECK constraint as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The `CONSTRAINT name`, when there is one.
    pub name: Option<String>,
    /// The column it is declared on; `None` for a table constraint.
    pub column: Option<String>,
    /// The text between the parentheses of `CHECK (...)`, trimmed.
    pub expression: String,
}

impl TableDdl {
    /// The description of column `name`, matched as SQLite matches names:
    /// ASCII case-insensitively.
    pub fn column_description(&self, name: &str) -> Option<&str> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)).and_then(|c| c.description.as_deref())
    }
}

/// Words that open a table constraint rather than a column definition.
/// SQLite reserves them, so a column with one of these names must be quoted.
const TABLE_CONSTRAINT_WORDS: [&str; 5] = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];

/// Reads a CREATE TABLE statement. Text that does not look like one yields
/// an empty result rather than an error.
pub fn parse_table(sql: &str) -> TableDdl {
    let tokens = tokenize(sql);
    let code: Vec<usize> = (0..tokens.len()).filter(|&i| !tokens[i].is_comment()).collect();
    let Some(open_pos) = code.iter().position(|&i| tokens[i].is_punct(sql, '(')) else {
        return TableDdl::default();
    };
    let close_pos = matching_close(sql, &tokens, &code, open_pos).unwrap_or(code.len());
    let body = code.get(open_pos + 1..close_pos).unwrap_or(&[]);
    let items = split_items(sql, &tokens, body);

    let open = tokens[code[open_pos]];
    let description = table_description(sql, &tokens, open, body.first().copied());

    let mut ddl = TableDdl {
        description,
        without_rowid: code.get(close_pos + 1..).is_some_and(|rest| {
            rest.windows(2).any(|w| tokens[w[0]].is_word(sql, "WITHOUT") && tokens[w[1]].is_word(sql, "ROWID"))
        }),
        ..TableDdl::default()
    };

    // Which column definition each body token belongs to, for the comment rule.
    let mut owner: Vec<Option<usize>> = vec![None; tokens.len()];
    for item in &items {
        let column = column_name(sql, &tokens, item);
        if let Some(name) = &column {
            for &i in item {
                owner[i] = Some(ddl.columns.len());
            }
            ddl.columns.push(ColumnDdl { name: name.clone(), description: None });
        }
        ddl.checks.extend(checks_in(sql, &tokens, item, column));
    }

    // The first code token of each line. In comma-first style
    // (`, name TEXT -- ...`) the comma belongs to no item, so it is skipped.
    let mut line_start: HashMap<usize, usize> = HashMap::new();
    for &i in &code {
        if !tokens[i].is_punct(sql, ',') {
            line_start.entry(tokens[i].line).or_insert(i);
        }
    }
    for comment in &tokens {
        if comment.kind != Kind::LineComment || comment.line == open.line {
            continue;
        }
        let first = line_start.get(&comment.line).filter(|&&j| tokens[j].start < comment.start);
        let Some(column) = first.and_then(|&j| owner[j]) else {
            continue;
        };
        let slot = &mut ddl.columns[column].description;
        if slot.is_none() {
            *slot = comment_text(comment.text(sql));
        }
    }
    ddl
}

/// The description of a view: the first `--` comment before the query
/// itself, as in `CREATE VIEW v AS -- text`.
pub fn view_description(sql: &str) -> Option<String> {
    let tokens = tokenize(sql);
    let mut after_as = false;
    let mut depth = 0usize;
    for token in &tokens {
        match token.kind {
            Kind::LineComment => return comment_text(token.text(sql)),
            Kind::BlockComment => {}
            _ if after_as => return None,
            _ if token.is_punct(sql, '(') => depth += 1,
            _ if token.is_punct(sql, ')') => depth = depth.saturating_sub(1),
            _ if depth == 0 && token.is_word(sql, "AS") => after_as = true,
            _ => {}
        }
    }
    None
}

/// The comment on the line of the opening parenthesis, or else the first
/// one before the first column (on a line of its own after the `(`, or
/// between the table's name and the `(`).
fn table_description(sql: &str, tokens: &[Token], open: Token, first_body: Option<usize>) -> Option<String> {
    let limit = first_body.map_or(usize::MAX, |i| tokens[i].start);
    tokens
        .iter()
        .filter(|t| t.kind == Kind::LineComment)
        .filter(|t| t.line == open.line || t.start < limit)
        .min_by_key(|t| (t.line != open.line, t.start))
        .and_then(|t| comment_text(t.text(sql)))
}

/// `-- text` → `text`; blank comments describe nothing.
fn comment_text(comment: &str) -> Option<String> {
    let text = comment.trim_start_matches('-').trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The position in `code` of the `)` matching the `(` at `open_pos`.
fn matching_close(sql: &str, tokens: &[Token], code: &[usize], open_pos: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (pos, &i) in code.iter().enumerate().skip(open_pos) {
        if tokens[i].is_punct(sql, '(') {
            depth += 1;
        } else if tokens[i].is_punct(sql, ')') {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(pos);
            }
        }
    }
    None
}

/// Splits the body's code tokens at top-level commas: one item per column
/// definition or table constraint.
fn split_items(sql: &str, tokens: &[Token], body: &[usize]) -> Vec<Vec<usize>> {
    let mut items = vec![Vec::new()];
    let mut depth = 0usize;
    for &i in body {
        let token = &tokens[i];
        if depth == 0 && token.is_punct(sql, ',') {
            items.push(Vec::new());
            continue;
        }
        if token.is_punct(sql, '(') {
            depth += 1;
        } else if token.is_punct(sql, ')') {
            depth = depth.saturating_sub(1);
        }
        if let Some(item) = items.last_mut() {
            item.push(i);
        }
    }
    items.retain(|item| !item.is_empty());
    items
}

/// The column an item defines, or `None` for a table constraint.
fn column_name(sql: &str, tokens: &[Token], item: &[usize]) -> Option<String> {
    let first = tokens[*item.first()?];
    match first.kind {
        Kind::Word if TABLE_CONSTRAINT_WORDS.iter().any(|w| first.is_word(sql, w)) => None,
        Kind::Word | Kind::QuotedIdent | Kind::String => Some(unquote(first.text(sql))),
        _ => None,
    }
}

/// Every well-formed `[CONSTRAINT name] CHECK (expr)` at the top level of
/// an item. One whose parentheses do not close is skipped, not guessed at.
fn checks_in(sql: &str, tokens: &[Token], item: &[usize], column: Option<String>) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut depth = 0usize;
    for (pos, &i) in item.iter().enumerate() {
        let token = &tokens[i];
        if token.is_punct(sql, '(') {
            depth += 1;
        } else if token.is_punct(sql, ')') {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && token.is_word(sql, "CHECK") {
            let Some(open) = item.get(pos + 1).filter(|&&o| tokens[o].is_punct(sql, '(')) else {
                continue;
            };
            let Some(close) = matching_close(sql, tokens, item, pos + 1) else {
                continue;
            };
            let expression = sql.get(tokens[*open].end..tokens[item[close]].start).unwrap_or("");
            let name = match (pos.checked_sub(2).map(|p| tokens[item[p]]), pos.checked_sub(1)) {
                (Some(keyword), Some(p)) if keyword.is_word(sql, "CONSTRAINT") => {
                    Some(unquote(tokens[item[p]].text(sql)))
                }
                _ => None,
            };
            checks.push(Check { name, column: column.clone(), expression: expression.trim().to_string() });
        }
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(ddl: &TableDdl) -> Vec<(&str, Option<&str>)> {
        ddl.columns.iter().map(|c| (c.name.as_str(), c.description.as_deref())).collect()
    }

    #[test]
    fn table_and_column_descriptions() {
        let ddl = parse_table(
            "CREATE TABLE t ( -- The table.\n\
             \x20 id INTEGER PRIMARY KEY, -- The id.\n\
             \x20 \"my col\" TEXT DEFAULT '--not a comment', -- Quoted, with a dash -- inside.\n\
             \x20 [b] BLOB,\n\
             \x20 `c` REAL -- Last, no comma.\n\
             )",
        );
        assert_eq!(ddl.description.as_deref(), Some("The table."));
        assert_eq!(
            described(&ddl),
            vec![
                ("id", Some("The id.")),
                ("my col", Some("Quoted, with a dash -- inside.")),
                ("b", None),
                ("c", Some("Last, no comma.")),
            ]
        );
        assert_eq!(ddl.column_description("ID"), Some("The id."));
        assert!(!ddl.without_rowid);
    }

    #[test]
    fn multi_line_definitions_and_comma_first_style() {
        let ddl = parse_table(
            "CREATE TABLE t (\n\
             \x20 a INTEGER REFERENCES p (id)\n\
             \x20     ON DELETE SET NULL, -- Continued line.\n\
             \x20 b TEXT -- First line wins.\n\
             \x20     NOT NULL -- Ignored.\n\
             \x20 , c INT -- Comma first.\n\
             \x20 , PRIMARY KEY (a, b) -- A constraint, not a column.\n\
             ) WITHOUT ROWID",
        );
        assert_eq!(ddl.description, None);
        assert_eq!(
            described(&ddl),
            vec![("a", Some("Continued line.")), ("b", Some("First line wins.")), ("c", Some("Comma first."))]
        );
        assert!(ddl.without_rowid);
    }

    #[test]
    fn description_on_a_line_of_its_own_after_the_parenthesis() {
        let ddl = parse_table("CREATE TABLE t\n(\n  -- Lonely description.\n  a INT\n)");
        assert_eq!(ddl.description.as_deref(), Some("Lonely description."));
        assert_eq!(described(&ddl), vec![("a", None)]);
    }

    #[test]
    fn description_between_name_and_parenthesis() {
        let ddl = parse_table("CREATE TABLE t -- Before the body.\n(\n  a INT -- A.\n)");
        assert_eq!(ddl.description.as_deref(), Some("Before the body."));
        let ddl = parse_table("CREATE TABLE t -- Header.\n( -- Paren line wins.\n  a INT\n)");
        assert_eq!(ddl.description.as_deref(), Some("Paren line wins."));
    }

    #[test]
    fn one_line_statement_comment_goes_to_the_table() {
        let ddl = parse_table("CREATE TABLE t (a INT, b INT) ");
        assert_eq!(ddl.description, None);
        let ddl = parse_table("CREATE TABLE t (a INT, -- What?\n b INT)");
        assert_eq!(ddl.description.as_deref(), Some("What?"));
        assert_eq!(described(&ddl), vec![("a", None), ("b", None)]);
    }

    #[test]
    fn checks_with_and_without_names() {
        let ddl = parse_table(
            "CREATE TABLE t (\n\
             \x20 price NUMERIC(10,2) NOT NULL CHECK (price >= 0), -- Price.\n\
             \x20 kind TEXT CHECK (kind IN ('a', 'b)')) CONSTRAINT k2 CHECK(length(kind) < 5),\n\
             \x20 CONSTRAINT \"positive\" CHECK (price > 0 OR (kind = 'a')),\n\
             \x20 CHECK (price < 1000)\n\
             )",
        );
        let checks: Vec<(Option<&str>, Option<&str>, &str)> =
            ddl.checks.iter().map(|c| (c.name.as_deref(), c.column.as_deref(), c.expression.as_str())).collect();
        assert_eq!(
            checks,
            vec![
                (None, Some("price"), "price >= 0"),
                (None, Some("kind"), "kind IN ('a', 'b)')"),
                (Some("k2"), Some("kind"), "length(kind) < 5"),
                (Some("positive"), None, "price > 0 OR (kind = 'a')"),
                (None, None, "price < 1000"),
            ]
        );
        assert_eq!(described(&ddl), vec![("price", Some("Price.")), ("kind", None)]);
    }

    #[test]
    fn malformed_text_never_panics() {
        for sql in ["", "CREATE TABLE t", "CREATE TABLE t (", "CREATE TABLE t (a CHECK (", "((((", "))) ,,", "( -- x"] {
            let ddl = parse_table(sql);
            assert!(ddl.checks.is_empty(), "{sql}");
        }
        assert_eq!(parse_table("CREATE TABLE t (a, b").columns.len(), 2);
    }

    #[test]
    fn view_descriptions() {
        assert_eq!(view_description("CREATE VIEW v AS -- Totals.\nSELECT 1").as_deref(), Some("Totals."));
        assert_eq!(view_description("CREATE VIEW v(a) -- Before AS.\nAS SELECT 1").as_deref(), Some("Before AS."));
        assert_eq!(view_description("CREATE VIEW v AS\n-- Own line.\nSELECT 1").as_deref(), Some("Own line."));
        assert_eq!(view_description("CREATE VIEW v AS SELECT 1 -- not the view's"), None);
        assert_eq!(view_description("CREATE VIEW v AS SELECT 1"), None);
    }
}
