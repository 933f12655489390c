//! What a plugin hands the host, as the host keeps it: references, entities,
//! deferred records, failures, and the plugin's description of itself.
//!
//! These mirror the contract's records field for field, so that the layers
//! past the sandbox (planning, sinks, reports) speak of entities without
//! naming a contract version. A new minor version of the contract changes
//! `runtime::into_model` and, where it adds a field, this file; nothing
//! else.

use super::Kind;

/// What the host should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Worth retrying: a timeout, a dropped connection, a lock.
    Transient,
    /// Retrying will not help: bad data, an unsupported object.
    Permanent,
    /// The workflow configuration is wrong or incomplete.
    Config,
    /// The sandbox refused: a capability that was not granted.
    Denied,
}

/// An error a plugin reported instead of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

/// A handle on one entity found by `discover`: its kind, its path from the
/// top of the source down (without the service), a relative cost hint, and
/// the plugin's own opaque key.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRef {
    pub kind: Kind,
    pub path: Vec<String>,
    pub cost: u32,
    pub key: Option<String>,
}

/// OpenMetadata `tableType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableType {
    Regular,
    External,
    Dynamic,
    View,
    SecureView,
    MaterializedView,
    Iceberg,
    Local,
    Partitioned,
    Foreign,
    Transient,
    Stream,
    Stage,
}

/// OpenMetadata `tableConstraint.constraintType`, less foreign keys, which
/// are deferred records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    SortKey,
    DistKey,
    ClusterKey,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableConstraint {
    pub kind: ConstraintKind,
    pub name: Option<String>,
    pub columns: Vec<String>,
}

/// A CHECK constraint, kept as the source's own text.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConstraint {
    pub name: String,
    pub expression: String,
}

/// One column, after OpenMetadata's `column`.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// One of OpenMetadata's `dataType` values; checked before writing.
    pub data_type: String,
    pub data_type_display: Option<String>,
    pub array_data_type: Option<String>,
    pub data_length: Option<i32>,
    pub precision: Option<i32>,
    pub scale: Option<i32>,
    pub nullable: bool,
    pub default_value: Option<String>,
    /// An identity column: `always` or `by default`.
    pub identity: Option<String>,
    /// A generated column's expression, as the source writes it.
    pub generated: Option<String>,
    pub description: Option<String>,
    pub ordinal_position: u32,
}

/// One partition of a partitioned table.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub schema: String,
    pub name: String,
    pub bound: String,
}

/// How a partitioned table is split, and into which partitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Partitioning {
    pub strategy: String,
    pub key: String,
    pub columns: Vec<String>,
    pub partitions: Vec<Partition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Database {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSchema {
    pub database: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub database: String,
    pub schema: String,
    pub name: String,
    pub table_type: TableType,
    pub description: Option<String>,
    pub columns: Vec<Column>,
    pub constraints: Vec<TableConstraint>,
    pub checks: Vec<CheckConstraint>,
    pub view_definition: Option<String>,
    pub partitioning: Option<Partitioning>,
    pub owner: Option<String>,
    pub row_count: Option<i64>,
    pub size_bytes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredProcedure {
    pub database: String,
    pub schema: String,
    pub name: String,
    /// Distinguishes overloads: the argument signature.
    pub signature: Option<String>,
    pub language: Option<String>,
    pub code: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub source_url: Option<String>,
    /// The names of its charts, produced in the same run.
    pub charts: Vec<String>,
    pub project: Option<String>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub chart_type: Option<String>,
    pub source_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataModel {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub data_model_type: String,
    pub columns: Vec<Column>,
    pub sql: Option<String>,
    pub project: Option<String>,
    pub source_url: Option<String>,
}

/// One task of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub task_type: Option<String>,
    pub downstream_tasks: Vec<String>,
    pub source_url: Option<String>,
    pub owner: Option<String>,
}

/// A pipeline of a pipeline service (an Airflow DAG).
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub source_url: Option<String>,
    pub schedule_interval: Option<String>,
    /// RFC 3339.
    pub start_date: Option<String>,
    pub concurrency: Option<u32>,
    /// False when paused.
    pub active: bool,
    pub location: Option<String>,
    pub tags: Vec<String>,
    pub owners: Vec<String>,
    pub tasks: Vec<Task>,
}

/// How a run or a task of it ended (OpenMetadata's `statusType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    Successful,
    Failed,
    Pending,
    Skipped,
}

impl ExecutionStatus {
    /// OpenMetadata's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Successful => "Successful",
            ExecutionStatus::Failed => "Failed",
            ExecutionStatus::Pending => "Pending",
            ExecutionStatus::Skipped => "Skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    pub name: String,
    pub status: ExecutionStatus,
    /// Milliseconds since the Unix epoch.
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub log_link: Option<String>,
}

/// One run of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineStatus {
    pub pipeline: String,
    pub execution_id: String,
    pub status: ExecutionStatus,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub end_time: Option<i64>,
    pub tasks: Vec<TaskStatus>,
}

/// An entity of a kind the contract does not model: an OpenMetadata
/// Create* document as JSON, passed through as is.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEntity {
    pub kind: String,
    pub name: String,
    pub document: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entity {
    Database(Database),
    DatabaseSchema(DatabaseSchema),
    Table(Table),
    StoredProcedure(StoredProcedure),
    Dashboard(Dashboard),
    Chart(Chart),
    DataModel(DataModel),
    Raw(RawEntity),
    Pipeline(Pipeline),
    PipelineStatus(PipelineStatus),
}

impl Entity {
    /// The modelled kind of this entity; raw entities have none.
    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            Entity::Database(_) => Kind::Database,
            Entity::DatabaseSchema(_) => Kind::DatabaseSchema,
            Entity::Table(_) => Kind::Table,
            Entity::StoredProcedure(_) => Kind::StoredProcedure,
            Entity::Dashboard(_) => Kind::Dashboard,
            Entity::Chart(_) => Kind::Chart,
            Entity::DataModel(_) => Kind::DataModel,
            Entity::Pipeline(_) => Kind::Pipeline,
            Entity::PipelineStatus(_) => Kind::PipelineStatus,
            Entity::Raw(_) => return None,
        })
    }
}

/// `table` (a `[db, schema, table]` path) and its `columns` refer to
/// `referred_columns` of `referred_table`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    pub name: Option<String>,
    pub table: Vec<String>,
    pub columns: Vec<String>,
    pub referred_table: Vec<String>,
    pub referred_columns: Vec<String>,
}

/// Data flows from `from` to `to`; a `*_service` names another service
/// than the plugin's own.
#[derive(Debug, Clone, PartialEq)]
pub struct LineageEdge {
    pub from_kind: Kind,
    pub from: Vec<String>,
    pub from_service: Option<String>,
    pub to_kind: Kind,
    pub to: Vec<String>,
    pub to_service: Option<String>,
    pub sql: Option<String>,
}

/// Records that point at other entities, applied once every entity of the
/// run exists.
#[derive(Debug, Clone, PartialEq)]
pub enum Deferred {
    ForeignKey(ForeignKey),
    Lineage(LineageEdge),
}

/// One entity that could not be produced, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityFailure {
    pub path: Vec<String>,
    pub error: Failure,
}

/// What one `process` call produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    pub entities: Vec<Entity>,
    pub deferred: Vec<Deferred>,
    pub failures: Vec<EntityFailure>,
}

/// A capability a plugin asks for; the workflow must grant it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// A database connection, by label.
    Sql(String),
    /// HTTP to an origin, or `connection`: the connection's own.
    Http(String),
}

/// Who a plugin is and what it needs, as `describe` says.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    /// The `source.type` values it serves.
    pub source_types: Vec<String>,
    pub entity_kinds: Vec<Kind>,
    pub capabilities: Vec<Capability>,
    /// JSON Schema of the `sourceConfig.config` keys it reads.
    pub config_schema: String,
}
