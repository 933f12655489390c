//! The embedded catalog: every entity's OpenMetadata document, keyed by
//! FQN, in one SQLite file (`weir.db` by default) or in a PostgreSQL
//! database (`sink.config.url: postgres://...`, its tables in the schema
//! `weir_catalog`) that every process of a distributed run writes into.
//!
//! Writes are upserts in batched transactions, so running the same
//! ingestion twice leaves the same catalog. Phase 2 stages a run's
//! relations (its foreign keys, views' lineage), then in one transaction
//! replaces every relation owned by an entity the run wrote with the
//! staged ones: a run killed before that leaves the previous relations
//! whole, never half of them. Several runs may write one catalog at once
//! (see [`crate::sqlite_file`]); on PostgreSQL, many processes at once.

mod read;
mod schema;

pub use read::{CatalogEntry, ExportKind};

use super::Document;
use crate::engines::{self, PgOpenError, Pool, on_pool};
use crate::model::Relation;
use crate::sqlite_file::{self, retry_busy};
use sqlx::QueryBuilder;
use sqlx::sqlite::SqlitePoolOptions;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("catalog {path}")]
    Open { path: String, source: sqlx::Error },
    #[error("catalog {path}: no such file (run `weir ingest` or `weir quickstart` first, or pass --catalog)")]
    Missing { path: String },
    #[error("catalog {path}: {reason}")]
    Unusable { path: String, reason: String },
    #[error("catalog write failed: {0}")]
    Write(sqlx::Error),
    #[error("catalog read failed: {0}")]
    Read(sqlx::Error),
    #[error("no entity with FQN `{0}` in the catalog")]
    NotFound(String),
    #[error("`{fqn}` names entities of several kinds ({kinds}); pick one with --kind")]
    Ambiguous { fqn: String, kinds: String },
}

impl CatalogError {
    /// Whether the same work may succeed later (the file busy).
    pub fn may_pass(&self) -> bool {
        match self {
            CatalogError::Open { source, .. } | CatalogError::Write(source) | CatalogError::Read(source) => {
                crate::retry::sqlx_error_may_pass(source)
            }
            _ => false,
        }
    }
}

/// A relation that could not be applied, and why.
#[derive(Debug, Clone)]
pub struct Unresolved {
    pub owner: String,
    pub kind: &'static str,
    pub reason: String,
}

pub struct Catalog {
    pool: Pool,
    /// The file, or the URL without its password: what errors and the
    /// summary name.
    shown: String,
}

/// SQLite caps a statement at 32,766 bound parameters (PostgreSQL at
/// 65,535): rows of nine.
const ROWS_PER_INSERT: usize = 500;

impl Catalog {
    /// Opens the catalog at `location` (a file, or a `postgres://` URL),
    /// creating it if needed.
    pub async fn open(location: &Path) -> Result<Catalog, CatalogError> {
        match location.to_str().filter(|l| engines::is_postgres_url(l)) {
            Some(url) => Catalog::open_postgres(url).await,
            None => Catalog::connect(location, true).await,
        }
    }

    /// Opens an existing catalog for reading.
    pub async fn open_existing(location: &Path) -> Result<Catalog, CatalogError> {
        if let Some(url) = location.to_str().filter(|l| engines::is_postgres_url(l)) {
            return Catalog::open_postgres(url).await;
        }
        if !location.exists() {
            return Err(CatalogError::Missing { path: location.display().to_string() });
        }
        Catalog::connect(location, false).await
    }

    async fn connect(path: &Path, create: bool) -> Result<Catalog, CatalogError> {
        let err = |source| CatalogError::Open { path: path.display().to_string(), source };
        let options = sqlite_file::options(path, create).foreign_keys(false);
        let pool = retry_busy(|| async {
            let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options.clone()).await?;
            schema::migrate(&pool).await?;
            Ok(pool)
        })
        .await
        .map_err(err)?;
        Ok(Catalog { pool: Pool::Sqlite(pool), shown: path.display().to_string() })
    }

    /// The catalog in the PostgreSQL database at `url`: its tables are
    /// created, or checked, on first use (the role needs `CREATE` on the
    /// database the first time).
    pub async fn open_postgres(url: &str) -> Result<Catalog, CatalogError> {
        let shown = engines::shown_url(url);
        let pool = engines::open_postgres(url, &schema::pg_layout()).await.map_err(|e| match e {
            PgOpenError::Connect(source) => CatalogError::Open { path: shown.clone(), source },
            PgOpenError::Newer { found, ours } => {
                CatalogError::Unusable { path: shown.clone(), reason: PgOpenError::newer(found, ours) }
            }
        })?;
        Ok(Catalog { pool: Pool::Postgres(pool), shown })
    }

    /// The file, or the URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Records the service the run ingests.
    pub async fn put_service(&self, name: &str, service_type: &str) -> Result<(), CatalogError> {
        const PUT: &str = "INSERT INTO service (name, service_type, document) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET service_type = excluded.service_type, document = excluded.document";
        let body = serde_json::json!({ "name": name, "serviceType": service_type });
        on_pool!(self, |pool, _d| sqlx::query(PUT)
            .bind(name)
            .bind(service_type)
            .bind(body.to_string())
            .execute(pool)
            .await
            .map_err(CatalogError::Write)?
            .rows_affected());
        Ok(())
    }

    /// Phase 1: upserts documents in one transaction.
    pub async fn write(&self, run_id: &str, docs: &[Document]) -> Result<(), CatalogError> {
        if docs.is_empty() {
            return Ok(());
        }
        // One row per entity: a statement may not upsert a row twice (a
        // chart two dashboards of one batch bring along), the last wins.
        let mut last: HashMap<(&str, &str), usize> = HashMap::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            last.insert((doc.fqn.as_str(), doc.kind.as_str()), i);
        }
        let unique: Vec<&Document> = docs
            .iter()
            .enumerate()
            .filter(|(i, d)| last[&(d.fqn.as_str(), d.kind.as_str())] == *i)
            .map(|(_, d)| d)
            .collect();
        retry_busy(|| self.write_once(run_id, &unique)).await.map_err(CatalogError::Write)
    }

    async fn write_once(&self, run_id: &str, docs: &[&Document]) -> Result<(), sqlx::Error> {
        const INSERT: &str =
            "INSERT INTO entity (fqn, kind, parent, name, document, extra, source_hash, run_id, updated_at) ";
        const UPSERT: &str = " ON CONFLICT (fqn, kind) DO UPDATE SET parent = excluded.parent, name = excluded.name,
              document = excluded.document, extra = excluded.extra, source_hash = excluded.source_hash,
              run_id = excluded.run_id, updated_at = excluded.updated_at, deleted_at = NULL";
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write).await?;
            for chunk in docs.chunks(ROWS_PER_INSERT) {
                let mut insert = QueryBuilder::new(INSERT);
                insert.push_values(chunk, |mut row, doc| {
                    row.push_bind(&doc.fqn)
                        .push_bind(&doc.kind)
                        .push_bind(&doc.parent)
                        .push_bind(&doc.name)
                        .push_bind(doc.body.to_string())
                        .push_bind(doc.extra.to_string())
                        .push_bind(&doc.source_hash)
                        .push_bind(run_id)
                        .push(dialect.now);
                });
                insert.push(UPSERT);
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        })
    }

    /// Phase 2, one page: stages the relations whose target exists for
    /// [`Catalog::switch_relations`]; returns the others.
    pub async fn stage_relations(&self, run_id: &str, relations: &[Relation]) -> Result<Vec<Unresolved>, CatalogError> {
        retry_busy(|| self.stage_once(run_id, relations)).await.map_err(CatalogError::Write)
    }

    async fn stage_once(&self, run_id: &str, relations: &[Relation]) -> Result<Vec<Unresolved>, sqlx::Error> {
        const STAGE: &str =
            "INSERT INTO relation_stage (run_id, kind, owner, from_fqn, to_fqn, name, document, staged_at) ";
        const RESTAGE: &str = " ON CONFLICT (run_id, kind, owner, from_fqn, to_fqn, name)
             DO UPDATE SET document = excluded.document, staged_at = excluded.staged_at";
        let mut unresolved = Vec::new();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write).await?;
            for chunk in relations.chunks(ROWS_PER_INSERT) {
                let targets: HashSet<&str> = chunk.iter().map(Relation::target).collect();
                let mut lookup = QueryBuilder::new("SELECT fqn FROM entity WHERE fqn IN (");
                let mut list = lookup.separated(", ");
                for t in &targets {
                    list.push_bind(*t);
                }
                lookup.push(")");
                let found: HashSet<String> =
                    lookup.build_query_scalar::<String>().fetch_all(&mut *tx).await?.into_iter().collect();

                let (ready, missing): (Vec<&Relation>, Vec<&Relation>) =
                    chunk.iter().partition(|r| found.contains(r.target()));
                unresolved.extend(missing.into_iter().map(|r| Unresolved {
                    owner: r.owner().to_string(),
                    kind: r.kind(),
                    reason: format!("refers to `{}`, which is not in the catalog (filtered out or failed)", r.target()),
                }));
                // One row per key, the last wins, as for entities.
                let mut rows: HashMap<(&str, &str, &str, &str, &str), &Relation> = HashMap::new();
                let mut order = Vec::new();
                for r in ready {
                    let (from, to) = ends(r);
                    let key = (r.kind(), r.owner(), from, to, r.distinction());
                    if rows.insert(key, r).is_none() {
                        order.push(key);
                    }
                }
                if order.is_empty() {
                    continue;
                }
                let mut insert = QueryBuilder::new(STAGE);
                insert.push_values(order.iter().map(|k| rows[k]), |mut row, r| {
                    let (from, to) = ends(r);
                    row.push_bind(run_id)
                        .push_bind(r.kind())
                        .push_bind(r.owner())
                        .push_bind(from)
                        .push_bind(to)
                        .push_bind(r.distinction())
                        .push_bind(r.body().to_string())
                        .push(dialect.now);
                });
                insert.push(RESTAGE);
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(unresolved)
    }

    /// Phase 2, the end: in one transaction, the relations owned by the
    /// entities `run_id` wrote become the ones it staged. Stages a killed
    /// run left behind a day ago or more are dropped on the way.
    pub async fn switch_relations(&self, run_id: &str) -> Result<(), CatalogError> {
        retry_busy(|| async {
            on_pool!(self, |pool, dialect| {
                let forget_old =
                    format!("DELETE FROM relation_stage WHERE run_id = $1 OR staged_at < {}", dialect.day_ago);
                let mut tx = pool.begin_with(dialect.begin_write).await?;
                for statement in [
                    "DELETE FROM relation WHERE owner IN (SELECT fqn FROM entity WHERE run_id = $1)",
                    "INSERT INTO relation (kind, owner, from_fqn, to_fqn, name, document)
                     SELECT kind, owner, from_fqn, to_fqn, name, document FROM relation_stage WHERE run_id = $1
                     ON CONFLICT (kind, owner, from_fqn, to_fqn, name) DO UPDATE SET document = excluded.document",
                    forget_old.as_str(),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(statement)).bind(run_id).execute(&mut *tx).await?;
                }
                tx.commit().await
            })
        })
        .await
        .map_err(CatalogError::Write)
    }

    /// Stages `relations` and switches to them at once: for a caller with
    /// all of a run's relations in hand.
    pub async fn apply_relations(&self, run_id: &str, relations: &[Relation]) -> Result<Vec<Unresolved>, CatalogError> {
        let unresolved = self.stage_relations(run_id, relations).await?;
        self.switch_relations(run_id).await?;
        Ok(unresolved)
    }

    /// The content hashes the catalog holds for these entities ((kind,
    /// FQN)), of those it has: one query per 500.
    pub async fn hashes(&self, entities: &[(&str, &str)]) -> Result<HashMap<(String, String), String>, CatalogError> {
        let mut found = HashMap::new();
        for chunk in entities.chunks(ROWS_PER_INSERT) {
            let rows: Vec<(String, String, String)> = on_pool!(self, |pool, _d| {
                // A deleted entity that came back is written again.
                let mut query = sqlx::QueryBuilder::new(
                    "SELECT kind, fqn, source_hash FROM entity WHERE deleted_at IS NULL AND fqn IN (",
                );
                let mut fqns = query.separated(", ");
                for (_, fqn) in chunk {
                    fqns.push_bind(*fqn);
                }
                query.push(")");
                query.build_query_as().fetch_all(pool).await.map_err(CatalogError::Read)?
            });
            found.extend(rows.into_iter().map(|(kind, fqn, hash)| ((kind, fqn), hash)));
        }
        Ok(found)
    }

    /// Marks these entities ((kind, FQN)) seen by `run_id` without writing
    /// them (they are unchanged): the relations they own are the ones this
    /// run stages, as for the entities it wrote.
    pub async fn seen(&self, run_id: &str, entities: &[(&str, &str)]) -> Result<(), CatalogError> {
        self.update_entities(entities, Some(run_id)).await
    }

    /// The entities of `kind` in `service` the catalog holds and has not
    /// marked deleted: (FQN, the last run that saw it).
    pub async fn live(&self, service: &str, kind: &str) -> Result<Vec<(String, String)>, CatalogError> {
        const LIVE: &str = "SELECT fqn, run_id FROM entity WHERE kind = $1 AND deleted_at IS NULL
             AND substr(fqn, 1, length($2)) = $2";
        let prefix = format!("{}.", crate::model::fqn::quote(service).unwrap_or_else(|_| service.to_string()));
        let fqns = on_pool!(self, |pool, _d| sqlx::query_as(LIVE)
            .bind(kind)
            .bind(&prefix)
            .fetch_all(pool)
            .await
            .map_err(CatalogError::Read)?);
        Ok(fqns)
    }

    /// Marks these entities ((kind, FQN)) deleted: kept, but listed only by
    /// `weir catalog list --deleted`, until a run writes them again.
    pub async fn mark_deleted(&self, entities: &[(&str, &str)]) -> Result<(), CatalogError> {
        self.update_entities(entities, None).await
    }

    /// Marks entities seen by a run (`Some(run_id)`) or deleted (`None`),
    /// 500 to a statement.
    async fn update_entities(&self, entities: &[(&str, &str)], seen_by: Option<&str>) -> Result<(), CatalogError> {
        for chunk in entities.chunks(ROWS_PER_INSERT) {
            retry_busy(|| async {
                on_pool!(self, |pool, dialect| {
                    let mut tx = pool.begin_with(dialect.begin_write).await?;
                    let mut update = sqlx::QueryBuilder::new("UPDATE entity SET ");
                    match seen_by {
                        Some(run_id) => update.push("run_id = ").push_bind(run_id).push(" WHERE "),
                        None => update.push("deleted_at = ").push(dialect.now).push(" WHERE deleted_at IS NULL AND "),
                    };
                    update.push("(kind, fqn) IN (");
                    let mut pairs = update.separated(", ");
                    for (kind, fqn) in chunk {
                        pairs.push("(").push_bind_unseparated(*kind).push_unseparated(", ");
                        pairs.push_bind_unseparated(*fqn).push_unseparated(")");
                    }
                    update.push(")");
                    update.build().execute(&mut *tx).await?;
                    tx.commit().await
                })
            })
            .await
            .map_err(CatalogError::Write)?;
        }
        Ok(())
    }

    /// The report of the run `run_id`, as [`Catalog::record_run`] kept it.
    pub async fn run_report(&self, run_id: &str) -> Result<Option<String>, CatalogError> {
        const REPORT: &str = "SELECT report FROM run WHERE id = $1";
        let report = on_pool!(self, |pool, _d| sqlx::query_scalar(REPORT)
            .bind(run_id)
            .fetch_optional(pool)
            .await
            .map_err(CatalogError::Read)?);
        Ok(report)
    }

    /// Keeps a summary of a finished run.
    pub async fn record_run(
        &self,
        run_id: &str,
        service: &str,
        report: &serde_json::Value,
    ) -> Result<(), CatalogError> {
        on_pool!(self, |pool, dialect| {
            let record = format!(
                "INSERT INTO run (id, service, finished_at, report) VALUES ($1, $2, {}, $3)
                 ON CONFLICT (id) DO UPDATE SET service = excluded.service, finished_at = excluded.finished_at,
                     report = excluded.report",
                dialect.now
            );
            sqlx::query(sqlx::AssertSqlSafe(record))
                .bind(run_id)
                .bind(service)
                .bind(report.to_string())
                .execute(pool)
                .await
                .map_err(CatalogError::Write)?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A relation's two ends as the relation tables key it.
fn ends(r: &Relation) -> (&str, &str) {
    match r {
        Relation::ForeignKey { table, referred_table, .. } => (table.as_str(), referred_table.as_str()),
        Relation::Lineage { from, to, .. } => (from.as_str(), to.as_str()),
    }
}
