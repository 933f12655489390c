//! Stored procedures and functions: one query per batch and database,
//! then a pure assembly step. T-SQL has no overloading, so schema and name
//! identify a routine and no signature is needed to tell two apart: the
//! entity is named as OpenMetadata's own SQL Server connector names it.

use crate::definitions;
use crate::fields::{self, Col, Fields, Kind, col, opt};
use crate::{ENGINE, refs};
use std::collections::HashMap;
use weir_sdk::sql::Connection;
use weir_sdk::sql_kit::Wanted;
use weir_sdk::{Batch, Entity, EntityKind, Result, StoredProcedure};

pub const QUERY: &str = include_str!("sql/procedures.sql");

/// The result columns of `sql/procedures.sql`.
pub const PROCEDURE_COLUMNS: &[Col] = &[
    col("schema_name", Kind::Text),
    col("procedure_name", Kind::Text),
    col("object_type", Kind::Text),
    opt("definition", Kind::Text),
    col("is_encrypted", Kind::Boolean),
    opt("assembly_name", Kind::Text),
    opt("assembly_class", Kind::Text),
    opt("assembly_method", Kind::Text),
    opt("description", Kind::Text),
];

/// One row of the procedures query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcedureRow {
    pub schema: String,
    pub name: String,
    /// `sys.objects.type`, trimmed: P, FN, IF, TF (T-SQL) or PC, FS, FT (CLR).
    pub object_type: String,
    pub definition: Option<String>,
    pub encrypted: bool,
    /// A CLR routine's assembly, class and method.
    pub assembly: Option<String>,
    pub class: Option<String>,
    pub method: Option<String>,
    pub description: Option<String>,
}

impl ProcedureRow {
    pub fn read(row: &impl Fields) -> Result<ProcedureRow> {
        Ok(ProcedureRow {
            schema: row.get("schema_name")?,
            name: row.get("procedure_name")?,
            object_type: row.get("object_type")?,
            definition: row.get("definition")?,
            encrypted: row.get("is_encrypted")?,
            assembly: row.get("assembly_name")?,
            class: row.get("assembly_class")?,
            method: row.get("assembly_method")?,
            description: row.get("description")?,
        })
    }

    fn is_clr(&self) -> bool {
        matches!(self.object_type.trim(), "PC" | "FS" | "FT")
    }

    /// The routine's code: its CREATE text; for a CLR routine, the
    /// EXTERNAL NAME clause that says which .NET method runs (the code is
    /// in the assembly, not in the database's text); else why there is
    /// none.
    fn code(&self) -> String {
        if self.is_clr()
            && let (Some(assembly), Some(class), Some(method)) = (&self.assembly, &self.class, &self.method)
        {
            return format!(
                "EXTERNAL NAME {}.{}.{}",
                refs::bracketed(assembly),
                refs::bracketed(class),
                refs::bracketed(method)
            );
        }
        definitions::text(self.definition.as_deref(), self.encrypted)
    }

    /// OpenMetadata's `storedProcedureCode.language`: T-SQL is SQL; a CLR
    /// routine's code lives outside the database, as a C function's does
    /// for the PostgreSQL connector: External.
    fn language(&self) -> &'static str {
        if self.is_clr() { "External" } else { "SQL" }
    }
}

pub fn process(conn: &Connection, database: &str, wanted: &Wanted) -> Result<Batch> {
    let mut rows = Vec::new();
    for chunk in wanted.paths.chunks(refs::MAX_SLOTS) {
        let params = refs::objects_param(chunk);
        let result = conn.query(QUERY, &params).map_err(|e| e.context("reading stored procedures"))?;
        rows.extend(fields::read_all(&result, PROCEDURE_COLUMNS, "stored procedures", |r| ProcedureRow::read(r))?);
    }
    Ok(assemble(database, wanted, rows))
}

/// One entity per wanted path, in order; not found when the routine is
/// gone (or renamed). Rows of routines not asked for are ignored.
pub fn assemble(database: &str, wanted: &Wanted, rows: Vec<ProcedureRow>) -> Batch {
    let mut rows: HashMap<(String, String), ProcedureRow> =
        rows.into_iter().map(|r| ((r.schema.clone(), r.name.clone()), r)).collect();
    let mut batch = Batch::default();
    for path in &wanted.paths {
        let [_, schema, name] = path.as_slice() else {
            continue;
        };
        let Some(row) = rows.remove(&(schema.clone(), name.clone())) else {
            batch.failures.push(ENGINE.not_found(EntityKind::StoredProcedure, path));
            continue;
        };
        batch.entities.push(Entity::StoredProcedure(StoredProcedure {
            database: database.to_string(),
            code: row.code(),
            language: Some(row.language().to_string()),
            schema: row.schema,
            name: row.name,
            signature: None,
            description: row.description,
        }));
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fixture::{FixtureRow, assert_selects_all, bit, maybe, null, text};

    const DB: &str = "AdventureWorks";

    /// A row of procedures.sql, after learn.microsoft.com "sys.objects"
    /// (type char(2), trimmed by the query), "sys.sql_modules"
    /// (definition NULL when encrypted) and "sys.assembly_modules"
    /// (assembly_class, assembly_method nvarchar(128)).
    fn row(name: &str, object_type: &str, definition: Option<&str>, encrypted: bool) -> ProcedureRow {
        let fixture = FixtureRow::new(
            PROCEDURE_COLUMNS,
            vec![
                ("schema_name", text("dbo")),
                ("procedure_name", text(name)),
                ("object_type", text(object_type)),
                ("definition", maybe(definition)),
                ("is_encrypted", bit(encrypted)),
                ("assembly_name", null()),
                ("assembly_class", null()),
                ("assembly_method", null()),
                ("description", null()),
            ],
        );
        ProcedureRow::read(&fixture).unwrap_or_else(|e| panic!("{}", e.message))
    }

    fn wanted(names: &[&str]) -> Wanted {
        Wanted::of_paths(names.iter().map(|n| vec![DB.to_string(), "dbo".into(), n.to_string()]).collect())
    }

    fn procedures(batch: &Batch) -> Vec<&StoredProcedure> {
        batch
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::StoredProcedure(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_statement_selects_every_column_read() {
        assert_selects_all(QUERY, PROCEDURE_COLUMNS);
    }

    #[test]
    fn procedures_functions_encrypted_clr_and_gone() {
        let w = wanted(&["uspGetBillOfMaterials", "ufnGetStock", "uspSecret", "clrSplit", "uspGone"]);
        let mut described = row(
            "uspGetBillOfMaterials",
            "P",
            Some("\r\nCREATE PROCEDURE [dbo].[uspGetBillOfMaterials] @StartProductID int AS BEGIN SELECT 1 END;\r\n"),
            false,
        );
        described.description =
            Some("Stored procedure using a recursive query to return a multi-level bill of material.".into());
        let mut clr = row("clrSplit", "FT", None, false);
        clr.assembly = Some("Utilities".into());
        clr.class = Some("Utilities.Strings".into());
        clr.method = Some("Split".into());
        let rows = vec![
            row(
                "ufnGetStock",
                "FN",
                Some("CREATE FUNCTION [dbo].[ufnGetStock](@ProductID int) RETURNS int AS BEGIN RETURN 0 END"),
                false,
            ),
            // WITH ENCRYPTION: sys.sql_modules.definition is NULL.
            row("uspSecret", "P", None, true),
            described,
            clr,
            // Not asked for (a replayed answer): ignored.
            row("uspOther", "P", Some("CREATE PROCEDURE x AS SELECT 1"), false),
        ];
        let batch = assemble(DB, &w, rows);
        let found = procedures(&batch);
        assert_eq!(found.len(), 4);
        let bom = found[0];
        assert_eq!(
            (bom.database.as_str(), bom.schema.as_str(), bom.name.as_str()),
            (DB, "dbo", "uspGetBillOfMaterials")
        );
        assert!(bom.code.starts_with("CREATE PROCEDURE") && bom.code.ends_with("END;"), "{:?}", bom.code);
        assert_eq!(bom.language.as_deref(), Some("SQL"));
        assert_eq!(bom.signature, None);
        assert!(bom.description.as_deref().unwrap_or_default().contains("bill of material"));
        assert_eq!(found[1].name, "ufnGetStock");
        assert_eq!(found[1].language.as_deref(), Some("SQL"));
        assert!(found[2].code.contains("WITH ENCRYPTION"), "{}", found[2].code);
        assert_eq!(found[3].code, "EXTERNAL NAME [Utilities].[Utilities.Strings].[Split]");
        assert_eq!(found[3].language.as_deref(), Some("External"));
        assert_eq!(batch.failures.len(), 1);
        assert_eq!(batch.failures[0].path, w.paths[4]);
    }
}
