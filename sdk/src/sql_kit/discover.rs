//! Listing what exists: names and a cost hint only, one catalog query per
//! kind and database. What cannot be read is skipped here, with a warning
//! that names it, so that the run does not fail on it later.

use super::{Engine, SOURCE, Settings, SqlConnector};
use crate::log::{self, Level};
use crate::refs::kind_name;
use crate::{EntityKind, EntityRef, ErrorKind, Failure, Result};

/// Skipped objects named one per warning line, up to this many per call;
/// the rest are counted in one more line.
const NAMED_SKIPS: usize = 50;

pub(super) fn discover<C: SqlConnector>(settings: &Settings<C::Pattern>, kind: EntityKind) -> Result<Vec<EntityRef>> {
    let mut skipped = Skipped::new(&C::ENGINE);
    let refs = match kind {
        EntityKind::Database => databases::<C>(settings, &mut skipped),
        EntityKind::DatabaseSchema | EntityKind::Table | EntityKind::StoredProcedure => {
            in_every_database::<C>(settings, kind, &mut skipped)
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
fn databases<C: SqlConnector>(settings: &Settings<C::Pattern>, skipped: &mut Skipped) -> Result<Vec<EntityRef>> {
    let conn = C::ENGINE.open(SOURCE)?;
    let names = if settings.ingest_all_databases {
        C::all_databases(&conn, settings, skipped)?
    } else {
        let connected = C::connected_database(&conn)?;
        check_connected(&C::ENGINE, settings, connected.as_deref())?;
        vec![settings.database.clone()]
    };
    Ok(names.into_iter().map(|name| entity_ref(EntityKind::Database, vec![name], 1)).collect())
}

/// Work per table grows with its columns; a table without any still costs
/// a row in each query.
pub fn cost(columns: i64) -> u32 {
    u32::try_from(columns.max(1)).unwrap_or(u32::MAX)
}

/// A ref without a key: all but those whose path names several objects.
pub fn entity_ref(kind: EntityKind, path: Vec<String>, cost: u32) -> EntityRef {
    EntityRef { kind, path, cost, key: None }
}

/// The connected database must be the configured one, as the engine
/// compares database names.
pub fn check_connected<P>(engine: &Engine, settings: &Settings<P>, connected: Option<&str>) -> Result<()> {
    match connected {
        Some(name) if (engine.same_database)(name, &settings.database) => Ok(()),
        Some(name) => Err(Failure::config(format!(
            "the source connection is to database {name:?}, but connection.database says {:?}",
            settings.database
        ))),
        None => Err(Failure::permanent(format!("{} returned nothing", engine.current_database))),
    }
}

/// Runs the discovery of `kind` in each database to ingest. A database
/// other than the configured one that cannot be read (its connection
/// refused, say) is skipped with a warning; the configured one failing
/// fails discovery.
fn in_every_database<C: SqlConnector>(
    settings: &Settings<C::Pattern>,
    kind: EntityKind,
    skipped: &mut Skipped,
) -> Result<Vec<EntityRef>> {
    let databases = if settings.ingest_all_databases {
        let source = C::ENGINE.open(SOURCE)?;
        // Database discovery names the databases it leaves out; the other
        // kinds need not repeat it.
        C::all_databases(&source, settings, &mut Skipped::new(&C::ENGINE))?
    } else {
        vec![settings.database.clone()]
    };
    let mut refs = Vec::new();
    for database in databases {
        let found = C::ENGINE
            .open_database(settings, &database)
            .and_then(|conn| C::discover_in(&conn, settings, &database, kind, skipped));
        match found {
            Ok(found) => refs.extend(found),
            Err(e) if database == settings.database => return Err(e),
            Err(e) => {
                // The host already warns about every connection it denies
                // (a database its databaseFilterPattern excludes, say).
                let level = if e.kind == ErrorKind::Denied { Level::Info } else { Level::Warn };
                let name = C::ENGINE.dotted(std::slice::from_ref(&database));
                let fields = [("kind", kind_name(kind)), ("database", database.as_str())];
                log::log(level, &format!("database {name} skipped: {}", e.message), &fields);
            }
        }
    }
    Ok(refs)
}

/// The objects one discover call skipped, for the warnings.
#[derive(Debug)]
pub struct Skipped {
    messages: Vec<String>,
    rest: &'static str,
}

impl Skipped {
    /// An empty list; its count line names the rest with
    /// [`Engine::skipped_rest`].
    pub fn new(engine: &Engine) -> Skipped {
        Skipped { messages: Vec::new(), rest: engine.skipped_rest }
    }

    /// Records one skipped object, `message` being its whole warning line
    /// (`schema db.secret skipped: ...`). What is added to the list the kit
    /// hands a connector is logged when the `discover` call ends.
    pub fn add(&mut self, message: String) {
        self.messages.push(message);
    }

    /// One line per object up to `NAMED_SKIPS`, then one line for the
    /// rest: a role locked out of thousands of tables must not bury the
    /// log.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.messages.iter().take(NAMED_SKIPS).cloned().collect();
        if self.messages.len() > NAMED_SKIPS {
            lines.push(format!(
                "{} more {} (only the first {NAMED_SKIPS} are named)",
                self.messages.len() - NAMED_SKIPS,
                self.rest
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
    use super::super::engine::tests::TEST_ENGINE;
    use super::*;
    use crate::filter::FilterPattern;

    #[test]
    fn cost_is_columns_at_least_one() {
        assert_eq!(cost(0), 1);
        assert_eq!(cost(14), 14);
        assert_eq!(cost(-3), 1);
        assert_eq!(cost(i64::MAX), u32::MAX);
    }

    #[test]
    fn skipped_objects_are_named_up_to_a_cap() {
        let mut few = Skipped::new(&TEST_ENGINE);
        few.add("schema db.secret skipped".into());
        assert_eq!(few.lines(), vec!["schema db.secret skipped".to_string()]);

        let mut many = Skipped::new(&TEST_ENGINE);
        for i in 0..NAMED_SKIPS + 7 {
            many.add(format!("table db.s.t{i} skipped"));
        }
        let lines = many.lines();
        assert_eq!(lines.len(), NAMED_SKIPS + 1);
        assert_eq!(lines[0], "table db.s.t0 skipped");
        assert_eq!(lines[NAMED_SKIPS], "7 more things skipped (only the first 50 are named)");
        assert!(Skipped::new(&TEST_ENGINE).lines().is_empty());
    }

    #[test]
    fn the_connected_database_must_be_the_configured_one() {
        let settings: Settings<FilterPattern> = Settings {
            database: "pagila".into(),
            include_tables: true,
            include_views: true,
            ingest_all_databases: true,
            filters: Default::default(),
        };
        assert!(check_connected(&TEST_ENGINE, &settings, Some("pagila")).is_ok());
        // The engine's comparison decides.
        assert!(check_connected(&TEST_ENGINE, &settings, Some("PAGILA")).is_ok());
        let wrong = check_connected(&TEST_ENGINE, &settings, Some("postgres")).err();
        assert!(matches!(wrong.map(|e| e.kind), Some(ErrorKind::Config)));
        let none = check_connected(&TEST_ENGINE, &settings, None).err();
        assert_eq!(none.map(|e| e.message).as_deref(), Some("current() returned nothing"));
    }
}
