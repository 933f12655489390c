//! The contract's generated types turned into [`crate::model`]'s, and the
//! references handed back into `process` turned into the contract's. This
//! is the one place that knows both: a new contract version changes the
//! conversions here, not the layers past the sandbox.

use crate::contract::types as wit;
use crate::contract::types::EntityKind;
use crate::model::Kind;
use crate::model::entity as model;

crate::model::entity_kind_conversions!(EntityKind);

/// A contract value as the host's model has it.
pub trait IntoModel {
    type Model;
    fn into_model(self) -> Self::Model;
}

impl<T: IntoModel> IntoModel for Vec<T> {
    type Model = Vec<T::Model>;
    fn into_model(self) -> Self::Model {
        self.into_iter().map(IntoModel::into_model).collect()
    }
}

impl<T: IntoModel> IntoModel for Option<T> {
    type Model = Option<T::Model>;
    fn into_model(self) -> Self::Model {
        self.map(IntoModel::into_model)
    }
}

impl<T: IntoModel, E: IntoModel> IntoModel for Result<T, E> {
    type Model = Result<T::Model, E::Model>;
    fn into_model(self) -> Self::Model {
        self.map(IntoModel::into_model).map_err(IntoModel::into_model)
    }
}

impl IntoModel for wit::EntityKind {
    type Model = Kind;
    fn into_model(self) -> Kind {
        self.into()
    }
}

/// Enums whose cases the contract and the model name alike.
macro_rules! same_cases {
    ($from:ty => $to:ty { $($case:ident),* $(,)? }) => {
        impl IntoModel for $from {
            type Model = $to;
            fn into_model(self) -> $to {
                match self {
                    $(<$from>::$case => <$to>::$case,)*
                }
            }
        }
    };
}

/// Records whose fields the contract and the model name alike; each
/// field converts on its own (`into_model` where it is a contract type).
macro_rules! same_fields {
    ($from:ident => $to:ident { $($plain:ident),* $(,)? } { $($nested:ident),* $(,)? }) => {
        impl IntoModel for wit::$from {
            type Model = model::$to;
            fn into_model(self) -> model::$to {
                model::$to {
                    $($plain: self.$plain,)*
                    $($nested: self.$nested.into_model(),)*
                }
            }
        }
    };
}

same_cases!(wit::ErrorKind => model::ErrorKind { Transient, Permanent, Config, Denied });
same_cases!(wit::TableType => model::TableType {
    Regular, External, Dynamic, View, SecureView, MaterializedView, Iceberg, Local, Partitioned, Foreign,
    Transient, Stream, Stage,
});
same_cases!(wit::ConstraintKind => model::ConstraintKind { PrimaryKey, Unique, SortKey, DistKey, ClusterKey });
same_cases!(wit::ExecutionStatus => model::ExecutionStatus { Successful, Failed, Pending, Skipped });

same_fields!(Failure => Failure { message } { kind });
same_fields!(EntityRef => EntityRef { path, cost, key } { kind });
same_fields!(TableConstraint => TableConstraint { name, columns } { kind });
same_fields!(CheckConstraint => CheckConstraint { name, expression } {});
same_fields!(Column => Column {
    name, data_type, data_type_display, array_data_type, data_length, precision, scale, nullable,
    default_value, identity, generated, description, ordinal_position,
} {});
same_fields!(Partition => Partition { schema, name, bound } {});
same_fields!(Partitioning => Partitioning { strategy, key, columns } { partitions });
same_fields!(Database => Database { name, description } {});
same_fields!(DatabaseSchema => DatabaseSchema { database, name, description } {});
same_fields!(Table => Table {
    database, schema, name, description, view_definition, owner, row_count, size_bytes,
} { table_type, columns, constraints, checks, partitioning });
same_fields!(StoredProcedure => StoredProcedure {
    database, schema, name, signature, language, code, description,
} {});
same_fields!(Dashboard => Dashboard {
    name, display_name, description, source_url, charts, project, owner,
} {});
same_fields!(Chart => Chart { name, display_name, description, chart_type, source_url } {});
same_fields!(DataModel => DataModel {
    name, display_name, description, data_model_type, sql, project, source_url,
} { columns });
same_fields!(RawEntity => RawEntity { kind, name, document } {});
same_fields!(Task => Task { name, display_name, description, task_type, downstream_tasks, source_url, owner } {});
same_fields!(Pipeline => Pipeline {
    name, display_name, description, source_url, schedule_interval, start_date, concurrency, active, location, tags,
    owners,
} { tasks });
same_fields!(TaskStatus => TaskStatus { name, start_time, end_time, log_link } { status });
same_fields!(PipelineStatus => PipelineStatus { pipeline, execution_id, timestamp, end_time } { status, tasks });
same_fields!(ForeignKey => ForeignKey { name, table, columns, referred_table, referred_columns } {});
same_fields!(LineageEdge => LineageEdge { from, from_service, to, to_service, sql } { from_kind, to_kind });
same_fields!(EntityFailure => EntityFailure { path } { error });
same_fields!(Batch => Batch {} { entities, deferred, failures });
same_fields!(PluginInfo => PluginInfo {
    name, version, source_types, config_schema,
} { entity_kinds, capabilities });

impl IntoModel for wit::Entity {
    type Model = model::Entity;
    fn into_model(self) -> model::Entity {
        use model::Entity as M;
        use wit::Entity as W;
        match self {
            W::Database(e) => M::Database(e.into_model()),
            W::DatabaseSchema(e) => M::DatabaseSchema(e.into_model()),
            W::Table(e) => M::Table(e.into_model()),
            W::StoredProcedure(e) => M::StoredProcedure(e.into_model()),
            W::Dashboard(e) => M::Dashboard(e.into_model()),
            W::Chart(e) => M::Chart(e.into_model()),
            W::DataModel(e) => M::DataModel(e.into_model()),
            W::Raw(e) => M::Raw(e.into_model()),
            W::Pipeline(e) => M::Pipeline(e.into_model()),
            W::PipelineStatus(e) => M::PipelineStatus(e.into_model()),
        }
    }
}

impl IntoModel for wit::Deferred {
    type Model = model::Deferred;
    fn into_model(self) -> model::Deferred {
        match self {
            wit::Deferred::ForeignKey(fk) => model::Deferred::ForeignKey(fk.into_model()),
            wit::Deferred::Lineage(edge) => model::Deferred::Lineage(edge.into_model()),
        }
    }
}

impl IntoModel for wit::Capability {
    type Model = model::Capability;
    fn into_model(self) -> model::Capability {
        match self {
            wit::Capability::Sql(label) => model::Capability::Sql(label),
            wit::Capability::Http(origin) => model::Capability::Http(origin),
        }
    }
}

/// The references handed back into `process`, as the contract has them.
pub fn refs_into_contract(refs: &[model::EntityRef]) -> Vec<wit::EntityRef> {
    refs.iter()
        .map(|r| wit::EntityRef { kind: r.kind.into(), path: r.path.clone(), cost: r.cost, key: r.key.clone() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_every_field_on_the_way_into_the_model() {
        let column = wit::Column {
            name: "id".into(),
            data_type: "INT".into(),
            data_type_display: Some("integer".into()),
            array_data_type: None,
            data_length: Some(4),
            precision: Some(32),
            scale: Some(0),
            nullable: false,
            default_value: Some("nextval('s')".into()),
            identity: None,
            generated: Some("a + b".into()),
            description: Some("key".into()),
            ordinal_position: 1,
        };
        let table = wit::Table {
            database: "d".into(),
            schema: "s".into(),
            name: "t".into(),
            table_type: wit::TableType::Stream,
            description: Some("T".into()),
            columns: vec![column],
            constraints: vec![wit::TableConstraint {
                kind: wit::ConstraintKind::ClusterKey,
                name: Some("pk".into()),
                columns: vec!["id".into()],
            }],
            checks: vec![wit::CheckConstraint { name: "c".into(), expression: "id > 0".into() }],
            view_definition: None,
            partitioning: Some(wit::Partitioning {
                strategy: "range".into(),
                key: "RANGE (id)".into(),
                columns: vec!["id".into()],
                partitions: vec![wit::Partition { schema: "s".into(), name: "p1".into(), bound: "FOR ...".into() }],
            }),
            owner: Some("o".into()),
            row_count: Some(7),
            size_bytes: Some(8192),
        };
        let batch = wit::Batch {
            entities: vec![wit::Entity::Table(table)],
            deferred: vec![wit::Deferred::Lineage(wit::LineageEdge {
                from_kind: wit::EntityKind::Table,
                from: vec!["d".into(), "s".into(), "u".into()],
                from_service: Some("other".into()),
                to_kind: wit::EntityKind::DataModel,
                to: vec!["m".into()],
                to_service: None,
                sql: Some("select".into()),
            })],
            failures: vec![wit::EntityFailure {
                path: vec!["x".into()],
                error: wit::Failure { kind: wit::ErrorKind::Denied, message: "no".into() },
            }],
        };
        let batch = batch.into_model();
        let model::Entity::Table(table) = &batch.entities[0] else { panic!("not a table: {:?}", batch.entities) };
        assert_eq!(table.table_type, model::TableType::Stream);
        assert_eq!(table.columns[0].generated.as_deref(), Some("a + b"));
        assert_eq!(table.columns[0].default_value.as_deref(), Some("nextval('s')"));
        assert_eq!(table.constraints[0].kind, model::ConstraintKind::ClusterKey);
        assert_eq!(table.partitioning.as_ref().map(|p| p.partitions[0].name.as_str()), Some("p1"));
        assert_eq!((table.row_count, table.size_bytes), (Some(7), Some(8192)));
        let model::Deferred::Lineage(edge) = &batch.deferred[0] else { panic!("not lineage") };
        assert_eq!((edge.from_kind, edge.to_kind), (Kind::Table, Kind::DataModel));
        assert_eq!(edge.from_service.as_deref(), Some("other"));
        assert_eq!(batch.failures[0].error.kind, model::ErrorKind::Denied);
    }

    #[test]
    fn refs_go_back_into_the_contract_unchanged() {
        let refs = vec![model::EntityRef {
            kind: Kind::StoredProcedure,
            path: vec!["d".into(), "s".into(), "p".into()],
            cost: 3,
            key: Some("oid:42".into()),
        }];
        let back = refs_into_contract(&refs);
        assert_eq!(back[0].kind, wit::EntityKind::StoredProcedure);
        assert_eq!(back[0].clone().into_model(), refs[0]);
    }
}
