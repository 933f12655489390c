//! The scaffolding every SQL connector repeats, so that a new one is its
//! statements, its type mapping and the few facts that set its engine
//! apart.
//!
//! A connector describes its engine in an [`Engine`] (names, the default
//! database, how messages quote a name) and implements [`SqlConnector`]:
//! how to list the server's databases, what discovery finds in one
//! database, and how a batch of one kind is read in one database. The kit
//! does the rest, and every [`SqlConnector`] is a [`Connector`]:
//!
//! - [`Settings`]: the workflow keys every SQL connector reads, checked
//!   up front, with the filter patterns in the form the connector keeps
//!   them ([`ReadPattern`]).
//! - [`Engine::open`], [`Engine::open_database`], [`label`]: which granted
//!   connection reads which database.
//! - discovery: the kinds in order, each in every database to ingest, a
//!   database that cannot be read skipped, and what the role cannot read
//!   named in capped warnings ([`Skipped`]).
//! - processing: refs checked and grouped by kind and by database
//!   ([`Wanted`]), each database through its own connection, a database
//!   that may not be reached failing its refs rather than the batch.

mod discover;
mod engine;
mod process;
mod settings;
mod wanted;

pub use discover::{Skipped, check_connected, cost, entity_ref};
pub use engine::{Engine, OTHER_DATABASES, SOURCE, SchemaText, label};
pub use process::per_database;
pub use settings::{Filters, ReadPattern, Settings};
pub use wanted::{Wanted, failure};

use crate::sql::Connection;
use crate::{Batch, Config, Connector, EntityKind, EntityRef, PluginInfo, Result};

/// A SQL connector: its engine's facts and the parts that read its
/// catalog. The kit implements [`Connector`] on top of it; an instance's
/// value is its `Default`.
pub trait SqlConnector: Default + 'static {
    /// The engine's facts: what `describe` answers, how messages name
    /// things, and which engine a granted connection must be.
    const ENGINE: Engine;

    /// How the connector keeps a `*FilterPattern`: compiled, to apply it
    /// itself, or as written, to push it into its queries.
    type Pattern: ReadPattern;

    /// The name the connected database gives itself, as the server reports
    /// it; `None` when it reports none. Errors say what was being read.
    fn connected_database(conn: &Connection) -> Result<Option<String>>;

    /// `ingestAllDatabases`: the server's databases to read, through
    /// `conn` on `source`. Checks the connected one is the configured one
    /// ([`check_connected`]); adds to `skipped` those it leaves out that
    /// the operator should hear about.
    fn all_databases(
        conn: &Connection,
        settings: &Settings<Self::Pattern>,
        skipped: &mut Skipped,
    ) -> Result<Vec<String>>;

    /// The refs of `kind` (schema, table or stored procedure) in
    /// `database`, read through `conn`.
    fn discover_in(
        conn: &Connection,
        settings: &Settings<Self::Pattern>,
        database: &str,
        kind: EntityKind,
        skipped: &mut Skipped,
    ) -> Result<Vec<EntityRef>>;

    /// The entities of `wanted`, all of `kind` and in `database`, read
    /// through that database's connection.
    fn process_in(conn: &Connection, database: &str, kind: EntityKind, wanted: &Wanted) -> Result<Batch>;

    /// The database entities of a batch. Each database through its own
    /// connection, unless the engine keeps one catalog for all of them.
    fn process_databases(settings: &Settings<Self::Pattern>, wanted: Wanted) -> Result<Batch> {
        per_database::<Self>(settings, EntityKind::Database, wanted)
    }
}

impl<C: SqlConnector> Connector for C {
    fn new() -> Self {
        C::default()
    }

    fn describe() -> PluginInfo {
        C::ENGINE.describe()
    }

    fn discover(&mut self, config: &Config, kind: EntityKind) -> Result<Vec<EntityRef>> {
        let settings = Settings::from_config(config, &C::ENGINE)?;
        discover::discover::<C>(&settings, kind)
    }

    fn process(&mut self, config: &Config, refs: Vec<EntityRef>) -> Result<Batch> {
        let settings = Settings::from_config(config, &C::ENGINE)?;
        process::process::<C>(&settings, refs)
    }
}
