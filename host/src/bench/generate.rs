//! A synthetic catalog in PostgreSQL: `schemas` × `tables` tables of 20
//! columns of mixed types, each with a primary key and a unique constraint;
//! a foreign key on every other table (a tenth of them cross-schema, one
//! self-referencing), comments on about 30 % of tables and columns, and one
//! view per 20 tables over a table of the same schema.
//!
//! Everything is deterministic (derived from the indexes), so two runs
//! generate the same catalog. A schema is a few big scripts (25 tables
//! each), each sent with the simple query protocol in one round trip inside
//! a transaction; schemas go out over several connections at once.
//! Cross-schema foreign keys come last, in a few more scripts, so no two
//! transactions lock each other's tables.

use super::target::PgUrl;
use super::{BenchError, sql};
use serde::Serialize;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The enum type every table uses, created once.
pub const ENUM_TYPE: &str = "public.bench_status";
/// One view per this many tables (5 %).
const VIEW_EVERY: usize = 20;
/// Tables per transaction. Each new table holds about six locks (table,
/// TOAST table and index, two indexes, ...) until its transaction ends,
/// and the server's lock table is shared: 64 × max_connections slots by
/// default. 25 tables × 16 connections stays well inside.
pub const TABLES_PER_SCRIPT: usize = 25;

/// How big a catalog to generate.
#[derive(Debug, Clone, Copy)]
pub struct GenSpec {
    pub schemas: usize,
    /// Tables per schema (views come on top).
    pub tables: usize,
    /// Connections sending schema scripts at once.
    pub jobs: usize,
    /// Drop and recreate the database first.
    pub drop: bool,
}

/// What the generator created, counted in `pg_catalog` afterwards.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenStats {
    pub database: String,
    pub schemas: u64,
    pub tables: u64,
    pub views: u64,
    pub columns: u64,
    pub primary_keys: u64,
    pub unique_constraints: u64,
    pub foreign_keys: u64,
    pub cross_schema_foreign_keys: u64,
    pub table_comments: u64,
    pub column_comments: u64,
    /// Bytes of DDL sent.
    pub script_bytes: usize,
    pub elapsed_secs: f64,
    /// Of which: dropping and creating the database,
    pub prepare_secs: f64,
    /// the DDL scripts themselves,
    pub ddl_secs: f64,
    /// and settling: VACUUM (ANALYZE) of the catalog tables, CHECKPOINT.
    pub settle_secs: f64,
}

/// Names and shapes, by index.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub schemas: usize,
    pub tables: usize,
}

/// Where a table's foreign key points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignKey {
    /// To a table in the same schema (itself, for the very first table).
    Local(usize),
    /// To table `.1` of schema `.0`.
    Remote(usize, usize),
}

impl Layout {
    pub fn schema(&self, s: usize) -> String {
        format!("s{s:0w$}", w = digits(self.schemas))
    }

    pub fn table(&self, t: usize) -> String {
        format!("t{t:0w$}", w = digits(self.tables))
    }

    pub fn view(&self, t: usize) -> String {
        format!("v{t:0w$}", w = digits(self.tables))
    }

    /// Every other table has a foreign key: even ones point at the table
    /// before them, every tenth at the same table of the previous schema,
    /// and table 0 of schema 0 at itself.
    pub fn foreign_key(&self, s: usize, t: usize) -> Option<ForeignKey> {
        if t % 2 == 1 {
            return None;
        }
        Some(if t.is_multiple_of(10) && s > 0 {
            ForeignKey::Remote(s - 1, t)
        } else if t == 0 {
            ForeignKey::Local(0)
        } else {
            ForeignKey::Local(t - 1)
        })
    }

    pub fn has_view(&self, t: usize) -> bool {
        t.is_multiple_of(VIEW_EVERY)
    }

    /// Three tables in ten.
    pub fn table_comment(&self, s: usize, t: usize) -> bool {
        (s + t) % 10 < 3
    }

    /// Three columns in ten, spread differently per table.
    pub fn column_comment(&self, s: usize, t: usize, c: usize) -> bool {
        (s * 7 + t * 3 + c) % 10 < 3
    }

    /// The 20 columns of table `t`: (name, type and column constraints).
    pub fn columns(&self, t: usize) -> [(&'static str, String); 20] {
        [
            ("id", "bigint NOT NULL".into()),
            ("code", format!("varchar({}) NOT NULL", 24 + (t % 4) * 8)),
            ("qty", "integer".into()),
            ("total", "bigint".into()),
            ("name", "text".into()),
            ("label", format!("varchar({})", 40 + (t % 5) * 20)),
            ("amount", format!("numeric({},{})", 10 + t % 9, 2 + t % 3)),
            ("created_at", "timestamptz NOT NULL DEFAULT now()".into()),
            ("payload", "jsonb".into()),
            ("ext_id", "uuid".into()),
            ("active", "boolean NOT NULL DEFAULT true".into()),
            ("scores", "integer[]".into()),
            ("tags", "text[]".into()),
            ("status", format!("{ENUM_TYPE} DEFAULT 'new'")),
            ("ref_id", "bigint".into()),
            ("rate", "double precision".into()),
            ("born", "date".into()),
            ("flags", "smallint".into()),
            ("updated_at", "timestamptz".into()),
            ("doc", "bytea".into()),
        ]
    }

    /// The DDL of one schema, in scripts of at most [`TABLES_PER_SCRIPT`]
    /// tables, to run in order: tables with their keys (and the local
    /// foreign keys), comments, views.
    pub fn schema_scripts(&self, s: usize) -> Vec<String> {
        let starts = (0..self.tables.max(1)).step_by(TABLES_PER_SCRIPT);
        starts.map(|first| self.schema_script(s, first..self.tables.min(first + TABLES_PER_SCRIPT))).collect()
    }

    /// The DDL of tables `range` of schema `s`; the first script also
    /// creates the schema.
    pub fn schema_script(&self, s: usize, range: std::ops::Range<usize>) -> String {
        let schema = self.schema(s);
        let mut out = String::with_capacity(range.len() * 1800 + 100);
        if range.start == 0 {
            let _ = writeln!(out, "CREATE SCHEMA {schema};");
            let _ = writeln!(out, "COMMENT ON SCHEMA {schema} IS {};", literal(&format!("Bench schema {s}")));
        }
        for t in range {
            let table = self.table(t);
            let _ = writeln!(out, "CREATE TABLE {schema}.{table} (");
            for (name, ty) in self.columns(t) {
                let _ = writeln!(out, "    {name} {ty},");
            }
            let _ = write!(
                out,
                "    CONSTRAINT {table}_pkey PRIMARY KEY (id),\n    CONSTRAINT {table}_code_key UNIQUE (code)"
            );
            if let Some(ForeignKey::Local(target)) = self.foreign_key(s, t) {
                let _ = write!(
                    out,
                    ",\n    CONSTRAINT {table}_ref_fkey FOREIGN KEY (ref_id) REFERENCES {schema}.{} (id)",
                    self.table(target)
                );
            }
            out.push_str("\n);\n");
            if self.table_comment(s, t) {
                let text = format!("Synthetic table {schema}.{table}: it's generated by weir bench.\nSecond line.");
                let _ = writeln!(out, "COMMENT ON TABLE {schema}.{table} IS {};", literal(&text));
            }
            for (c, (name, _)) in self.columns(t).iter().enumerate() {
                if self.column_comment(s, t, c) {
                    let text = format!("Column {name} of {table} (\"{c}\")");
                    let _ = writeln!(out, "COMMENT ON COLUMN {schema}.{table}.{name} IS {};", literal(&text));
                }
            }
            if self.has_view(t) {
                let _ = writeln!(
                    out,
                    "CREATE VIEW {schema}.{} AS SELECT id, code, name, amount, status, created_at FROM {schema}.{table} WHERE active;",
                    self.view(t)
                );
            }
        }
        out
    }

    /// The cross-schema foreign keys, in scripts of at most
    /// [`TABLES_PER_SCRIPT`] × 10 statements (two locks each).
    pub fn remote_keys_scripts(&self) -> Vec<String> {
        let mut scripts = Vec::new();
        let mut out = String::new();
        let mut statements = 0;
        for s in 0..self.schemas {
            for t in 0..self.tables {
                if let Some(ForeignKey::Remote(rs, rt)) = self.foreign_key(s, t) {
                    if statements == TABLES_PER_SCRIPT * 10 {
                        scripts.push(std::mem::take(&mut out));
                        statements = 0;
                    }
                    statements += 1;
                    let _ = writeln!(
                        out,
                        "ALTER TABLE {}.{table} ADD CONSTRAINT {table}_ref_fkey FOREIGN KEY (ref_id) REFERENCES {}.{} (id);",
                        self.schema(s),
                        self.schema(rs),
                        self.table(rt),
                        table = self.table(t),
                    );
                }
            }
        }
        if !out.is_empty() {
            scripts.push(out);
        }
        scripts
    }
}

/// Digits of the largest index, at least 3.
fn digits(count: usize) -> usize {
    count.saturating_sub(1).to_string().len().max(3)
}

/// A SQL string literal (standard_conforming_strings, on since 9.1).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A SQL identifier, quoted.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Creates (or with `drop`, recreates) the database and fills it.
pub async fn generate(url: &PgUrl, spec: GenSpec) -> Result<GenStats, BenchError> {
    url.check_dedicated()?;
    let started = Instant::now();
    let layout = Layout { schemas: spec.schemas, tables: spec.tables };
    let database = url.database().to_string();

    prepare_database(url, &layout, spec.drop).await?;
    let prepare_secs = started.elapsed().as_secs_f64();

    let mut conn = connect(url).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DO $$ BEGIN CREATE TYPE {ENUM_TYPE} AS ENUM ('new', 'active', 'suspended', 'closed'); \
         EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
    )))
    .execute(&mut conn)
    .await
    .map_err(sql(format!("create the enum type {ENUM_TYPE}")))?;

    let ddl_started = Instant::now();
    let bytes = run_schemas(url, layout, spec.jobs.max(1)).await?;
    let mut remote_bytes = 0;
    for script in layout.remote_keys_scripts() {
        remote_bytes += script.len();
        in_transaction(&mut conn, script, "add the cross-schema foreign keys").await?;
    }
    let ddl_secs = ddl_started.elapsed().as_secs_f64();
    // Settle: vacuum and analyze the catalog tables, as autovacuum soon
    // would (statistics for the ingestion's catalog queries, hint bits
    // set), then a checkpoint, so that the benchmark does not share the
    // disk with the checkpointer flushing tens of thousands of new files.
    let settle_started = Instant::now();
    sqlx::raw_sql(
        "VACUUM (ANALYZE) pg_catalog.pg_class, pg_catalog.pg_attribute, pg_catalog.pg_constraint, \
         pg_catalog.pg_description, pg_catalog.pg_namespace, pg_catalog.pg_type, \
         pg_catalog.pg_attrdef, pg_catalog.pg_depend, pg_catalog.pg_rewrite",
    )
    .execute(&mut conn)
    .await
    .map_err(sql("vacuum and analyze the catalog tables"))?;
    sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await.map_err(sql("checkpoint"))?;
    let settle_secs = settle_started.elapsed().as_secs_f64();

    let mut stats = count(&mut conn, &database).await?;
    let _ = conn.close().await;
    stats.script_bytes = bytes + remote_bytes;
    stats.prepare_secs = prepare_secs;
    stats.ddl_secs = ddl_secs;
    stats.settle_secs = settle_secs;
    stats.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(stats)
}

async fn connect(url: &PgUrl) -> Result<PgConnection, BenchError> {
    url.options().connect().await.map_err(|source| BenchError::Connect { target: url.describe(), source })
}

/// Creates the database if missing; with `drop`, drops it first. Without
/// `drop`, refuses a database that already holds a generated catalog.
async fn prepare_database(url: &PgUrl, layout: &Layout, drop: bool) -> Result<(), BenchError> {
    let target = url.describe();
    let mut admin = url
        .maintenance()
        .connect()
        .await
        .map_err(|source| BenchError::Connect { target: format!("the maintenance database of {target}"), source })?;
    let database = url.database();
    if drop {
        sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(database))))
            .execute(&mut admin)
            .await
            .map_err(sql(format!("drop database {database}")))?;
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(database)
        .fetch_one(&mut admin)
        .await
        .map_err(sql("look the database up"))?;
    if !exists {
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {}", ident(database))))
            .execute(&mut admin)
            .await
            .map_err(sql(format!("create database {database}")))?;
    }
    let _ = admin.close().await;
    if exists {
        let mut conn = connect(url).await?;
        let first = layout.schema(0);
        let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&first)
            .fetch_one(&mut conn)
            .await
            .map_err(sql("look for an earlier catalog"))?;
        let _ = conn.close().await;
        if taken {
            return Err(BenchError::Exists { database: database.to_string(), schema: first });
        }
    }
    Ok(())
}

/// Sends every schema's script, `jobs` connections at once; returns the
/// bytes sent.
async fn run_schemas(url: &PgUrl, layout: Layout, jobs: usize) -> Result<usize, BenchError> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..jobs.min(layout.schemas.max(1)) {
        let next = next.clone();
        let url = url.clone();
        tasks.spawn(async move {
            let mut conn = connect(&url).await?;
            let mut bytes = 0;
            loop {
                let s = next.fetch_add(1, Ordering::Relaxed);
                if s >= layout.schemas {
                    break;
                }
                for script in layout.schema_scripts(s) {
                    bytes += script.len();
                    in_transaction(&mut conn, script, &format!("create schema {}", layout.schema(s))).await?;
                }
            }
            let _ = conn.close().await;
            Ok::<usize, BenchError>(bytes)
        });
    }
    let mut total = 0;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(bytes)) => total += bytes,
            Ok(Err(err)) => {
                // Stop the other connections: their work is wasted now.
                tasks.abort_all();
                first_error.get_or_insert(err);
            }
            Err(err) if err.is_cancelled() => {}
            Err(err) => {
                first_error.get_or_insert(BenchError::Task(err.to_string()));
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(total),
    }
}

/// One script, one round trip, one transaction.
async fn in_transaction(conn: &mut PgConnection, script: String, step: &str) -> Result<(), BenchError> {
    let mut tx = conn.begin().await.map_err(sql(format!("{step}: begin")))?;
    sqlx::raw_sql(AssertSqlSafe(script)).execute(&mut *tx).await.map_err(sql(step.to_string()))?;
    tx.commit().await.map_err(sql(format!("{step}: commit")))?;
    Ok(())
}

/// Counts what is in the database now, from `pg_catalog`.
async fn count(conn: &mut PgConnection, database: &str) -> Result<GenStats, BenchError> {
    const COUNTS: &str = r#"
WITH rel AS (
    SELECT c.oid, c.relkind, c.relnamespace
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' AND c.relkind IN ('r', 'v')
),
con AS (
    SELECT k.contype, k.conrelid, k.confrelid, c.relnamespace AS ns, f.relnamespace AS fns
    FROM pg_constraint k
    JOIN rel c ON c.oid = k.conrelid
    LEFT JOIN pg_class f ON f.oid = k.confrelid
)
SELECT
    (SELECT count(DISTINCT relnamespace) FROM rel WHERE relkind = 'r')::int8 AS schemas,
    (SELECT count(*) FROM rel WHERE relkind = 'r')::int8 AS tables,
    (SELECT count(*) FROM rel WHERE relkind = 'v')::int8 AS views,
    (SELECT count(*) FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid
      WHERE a.attnum > 0 AND NOT a.attisdropped)::int8 AS columns,
    (SELECT count(*) FROM con WHERE contype = 'p')::int8 AS primary_keys,
    (SELECT count(*) FROM con WHERE contype = 'u')::int8 AS unique_constraints,
    (SELECT count(*) FROM con WHERE contype = 'f')::int8 AS foreign_keys,
    (SELECT count(*) FROM con WHERE contype = 'f' AND ns <> fns)::int8 AS cross_schema,
    (SELECT count(*) FROM pg_description d JOIN rel ON rel.oid = d.objoid
      WHERE d.classoid = 'pg_class'::regclass AND d.objsubid = 0 AND rel.relkind = 'r')::int8 AS table_comments,
    (SELECT count(*) FROM pg_description d JOIN rel ON rel.oid = d.objoid
      WHERE d.classoid = 'pg_class'::regclass AND d.objsubid > 0)::int8 AS column_comments
"#;
    let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) =
        sqlx::query_as(COUNTS).fetch_one(conn).await.map_err(sql("count what was generated"))?;
    let n = |v: i64| u64::try_from(v).unwrap_or_default();
    Ok(GenStats {
        database: database.to_string(),
        schemas: n(row.0),
        tables: n(row.1),
        views: n(row.2),
        columns: n(row.3),
        primary_keys: n(row.4),
        unique_constraints: n(row.5),
        foreign_keys: n(row.6),
        cross_schema_foreign_keys: n(row.7),
        table_comments: n(row.8),
        column_comments: n(row.9),
        script_bytes: 0,
        elapsed_secs: 0.0,
        prepare_secs: 0.0,
        ddl_secs: 0.0,
        settle_secs: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_issue() {
        let layout = Layout { schemas: 100, tables: 100 };
        let (mut fks, mut remote, mut views, mut comments, mut column_comments) = (0, 0, 0, 0, 0);
        for s in 0..100 {
            for t in 0..100 {
                match layout.foreign_key(s, t) {
                    Some(ForeignKey::Remote(rs, _)) => {
                        assert_eq!(rs + 1, s);
                        remote += 1;
                        fks += 1;
                    }
                    Some(ForeignKey::Local(target)) => {
                        assert!(target < t || (s, t) == (0, 0), "a local key points backwards");
                        fks += 1;
                    }
                    None => {}
                }
                views += usize::from(layout.has_view(t));
                comments += usize::from(layout.table_comment(s, t));
                column_comments += (0..20).filter(|c| layout.column_comment(s, t, *c)).count();
            }
        }
        assert_eq!(fks, 5_000);
        assert_eq!(remote, 990);
        assert_eq!(views, 500);
        assert_eq!(comments, 3_000);
        assert_eq!(column_comments, 60_000);
        assert_eq!(layout.schema(7), "s007");
        assert_eq!(Layout { schemas: 5000, tables: 3 }.schema(7), "s0007");
    }

    #[test]
    fn a_schema_is_one_script() {
        let layout = Layout { schemas: 2, tables: 20 };
        let script = layout.schema_scripts(1).concat();
        assert_eq!(layout.schema_scripts(1).len(), 1);
        assert_eq!(Layout { schemas: 1, tables: 100 }.schema_scripts(0).len(), 4);
        assert_eq!(Layout { schemas: 1, tables: 101 }.schema_scripts(0).len(), 5);
        assert_eq!(script.matches("CREATE TABLE ").count(), 20);
        assert_eq!(script.matches("CREATE VIEW ").count(), 1);
        assert_eq!(script.matches(" PRIMARY KEY ").count(), 20);
        assert_eq!(script.matches(" UNIQUE ").count(), 20);
        // Table 0 of schema 1 points at schema 0: it is in the second script.
        assert_eq!(script.matches(" FOREIGN KEY ").count(), 8);
        assert!(script.contains("it''s generated"));
        assert_eq!(layout.remote_keys_scripts().concat().matches("REFERENCES s000.").count(), 2);
        let big = Layout { schemas: 100, tables: 100 }.remote_keys_scripts();
        assert_eq!(big.iter().map(|s| s.lines().count()).collect::<Vec<_>>(), [250, 250, 250, 240]);
    }
}
