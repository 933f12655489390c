use sqlx::SqlitePool;

/// The catalog's tables. `IF NOT EXISTS` keeps opening an existing file
/// cheap; a future change of layout bumps `user_version`.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS service (
    name         TEXT PRIMARY KEY,
    service_type TEXT NOT NULL,
    document     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entity (
    fqn         TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    parent      TEXT,
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    extra       TEXT NOT NULL DEFAULT '{}',
    source_hash TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entity_parent ON entity (parent);
CREATE INDEX IF NOT EXISTS entity_kind ON entity (kind);
CREATE TABLE IF NOT EXISTS relation (
    kind     TEXT NOT NULL,
    owner    TEXT NOT NULL,
    from_fqn TEXT NOT NULL,
    to_fqn   TEXT NOT NULL,
    name     TEXT NOT NULL DEFAULT '',
    document TEXT NOT NULL,
    PRIMARY KEY (kind, owner, from_fqn, to_fqn, name)
);
CREATE INDEX IF NOT EXISTS relation_owner ON relation (owner);
CREATE TABLE IF NOT EXISTS run (
    id          TEXT PRIMARY KEY,
    service     TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    report      TEXT NOT NULL
);
PRAGMA user_version = 1;
"#;

pub async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(SCHEMA).execute(pool).await?;
    Ok(())
}
