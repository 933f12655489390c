//! The state store's tables, on each engine. The queries in `mod.rs` are
//! written once for both (`$N` parameters, `ON CONFLICT`), so the tables
//! have the same names and columns on both; what differs is said here.

/// The schema version this weir writes. A store of a newer version is
/// refused rather than misread.
pub const VERSION: i64 = 8;

/// SQLite: one file per machine (`weir.statePath`). `seq` is numbered by
/// the one process that writes a run's records.
pub const SQLITE: &str = r#"
CREATE TABLE IF NOT EXISTS deferred (
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    owner  TEXT NOT NULL,
    target TEXT NOT NULL,
    record TEXT NOT NULL,
    -- the shard whose processing kept it, for runs whose shards run in
    -- separate processes: a shard run again replaces its records
    shard_id TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS document (
    run_id TEXT NOT NULL,
    fqn    TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (run_id, fqn)
);
-- The column names of each table a run wrote, for checking the far end
-- of its foreign keys in phase 2.
CREATE TABLE IF NOT EXISTS table_columns (
    run_id  TEXT NOT NULL,
    fqn     TEXT NOT NULL,
    columns TEXT NOT NULL,
    PRIMARY KEY (run_id, fqn)
);
CREATE TABLE IF NOT EXISTS run (
    run_id        TEXT PRIMARY KEY,
    service       TEXT NOT NULL,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    -- when the process started (Linux /proc), so a reused pid is told apart
    process_start TEXT NOT NULL,
    started_at    TEXT NOT NULL
);
-- The shards of a run's plan, for processes that each take some: claimed
-- with a lease (milliseconds since the epoch, by the store's clock), so the
-- shard of a process that died is taken again once its lease runs out.
CREATE TABLE IF NOT EXISTS shard (
    run_id      TEXT NOT NULL,
    shard_id    TEXT NOT NULL,
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    cost        INTEGER NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    owner       TEXT,
    lease_until INTEGER,
    outcome     TEXT,
    PRIMARY KEY (run_id, shard_id)
);
-- The databases and schemas a run wrote, for processes that write their
-- children: a table is written only under a schema that was.
CREATE TABLE IF NOT EXISTS written_parent (
    run_id TEXT NOT NULL,
    fqn    TEXT NOT NULL,
    kind   TEXT NOT NULL,
    PRIMARY KEY (run_id, fqn)
);
-- What the discovery of a run whose shards run in separate processes
-- found (its part of the run report, as JSON), for its finalize.
CREATE TABLE IF NOT EXISTS run_discovery (
    run_id      TEXT PRIMARY KEY,
    report      TEXT NOT NULL,
    -- 1 when the run's stages run in separate processes: no one process
    -- owns it, and it is kept until its finalize
    distributed INTEGER NOT NULL
);
-- The content hash of each entity last sent to a sink (`target`: the
-- OpenMetadata server or the file), so the next run sends only what
-- changed. The catalog keeps its own.
CREATE TABLE IF NOT EXISTS entity_hash (
    target  TEXT NOT NULL,
    service TEXT NOT NULL,
    kind    TEXT NOT NULL,
    fqn     TEXT NOT NULL,
    hash    TEXT NOT NULL,
    -- The last run that saw it in the source, sent or unchanged: what was
    -- not seen by a clean run is gone.
    seen_run TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (target, service, kind, fqn)
);
-- Per pipeline, the time (ms since the epoch) up to which every run is in
-- `target`, final: the next run reads only later runs. `run_id` is the
-- run that last moved it, and `held` says that run saw one unfinished
-- or refused at `until_ms + 1`, so later flushes of the same run do not
-- move it past that one.
CREATE TABLE IF NOT EXISTS run_cursor (
    target   TEXT NOT NULL,
    service  TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    until_ms BIGINT NOT NULL,
    run_id   TEXT NOT NULL,
    held     BIGINT NOT NULL,
    PRIMARY KEY (target, service, pipeline)
);
-- Every run this store has seen, kept after the run's own records are
-- forgotten: what `weir runs list` and `weir runs show` read. `summary` is
-- the run's counts as JSON (`state::RunSummary`), once it has ended.
CREATE TABLE IF NOT EXISTS run_history (
    run_id      TEXT PRIMARY KEY,
    service     TEXT NOT NULL,
    started_ms  BIGINT NOT NULL,
    ended_ms    BIGINT,
    status      TEXT NOT NULL,
    exit_code   BIGINT,
    distributed BIGINT NOT NULL,
    process     TEXT NOT NULL,
    summary     TEXT,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS run_history_started ON run_history (started_ms);
PRAGMA user_version = 8;
"#;

/// The PostgreSQL schema the tables live in; sessions put it on their
/// `search_path`, so a database shared with other applications keeps
/// weir's tables apart.
pub const PG_SCHEMA: &str = "weir_state";

/// PostgreSQL: one store for every process of a run (`weir.stateStore`),
/// pods on many machines among them. `seq` is the server's, since several
/// processes add records to one run at once. Created under an advisory
/// lock: `CREATE TABLE IF NOT EXISTS` from two sessions at once can still
/// collide.
pub const POSTGRES: &str = r#"
CREATE SCHEMA IF NOT EXISTS weir_state;
CREATE TABLE IF NOT EXISTS weir_state.deferred (
    run_id TEXT NOT NULL,
    seq    BIGINT GENERATED BY DEFAULT AS IDENTITY,
    kind   TEXT NOT NULL,
    owner  TEXT NOT NULL,
    target TEXT NOT NULL,
    record TEXT NOT NULL,
    shard_id TEXT,
    PRIMARY KEY (run_id, seq)
);
ALTER TABLE weir_state.deferred ADD COLUMN IF NOT EXISTS shard_id TEXT;
CREATE TABLE IF NOT EXISTS weir_state.document (
    run_id TEXT NOT NULL,
    fqn    TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (run_id, fqn)
);
CREATE TABLE IF NOT EXISTS weir_state.table_columns (
    run_id  TEXT NOT NULL,
    fqn     TEXT NOT NULL,
    columns TEXT NOT NULL,
    PRIMARY KEY (run_id, fqn)
);
CREATE TABLE IF NOT EXISTS weir_state.run (
    run_id        TEXT PRIMARY KEY,
    service       TEXT NOT NULL,
    host          TEXT NOT NULL,
    pid           BIGINT NOT NULL,
    process_start TEXT NOT NULL,
    started_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS weir_state.shard (
    run_id      TEXT NOT NULL,
    shard_id    TEXT NOT NULL,
    position    BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    cost        BIGINT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    BIGINT NOT NULL,
    owner       TEXT,
    lease_until BIGINT,
    outcome     TEXT,
    PRIMARY KEY (run_id, shard_id)
);
CREATE TABLE IF NOT EXISTS weir_state.written_parent (
    run_id TEXT NOT NULL,
    fqn    TEXT NOT NULL,
    kind   TEXT NOT NULL,
    PRIMARY KEY (run_id, fqn)
);
CREATE TABLE IF NOT EXISTS weir_state.run_discovery (
    run_id      TEXT PRIMARY KEY,
    report      TEXT NOT NULL,
    distributed BIGINT NOT NULL
);
-- Added while version 4 was being made: a store from then gains it.
ALTER TABLE weir_state.run_discovery ADD COLUMN IF NOT EXISTS distributed BIGINT NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS weir_state.entity_hash (
    target  TEXT NOT NULL,
    service TEXT NOT NULL,
    kind    TEXT NOT NULL,
    fqn     TEXT NOT NULL,
    hash    TEXT NOT NULL,
    -- The last run that saw it in the source, sent or unchanged: what was
    -- not seen by a clean run is gone.
    seen_run TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (target, service, kind, fqn)
);
-- Version 6: a store of version 5 gains it.
ALTER TABLE weir_state.entity_hash ADD COLUMN IF NOT EXISTS seen_run TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS weir_state.run_cursor (
    target   TEXT NOT NULL,
    service  TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    until_ms BIGINT NOT NULL,
    run_id   TEXT NOT NULL,
    held     BIGINT NOT NULL,
    PRIMARY KEY (target, service, pipeline)
);
CREATE TABLE IF NOT EXISTS weir_state.run_history (
    run_id      TEXT PRIMARY KEY,
    service     TEXT NOT NULL,
    started_ms  BIGINT NOT NULL,
    ended_ms    BIGINT,
    status      TEXT NOT NULL,
    exit_code   BIGINT,
    distributed BIGINT NOT NULL,
    process     TEXT NOT NULL,
    summary     TEXT,
    error       TEXT
);
CREATE INDEX IF NOT EXISTS run_history_started ON weir_state.run_history (started_ms);
CREATE TABLE IF NOT EXISTS weir_state.schema_version (
    version BIGINT NOT NULL
);
"#;

/// How the store sits in a PostgreSQL database. Its advisory lock's key
/// is the bytes of `weir_sta`.
pub const PG_LAYOUT: crate::engines::PgLayout = crate::engines::PgLayout {
    application: "weir state store",
    schema: PG_SCHEMA,
    script: POSTGRES,
    lock: 0x7765_6972_5f73_7461,
    version: VERSION,
    sessions: 4,
};

/// Brings a SQLite store written by an older weir up to this schema: the
/// script above creates what is missing, but cannot add a column.
pub async fn upgrade_sqlite(pool: &sqlx::SqlitePool) -> Result<(), sqlx::Error> {
    const ADDED: [(&str, &str, &str); 2] = [
        ("deferred", "shard_id", "ALTER TABLE deferred ADD COLUMN shard_id TEXT"),
        ("entity_hash", "seen_run", "ALTER TABLE entity_hash ADD COLUMN seen_run TEXT NOT NULL DEFAULT ''"),
    ];
    for (table, column, add) in ADDED {
        let has: i64 = sqlx::query_scalar("SELECT count(*) FROM pragma_table_info($1) WHERE name = $2")
            .bind(table)
            .bind(column)
            .fetch_one(pool)
            .await?;
        if has == 0 {
            sqlx::query(add).execute(pool).await?;
        }
    }
    Ok(())
}
