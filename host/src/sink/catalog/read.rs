//! Reading the catalog back: `weir catalog list | show | export`.

use super::{Catalog, CatalogError};
use crate::engines::on_pool;
use serde_json::Value;
use sqlx::Row;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub fqn: String,
    pub kind: String,
    pub name: String,
    /// Columns of a table, else 0.
    pub columns: usize,
    /// When it was marked deleted, for an entity gone from its source.
    pub deleted_at: Option<String>,
}

/// Which documents `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// `CreateTable` documents only.
    Tables,
    /// Every entity, each wrapped as `{"kind", "fqn", "document"}`.
    All,
}

impl Catalog {
    /// Entities, ordered by FQN; `kind` narrows to one kind. Those marked
    /// deleted are listed only with `deleted`, and then alone.
    pub async fn list(&self, kind: Option<&str>, deleted: bool) -> Result<Vec<CatalogEntry>, CatalogError> {
        on_pool!(self, |pool, dialect| {
            let list = format!(
                "SELECT fqn, kind, name, {} AS columns, deleted_at FROM entity WHERE ($1 IS NULL OR kind = $1)
                 AND (deleted_at IS NOT NULL) = $2 ORDER BY fqn{}",
                dialect.document_columns, dialect.by_bytes
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(list))
                .bind(kind)
                .bind(deleted)
                .fetch_all(pool)
                .await
                .map_err(CatalogError::Read)?;
            rows.iter()
                .map(|r| {
                    Ok(CatalogEntry {
                        fqn: r.try_get("fqn").map_err(CatalogError::Read)?,
                        kind: r.try_get("kind").map_err(CatalogError::Read)?,
                        name: r.try_get("name").map_err(CatalogError::Read)?,
                        columns: r.try_get::<i64, _>("columns").map_err(CatalogError::Read)?.try_into().unwrap_or(0),
                        deleted_at: r.try_get("deleted_at").map_err(CatalogError::Read)?,
                    })
                })
                .collect()
        })
    }

    /// One entity: its document with its relations merged in, plus the
    /// facts kept beside it.
    /// `kind` picks one when entities of several kinds share the FQN (as
    /// a dashboard and a chart may).
    pub async fn show(&self, fqn: &str, kind: Option<&str>) -> Result<Value, CatalogError> {
        const ONE: &str = "SELECT kind, document, extra, source_hash, updated_at, deleted_at FROM entity
             WHERE fqn = $1 AND ($2 IS NULL OR kind = $2) ORDER BY kind";
        type Row = ([String; 5], Option<String>);
        let rows: Vec<Row> = on_pool!(self, |pool, _d| {
            let rows = sqlx::query(ONE).bind(fqn).bind(kind).fetch_all(pool).await.map_err(CatalogError::Read)?;
            rows.iter()
                .map(|r| {
                    let get = |c: &str| r.try_get::<String, _>(c).map_err(CatalogError::Read);
                    let deleted_at = r.try_get::<Option<String>, _>("deleted_at").map_err(CatalogError::Read)?;
                    Ok((
                        [get("kind")?, get("document")?, get("extra")?, get("source_hash")?, get("updated_at")?],
                        deleted_at,
                    ))
                })
                .collect::<Result<Vec<_>, CatalogError>>()?
        });
        if rows.len() > 1 {
            let kinds: Vec<String> = rows.iter().map(|r| r.0[0].clone()).collect();
            return Err(CatalogError::Ambiguous { fqn: fqn.to_string(), kinds: kinds.join(", ") });
        }
        let ([entity_kind, document, extra, source_hash, updated_at], deleted_at) =
            rows.into_iter().next().ok_or_else(|| CatalogError::NotFound(fqn.to_string()))?;
        let mut document: Value = serde_json::from_str(&document).unwrap_or(Value::Null);
        let relations = self.relations(Some(fqn)).await?;
        merge_foreign_keys(&mut document, relations.get(fqn));
        let lineage = self.lineage_of(fqn).await?;
        Ok(serde_json::json!({
            "fqn": fqn,
            "kind": entity_kind,
            "document": document,
            "extra": serde_json::from_str::<Value>(&extra).unwrap_or(Value::Null),
            "lineage": lineage,
            "sourceHash": source_hash,
            "updatedAt": updated_at,
            "deletedAt": deleted_at,
        }))
    }

    /// Documents for export, FQN order, foreign keys merged into tables.
    pub async fn export(
        &self,
        kind: ExportKind,
        mut emit: impl FnMut(Value) -> std::io::Result<()>,
    ) -> Result<usize, CatalogError> {
        let relations = self.relations(None).await?;
        let rows: Vec<(String, String, String)> = on_pool!(self, |pool, dialect| {
            let all = format!(
                "SELECT fqn, kind, document FROM entity WHERE (NOT $1 OR kind = 'table') AND deleted_at IS NULL
                 ORDER BY fqn{}, kind",
                dialect.by_bytes
            );
            sqlx::query_as(sqlx::AssertSqlSafe(all))
                .bind(matches!(kind, ExportKind::Tables))
                .fetch_all(pool)
                .await
                .map_err(CatalogError::Read)?
        });
        let mut count = 0;
        for (fqn, entity_kind, text) in rows {
            let mut document: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            merge_foreign_keys(&mut document, relations.get(&fqn));
            let line = match kind {
                ExportKind::Tables => document,
                ExportKind::All => serde_json::json!({ "kind": entity_kind, "fqn": fqn, "document": document }),
            };
            // A closed pipe (`| head`) ends the export quietly.
            if emit(line).is_err() {
                break;
            }
            count += 1;
        }
        Ok(count)
    }

    /// Foreign keys by owning table; all of them, or one table's.
    async fn relations(&self, owner: Option<&str>) -> Result<HashMap<String, Vec<Value>>, CatalogError> {
        let rows: Vec<(String, String)> = on_pool!(self, |pool, dialect| {
            let keys = format!(
                "SELECT owner, document FROM relation WHERE kind = 'foreignKey' AND ($1 IS NULL OR owner = $1)
                 ORDER BY owner{0}, name{0}",
                dialect.by_bytes
            );
            sqlx::query_as(sqlx::AssertSqlSafe(keys)).bind(owner).fetch_all(pool).await.map_err(CatalogError::Read)?
        });
        let mut out: HashMap<String, Vec<Value>> = HashMap::new();
        for (owner, doc) in rows {
            if let Ok(value) = serde_json::from_str(&doc) {
                out.entry(owner).or_default().push(value);
            }
        }
        Ok(out)
    }

    async fn lineage_of(&self, fqn: &str) -> Result<Vec<Value>, CatalogError> {
        let documents: Vec<String> = on_pool!(self, |pool, dialect| {
            let edges = format!(
                "SELECT document FROM relation WHERE kind = 'lineage' AND (from_fqn = $1 OR to_fqn = $1)
                 ORDER BY from_fqn{0}, to_fqn{0}",
                dialect.by_bytes
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(edges))
                .bind(fqn)
                .fetch_all(pool)
                .await
                .map_err(CatalogError::Read)?
        });
        Ok(documents.iter().filter_map(|d| serde_json::from_str(d).ok()).collect())
    }
}

fn merge_foreign_keys(document: &mut Value, keys: Option<&Vec<Value>>) {
    let (Some(keys), Value::Object(map)) = (keys, document) else { return };
    let constraints = map.entry("tableConstraints").or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = constraints {
        list.extend(keys.iter().cloned());
    }
}
