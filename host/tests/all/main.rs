//! weir's end-to-end tests, in one binary so the shared helpers and the
//! dependencies are compiled and linked once: each module is what was one
//! test file, named for what it covers. `common` holds the helpers: a real
//! PostgreSQL database per test, the `weir` binary, the test plugins.
//!
//! Run one module with `cargo test --release -p weir --test all -- <module>::`.

mod common;

mod airflow_real;
mod argo_render;
mod argo_submit;
mod bench;
mod catalog_runs;
mod contract_versions;
mod distributed_run;
mod exit_status;
mod file_sink;
mod host_memory;
mod integrity;
mod looker;
mod looker_openmetadata;
mod marked_deleted;
mod module_graph;
mod mssql_catalog_sql;
mod mssql_ingest;
mod mssql_real;
mod mssql_wire;
mod openmetadata_documents;
mod openmetadata_fixture;
mod openmetadata_sink;
mod operator_view;
mod pipelines;
mod plugin_new;
mod plugin_outputs;
mod postgres_coverage;
mod postgres_edge_cases;
mod postgres_ingest;
mod postgres_pagila;
mod postgres_privileges;
mod postgres_queries;
mod postgres_round_trips;
mod postgres_sessions;
mod quickstart;
mod running_again;
mod sandbox;
mod scheduler;
mod secrets_canary;
mod state_store;
