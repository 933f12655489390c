use sqlx::SqlitePool;

/// The catalog's layout version; a PostgreSQL catalog of a newer one is
/// refused rather than misread.
pub const VERSION: i64 = 4;

/// The PostgreSQL schema the catalog's tables live in, so a database
/// shared with other applications keeps them apart.
pub const PG_SCHEMA: &str = "weir_catalog";

/// The catalog's tables, the same on both engines (every column is text),
/// each name after `prefix` (`weir_catalog.` on PostgreSQL). `IF NOT
/// EXISTS` keeps opening an existing catalog cheap; a change of layout
/// bumps the version and adds a migration. An FQN is unique per kind, as
/// in OpenMetadata: Looker's dashboard 5 and element 5 are `svc.5` both.
fn tables(prefix: &str) -> String {
    format!(
        r#"
CREATE TABLE IF NOT EXISTS {prefix}service (
    name         TEXT PRIMARY KEY,
    service_type TEXT NOT NULL,
    document     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {prefix}entity {ENTITY_COLUMNS};
CREATE INDEX IF NOT EXISTS entity_parent ON {prefix}entity (parent);
CREATE INDEX IF NOT EXISTS entity_kind ON {prefix}entity (kind);
CREATE TABLE IF NOT EXISTS {prefix}relation (
    kind     TEXT NOT NULL,
    owner    TEXT NOT NULL,
    from_fqn TEXT NOT NULL,
    to_fqn   TEXT NOT NULL,
    name     TEXT NOT NULL DEFAULT '',
    document TEXT NOT NULL,
    PRIMARY KEY (kind, owner, from_fqn, to_fqn, name)
);
CREATE INDEX IF NOT EXISTS relation_owner ON {prefix}relation (owner);
CREATE INDEX IF NOT EXISTS entity_run ON {prefix}entity (run_id);
-- A run's relations until its phase 2 ends and they replace the old ones.
CREATE TABLE IF NOT EXISTS {prefix}relation_stage (
    run_id    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    owner     TEXT NOT NULL,
    from_fqn  TEXT NOT NULL,
    to_fqn    TEXT NOT NULL,
    name      TEXT NOT NULL DEFAULT '',
    document  TEXT NOT NULL,
    staged_at TEXT NOT NULL,
    PRIMARY KEY (run_id, kind, owner, from_fqn, to_fqn, name)
);
CREATE TABLE IF NOT EXISTS {prefix}run (
    id          TEXT PRIMARY KEY,
    service     TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    report      TEXT NOT NULL
);
"#
    )
}

/// The entity table's columns, for creating it and for migrating to it.
const ENTITY_COLUMNS: &str = r#"(
    fqn         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    parent      TEXT,
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    extra       TEXT NOT NULL DEFAULT '{}',
    source_hash TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT,
    PRIMARY KEY (fqn, kind)
)"#;

/// Version 4 marks what disappeared from the source instead of keeping it
/// as if it were there: `deleted_at` is when (NULL while it is there).
const DELETED_AT: &str = "ALTER TABLE {prefix}entity ADD COLUMN {if_absent}deleted_at TEXT;";

/// Version 1 keyed entities by FQN alone; its rows move to the new table.
const FROM_1: &str = r#"
INSERT INTO entity_v2 (fqn, kind, parent, name, document, extra, source_hash, run_id, updated_at)
    SELECT fqn, kind, parent, name, document, extra, source_hash, run_id, updated_at FROM entity;
DROP TABLE entity;
ALTER TABLE entity_v2 RENAME TO entity;
PRAGMA user_version = 2;
"#;

pub async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(pool).await?;
    if version == 1 {
        let migration = format!("BEGIN IMMEDIATE; CREATE TABLE entity_v2 {ENTITY_COLUMNS}; {FROM_1} COMMIT;");
        sqlx::raw_sql(sqlx::AssertSqlSafe(migration)).execute(pool).await?;
    } else if (2..4).contains(&version) {
        let migration = DELETED_AT.replace("{prefix}", "").replace("{if_absent}", "");
        sqlx::raw_sql(sqlx::AssertSqlSafe(migration)).execute(pool).await?;
    }
    let schema = format!("{}\nPRAGMA user_version = {VERSION};", tables(""));
    sqlx::raw_sql(sqlx::AssertSqlSafe(schema)).execute(pool).await?;
    Ok(())
}

/// How the catalog sits in a PostgreSQL database. Its advisory lock's key
/// is the bytes of `weir_cat`.
pub fn pg_layout() -> crate::engines::PgLayout {
    static SCRIPT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let script = SCRIPT.get_or_init(|| {
        format!(
            "CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA};\n{}\n{}\nCREATE TABLE IF NOT EXISTS {PG_SCHEMA}.schema_version (version BIGINT NOT NULL);",
            tables(&format!("{PG_SCHEMA}.")),
            DELETED_AT.replace("{prefix}", &format!("{PG_SCHEMA}.")).replace("{if_absent}", "IF NOT EXISTS ")
        )
    });
    crate::engines::PgLayout {
        application: "weir catalog",
        schema: PG_SCHEMA,
        script,
        lock: 0x7765_6972_5f63_6174,
        version: VERSION,
        sessions: 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;

    #[tokio::test]
    async fn a_version_1_catalog_is_migrated_and_keeps_its_entities() {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE entity (fqn TEXT PRIMARY KEY, kind TEXT NOT NULL, parent TEXT, name TEXT NOT NULL,
               document TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}', source_hash TEXT NOT NULL,
               run_id TEXT NOT NULL, updated_at TEXT NOT NULL);
             INSERT INTO entity VALUES ('svc.5', 'dashboard', 'svc', '5', '{}', '{}', 'h', 'r', 't');
             PRAGMA user_version = 1;",
        )
        .execute(&pool)
        .await
        .unwrap();
        migrate(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO entity (fqn, kind, parent, name, document, extra, source_hash, run_id, updated_at)
             VALUES ('svc.5', 'chart', 'svc', '5', '{}', '{}', 'h', 'r', 't')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM entity WHERE fqn = 'svc.5' ORDER BY kind")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(kinds, ["chart", "dashboard"]);
        let version: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&pool).await.unwrap();
        assert_eq!(version, VERSION, "and on to the current layout");
    }

    #[tokio::test]
    async fn a_version_3_catalog_gains_deleted_at_and_keeps_its_rows() {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE entity (fqn TEXT NOT NULL, kind TEXT NOT NULL, parent TEXT, name TEXT NOT NULL,
               document TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}', source_hash TEXT NOT NULL,
               run_id TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (fqn, kind));
             INSERT INTO entity VALUES ('svc.db', 'database', 'svc', 'db', '{}', '{}', 'h', 'r', 't');
             PRAGMA user_version = 3;",
        )
        .execute(&pool)
        .await
        .unwrap();
        migrate(&pool).await.unwrap();
        migrate(&pool).await.unwrap();
        let live: Vec<String> =
            sqlx::query_scalar("SELECT fqn FROM entity WHERE deleted_at IS NULL").fetch_all(&pool).await.unwrap();
        assert_eq!(live, ["svc.db"]);
    }
}
