//! Explores as data models: one `GET /lookml_models/{model}/explores/{explore}`
//! per explore, all of a batch at once. Columns are the explore's
//! dimensions and measures, with their SQL; lineage runs from the tables
//! the explore and its joins read (`sql_table_name`) into the data model.

use crate::api::Api;
use crate::model::{explore_of_ref, text};
use crate::settings::Settings;
use crate::types::column_data_type;
use std::collections::BTreeSet;
use weir_sdk::percent::encode;
use weir_sdk::serde_json::Value;
use weir_sdk::tables::{resolve, split_table_name};
use weir_sdk::{
    Batch, Column, DataModel, Deferred, Entity, EntityFailure, EntityKind, EntityRef, Failure, LineageEdge,
};

const EXPLORE_FIELDS: &str = "id,name,model_name,label,description,sql_table_name,view_name,connection_name,\
joins(name,from,sql_table_name),fields(dimensions(name,label,type,sql,description,hidden),\
measures(name,label,type,sql,description,hidden))";

pub fn process(settings: &Settings, api: &Api, refs: &[EntityRef], batch: &mut Batch) {
    let mut asked = Vec::new();
    let mut paths = Vec::new();
    for r in refs {
        match explore_of_ref(&r.path[0], r.key.as_deref()) {
            Some((model, explore)) => {
                paths.push(format!(
                    "/lookml_models/{}/explores/{}?fields={EXPLORE_FIELDS}",
                    encode(&model),
                    encode(&explore)
                ));
                asked.push((r, model, explore));
            }
            None => batch.failures.push(EntityFailure {
                path: r.path.clone(),
                error: Failure::permanent(format!("`{}` does not name an explore of the model in its key", r.path[0])),
            }),
        }
    }
    let mut unmapped = 0;
    for ((r, model, name), answer) in asked.into_iter().zip(api.get_all(&paths)) {
        match answer {
            Ok(explore) => unmapped += add_explore(settings, &r.path[0], (&model, &name), &explore, batch),
            Err(error) => batch.failures.push(EntityFailure { path: r.path.clone(), error }),
        }
    }
    if unmapped > 0 {
        let hint = if settings.prefixes().is_empty() {
            "set sourceConfig.config.lineageInformation.dbServicePrefixes (service.database) to map them"
        } else {
            "no dbServicePrefixes entry completes them to service.database.schema.table"
        };
        weir_sdk::log::warn(&format!("{unmapped} table names of explores were not mapped to tables: {hint}"));
    }
}

/// Adds the data model and its table lineage; the number of table names
/// that could not be mapped to a table.
fn add_explore(
    settings: &Settings,
    id: &str,
    (model, name): (&str, &str),
    explore: &Value,
    batch: &mut Batch,
) -> usize {
    let mut columns = Vec::new();
    let fields = explore.get("fields");
    for (group, is_measure) in [("dimensions", false), ("measures", true)] {
        let list = fields.and_then(|f| f.get(group)).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for field in list {
            let Some(name) = text(field, "name") else { continue };
            let looker_type = text(field, "type").unwrap_or_else(|| "string".into());
            columns.push(Column {
                name,
                data_type: column_data_type(&looker_type, is_measure).to_string(),
                data_type_display: Some(if is_measure { format!("measure: {looker_type}") } else { looker_type }),
                array_data_type: None,
                data_length: None,
                precision: None,
                scale: None,
                nullable: true,
                default_value: None,
                identity: None,
                generated: text(field, "sql"),
                description: text(field, "description").or_else(|| text(field, "label")),
                ordinal_position: u32::try_from(columns.len() + 1).unwrap_or(u32::MAX),
            });
        }
    }
    batch.entities.push(Entity::DataModel(DataModel {
        name: id.to_string(),
        display_name: text(explore, "label"),
        description: text(explore, "description"),
        data_model_type: "LookMlExplore".to_string(),
        columns,
        sql: None,
        project: Some(model.to_string()),
        source_url: Some(format!("{}/explore/{}/{}", settings.host, encode(model), encode(name))),
    }));

    // The explore's own table, then its joins'.
    let mut names: Vec<String> = text(explore, "sql_table_name").into_iter().collect();
    let joins = explore.get("joins").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    names.extend(joins.iter().filter_map(|j| text(j, "sql_table_name")));
    let mut tables = BTreeSet::new();
    let mut unmapped = 0;
    for name in names {
        match split_table_name(&name).and_then(|parts| resolve(settings.prefixes(), &parts)) {
            Some(table) => {
                tables.insert(table);
            }
            None => unmapped += 1,
        }
    }
    for (service, path) in tables {
        batch.deferred.push(Deferred::Lineage(LineageEdge {
            from_kind: EntityKind::Table,
            from: path,
            from_service: Some(service),
            to_kind: EntityKind::DataModel,
            to: vec![id.to_string()],
            to_service: None,
            sql: None,
        }));
    }
    unmapped
}
