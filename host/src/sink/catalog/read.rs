//! Reading the catalog back: `weir catalog list | show | export`.

use super::{Catalog, CatalogError};
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
    /// Entities, ordered by FQN; `kind` narrows to one kind.
    pub async fn list(&self, kind: Option<&str>) -> Result<Vec<CatalogEntry>, CatalogError> {
        let rows = sqlx::query(
            "SELECT fqn, kind, name, COALESCE(json_array_length(document, '$.columns'), 0) AS columns
             FROM entity WHERE (?1 IS NULL OR kind = ?1) ORDER BY fqn",
        )
        .bind(kind)
        .fetch_all(&self.pool)
        .await
        .map_err(CatalogError::Read)?;
        rows.iter()
            .map(|r| {
                Ok(CatalogEntry {
                    fqn: r.try_get("fqn").map_err(CatalogError::Read)?,
                    kind: r.try_get("kind").map_err(CatalogError::Read)?,
                    name: r.try_get("name").map_err(CatalogError::Read)?,
                    columns: r.try_get::<i64, _>("columns").map_err(CatalogError::Read)?.try_into().unwrap_or(0),
                })
            })
            .collect()
    }

    /// One entity: its document with its relations merged in, plus the
    /// facts kept beside it.
    /// `kind` picks one when entities of several kinds share the FQN (as
    /// a dashboard and a chart may).
    pub async fn show(&self, fqn: &str, kind: Option<&str>) -> Result<Value, CatalogError> {
        let mut rows = sqlx::query(
            "SELECT kind, document, extra, source_hash, updated_at FROM entity
             WHERE fqn = ?1 AND (?2 IS NULL OR kind = ?2) ORDER BY kind",
        )
        .bind(fqn)
        .bind(kind)
        .fetch_all(&self.pool)
        .await
        .map_err(CatalogError::Read)?;
        if rows.len() > 1 {
            let kinds: Vec<String> = rows.iter().filter_map(|r| r.try_get::<String, _>("kind").ok()).collect();
            return Err(CatalogError::Ambiguous { fqn: fqn.to_string(), kinds: kinds.join(", ") });
        }
        let row = rows.pop().ok_or_else(|| CatalogError::NotFound(fqn.to_string()))?;
        let get = |c: &str| row.try_get::<String, _>(c).map_err(CatalogError::Read);
        let mut document: Value = serde_json::from_str(&get("document")?).unwrap_or(Value::Null);
        let relations = self.relations(Some(fqn)).await?;
        merge_foreign_keys(&mut document, relations.get(fqn));
        let lineage = self.lineage_of(fqn).await?;
        Ok(serde_json::json!({
            "fqn": fqn,
            "kind": get("kind")?,
            "document": document,
            "extra": serde_json::from_str::<Value>(&get("extra")?).unwrap_or(Value::Null),
            "lineage": lineage,
            "sourceHash": get("source_hash")?,
            "updatedAt": get("updated_at")?,
        }))
    }

    /// Documents for export, FQN order, foreign keys merged into tables.
    pub async fn export(
        &self,
        kind: ExportKind,
        mut emit: impl FnMut(Value) -> std::io::Result<()>,
    ) -> Result<usize, CatalogError> {
        let relations = self.relations(None).await?;
        let rows = sqlx::query("SELECT fqn, kind, document FROM entity WHERE (?1 = 0 OR kind = 'table') ORDER BY fqn")
            .bind(matches!(kind, ExportKind::Tables))
            .fetch_all(&self.pool)
            .await
            .map_err(CatalogError::Read)?;
        let mut count = 0;
        for row in rows {
            let fqn: String = row.try_get("fqn").map_err(CatalogError::Read)?;
            let entity_kind: String = row.try_get("kind").map_err(CatalogError::Read)?;
            let text: String = row.try_get("document").map_err(CatalogError::Read)?;
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
        let rows = sqlx::query(
            "SELECT owner, document FROM relation WHERE kind = 'foreignKey' AND (?1 IS NULL OR owner = ?1) ORDER BY owner, name",
        )
        .bind(owner)
        .fetch_all(&self.pool)
        .await
        .map_err(CatalogError::Read)?;
        let mut out: HashMap<String, Vec<Value>> = HashMap::new();
        for row in rows {
            let owner: String = row.try_get("owner").map_err(CatalogError::Read)?;
            let doc: String = row.try_get("document").map_err(CatalogError::Read)?;
            if let Ok(value) = serde_json::from_str(&doc) {
                out.entry(owner).or_default().push(value);
            }
        }
        Ok(out)
    }

    async fn lineage_of(&self, fqn: &str) -> Result<Vec<Value>, CatalogError> {
        let rows = sqlx::query("SELECT document FROM relation WHERE kind = 'lineage' AND (from_fqn = ?1 OR to_fqn = ?1) ORDER BY from_fqn, to_fqn")
            .bind(fqn)
            .fetch_all(&self.pool)
            .await
            .map_err(CatalogError::Read)?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>("document").ok())
            .filter_map(|d| serde_json::from_str(&d).ok())
            .collect())
    }
}

fn merge_foreign_keys(document: &mut Value, keys: Option<&Vec<Value>>) {
    let (Some(keys), Value::Object(map)) = (keys, document) else { return };
    let constraints = map.entry("tableConstraints").or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = constraints {
        list.extend(keys.iter().cloned());
    }
}
