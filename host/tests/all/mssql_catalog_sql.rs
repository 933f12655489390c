//! The SQL Server connector's catalog SQL, layer 2, "SQL text": with no
//! server here to run it on, every production query
//! (`plugins/mssql/src/sql/*.sql`) is checked as text. It must parse as one
//! T-SQL statement, pass the host's read-only check, and read only the
//! catalog views, and the columns of them, that Microsoft documents: the
//! written contract is `tests/mssql/catalog_views.txt`.
//!
//! The column check resolves every `alias.column` to the relation its alias
//! is bound to, scope by scope: a SELECT's FROM (joins, APPLY, derived
//! tables, OPENJSON ... WITH), the enclosing queries of a subquery, and the
//! CTEs of every enclosing WITH. A contract view's columns come from the
//! contract; a derived table's, a CTE's or an OPENJSON's from its own
//! definition. Where a statement reads more than one relation, a column
//! without its alias is refused: nobody reading it, nor this check, can
//! tell whose column it is.

use sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Statement, TableAlias, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::MsSqlDialect;
use sqlparser::parser::Parser;
use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use weir::caps::sql::mssql::read_only;

// ---------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------

/// Each documented view or row-set function, by name as documented, with
/// its columns (inherited ones included).
struct Contract {
    views: BTreeMap<String, Vec<String>>,
}

fn contract_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mssql/catalog_views.txt")
}

impl Contract {
    fn load() -> Contract {
        let path = contract_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Contract::parse(&text).unwrap_or_else(|problems| panic!("{}:\n{}", path.display(), problems.join("\n")))
    }

    /// Parses the contract; every fault in it is reported, together.
    fn parse(text: &str) -> Result<Contract, Vec<String>> {
        let mut problems = Vec::new();
        // name -> (line, inherits, own columns)
        let mut lines: BTreeMap<String, (usize, Option<String>, Vec<String>)> = BTreeMap::new();
        let mut previous = "";
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                previous = trimmed;
                continue;
            }
            if !previous.starts_with("# https://learn.microsoft.com/") {
                problems.push(format!("line {number}: no `# https://learn.microsoft.com/...` line right above it"));
            }
            previous = trimmed;
            let mut words = trimmed.split_whitespace();
            let name = words.next().unwrap_or_default().to_string();
            let mut inherits = None;
            let mut columns: Vec<String> = Vec::new();
            for word in words {
                if let Some(parent) = word.strip_prefix("inherits=") {
                    if inherits.is_some() || !columns.is_empty() {
                        problems.push(format!("line {number}: `inherits=` must come once, right after the name"));
                    }
                    inherits = Some(parent.to_string());
                } else if columns.iter().any(|c| c == word) {
                    problems.push(format!("line {number}: {name} lists `{word}` twice"));
                } else {
                    columns.push(word.to_string());
                }
            }
            if columns.is_empty() && inherits.is_none() {
                problems.push(format!("line {number}: {name} lists no column"));
            }
            if lines.insert(name.clone(), (number, inherits, columns)).is_some() {
                problems.push(format!("line {number}: {name} is listed twice"));
            }
        }
        let mut views = BTreeMap::new();
        for name in lines.keys() {
            let mut columns = Vec::new();
            let mut chain = vec![name.clone()];
            let mut current = name.clone();
            loop {
                let (number, inherits, own) = &lines[&current];
                // Inherited columns come first, as on the pages.
                columns.splice(0..0, own.iter().cloned());
                let Some(parent) = inherits else { break };
                if chain.contains(parent) {
                    problems.push(format!("line {number}: inheritance loop {} -> {parent}", chain.join(" -> ")));
                    break;
                }
                if !lines.contains_key(parent) {
                    problems.push(format!("line {number}: {current} inherits {parent}, which is not listed"));
                    break;
                }
                chain.push(parent.clone());
                current = parent.clone();
            }
            let mut seen = HashSet::new();
            for column in &columns {
                if !seen.insert(column.as_str()) {
                    problems.push(format!("{name}: `{column}` both inherited and listed as its own"));
                }
            }
            views.insert(name.clone(), columns);
        }
        if problems.is_empty() { Ok(Contract { views }) } else { Err(problems) }
    }

    /// The contract's name for a relation named `parts` (`sys.objects`,
    /// `db.sys.objects`, `STRING_SPLIT`): `Ok` when listed as written,
    /// `Err(Some(name))` when listed only in another case, `Err(None)`
    /// when not listed.
    fn find(&self, parts: &[&Ident]) -> Result<String, Option<String>> {
        // A database prefix names where the view is read, not which view.
        let start = parts.len().saturating_sub(2);
        let written = parts[start..].iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".");
        if self.views.contains_key(&written) {
            return Ok(written);
        }
        let folded = self.views.keys().find(|name| name.eq_ignore_ascii_case(&written)).cloned();
        match folded {
            // A built-in function's name is a keyword, not a catalog name:
            // its case does not matter.
            Some(name) if parts.len() == 1 => Ok(name),
            other => Err(other),
        }
    }
}

// ---------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------

/// What a name in FROM stands for.
#[derive(Clone, Debug)]
enum Source {
    /// A contract view, by its contract name.
    View(String),
    /// A derived table, CTE or OPENJSON ... WITH: its own columns.
    Own { what: String, columns: Vec<String> },
    /// A relation whose columns cannot be known here (a `*` projection, an
    /// unknown function): its columns are not checked.
    Opaque,
}

#[derive(Clone, Debug)]
struct Binding {
    name: String,
    source: Source,
}

/// The relations one SELECT's FROM binds, and the names of its results
/// (which its ORDER BY may use).
#[derive(Clone, Debug, Default)]
struct Scope {
    bindings: Vec<Binding>,
    outputs: Vec<String>,
}

/// A CTE in reach: its name and, when known, its columns.
type Cte = (String, Option<Vec<String>>);

struct Checker<'c> {
    contract: &'c Contract,
    /// How many relations the whole statement reads.
    relations: usize,
    problems: Vec<String>,
}

/// Every fault that `sql` has against the contract: `Err` lists them.
fn check_against(contract: &Contract, sql: &str) -> Result<(), Vec<String>> {
    let statements = Parser::parse_sql(&MsSqlDialect {}, sql).map_err(|e| vec![format!("does not parse: {e}")])?;
    let [Statement::Query(query)] = statements.as_slice() else {
        return Err(vec![format!("not one query but {} statement(s)", statements.len())]);
    };
    let mut counter = CountRelations(0);
    let _ = query.visit(&mut counter);
    let mut checker = Checker { contract, relations: counter.0, problems: Vec::new() };
    checker.query(query, &[], &[]);
    if checker.problems.is_empty() { Ok(()) } else { Err(checker.problems) }
}

struct CountRelations(usize);

impl Visitor for CountRelations {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if !matches!(factor, TableFactor::NestedJoin { .. }) {
            self.0 += 1;
        }
        ControlFlow::Continue(())
    }
}

impl Checker<'_> {
    /// Checks `query` in the scopes `outer` (innermost last) with the CTEs
    /// `ctes` in reach; returns the names of its result columns, when known.
    fn query(&mut self, query: &Query, outer: &[Scope], ctes: &[Cte]) -> Option<Vec<String>> {
        let mut ctes = ctes.to_vec();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let columns = alias_columns(&cte.alias).or_else(|| outputs(&cte.query.body));
                // In reach of its own body too: a recursive CTE reads itself.
                ctes.push((cte.alias.name.value.clone(), columns));
                self.query(&cte.query, outer, &ctes);
            }
        }
        let (columns, scope) = self.set_expr(&query.body, outer, &ctes);
        // ORDER BY sees the FROM of a plain SELECT, and the result names.
        let mut chain = outer.to_vec();
        chain.push(
            scope.unwrap_or_else(|| Scope { bindings: Vec::new(), outputs: columns.clone().unwrap_or_default() }),
        );
        if let Some(order_by) = &query.order_by {
            self.expressions(order_by, &chain, &ctes, true);
        }
        if let Some(limit) = &query.limit_clause {
            self.expressions(limit, &chain, &ctes, false);
        }
        if let Some(fetch) = &query.fetch {
            self.expressions(fetch, &chain, &ctes, false);
        }
        columns
    }

    /// Returns the result names, and for a plain SELECT its scope.
    fn set_expr(&mut self, body: &SetExpr, outer: &[Scope], ctes: &[Cte]) -> (Option<Vec<String>>, Option<Scope>) {
        match body {
            SetExpr::Select(select) => {
                let scope = self.select(select, outer, ctes);
                (Some(scope.outputs.clone()).filter(|_| !has_wildcard(select)), Some(scope))
            }
            SetExpr::Query(query) => (self.query(query, outer, ctes), None),
            SetExpr::SetOperation { left, right, .. } => {
                // The first operand names the results.
                let (columns, _) = self.set_expr(left, outer, ctes);
                self.set_expr(right, outer, ctes);
                (columns, None)
            }
            SetExpr::Values(values) => {
                self.expressions(values, outer, ctes, false);
                (None, None)
            }
            other => {
                self.problems.push(format!("unexpected `{}`", first_words(&other.to_string())));
                (None, None)
            }
        }
    }

    fn select(&mut self, select: &Select, outer: &[Scope], ctes: &[Cte]) -> Scope {
        let mut scope = Scope { bindings: Vec::new(), outputs: select_outputs(select) };
        for from in &select.from {
            self.bind(&from.relation, &mut scope, ctes);
            for join in &from.joins {
                self.bind(&join.relation, &mut scope, ctes);
            }
        }
        let mut chain = outer.to_vec();
        chain.push(scope.clone());
        for item in &select.projection {
            if let SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) = item
                && let Some(qualifier) = name.0.last().and_then(|part| part.as_ident())
                && find_binding(&chain, &qualifier.value).is_none()
            {
                self.problems.push(format!("`{name}.*`: `{qualifier}` names no relation in reach"));
            }
        }
        // Everything else of the SELECT: its list, ON and APPLY, WHERE,
        // GROUP BY, HAVING, and the subqueries in any of them (derived
        // tables included), each in this scope.
        self.expressions(select, &chain, ctes, false);
        scope
    }

    /// Adds what `factor` binds to `scope`.
    fn bind(&mut self, factor: &TableFactor, scope: &mut Scope, ctes: &[Cte]) {
        let (name, source) = match factor {
            TableFactor::Table { name, alias, args, .. } => {
                let parts: Vec<&Ident> = name.0.iter().filter_map(|part| part.as_ident()).collect();
                let Some(last) = parts.last() else { return };
                let cte = (parts.len() == 1 && args.is_none())
                    .then(|| ctes.iter().rev().find(|(cte, _)| cte.eq_ignore_ascii_case(&last.value)))
                    .flatten();
                let source = match cte {
                    Some((cte, Some(columns))) => Source::Own { what: format!("CTE {cte}"), columns: columns.clone() },
                    Some((_, None)) => Source::Opaque,
                    None => self.relation(name, &parts),
                };
                let source = match alias.as_ref().and_then(alias_columns) {
                    Some(columns) => Source::Own { what: format!("{name} renamed"), columns },
                    None => source,
                };
                (alias.as_ref().map_or_else(|| last.value.clone(), |a| a.name.value.clone()), source)
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let Some(alias) = alias else {
                    self.problems
                        .push(format!("a derived table without an alias: `{}`", first_words(&subquery.to_string())));
                    return;
                };
                let columns = alias_columns(alias).or_else(|| outputs(&subquery.body));
                let source = match columns {
                    Some(columns) => Source::Own { what: format!("derived table {}", alias.name), columns },
                    None => Source::Opaque,
                };
                (alias.name.value.clone(), source)
            }
            TableFactor::OpenJsonTable { columns, alias, .. } => {
                let columns = if columns.is_empty() {
                    self.contract.views.get("OPENJSON").cloned().unwrap_or_default()
                } else {
                    columns.iter().map(|column| column.name.value.clone()).collect()
                };
                let name = alias.as_ref().map_or_else(|| "OPENJSON".to_string(), |a| a.name.value.clone());
                (name.clone(), Source::Own { what: format!("OPENJSON {name}"), columns })
            }
            TableFactor::NestedJoin { table_with_joins, .. } => {
                self.bind(&table_with_joins.relation, scope, ctes);
                for join in &table_with_joins.joins {
                    self.bind(&join.relation, scope, ctes);
                }
                return;
            }
            TableFactor::Function { name, alias, .. } => {
                self.problems.push(format!("row-set function {name} is not in the contract"));
                (alias.as_ref().map_or_else(|| name.to_string(), |a| a.name.value.clone()), Source::Opaque)
            }
            other => {
                self.problems.push(format!("unexpected relation `{}`", first_words(&other.to_string())));
                return;
            }
        };
        scope.bindings.push(Binding { name, source });
    }

    /// The contract view that `name` reads, or a problem.
    fn relation(&mut self, name: &ObjectName, parts: &[&Ident]) -> Source {
        match self.contract.find(parts) {
            Ok(view) => Source::View(view),
            Err(Some(view)) => {
                self.problems.push(format!(
                    "relation `{name}`: the catalog spells it `{view}` (a case-sensitive database would not find it)"
                ));
                Source::View(view)
            }
            Err(None) => {
                let schema = parts.len().checked_sub(2).map(|i| parts[i].value.to_ascii_lowercase());
                let why = match schema.as_deref() {
                    Some("sys" | "information_schema") => "is not a view in the contract",
                    _ => "is not a catalog view (only sys.* and INFORMATION_SCHEMA.* are read)",
                };
                self.problems.push(format!("relation `{name}` {why} (tests/mssql/catalog_views.txt)"));
                Source::Opaque
            }
        }
    }

    /// Checks the column references in `node` against `chain`, then the
    /// subqueries in it with `chain` as their outer scopes.
    fn expressions<V: Visit>(&mut self, node: &V, chain: &[Scope], ctes: &[Cte], order_by: bool) {
        let mut refs = References::default();
        let _ = node.visit(&mut refs);
        for reference in &refs.columns {
            match reference {
                Reference::Qualified { qualifier, column, text } => match find_binding(chain, &qualifier.value) {
                    Some(binding) => self.column(binding, column, text),
                    None => self.problems.push(format!("`{text}`: `{qualifier}` names no relation in reach")),
                },
                Reference::Unqualified(column) => self.unqualified(column, chain, order_by),
            }
        }
        for query in &refs.queries {
            self.query(query, chain, ctes);
        }
    }

    fn unqualified(&mut self, column: &Ident, chain: &[Scope], order_by: bool) {
        let innermost = chain.last();
        if order_by && innermost.is_some_and(|s| s.outputs.iter().any(|o| o.eq_ignore_ascii_case(&column.value))) {
            return; // a result name
        }
        if self.relations > 1 {
            self.problems.push(format!(
                "`{column}` is not qualified, in a statement that reads {} relations: say whose column it is",
                self.relations
            ));
            return;
        }
        match chain.iter().rev().flat_map(|scope| &scope.bindings).next() {
            Some(binding) => {
                let binding = binding.clone();
                self.column(&binding, column, &column.value);
            }
            None => self.problems.push(format!("`{column}`: no relation in reach")),
        }
    }

    fn column(&mut self, binding: &Binding, column: &Ident, text: &str) {
        match &binding.source {
            Source::View(view) => {
                let columns = &self.contract.views[view];
                if columns.contains(&column.value) {
                    return;
                }
                match columns.iter().find(|c| c.eq_ignore_ascii_case(&column.value)) {
                    Some(spelled) => self.problems.push(format!(
                        "`{text}`: {view} spells it `{spelled}` (a case-sensitive database would not find it)"
                    )),
                    None => self.problems.push(format!("`{text}`: {view} has no column `{column}` in the contract")),
                }
            }
            Source::Own { what, columns } => {
                if !columns.iter().any(|c| c.eq_ignore_ascii_case(&column.value)) {
                    self.problems
                        .push(format!("`{text}`: {what} has no column `{column}` (it has {})", columns.join(", ")));
                }
            }
            Source::Opaque => {}
        }
    }
}

/// The binding `qualifier` names, innermost scope first.
fn find_binding<'s>(chain: &'s [Scope], qualifier: &str) -> Option<&'s Binding> {
    chain.iter().rev().find_map(|scope| scope.bindings.iter().find(|b| b.name.eq_ignore_ascii_case(qualifier)))
}

fn alias_columns(alias: &TableAlias) -> Option<Vec<String>> {
    (!alias.columns.is_empty()).then(|| alias.columns.iter().map(|c| c.name.value.clone()).collect())
}

/// The result names of a query body, when all are known: those of its
/// first SELECT.
fn outputs(body: &SetExpr) -> Option<Vec<String>> {
    match body {
        SetExpr::Select(select) if !has_wildcard(select) => Some(select_outputs(select)),
        SetExpr::Query(query) => outputs(&query.body),
        SetExpr::SetOperation { left, .. } => outputs(left),
        _ => None,
    }
}

fn has_wildcard(select: &Select) -> bool {
    select.projection.iter().any(|item| matches!(item, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)))
}

fn select_outputs(select: &Select) -> Vec<String> {
    select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            SelectItem::UnnamedExpr(Expr::Identifier(ident)) => Some(ident.value.clone()),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => parts.last().map(|p| p.value.clone()),
            _ => None,
        })
        .collect()
}

fn first_words(text: &str) -> String {
    text.split_whitespace().take(6).collect::<Vec<_>>().join(" ")
}

/// A column reference found in an expression.
enum Reference {
    Qualified { qualifier: Ident, column: Ident, text: String },
    Unqualified(Ident),
}

/// The column references of one scope's expressions, and the subqueries
/// in them (whose own references are left to their own scopes).
#[derive(Default)]
struct References {
    columns: Vec<Reference>,
    queries: Vec<Query>,
    /// How deep in a subquery the visit is.
    depth: usize,
    /// Expressions that are not column references: a date part
    /// (`DATEDIFF(day, ...)`), a table hint (`WITH (NOLOCK)`).
    skip: HashSet<*const Expr>,
    skipping: usize,
}

/// Functions whose first argument is a date part keyword, not a column.
const DATE_PART_FUNCTIONS: [&str; 7] =
    ["DATEADD", "DATEDIFF", "DATEDIFF_BIG", "DATENAME", "DATEPART", "DATETRUNC", "DATE_BUCKET"];

/// Words that parse as identifiers but are niladic functions.
const NILADIC: [&str; 5] = ["CURRENT_USER", "SESSION_USER", "SYSTEM_USER", "USER", "CURRENT_TIMESTAMP"];

/// Whether an identifier that stands alone may name a column: not a
/// parameter (`@P1`), nor a niladic function written without parentheses.
fn names_a_column(ident: &Ident) -> bool {
    let niladic = ident.quote_style.is_none() && NILADIC.iter().any(|word| word.eq_ignore_ascii_case(&ident.value));
    !ident.value.starts_with('@') && !niladic
}

impl Visitor for References {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if self.depth == 0 && self.skipping == 0 {
            self.queries.push(query.clone());
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { with_hints, .. } = factor {
            self.skip.extend(with_hints.iter().map(|hint| hint as *const Expr));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.skip.contains(&(expr as *const Expr)) {
            self.skipping += 1;
        }
        if self.depth > 0 || self.skipping > 0 {
            return ControlFlow::Continue(());
        }
        match expr {
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => self.columns.push(Reference::Qualified {
                qualifier: parts[parts.len() - 2].clone(),
                column: parts[parts.len() - 1].clone(),
                text: parts.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("."),
            }),
            Expr::Identifier(ident) if names_a_column(ident) => {
                self.columns.push(Reference::Unqualified(ident.clone()))
            }
            Expr::Function(function) => {
                let name = function.name.to_string();
                if DATE_PART_FUNCTIONS.iter().any(|f| f.eq_ignore_ascii_case(&name))
                    && let FunctionArguments::List(list) = &function.args
                    && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(first))) = list.args.first()
                {
                    self.skip.insert(first as *const Expr);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.skip.contains(&(expr as *const Expr)) {
            self.skipping -= 1;
        }
        ControlFlow::Continue(())
    }
}

// ---------------------------------------------------------------------------
// The production queries
// ---------------------------------------------------------------------------

fn sql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/mssql/src/sql")
}

/// Every `*.sql` file of the connector, by name, with its text.
fn production_queries() -> Vec<(String, String)> {
    let dir = sql_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<(String, String)> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no .sql file", dir.display());
    files
}

#[test]
fn every_query_is_one_tsql_select_that_only_reads() {
    let mut problems = Vec::new();
    for (file, text) in production_queries() {
        match Parser::parse_sql(&MsSqlDialect {}, &text) {
            Err(e) => problems.push(format!("{file}: does not parse as T-SQL: {e}")),
            Ok(statements) if statements.len() != 1 => {
                problems.push(format!("{file}: {} statements, not one", statements.len()))
            }
            Ok(_) => {}
        }
        if let Err(reason) = read_only::check(&text) {
            problems.push(format!("{file}: refused by the read-only check: {reason}"));
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn every_query_reads_only_documented_catalog_columns() {
    let contract = Contract::load();
    let mut problems = Vec::new();
    for (file, text) in production_queries() {
        if let Err(found) = check_against(&contract, &text) {
            problems.extend(found.into_iter().map(|problem| format!("{file}: {problem}")));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) against {}:\n{}",
        problems.len(),
        contract_path().display(),
        problems.join("\n")
    );
}

/// The spans of the `name.name` words of `sql` outside comments and string
/// literals: column references and relation names.
fn dotted_words(sql: &str) -> Vec<(usize, usize)> {
    let bytes = sql.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            b if word(b) => {
                let start = i;
                while i < bytes.len() && word(bytes[i]) {
                    i += 1;
                }
                // `a.b`, where `a` is no number.
                if !b.is_ascii_digit() && i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_alphabetic()
                {
                    i += 1;
                    while i < bytes.len() && word(bytes[i]) {
                        i += 1;
                    }
                    spans.push((start, i));
                }
            }
            _ => i += 1,
        }
    }
    spans
}

/// The check reaches every corner of every query: misspelling any one
/// `alias.column` (or `sys.view`) of a file, in a CTE, an APPLY, a subquery
/// or an ON clause, is reported.
#[test]
fn every_reference_in_the_queries_is_checked() {
    let contract = Contract::load();
    let mut unseen = Vec::new();
    let mut tried = 0;
    for (file, text) in production_queries() {
        if check_against(&contract, &text).is_err() {
            continue; // reported by every_query_reads_only_documented_catalog_columns
        }
        for (start, end) in dotted_words(&text) {
            tried += 1;
            let misspelt = format!("{}_zz{}", &text[..end], &text[end..]);
            if check_against(&contract, &misspelt).is_ok() {
                unseen.push(format!("{file}: `{}` misspelt went unnoticed", &text[start..end]));
            }
        }
    }
    assert!(tried > 0, "no `alias.column` found in the queries");
    assert!(unseen.is_empty(), "{} of {tried}:\n{}", unseen.len(), unseen.join("\n"));
}

// ---------------------------------------------------------------------------
// The contract and the checker themselves
// ---------------------------------------------------------------------------

#[test]
fn the_contract_covers_the_views_a_catalog_connector_reads() {
    let contract = Contract::load();
    let expected = [
        "sys.databases",
        "sys.schemas",
        "sys.objects",
        "sys.tables",
        "sys.views",
        "sys.procedures",
        "sys.columns",
        "sys.types",
        "sys.identity_columns",
        "sys.computed_columns",
        "sys.default_constraints",
        "sys.check_constraints",
        "sys.key_constraints",
        "sys.indexes",
        "sys.index_columns",
        "sys.foreign_keys",
        "sys.foreign_key_columns",
        "sys.extended_properties",
        "sys.sql_modules",
        "sys.synonyms",
        "sys.partitions",
        "sys.database_principals",
        "sys.all_objects",
        "sys.all_columns",
        "sys.parameters",
        "sys.sequences",
        "INFORMATION_SCHEMA.TABLES",
        "INFORMATION_SCHEMA.COLUMNS",
    ];
    let missing: Vec<_> = expected.iter().filter(|view| !contract.views.contains_key(**view)).collect();
    assert!(missing.is_empty(), "not in the contract: {missing:?}");
    // Inheritance is expanded: sys.tables has sys.objects' columns, then its own.
    let tables = &contract.views["sys.tables"];
    assert_eq!(tables[..12], contract.views["sys.objects"][..]);
    assert!(tables.contains(&"lob_data_space_id".to_string()));
    let identity = &contract.views["sys.identity_columns"];
    assert!(identity.contains(&"max_length".to_string()) && identity.contains(&"seed_value".to_string()));
    assert!(contract.views["sys.partitions"].contains(&"rows".to_string()));
}

#[test]
fn a_malformed_contract_is_refused() {
    let problems = Contract::parse(
        "sys.a x y\n# https://learn.microsoft.com/a\nsys.b inherits=sys.nowhere z\n# https://learn.microsoft.com/c\nsys.c w w\n",
    )
    .err()
    .expect("refused");
    let all = problems.join("\n");
    assert!(all.contains("line 1: no `# https://learn.microsoft.com/"), "{all}");
    assert!(all.contains("inherits sys.nowhere, which is not listed"), "{all}");
    assert!(all.contains("sys.c lists `w` twice"), "{all}");
}

/// The checker's verdict on an inline query: its problems, or none.
fn problems_of(sql: &str) -> Vec<String> {
    check_against(&Contract::load(), sql).err().unwrap_or_default()
}

#[test]
fn the_checker_reports_an_undocumented_column_and_an_unknown_view() {
    let column = problems_of("SELECT c.name, c.no_such_column AS x FROM sys.columns AS c WHERE c.object_id = @P1");
    assert_eq!(column.len(), 1, "{column:?}");
    assert!(column[0].contains("`c.no_such_column`") && column[0].contains("sys.columns"), "{column:?}");

    let view = problems_of("SELECT v.name FROM sys.no_such_view AS v");
    assert_eq!(view.len(), 1, "{view:?}");
    assert!(view[0].contains("sys.no_such_view") && view[0].contains("not a view in the contract"), "{view:?}");

    let user_table = problems_of("SELECT t.a FROM dbo.t AS t");
    assert!(user_table.iter().any(|p| p.contains("not a catalog view")), "{user_table:?}");
}

#[test]
fn the_checker_resolves_aliases_in_every_scope() {
    let cases: [(&str, &str); 9] = [
        // A column of an inherited view, through a join.
        (
            "SELECT t.name, t.create_date, c.max_length FROM sys.tables t JOIN sys.columns c ON c.object_id = t.object_id",
            "",
        ),
        (
            "SELECT t.name, t.nope FROM sys.tables t JOIN sys.columns c ON c.object_id = t.object_id",
            "`t.nope`: sys.tables",
        ),
        // The ON clause, a subquery, and a correlated reference to the outer query.
        (
            "SELECT o.name FROM sys.objects o WHERE EXISTS (SELECT 1 FROM sys.index_columns ic WHERE ic.object_id = o.object_id AND ic.key_ordnal = 1)",
            "`ic.key_ordnal`: sys.index_columns",
        ),
        // The same alias means different views in different scopes.
        (
            "SELECT o.name, (SELECT MAX(o.column_id) FROM sys.columns o WHERE o.object_id = 1) AS m FROM sys.objects o WHERE o.type = 'U'",
            "",
        ),
        (
            "SELECT o.name, (SELECT MAX(o.type_desc) FROM sys.columns o) AS m FROM sys.objects o",
            "`o.type_desc`: sys.columns",
        ),
        // OPENJSON ... WITH, CROSS APPLY of a derived table, ORDER BY a result name.
        (
            "SELECT j.s AS schema_name, x.n AS n FROM OPENJSON(@P1) WITH (s nvarchar(128) '$[0]', t nvarchar(128) '$[1]') AS j \
             CROSS APPLY (SELECT TOP (1) o.name AS n FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id \
             WHERE s.name = j.s AND o.name = j.t) AS x ORDER BY schema_name, n",
            "",
        ),
        (
            "SELECT j.u AS u FROM OPENJSON(@P1) WITH (s nvarchar(128) '$[0]') AS j",
            "`j.u`: OPENJSON j has no column `u`",
        ),
        // CTEs, and a derived table's own columns.
        (
            "WITH t AS (SELECT o.object_id AS id, o.name AS n FROM sys.objects o) \
             SELECT t.n, d.cnt FROM t JOIN (SELECT c.object_id AS id, COUNT(*) AS cnt FROM sys.columns c GROUP BY c.object_id) d ON d.id = t.id \
             WHERE t.missing = 1",
            "`t.missing`: CTE t has no column `missing`",
        ),
        // Unqualified columns, where more than one relation is read.
        (
            "SELECT name FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id",
            "`name` is not qualified, in a statement that reads 2 relations",
        ),
    ];
    let mut failures = Vec::new();
    for (sql, expected) in cases {
        let problems = problems_of(sql);
        let ok = if expected.is_empty() {
            problems.is_empty()
        } else {
            problems.len() == 1 && problems[0].contains(expected)
        };
        if !ok {
            failures.push(format!("{sql}\n  expected: {expected:?}\n  found: {problems:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_checker_lets_through_what_is_not_a_column() {
    for sql in [
        // One relation: unqualified names are its columns.
        "SELECT name, database_id FROM sys.databases WHERE HAS_DBACCESS(name) = 1 ORDER BY name",
        // Parameters, date parts, table hints, niladic functions.
        "SELECT o.name AS n, DATEDIFF(day, o.create_date, o.modify_date) AS age, CURRENT_USER AS u FROM sys.objects AS o WITH (NOLOCK) WHERE o.schema_id = @P1",
        // A result alias in ORDER BY, and `alias = expression` results.
        "SELECT n = o.name, s.name AS schema_name FROM sys.objects o JOIN sys.schemas s ON s.schema_id = o.schema_id ORDER BY schema_name, n",
        // UNION: ORDER BY the first operand's names.
        "SELECT v.name AS n FROM sys.views v UNION ALL SELECT t.name FROM sys.tables t ORDER BY n",
        // INFORMATION_SCHEMA, exactly as spelled.
        "SELECT c.TABLE_NAME, c.COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS c WHERE c.TABLE_SCHEMA = @P1",
    ] {
        assert_eq!(problems_of(sql), Vec::<String>::new(), "{sql}");
    }
}

#[test]
fn the_checker_minds_the_case_of_catalog_names() {
    let problems = problems_of("SELECT o.Name FROM SYS.OBJECTS o");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("spells it `sys.objects`"), "{problems:?}");
    assert!(problems[1].contains("spells it `name`"), "{problems:?}");
}
