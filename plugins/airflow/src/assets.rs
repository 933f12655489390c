//! Lineage from Airflow 3 assets: an asset a DAG is scheduled on or a task
//! reads (an inlet) feeds the pipeline; an asset a task writes (an outlet)
//! is fed by it. An asset names a table by its URI
//! (`postgres://host:5432/pagila/public/film`, the OpenLineage-style form
//! Airflow's providers use) or by a dotted name (`pagila.public.film`);
//! `lineageInformation.dbServicePrefixes` says which database service it
//! is in. Assets that name no table of those services are reported.

use crate::api::{Api, Call, Version};
use crate::pipelines::text;
use crate::settings::Settings;
use std::collections::{BTreeMap, BTreeSet};
use weir_sdk::percent::encode;
use weir_sdk::serde_json::Value;
use weir_sdk::tables::{resolve, split_table_name};
use weir_sdk::{Batch, Deferred, EntityKind, LineageEdge};

/// DAG ids per `GET /assets?dag_ids=...`, to keep URLs short.
const DAGS_PER_CALL: usize = 50;

/// A table in a database service: (service, [database, schema, table]).
type Table = (String, Vec<String>);

/// Which way data flows between a table and a pipeline.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Flow {
    Reads,
    Writes,
}

pub fn lineage(settings: &Settings, api: &Api, dags: &[String], batch: &mut Batch) {
    // Airflow 2 calls them datasets, and lists no task's inlets.
    let (path, key) = match api.version() {
        Ok(Version::V1) => ("/datasets?order_by=id", "datasets"),
        _ => ("/assets?order_by=id", "assets"),
    };
    let calls: Vec<Call> = dags
        .chunks(DAGS_PER_CALL)
        .map(|chunk| Call::get(format!("{path}&dag_ids={}", encode(&chunk.join(",")))))
        .collect();
    let ours: BTreeSet<&str> = dags.iter().map(String::as_str).collect();
    // (dag, flow) -> tables, so an asset named twice makes one edge.
    let mut edges: BTreeMap<(String, Flow), BTreeSet<Table>> = BTreeMap::new();
    let mut unresolved: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for answer in api.list_all(&calls, key) {
        let assets = match answer {
            Ok(assets) => assets,
            Err(failure) => {
                weir_sdk::log::warn(&format!("the DAGs' assets could not be read, so no lineage: {}", failure.message));
                continue;
            }
        };
        for asset in &assets {
            let uses = uses(asset, &ours);
            if uses.is_empty() {
                continue;
            }
            let table = table_of(asset).and_then(|parts| resolve(settings.prefixes(), &parts));
            for (dag, flow) in uses {
                match &table {
                    Some(table) => {
                        edges.entry((dag, flow)).or_default().insert(table.clone());
                    }
                    None => {
                        let name = text(asset, "uri").or_else(|| text(asset, "name")).unwrap_or_default();
                        unresolved.entry(dag).or_default().insert(name);
                    }
                }
            }
        }
    }
    for ((dag, flow), tables) in edges {
        for (service, path) in tables {
            let (table, pipeline) =
                ((EntityKind::Table, path, Some(service)), (EntityKind::Pipeline, vec![dag.clone()], None));
            let (from, to) = if flow == Flow::Reads { (table, pipeline) } else { (pipeline, table) };
            batch.deferred.push(Deferred::Lineage(LineageEdge {
                from_kind: from.0,
                from: from.1,
                from_service: from.2,
                to_kind: to.0,
                to: to.1,
                to_service: to.2,
                sql: None,
            }));
        }
    }
    for (dag, names) in unresolved {
        let names: Vec<String> = names.into_iter().collect();
        weir_sdk::log::warn(&format!(
            "DAG `{dag}`: no lineage for asset(s) {} (no table of the services in \
             lineageInformation.dbServicePrefixes matches)",
            names.join(", ")
        ));
    }
}

/// The batch's DAGs that read or write the asset.
fn uses(asset: &Value, ours: &BTreeSet<&str>) -> BTreeSet<(String, Flow)> {
    let dags = |key: &str| {
        let refs = asset.get(key).and_then(Value::as_array).into_iter().flatten();
        refs.filter_map(|r| r.get("dag_id").and_then(Value::as_str)).filter(|d| ours.contains(d)).map(str::to_string)
    };
    let reads = dags("scheduled_dags").chain(dags("consuming_tasks")).chain(dags("consuming_dags"));
    let reads = reads.map(|d| (d, Flow::Reads));
    let writes = dags("producing_tasks").map(|d| (d, Flow::Writes));
    reads.chain(writes).collect()
}

/// The `[database, schema, table]` (or fewer) parts an asset names.
fn table_of(asset: &Value) -> Option<Vec<String>> {
    if let Some(parts) = text(asset, "uri").and_then(|uri| uri_path(&uri)) {
        return Some(parts);
    }
    text(asset, "name").and_then(|name| split_table_name(&name))
}

/// URI schemes of databases; a file or a bucket is never a table.
const DATABASE_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mssql",
    "sqlserver",
    "redshift",
    "snowflake",
    "bigquery",
    "trino",
    "presto",
    "oracle",
    "sqlite",
    "duckdb",
];

/// `scheme://authority/a/b/c` of a database as `[a, b, c]` (its last three
/// parts); `None` for another scheme or a URI without a path.
fn uri_path(uri: &str) -> Option<Vec<String>> {
    let (scheme, rest) = uri.split_once("://")?;
    if !DATABASE_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return None;
    }
    let (_, path) = rest.split_once('/')?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let parts: Vec<String> = path.split('/').filter(|p| !p.is_empty()).map(decode).collect();
    let skip = parts.len().saturating_sub(3);
    (!parts.is_empty()).then(|| parts[skip..].to_vec())
}

/// Undoes percent-encoding; a malformed escape stays as written.
fn decode(part: &str) -> String {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_asset_uri_names_its_table_by_the_last_parts_of_its_path() {
        let v = |p: &[&str]| Some(p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(uri_path("postgres://db:5432/pagila/public/film"), v(&["pagila", "public", "film"]));
        assert_eq!(uri_path("postgresql://db/pagila/public/film%20list"), v(&["pagila", "public", "film list"]));
        assert_eq!(uri_path("mysql://db:3306/shop/orders?x=1"), v(&["shop", "orders"]));
        assert_eq!(uri_path("postgres://db/a/b/c/d"), v(&["b", "c", "d"]));
        assert_eq!(uri_path("s3://bucket/a/b.csv"), None);
        assert_eq!(uri_path("postgres://db:5432"), None);
        assert_eq!(uri_path("pagila.public.film"), None);
    }
}
