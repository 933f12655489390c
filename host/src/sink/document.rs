//! Entities from plugins, turned into OpenMetadata Create* request
//! documents keyed by FQN. Every sink writes these same documents.

use super::data_types::is_data_type;
use crate::model::entity::{
    Column, ConstraintKind, Deferred, Entity, ForeignKey, LineageEdge, Partitioning, Pipeline, PipelineStatus, Table,
    TableType,
};
use crate::model::fqn::{self, FqnError};
use crate::model::{Kind, Relation};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DocumentError {
    #[error(transparent)]
    Name(#[from] FqnError),
    #[error("column `{column}`: dataType `{data_type}` is not an OpenMetadata dataType")]
    DataType { column: String, data_type: String },
    #[error("raw entity document is not JSON: {0}")]
    Raw(String),
    #[error("path {0:?} does not have the {1} parts this kind needs")]
    Path(Vec<String>, usize),
    #[error("raw entity kind `{0}` is not one a sink can write (raw entities may be: {raw})", raw = raw_kinds())]
    RawKind(String),
    #[error(
        "lineage edge {from} → {to} is refused: an edge must have at least one end in the run's own service `{service}`"
    )]
    ForeignEdge { from: String, to: String, service: String },
}

/// The kinds a raw entity may have (those the contract does not model),
/// with their REST collections. Services are the host's to write, never a
/// plugin's.
const RAW_KINDS: &[(&str, &str)] = &[
    ("pipeline", "pipelines"),
    ("topic", "topics"),
    ("mlmodel", "mlmodels"),
    ("container", "containers"),
    ("searchIndex", "searchIndexes"),
    ("query", "queries"),
    ("metric", "metrics"),
    ("apiCollection", "apiCollections"),
    ("apiEndpoint", "apiEndpoints"),
];

fn raw_kinds() -> String {
    RAW_KINDS.iter().map(|(kind, _)| *kind).collect::<Vec<_>>().join(", ")
}

/// The REST collection of an entity kind the sinks write: the contract's
/// own kinds, then those a plugin may send as raw entities.
pub fn collection(kind: &str) -> Option<&'static str> {
    match Kind::from_entity_type(kind) {
        Some(kind) => Some(kind.collection()),
        None => RAW_KINDS.iter().find(|(k, _)| *k == kind).map(|(_, c)| *c),
    }
}

/// One entity as the catalog stores it.
#[derive(Debug, Clone)]
pub struct Document {
    /// OpenMetadata's entity type name: `database`, `databaseSchema`,
    /// `table`, `storedProcedure`, `dashboard`, `chart`,
    /// `dashboardDataModel`, or a raw entity's own kind.
    pub kind: String,
    pub fqn: String,
    pub parent: Option<String>,
    pub name: String,
    /// The Create* request.
    pub body: Value,
    /// Facts the Create* request has no field for (owner, row count, ...).
    pub extra: Value,
    /// Hash of `body` and `extra`; unchanged entities keep their hash.
    pub source_hash: String,
}

fn table_type(t: TableType) -> &'static str {
    match t {
        TableType::Regular => "Regular",
        TableType::External => "External",
        TableType::Dynamic => "Dynamic",
        TableType::View => "View",
        TableType::SecureView => "SecureView",
        TableType::MaterializedView => "MaterializedView",
        TableType::Iceberg => "Iceberg",
        TableType::Local => "Local",
        TableType::Partitioned => "Partitioned",
        TableType::Foreign => "Foreign",
        TableType::Transient => "Transient",
        TableType::Stream => "Stream",
        TableType::Stage => "Stage",
    }
}

/// Inserts `value` under `key` unless it is `None`.
fn put<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v.into());
    }
}

fn path_fqn(service: &str, path: &[String]) -> Result<String, FqnError> {
    let mut parts = Vec::with_capacity(path.len() + 1);
    parts.push(service);
    parts.extend(path.iter().map(String::as_str));
    fqn::build(&parts)
}

/// OpenMetadata puts data models in their own namespace below the
/// service: `service.model.name`.
fn data_model_fqn(service: &str, name: &str) -> Result<String, FqnError> {
    fqn::build(&[service, "model", name])
}

/// The FQN of an entity of `kind` at `path` in `service`, as its document
/// has it.
fn kind_fqn(service: &str, kind: Kind, path: &[String]) -> Result<String, DocumentError> {
    let parts = kind.path_len();
    if path.len() != parts {
        return Err(DocumentError::Path(path.to_vec(), parts));
    }
    match kind {
        Kind::DataModel => Ok(data_model_fqn(service, &path[0])?),
        _ => Ok(path_fqn(service, path)?),
    }
}

/// The FQN an entity ref's path names.
pub fn ref_fqn(service: &str, path: &[String]) -> Result<String, FqnError> {
    path_fqn(service, path)
}

pub fn entity_document(service: &str, entity: &Entity) -> Result<Document, DocumentError> {
    let mut doc = match entity {
        Entity::Database(db) => {
            let fqn = fqn::build(&[service, &db.name])?;
            let mut body = Map::new();
            body.insert("name".into(), db.name.clone().into());
            body.insert("service".into(), fqn::quote(service)?.into());
            put(&mut body, "description", db.description.clone());
            Document::new(Kind::Database.entity_type(), fqn, Some(fqn::quote(service)?), &db.name, body, Map::new())
        }
        Entity::DatabaseSchema(schema) => {
            let parent = fqn::build(&[service, &schema.database])?;
            let fqn = fqn::build(&[service, &schema.database, &schema.name])?;
            let mut body = Map::new();
            body.insert("name".into(), schema.name.clone().into());
            body.insert("database".into(), parent.clone().into());
            put(&mut body, "description", schema.description.clone());
            Document::new(Kind::DatabaseSchema.entity_type(), fqn, Some(parent), &schema.name, body, Map::new())
        }
        Entity::Table(table) => table_document(service, table)?,
        Entity::StoredProcedure(sp) => {
            let parent = fqn::build(&[service, &sp.database, &sp.schema])?;
            // Overloads share a name; the signature keeps them apart.
            let name = match &sp.signature {
                Some(sig) => format!("{}({sig})", sp.name),
                None => sp.name.clone(),
            };
            let fqn = fqn::build(&[service, &sp.database, &sp.schema, &name])?;
            let mut code = Map::new();
            code.insert("code".into(), sp.code.clone().into());
            put(&mut code, "language", sp.language.clone());
            let mut body = Map::new();
            body.insert("name".into(), name.clone().into());
            body.insert("databaseSchema".into(), parent.clone().into());
            body.insert("storedProcedureCode".into(), Value::Object(code));
            put(&mut body, "description", sp.description.clone());
            Document::new(Kind::StoredProcedure.entity_type(), fqn, Some(parent), &name, body, Map::new())
        }
        Entity::Dashboard(d) => {
            let fqn = fqn::build(&[service, &d.name])?;
            let charts: Result<Vec<String>, FqnError> = d.charts.iter().map(|c| fqn::build(&[service, c])).collect();
            let mut body = Map::new();
            body.insert("name".into(), d.name.clone().into());
            body.insert("service".into(), fqn::quote(service)?.into());
            body.insert("charts".into(), charts?.into());
            put(&mut body, "displayName", d.display_name.clone());
            put(&mut body, "description", d.description.clone());
            put(&mut body, "sourceUrl", d.source_url.clone());
            put(&mut body, "project", d.project.clone());
            let mut extra = Map::new();
            put(&mut extra, "owner", d.owner.clone());
            Document::new(Kind::Dashboard.entity_type(), fqn, Some(fqn::quote(service)?), &d.name, body, extra)
        }
        Entity::Chart(c) => {
            let fqn = fqn::build(&[service, &c.name])?;
            let mut body = Map::new();
            body.insert("name".into(), c.name.clone().into());
            body.insert("service".into(), fqn::quote(service)?.into());
            put(&mut body, "displayName", c.display_name.clone());
            put(&mut body, "description", c.description.clone());
            put(&mut body, "chartType", c.chart_type.clone());
            put(&mut body, "sourceUrl", c.source_url.clone());
            Document::new(Kind::Chart.entity_type(), fqn, Some(fqn::quote(service)?), &c.name, body, Map::new())
        }
        Entity::DataModel(m) => {
            let fqn = data_model_fqn(service, &m.name)?;
            let mut body = Map::new();
            body.insert("name".into(), m.name.clone().into());
            body.insert("service".into(), fqn::quote(service)?.into());
            body.insert("dataModelType".into(), m.data_model_type.clone().into());
            body.insert("columns".into(), columns_json(&m.columns, &[])?.into());
            put(&mut body, "displayName", m.display_name.clone());
            put(&mut body, "description", m.description.clone());
            put(&mut body, "sql", m.sql.clone());
            put(&mut body, "project", m.project.clone());
            put(&mut body, "sourceUrl", m.source_url.clone());
            let mut extra = Map::new();
            extra.insert("columns".into(), column_facts(&m.columns).into());
            Document::new(Kind::DataModel.entity_type(), fqn, Some(fqn::quote(service)?), &m.name, body, extra)
        }
        Entity::Pipeline(p) => pipeline_document(service, p)?,
        Entity::PipelineStatus(s) => pipeline_status_document(service, s)?,
        Entity::Raw(raw) => {
            if !RAW_KINDS.iter().any(|(kind, _)| *kind == raw.kind) {
                return Err(DocumentError::RawKind(raw.kind.clone()));
            }
            let body: Value = serde_json::from_str(&raw.document).map_err(|e| DocumentError::Raw(e.to_string()))?;
            let fqn = fqn::build(&[service, &raw.name])?;
            let body = match body {
                Value::Object(map) => map,
                other => Map::from_iter([("document".to_string(), other)]),
            };
            Document::new(&raw.kind, fqn, Some(fqn::quote(service)?), &raw.name, body, Map::new())
        }
    };
    doc.seal();
    Ok(doc)
}

/// OpenMetadata's `CreatePipeline`. Owners and tags are the source's
/// names, kept beside the document: OpenMetadata takes owners as
/// references to its users and tags as labels of a classification, which
/// a sink resolves against its server.
fn pipeline_document(service: &str, p: &Pipeline) -> Result<Document, DocumentError> {
    let fqn = fqn::build(&[service, &p.name])?;
    let tasks: Vec<Value> = p
        .tasks
        .iter()
        .map(|t| {
            let mut task = Map::new();
            task.insert("name".into(), t.name.clone().into());
            put(&mut task, "displayName", t.display_name.clone());
            put(&mut task, "description", t.description.clone());
            put(&mut task, "taskType", t.task_type.clone());
            put(&mut task, "sourceUrl", t.source_url.clone());
            task.insert("downstreamTasks".into(), t.downstream_tasks.clone().into());
            Value::Object(task)
        })
        .collect();
    let mut body = Map::new();
    body.insert("name".into(), p.name.clone().into());
    body.insert("service".into(), fqn::quote(service)?.into());
    put(&mut body, "displayName", p.display_name.clone());
    put(&mut body, "description", p.description.clone());
    put(&mut body, "sourceUrl", p.source_url.clone());
    put(&mut body, "scheduleInterval", p.schedule_interval.clone());
    put(&mut body, "startDate", p.start_date.clone());
    put(&mut body, "concurrency", p.concurrency);
    put(&mut body, "pipelineLocation", p.location.clone());
    body.insert("state".into(), if p.active { "Active" } else { "Inactive" }.into());
    body.insert("tasks".into(), tasks.into());
    let mut extra = Map::new();
    if !p.owners.is_empty() {
        extra.insert("owners".into(), p.owners.clone().into());
    }
    if !p.tags.is_empty() {
        extra.insert("tags".into(), p.tags.clone().into());
    }
    let task_owners: Map<String, Value> =
        p.tasks.iter().filter_map(|t| Some((t.name.clone(), t.owner.clone()?.into()))).collect();
    if !task_owners.is_empty() {
        extra.insert("taskOwners".into(), task_owners.into());
    }
    Ok(Document::new(Kind::Pipeline.entity_type(), fqn, Some(fqn::quote(service)?), &p.name, body, extra))
}

/// OpenMetadata's `pipelineStatus` of one run, which its server keeps on
/// the pipeline (keyed by `timestamp`): the document's parent.
fn pipeline_status_document(service: &str, s: &PipelineStatus) -> Result<Document, DocumentError> {
    let parent = fqn::build(&[service, &s.pipeline])?;
    let fqn = fqn::build(&[service, &s.pipeline, &s.execution_id])?;
    let tasks: Vec<Value> = s
        .tasks
        .iter()
        .map(|t| {
            let mut task = Map::new();
            task.insert("name".into(), t.name.clone().into());
            task.insert("executionStatus".into(), t.status.as_str().into());
            put(&mut task, "startTime", t.start_time);
            put(&mut task, "endTime", t.end_time);
            put(&mut task, "logLink", t.log_link.clone());
            Value::Object(task)
        })
        .collect();
    let mut body = Map::new();
    body.insert("timestamp".into(), s.timestamp.into());
    body.insert("executionStatus".into(), s.status.as_str().into());
    body.insert("executionId".into(), s.execution_id.clone().into());
    put(&mut body, "endTime", s.end_time);
    body.insert("taskStatus".into(), tasks.into());
    Ok(Document::new(Kind::PipelineStatus.entity_type(), fqn, Some(parent), &s.execution_id, body, Map::new()))
}

fn table_document(service: &str, table: &Table) -> Result<Document, DocumentError> {
    let parent = fqn::build(&[service, &table.database, &table.schema])?;
    let fqn = fqn::build(&[service, &table.database, &table.schema, &table.name])?;
    // OpenMetadata puts a one-column key on the column and a composite key
    // in tableConstraints.
    let mut single = Vec::new();
    let mut composite = Vec::new();
    for c in &table.constraints {
        let kind = match c.kind {
            ConstraintKind::PrimaryKey => "PRIMARY_KEY",
            ConstraintKind::Unique => "UNIQUE",
            ConstraintKind::SortKey => "SORT_KEY",
            ConstraintKind::DistKey => "DIST_KEY",
            ConstraintKind::ClusterKey => "CLUSTER_KEY",
        };
        let column_level = matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique);
        if column_level && c.columns.len() == 1 {
            single.push((c.columns[0].clone(), kind));
        } else {
            composite.push(json!({ "constraintType": kind, "columns": c.columns }));
        }
    }
    let mut body = Map::new();
    body.insert("name".into(), table.name.clone().into());
    body.insert("databaseSchema".into(), parent.clone().into());
    body.insert("tableType".into(), table_type(table.table_type).into());
    body.insert("columns".into(), columns_json(&table.columns, &single)?.into());
    if !composite.is_empty() {
        body.insert("tableConstraints".into(), composite.into());
    }
    put(&mut body, "description", table.description.clone());
    put(&mut body, "schemaDefinition", table.view_definition.clone());
    if let Some(p) = &table.partitioning {
        body.insert("tablePartition".into(), table_partition(p, &table.columns));
    }
    let mut extra = Map::new();
    put(&mut extra, "owner", table.owner.clone());
    put(&mut extra, "rowCount", table.row_count);
    put(&mut extra, "sizeBytes", table.size_bytes);
    if let Some(p) = &table.partitioning {
        let partitions: Vec<Value> =
            p.partitions.iter().map(|q| json!({ "schema": q.schema, "name": q.name, "bound": q.bound })).collect();
        extra.insert("partitioning".into(), json!({ "strategy": p.strategy, "key": p.key, "partitions": partitions }));
    }
    if !table.checks.is_empty() {
        let checks: Vec<Value> =
            table.checks.iter().map(|c| json!({ "name": c.name, "expression": c.expression })).collect();
        extra.insert("checkConstraints".into(), checks.into());
    }
    extra.insert("columns".into(), column_facts(&table.columns).into());
    let names: Vec<Value> = table
        .constraints
        .iter()
        .filter_map(|c| c.name.as_ref().map(|n| json!({ "name": n, "columns": c.columns })))
        .collect();
    if !names.is_empty() {
        extra.insert("constraintNames".into(), names.into());
    }
    Ok(Document::new(Kind::Table.entity_type(), fqn, Some(parent), &table.name, body, extra))
}

/// What OpenMetadata's column has no field for, kept beside the document:
/// nullability (its one `constraint` value is overridden by keys), the
/// default, identity, and the expression of a generated column (or a
/// Looker field's SQL).
fn column_facts(columns: &[Column]) -> Vec<Value> {
    columns
        .iter()
        .map(|c| {
            let mut fact = Map::new();
            fact.insert("name".into(), c.name.clone().into());
            fact.insert("nullable".into(), c.nullable.into());
            put(&mut fact, "default", c.default_value.clone());
            put(&mut fact, "identity", c.identity.clone());
            put(&mut fact, "generated", c.generated.clone());
            Value::Object(fact)
        })
        .collect()
}

/// OpenMetadata's `tablePartition`: each key column with the kind of
/// interval its strategy and type make.
fn table_partition(p: &Partitioning, columns: &[Column]) -> Value {
    let details: Vec<Value> = p
        .columns
        .iter()
        .map(|name| {
            let data_type = columns.iter().find(|c| &c.name == name).map(|c| c.data_type.as_str()).unwrap_or("");
            let interval_type = match (p.strategy.as_str(), data_type) {
                ("range", "DATE" | "DATETIME" | "TIMESTAMP" | "TIMESTAMPZ" | "TIME") => "TIME-UNIT",
                ("range", "SMALLINT" | "INT" | "BIGINT" | "NUMERIC" | "DECIMAL" | "NUMBER") => "INTEGER-RANGE",
                ("list", _) => "COLUMN-VALUE",
                _ => "OTHER",
            };
            json!({ "columnName": name, "intervalType": interval_type })
        })
        .collect();
    json!({ "columns": details })
}

fn columns_json(columns: &[Column], keyed: &[(String, &str)]) -> Result<Vec<Value>, DocumentError> {
    columns
        .iter()
        .map(|c| {
            if !is_data_type(&c.data_type) {
                return Err(DocumentError::DataType { column: c.name.clone(), data_type: c.data_type.clone() });
            }
            if let Some(array) = &c.array_data_type
                && !is_data_type(array)
            {
                return Err(DocumentError::DataType { column: c.name.clone(), data_type: array.clone() });
            }
            let key = keyed.iter().find(|(name, _)| *name == c.name).map(|(_, k)| *k);
            // A primary key beats unique; otherwise nullability.
            let constraint = key.unwrap_or(if c.nullable { "NULL" } else { "NOT_NULL" });
            let mut col = Map::new();
            col.insert("name".into(), c.name.clone().into());
            col.insert("dataType".into(), c.data_type.clone().into());
            put(&mut col, "arrayDataType", c.array_data_type.clone());
            put(&mut col, "dataLength", c.data_length);
            put(&mut col, "precision", c.precision);
            put(&mut col, "scale", c.scale);
            put(&mut col, "dataTypeDisplay", c.data_type_display.clone());
            put(&mut col, "description", c.description.clone());
            col.insert("constraint".into(), constraint.into());
            col.insert("ordinalPosition".into(), c.ordinal_position.into());
            Ok(Value::Object(col))
        })
        .collect()
}

impl Document {
    /// Replaces every secret in the document (its name and FQN too) and
    /// seals it again; whether anything was replaced.
    pub fn redact(&mut self, redactor: &crate::caps::Redactor) -> bool {
        let mut found = redactor.redact_json(&mut self.body) | redactor.redact_json(&mut self.extra);
        found |= redactor.redact_in_place(&mut self.fqn) | redactor.redact_in_place(&mut self.name);
        if let Some(parent) = &mut self.parent {
            found |= redactor.redact_in_place(parent);
        }
        if found {
            self.seal();
        }
        found
    }

    fn new(
        kind: &str,
        fqn: String,
        parent: Option<String>,
        name: &str,
        body: Map<String, Value>,
        extra: Map<String, Value>,
    ) -> Self {
        Document {
            kind: kind.to_string(),
            fqn,
            parent,
            name: name.to_string(),
            body: Value::Object(body),
            extra: Value::Object(extra),
            source_hash: String::new(),
        }
    }

    /// Computes the source hash and stores it in the request, as
    /// OpenMetadata's `sourceHash` (at most 32 characters), where the
    /// request has one: a pipeline run's status has none (its schema
    /// allows no other key).
    fn seal(&mut self) {
        if let Value::Object(map) = &mut self.body {
            map.remove("sourceHash");
        }
        let mut hasher = Sha256::new();
        hasher.update(self.body.to_string());
        hasher.update(self.extra.to_string());
        let digest = hasher.finalize();
        self.source_hash = crate::runtime::cache::hex(&digest[..16]);
        if self.kind == Kind::PipelineStatus.entity_type() {
            return;
        }
        if let Value::Object(map) = &mut self.body {
            map.insert("sourceHash".into(), self.source_hash.clone().into());
        }
    }
}

/// Resolves a deferred record's paths to FQNs.
pub fn relation(service: &str, deferred: &Deferred) -> Result<Relation, DocumentError> {
    match deferred {
        Deferred::ForeignKey(fk) => foreign_key(service, fk),
        Deferred::Lineage(edge) => lineage(service, edge),
    }
}

fn foreign_key(service: &str, fk: &ForeignKey) -> Result<Relation, DocumentError> {
    if fk.table.len() != 3 {
        return Err(DocumentError::Path(fk.table.clone(), 3));
    }
    if fk.referred_table.len() != 3 {
        return Err(DocumentError::Path(fk.referred_table.clone(), 3));
    }
    let table = path_fqn(service, &fk.table)?;
    let referred_table = path_fqn(service, &fk.referred_table)?;
    let referred_columns: Result<Vec<String>, FqnError> =
        fk.referred_columns.iter().map(|c| Ok(format!("{referred_table}.{}", fqn::quote(c)?))).collect();
    let name = fk.name.clone().unwrap_or_else(|| fk.columns.join(","));
    Ok(Relation::ForeignKey {
        table,
        name,
        columns: fk.columns.clone(),
        referred_table,
        referred_columns: referred_columns?,
    })
}

fn lineage(service: &str, edge: &LineageEdge) -> Result<Relation, DocumentError> {
    let from_service = edge.from_service.as_deref().unwrap_or(service);
    let to_service = edge.to_service.as_deref().unwrap_or(service);
    let from = kind_fqn(from_service, edge.from_kind, &edge.from)?;
    let to = kind_fqn(to_service, edge.to_kind, &edge.to)?;
    // A shared catalog holds other services' edges: a plugin may link its
    // own entities to theirs, never rewrite theirs.
    if from_service != service && to_service != service {
        return Err(DocumentError::ForeignEdge { from, to, service: service.to_string() });
    }
    let mut body = Map::new();
    body.insert("fromEntity".into(), json!({ "type": edge.from_kind.entity_type(), "fqn": from }));
    body.insert("toEntity".into(), json!({ "type": edge.to_kind.entity_type(), "fqn": to }));
    put(&mut body, "sqlQuery", edge.sql.clone());
    // An edge from this service's entity into another's (a pipeline that
    // writes a table) belongs to the upstream end; any other to the
    // downstream end, as a view's or a dashboard's upstream tables do.
    let owned_by_from = from_service == service && to_service != service;
    Ok(Relation::Lineage { from, to, body: Value::Object(body), owned_by_from })
}

impl Relation {
    /// Replaces every secret in the record; whether anything was replaced.
    pub fn redact(&mut self, redactor: &crate::caps::Redactor) -> bool {
        match self {
            Relation::ForeignKey { table, name, columns, referred_table, referred_columns } => {
                let mut found = redactor.redact_in_place(table) | redactor.redact_in_place(name);
                found |= redactor.redact_in_place(referred_table);
                for text in columns.iter_mut().chain(referred_columns.iter_mut()) {
                    found |= redactor.redact_in_place(text);
                }
                found
            }
            Relation::Lineage { from, to, body, .. } => {
                redactor.redact_in_place(from) | redactor.redact_in_place(to) | redactor.redact_json(body)
            }
        }
    }

    /// The OpenMetadata shape of the record: a FOREIGN_KEY table
    /// constraint, or a lineage edge.
    pub fn body(&self) -> Value {
        match self {
            Relation::ForeignKey { columns, referred_columns, .. } => json!({
                "constraintType": "FOREIGN_KEY",
                "columns": columns,
                "referredColumns": referred_columns,
            }),
            Relation::Lineage { body, .. } => body.clone(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Relation::ForeignKey { .. } => "foreignKey",
            Relation::Lineage { .. } => "lineage",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Relation::ForeignKey { name, .. } => name,
            Relation::Lineage { .. } => "",
        }
    }

    /// Tells apart records between the same FQNs: a foreign key's name,
    /// a lineage edge's downstream kind (chart 5 and dashboard 5 share an
    /// FQN).
    pub fn distinction(&self) -> &str {
        match self {
            Relation::ForeignKey { name, .. } => name,
            Relation::Lineage { body, .. } => body["toEntity"]["type"].as_str().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::entity::{ExecutionStatus, Task, TaskStatus};
    use weir_fixtures::openmetadata::{definition_validator, schema_errors, validator};

    #[test]
    fn a_pipeline_owns_the_edges_it_writes_into_another_services_tables() {
        let edge =
            |from_kind, from: &[&str], from_service: Option<&str>, to_kind, to: &[&str], to_service: Option<&str>| {
                LineageEdge {
                    from_kind,
                    from: from.iter().map(|s| s.to_string()).collect(),
                    from_service: from_service.map(str::to_string),
                    to_kind,
                    to: to.iter().map(|s| s.to_string()).collect(),
                    to_service: to_service.map(str::to_string),
                    sql: None,
                }
            };
        let writes = lineage("af", &edge(Kind::Pipeline, &["load"], None, Kind::Table, &["db", "s", "t"], Some("pg")));
        let writes = writes.unwrap();
        assert_eq!((writes.owner(), writes.target()), ("af.load", "pg.db.s.t"), "the table must exist");
        let reads = lineage("af", &edge(Kind::Table, &["db", "s", "t"], Some("pg"), Kind::Pipeline, &["load"], None));
        let reads = reads.unwrap();
        assert_eq!((reads.owner(), reads.target()), ("af.load", "pg.db.s.t"));
        let view = lineage("pg", &edge(Kind::Table, &["db", "s", "t"], None, Kind::Table, &["db", "s", "v"], None));
        let view = view.unwrap();
        assert_eq!((view.owner(), view.target()), ("pg.db.s.v", "pg.db.s.t"), "a view owns its upstream edges");
    }

    fn pipeline() -> Pipeline {
        Pipeline {
            name: "load_orders".into(),
            display_name: Some("Load orders".into()),
            description: Some("Orders **loader**".into()),
            source_url: Some("http://af:8080/dags/load_orders".into()),
            schedule_interval: Some("0 0 * * *".into()),
            start_date: Some("2026-01-01T00:00:00Z".into()),
            concurrency: Some(2),
            active: false,
            location: Some("/dags/shop.py".into()),
            tags: vec!["shop".into()],
            owners: vec!["ana".into()],
            tasks: vec![Task {
                name: "extract".into(),
                display_name: None,
                description: None,
                task_type: Some("BashOperator".into()),
                downstream_tasks: vec!["load".into()],
                source_url: Some("http://af:8080/dags/load_orders/tasks/extract".into()),
                owner: Some("ana".into()),
            }],
        }
    }

    #[test]
    fn a_pipeline_is_a_valid_create_pipeline_with_owners_and_tags_beside_it() {
        let doc = entity_document("af", &Entity::Pipeline(pipeline())).unwrap();
        assert_eq!(
            (doc.kind.as_str(), doc.fqn.as_str(), doc.parent.as_deref()),
            ("pipeline", "af.load_orders", Some("af"))
        );
        let errors = schema_errors(&validator("api/data/createPipeline.json"), &doc.body);
        assert!(errors.is_empty(), "{errors:?}\n{}", doc.body);
        assert_eq!(doc.body["state"], "Inactive", "a paused DAG");
        assert_eq!(doc.body["tasks"][0]["downstreamTasks"], json!(["load"]));
        assert_eq!(doc.body["concurrency"], 2);
        assert_eq!((doc.extra["owners"].clone(), doc.extra["tags"].clone()), (json!(["ana"]), json!(["shop"])));
    }

    #[test]
    fn a_run_is_a_valid_pipeline_status_on_its_pipeline() {
        let run = PipelineStatus {
            pipeline: "load_orders".into(),
            execution_id: "manual__2026-12-04T10:00:00.5+00:00".into(),
            status: ExecutionStatus::Failed,
            timestamp: 1_796_392_800_000,
            end_time: Some(1_796_392_860_000),
            tasks: vec![TaskStatus {
                name: "extract".into(),
                status: ExecutionStatus::Successful,
                start_time: Some(1_796_392_800_000),
                end_time: Some(1_796_392_830_000),
                log_link: Some("http://af:8080/dags/load_orders/runs/x/tasks/extract".into()),
            }],
        };
        let doc = entity_document("af", &Entity::PipelineStatus(run)).unwrap();
        assert_eq!(doc.parent.as_deref(), Some("af.load_orders"), "written onto its pipeline");
        assert_eq!(doc.fqn, "af.load_orders.\"manual__2026-12-04T10:00:00.5+00:00\"", "a dotted run id is quoted");
        let errors = schema_errors(&definition_validator("entity/data/pipeline.json", "pipelineStatus"), &doc.body);
        assert!(errors.is_empty(), "{errors:?}\n{}", doc.body);
        assert_eq!(doc.body["executionStatus"], "Failed");
        assert_eq!(doc.body["taskStatus"][0]["executionStatus"], "Successful");
        let bad = json!({ "timestamp": 1, "executionStatus": "Done" });
        assert!(!schema_errors(&definition_validator("entity/data/pipeline.json", "pipelineStatus"), &bad).is_empty());
    }
}
