//! OpenMetadata's `serviceType` of the workflow's service, one answer for
//! every sink: the connection's `type` when it is one of OpenMetadata's
//! values for the service's kind (`Postgres`, `Looker`, `CustomDatabase`:
//! how a third-party connector declares its own), else the value of a
//! built-in `source.type`, else `CustomDatabase` / `CustomDashboard`.
//!
//! The values are OpenMetadata's `databaseServiceType` and
//! `dashboardServiceType` enums (`entity/services/databaseService.json`,
//! `dashboardService.json` in `../shared/specs/openmetadata`).

use crate::model::ServiceKind;

const DATABASE: &[&str] = &[
    "BigQuery",
    "BigTable",
    "Mysql",
    "Redshift",
    "Snowflake",
    "Postgres",
    "Timescale",
    "Mssql",
    "MicrosoftAccess",
    "Oracle",
    "Athena",
    "Hive",
    "Impala",
    "Presto",
    "Trino",
    "Vertica",
    "Glue",
    "MariaDB",
    "Druid",
    "Db2",
    "Clickhouse",
    "Databricks",
    "AzureSQL",
    "DynamoDB",
    "SingleStore",
    "SQLite",
    "DeltaLake",
    "Salesforce",
    "PinotDB",
    "Datalake",
    "DomoDatabase",
    "QueryLog",
    "CustomDatabase",
    "Dbt",
    "SapHana",
    "MongoDB",
    "Cassandra",
    "Couchbase",
    "Greenplum",
    "Doris",
    "StarRocks",
    "UnityCatalog",
    "SAS",
    "Teradata",
    "SapErp",
    "Synapse",
    "Exasol",
    "Cockroach",
    "SSAS",
    "Epic",
    "ServiceNow",
    "Dremio",
    "MicrosoftFabric",
    "BurstIQ",
    "Informix",
    "Iomete",
];

const DASHBOARD: &[&str] = &[
    "Superset",
    "Looker",
    "Tableau",
    "Redash",
    "Metabase",
    "PowerBI",
    "PowerBIReportServer",
    "Mode",
    "CustomDashboard",
    "DomoDashboard",
    "QuickSight",
    "QlikSense",
    "Lightdash",
    "MicroStrategy",
    "QlikCloud",
    "Sigma",
    "ThoughtSpot",
    "Grafana",
    "Hex",
    "Ssrs",
];

const PIPELINE: &[&str] = &[
    "Airflow",
    "GluePipeline",
    "KinesisFirehose",
    "Airbyte",
    "Fivetran",
    "Flink",
    "Dagster",
    "Nifi",
    "DomoPipeline",
    "CustomPipeline",
    "DatabricksPipeline",
    "Spline",
    "Spark",
    "OpenLineage",
    "KafkaConnect",
    "DBTCloud",
    "Matillion",
    "Stitch",
    "DataFactory",
    "Wherescape",
    "SSIS",
    "Snowplow",
    "Mulesoft",
    "MicrosoftFabricPipeline",
];

/// The `serviceType` of a `kind` service whose connection says `declared`
/// (its `type`, if any) and whose `source.type` is `source`.
pub fn service_type(kind: ServiceKind, declared: Option<&str>, source: &str) -> String {
    let values = match kind {
        ServiceKind::Database => DATABASE,
        ServiceKind::Dashboard => DASHBOARD,
        ServiceKind::Pipeline => PIPELINE,
    };
    if let Some(value) = declared.and_then(|d| values.iter().find(|v| **v == d)) {
        return value.to_string();
    }
    let builtin = match source.to_ascii_lowercase().as_str() {
        "postgres" => Some("Postgres"),
        "mssql" => Some("Mssql"),
        "sqlite" => Some("SQLite"),
        "looker" => Some("Looker"),
        "airflow" => Some("Airflow"),
        _ => None,
    };
    match (builtin.filter(|b| values.contains(b)), kind) {
        (Some(value), _) => value.to_string(),
        (None, ServiceKind::Database) => "CustomDatabase".into(),
        (None, ServiceKind::Dashboard) => "CustomDashboard".into(),
        (None, ServiceKind::Pipeline) => "CustomPipeline".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_openmetadatas() {
        assert_eq!(service_type(ServiceKind::Database, Some("Postgres"), "pgdict"), "Postgres");
        assert_eq!(service_type(ServiceKind::Database, None, "postgres"), "Postgres");
        assert_eq!(service_type(ServiceKind::Database, Some("Custom"), "tree"), "CustomDatabase");
        assert_eq!(service_type(ServiceKind::Database, Some("Snowflake"), "my-snowflake"), "Snowflake");
        assert_eq!(service_type(ServiceKind::Dashboard, None, "looker"), "Looker");
        assert_eq!(service_type(ServiceKind::Dashboard, Some("Postgres"), "bi"), "CustomDashboard");
        assert_eq!(service_type(ServiceKind::Pipeline, Some("Airflow"), "airflow"), "Airflow");
        assert_eq!(service_type(ServiceKind::Pipeline, None, "dags"), "CustomPipeline");
    }

    #[test]
    fn the_lists_are_the_specs() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs/openmetadata/entity/services");
        for (file, key, ours) in [
            ("databaseService.json", "databaseServiceType", DATABASE),
            ("dashboardService.json", "dashboardServiceType", DASHBOARD),
            ("pipelineService.json", "pipelineServiceType", PIPELINE),
        ] {
            let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
                println!("skipped: {} is not there (the shared folder is beside the project)", dir.display());
                return;
            };
            let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
            let values: Vec<&str> =
                spec["definitions"][key]["enum"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
            assert_eq!(values, ours, "{file}");
        }
    }
}
