//! Listing what exists: names and a cost hint only, one catalog query per
//! kind and database. The filter patterns are pushed into the queries so
//! that an excluded schema costs nothing (`filters`); the host applies them
//! again and has the last word. What the role cannot read is skipped here,
//! with a warning that names it, so that the run does not fail on it later.

use crate::connections;
use crate::filters::{self, Filters};
use crate::refs;
use crate::settings::Settings;
use weir_sdk::log::{self, Level};
use weir_sdk::sql::{Connection, Rows, Value};
use weir_sdk::{EntityKind, EntityRef, ErrorKind, Failure, Result};

const DATABASE: &str = include_str!("sql/discover_database.sql");
const DATABASES: &str = include_str!("sql/discover_databases.sql");
const SCHEMAS: &str = include_str!("sql/discover_schemas.sql");
const TABLES: &str = include_str!("sql/discover_tables.sql");
const PROCEDURES: &str = include_str!("sql/discover_procedures.sql");

/// Skipped objects named one per warning line, up to this many per call;
/// the rest are counted in one more line.
const NAMED_SKIPS: usize = 50;

pub fn discover(settings: &Settings, kind: EntityKind) -> Result<Vec<EntityRef>> {
    let mut skipped = Skipped::default();
    let refs = match kind {
        EntityKind::Database => databases(settings, &mut skipped),
        EntityKind::DatabaseSchema | EntityKind::Table | EntityKind::StoredProcedure => {
            in_every_database(settings, kind, &mut skipped)
        }
        // Not in `describe`'s kinds: nothing of that kind here.
        _ => Ok(Vec::new()),
    };
    skipped.warn();
    refs
}

/// The databases to ingest. Without `ingestAllDatabases`, the configured
/// one, after checking that it is the one the host connected to: every
/// path carries its name, and a mismatch would file the catalog of one
/// database under the name of another.
fn databases(settings: &Settings, skipped: &mut Skipped) -> Result<Vec<EntityRef>> {
    let conn = connections::open(connections::SOURCE)?;
    let names = if settings.ingest_all_databases {
        all_databases(&conn, settings, Some(skipped))?
    } else {
        let rows = conn.query(DATABASE, &[]).map_err(|e| e.context("reading the database name"))?;
        let connected: Option<String> = match rows.iter().next() {
            Some(row) => row.get("name")?,
            None => None,
        };
        check_connected(settings, connected)?;
        vec![settings.database.clone()]
    };
    Ok(names.into_iter().map(|name| entity_ref(EntityKind::Database, vec![name], 1)).collect())
}

fn check_connected(settings: &Settings, connected: Option<String>) -> Result<()> {
    match connected {
        Some(name) if name == settings.database => Ok(()),
        Some(name) => Err(Failure::config(format!(
            "the source connection is to database {name:?}, but connection.database says {:?}",
            settings.database
        ))),
        None => Err(Failure::permanent("current_database() returned nothing")),
    }
}

/// `ingestAllDatabases`: every database that accepts connections, is no
/// template and passes the pushed-down `databaseFilterPattern`. Those the
/// role may not connect to are skipped (and named when `skipped` is given:
/// database discovery names them, the other kinds need not repeat it).
fn all_databases(conn: &Connection, settings: &Settings, skipped: Option<&mut Skipped>) -> Result<Vec<String>> {
    let rows = filtered_query(conn, DATABASES, &[], &settings.filters, "listing databases")?;
    let mut names = Vec::new();
    let mut connected = None;
    let mut refused = Vec::new();
    for row in rows.iter() {
        let name: String = row.get("name")?;
        if row.get::<bool>("connected")? {
            connected = Some(name.clone());
        }
        if !row.get::<bool>("kept")? {
            continue;
        }
        if row.get::<bool>("can_connect")? {
            names.push(name);
        } else {
            refused.push(name);
        }
    }
    check_connected(settings, connected)?;
    if let Some(skipped) = skipped {
        for name in refused {
            let name = refs::dotted(&[name]);
            skipped.add(format!("database {name} skipped: the role may not connect to it (no CONNECT privilege)"));
        }
    }
    Ok(names)
}

/// Runs the discovery of `kind` in each database to ingest. A database
/// other than the configured one that cannot be read (its connection
/// refused, say) is skipped with a warning; the configured one failing
/// fails discovery, as it always has.
fn in_every_database(settings: &Settings, kind: EntityKind, skipped: &mut Skipped) -> Result<Vec<EntityRef>> {
    let databases = if settings.ingest_all_databases {
        let source = connections::open(connections::SOURCE)?;
        all_databases(&source, settings, None)?
    } else {
        vec![settings.database.clone()]
    };
    let mut refs = Vec::new();
    for database in databases {
        let found = connections::open_database(settings, &database)
            .and_then(|conn| in_database(&conn, settings, &database, kind, skipped));
        match found {
            Ok(found) => refs.extend(found),
            Err(e) if database == settings.database => return Err(e),
            Err(e) => {
                // The host already warns about every connection it denies
                // (a database its databaseFilterPattern excludes, say).
                let level = if e.kind == ErrorKind::Denied { Level::Info } else { Level::Warn };
                let name = refs::dotted(std::slice::from_ref(&database));
                let fields = [("kind", refs::kind_name(kind)), ("database", database.as_str())];
                log::log(level, &format!("database {name} skipped: {}", e.message), &fields);
            }
        }
    }
    Ok(refs)
}

fn in_database(
    conn: &Connection,
    settings: &Settings,
    database: &str,
    kind: EntityKind,
    skipped: &mut Skipped,
) -> Result<Vec<EntityRef>> {
    match kind {
        EntityKind::DatabaseSchema => schemas(conn, settings, database, skipped),
        EntityKind::Table => tables(conn, settings, database, skipped),
        EntityKind::StoredProcedure => procedures(conn, settings, database),
        _ => Ok(Vec::new()),
    }
}

fn schemas(conn: &Connection, settings: &Settings, database: &str, skipped: &mut Skipped) -> Result<Vec<EntityRef>> {
    let rows = filtered_query(conn, SCHEMAS, &[], &settings.filters, "listing schemas")?;
    let mut refs = Vec::new();
    for row in rows.iter() {
        let path = vec![database.to_string(), row.get("name")?];
        if row.get::<bool>("usable")? {
            refs.push(entity_ref(EntityKind::DatabaseSchema, path, 1));
        } else {
            let name = refs::dotted(&path);
            skipped.add(format!("schema {name} skipped: the role has no USAGE privilege on it"));
        }
    }
    Ok(refs)
}

fn tables(conn: &Connection, settings: &Settings, database: &str, skipped: &mut Skipped) -> Result<Vec<EntityRef>> {
    let params = [Value::Boolean(settings.include_tables), Value::Boolean(settings.include_views)];
    let rows = filtered_query(conn, TABLES, &params, &settings.filters, "listing tables and views")?;
    let mut refs = Vec::new();
    for row in rows.iter() {
        let path = vec![database.to_string(), row.get("schema")?, row.get("name")?];
        if row.get::<bool>("readable")? {
            let columns: i64 = row.get("column_count")?;
            refs.push(entity_ref(EntityKind::Table, path, cost(columns)));
        } else {
            let name = refs::dotted(&path);
            skipped.add(format!("table {name} skipped: the role has no SELECT privilege on it"));
        }
    }
    Ok(refs)
}

/// Functions and procedures, each keyed by its oid: overloads share a
/// path, and the key is what tells them apart in `process`.
fn procedures(conn: &Connection, settings: &Settings, database: &str) -> Result<Vec<EntityRef>> {
    let rows = filtered_query(conn, PROCEDURES, &[], &settings.filters, "listing stored procedures")?;
    rows.iter()
        .map(|row| {
            let oid: i64 = row.get("oid")?;
            let path = vec![database.to_string(), row.get("schema")?, row.get("name")?];
            Ok(EntityRef { kind: EntityKind::StoredProcedure, path, cost: 1, key: Some(oid.to_string()) })
        })
        .collect()
}

/// Runs a discover query with the pushed-down patterns as its last
/// parameter. PostgreSQL's regex dialect is not the host's: a pattern the
/// host accepts may be refused here, and that must not fail discovery, so
/// the query runs again with nothing pushed down.
fn filtered_query(conn: &Connection, sql: &str, params: &[Value], filters: &Filters, what: &str) -> Result<Rows> {
    let pushed = filters.param();
    let mut all = params.to_vec();
    all.push(Value::Text(pushed.clone()));
    match conn.query(sql, &all) {
        Err(e) if pushed != Filters::none() && filters::is_regex_error(&e) => {
            log::log(
                Level::Warn,
                &format!("{what}: PostgreSQL refused a filter pattern, so the patterns are applied by the host alone"),
                &[("error", &e.message)],
            );
            if let Some(last) = all.last_mut() {
                *last = Value::Text(Filters::none());
            }
            conn.query(sql, &all)
        }
        other => other,
    }
    .map_err(|e| e.context(what))
}

/// Work per table grows with its columns; a table without any still costs
/// a row in each query.
fn cost(columns: i64) -> u32 {
    u32::try_from(columns.max(1)).unwrap_or(u32::MAX)
}

fn entity_ref(kind: EntityKind, path: Vec<String>, cost: u32) -> EntityRef {
    EntityRef { kind, path, cost, key: None }
}

/// The objects one discover call skipped, for the warnings.
#[derive(Debug, Default)]
struct Skipped {
    messages: Vec<String>,
}

impl Skipped {
    fn add(&mut self, message: String) {
        self.messages.push(message);
    }

    /// One line per object up to `NAMED_SKIPS`, then one line for the
    /// rest: a role locked out of thousands of tables must not bury the
    /// log.
    fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.messages.iter().take(NAMED_SKIPS).cloned().collect();
        if self.messages.len() > NAMED_SKIPS {
            lines.push(format!(
                "{} more objects skipped because the role cannot read them (only the first {NAMED_SKIPS} are named)",
                self.messages.len() - NAMED_SKIPS
            ));
        }
        lines
    }

    fn warn(&self) {
        for line in self.lines() {
            log::warn(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_is_columns_at_least_one() {
        assert_eq!(cost(0), 1);
        assert_eq!(cost(14), 14);
        assert_eq!(cost(-3), 1);
        assert_eq!(cost(i64::MAX), u32::MAX);
    }

    #[test]
    fn skipped_objects_are_named_up_to_a_cap() {
        let mut few = Skipped::default();
        few.add("schema db.secret skipped".into());
        assert_eq!(few.lines(), vec!["schema db.secret skipped".to_string()]);

        let mut many = Skipped::default();
        for i in 0..NAMED_SKIPS + 7 {
            many.add(format!("table db.s.t{i} skipped"));
        }
        let lines = many.lines();
        assert_eq!(lines.len(), NAMED_SKIPS + 1);
        assert_eq!(lines[0], "table db.s.t0 skipped");
        assert!(lines[NAMED_SKIPS].starts_with("7 more objects skipped"), "{}", lines[NAMED_SKIPS]);
        assert!(Skipped::default().lines().is_empty());
    }

    #[test]
    fn the_connected_database_must_be_the_configured_one() {
        let settings = Settings {
            database: "pagila".into(),
            include_tables: true,
            include_views: true,
            ingest_all_databases: true,
            filters: Filters::default(),
        };
        assert!(check_connected(&settings, Some("pagila".into())).is_ok());
        let wrong = check_connected(&settings, Some("postgres".into())).err();
        assert!(matches!(wrong.map(|e| e.kind), Some(weir_sdk::ErrorKind::Config)));
        assert!(check_connected(&settings, None).is_err());
    }
}
