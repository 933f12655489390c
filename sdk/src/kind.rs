//! The entity kinds of the `weir:connector` contract, with every name they
//! go by, in one table. The host compiles this same file as `model::Kind`,
//! so plugins and host name and order kinds alike.

/// An entity kind of the contract. Declared parents first: a run writes
/// databases, then schemas, then what lives in schemas, so the derived
/// order is the order of writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A database; path `[database]`.
    Database,
    /// A schema of a database; path `[database, schema]`.
    DatabaseSchema,
    /// A table, view or the like in a schema; path `[database, schema, table]`.
    Table,
    /// A stored procedure or function in a schema; path
    /// `[database, schema, name]`, overloads told apart by the ref's key.
    StoredProcedure,
    /// A chart of a dashboard service; path `[chart]`.
    Chart,
    /// A dashboard service's data model (OpenMetadata's
    /// `dashboardDataModel`, a Looker explore); path `[name]`.
    DataModel,
    /// A dashboard; path `[dashboard]`. Written after its charts.
    Dashboard,
    /// A pipeline of a pipeline service (an Airflow DAG) with its tasks;
    /// path `[pipeline]`.
    Pipeline,
    /// One run of a pipeline; path `[pipeline, run id]`. Written onto its
    /// pipeline, after it.
    PipelineStatus,
}

/// One row per kind: OpenMetadata's entity type, its REST collection, the
/// word a person reads in a message, the word in shard ids, and how many
/// names its path has.
struct Names {
    entity_type: &'static str,
    collection: &'static str,
    noun: &'static str,
    code: &'static str,
    path_len: usize,
}

const TABLE: [(Kind, Names); 9] = [
    (
        Kind::Database,
        Names { entity_type: "database", collection: "databases", noun: "database", code: "database", path_len: 1 },
    ),
    (
        Kind::DatabaseSchema,
        Names {
            entity_type: "databaseSchema",
            collection: "databaseSchemas",
            noun: "schema",
            code: "schema",
            path_len: 2,
        },
    ),
    (Kind::Table, Names { entity_type: "table", collection: "tables", noun: "table", code: "table", path_len: 3 }),
    (
        Kind::StoredProcedure,
        Names {
            entity_type: "storedProcedure",
            collection: "storedProcedures",
            noun: "stored procedure",
            code: "procedure",
            path_len: 3,
        },
    ),
    (Kind::Chart, Names { entity_type: "chart", collection: "charts", noun: "chart", code: "chart", path_len: 1 }),
    (
        Kind::DataModel,
        Names {
            entity_type: "dashboardDataModel",
            collection: "dashboard/datamodels",
            noun: "data model",
            code: "datamodel",
            path_len: 1,
        },
    ),
    (
        Kind::Dashboard,
        Names { entity_type: "dashboard", collection: "dashboards", noun: "dashboard", code: "dashboard", path_len: 1 },
    ),
    (
        Kind::Pipeline,
        Names { entity_type: "pipeline", collection: "pipelines", noun: "pipeline", code: "pipeline", path_len: 1 },
    ),
    (
        Kind::PipelineStatus,
        Names {
            entity_type: "pipelineStatus",
            collection: "pipelines",
            noun: "pipeline run",
            code: "run",
            path_len: 2,
        },
    ),
];

impl Kind {
    /// Every kind, parents first.
    pub const ALL: [Kind; 9] = [
        Kind::Database,
        Kind::DatabaseSchema,
        Kind::Table,
        Kind::StoredProcedure,
        Kind::Chart,
        Kind::DataModel,
        Kind::Dashboard,
        Kind::Pipeline,
        Kind::PipelineStatus,
    ];

    fn names(self) -> &'static Names {
        &TABLE[self as usize].1
    }

    /// OpenMetadata's entity type name (`databaseSchema`): what documents,
    /// reports and the catalog call it.
    pub fn entity_type(self) -> &'static str {
        self.names().entity_type
    }

    /// The kind whose entity type name this is.
    pub fn from_entity_type(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.entity_type() == name)
    }

    /// OpenMetadata's REST collection (`databaseSchemas`).
    pub fn collection(self) -> &'static str {
        self.names().collection
    }

    /// The kind in a sentence (`schema`, `stored procedure`).
    pub fn noun(self) -> &'static str {
        self.names().noun
    }

    /// The kind in a shard id (`procedure`, `datamodel`): one lowercase word.
    pub fn code(self) -> &'static str {
        self.names().code
    }

    /// How many names a path of this kind has: a table's is database,
    /// schema, table; a dashboard's is its id alone.
    pub fn path_len(self) -> usize {
        self.names().path_len
    }
}

/// `From` both ways between [`Kind`] and a contract binding's `EntityKind`
/// (the SDK's from wit-bindgen, the host's from wasmtime's bindgen): the
/// variants are the same, so one list serves both. Call it where both
/// names are in scope.
macro_rules! entity_kind_conversions {
    ($entity_kind:ident) => {
        impl From<$entity_kind> for Kind {
            fn from(kind: $entity_kind) -> Kind {
                match kind {
                    $entity_kind::Database => Kind::Database,
                    $entity_kind::DatabaseSchema => Kind::DatabaseSchema,
                    $entity_kind::Table => Kind::Table,
                    $entity_kind::StoredProcedure => Kind::StoredProcedure,
                    $entity_kind::Chart => Kind::Chart,
                    $entity_kind::DataModel => Kind::DataModel,
                    $entity_kind::Dashboard => Kind::Dashboard,
                    $entity_kind::Pipeline => Kind::Pipeline,
                    $entity_kind::PipelineStatus => Kind::PipelineStatus,
                }
            }
        }

        impl From<Kind> for $entity_kind {
            fn from(kind: Kind) -> $entity_kind {
                match kind {
                    Kind::Database => $entity_kind::Database,
                    Kind::DatabaseSchema => $entity_kind::DatabaseSchema,
                    Kind::Table => $entity_kind::Table,
                    Kind::StoredProcedure => $entity_kind::StoredProcedure,
                    Kind::Chart => $entity_kind::Chart,
                    Kind::DataModel => $entity_kind::DataModel,
                    Kind::Dashboard => $entity_kind::Dashboard,
                    Kind::Pipeline => $entity_kind::Pipeline,
                    Kind::PipelineStatus => $entity_kind::PipelineStatus,
                }
            }
        }
    };
}
pub(crate) use entity_kind_conversions;

#[cfg(test)]
mod tests {
    use super::{Kind, TABLE};

    #[test]
    fn the_table_has_one_row_per_kind_in_declared_order() {
        for (at, (kind, _)) in TABLE.iter().enumerate() {
            assert_eq!(*kind as usize, at, "{kind:?} is on the wrong row");
            assert_eq!(Kind::ALL[at], *kind);
            assert_eq!(Kind::from_entity_type(kind.entity_type()), Some(*kind));
        }
        assert!(Kind::Database < Kind::DatabaseSchema && Kind::DatabaseSchema < Kind::Table);
        assert!(Kind::Chart < Kind::Dashboard, "a dashboard's charts are written before it");
    }
}
