//! `weir bench`: a synthetic PostgreSQL catalog ([`generate`]) and a
//! measured ingestion of it through the real pipeline ([`measure`]), also
//! as a matrix of instance counts behind injected network latency
//! ([`scaling`], [`latency`]); and, in a build with the `bench-looker`
//! feature, the Looker connector against the Looker stand-in of
//! `weir-fixtures` with latency on every call (`looker`); a real Airflow
//! from a venv behind the latency proxy ([`airflow`]).
//!
//! Benchmarks are programs, not timed tests: they print what they measured
//! (wall time, tables per second, peak RSS, catalog queries) and, with a
//! baseline, ratios measured side by side in one process.

#[cfg(feature = "bench-openmetadata")]
pub mod again;
pub mod airflow;
pub mod generate;
pub mod latency;
#[cfg(feature = "bench-looker")]
pub mod looker;
pub mod measure;
pub mod pods;
pub mod scaling;
mod target;

pub use crate::procfs::CpuUse;
pub use generate::{GenSpec, GenStats, Layout, generate};
pub use latency::LatencyProxy;
pub use measure::{BenchOptions, BenchResult, RunFigures, bench_postgres};
pub use scaling::{ScalingOptions, ScalingResult, bench_scaling};
pub use target::PgUrl;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    /// The URL could not be read; the message never repeats a password.
    #[error("not a usable PostgreSQL URL: {0}")]
    Url(String),
    #[error("refusing to use database `{0}`: give the benchmark a database of its own (e.g. weir_bench)")]
    ReservedDatabase(String),
    #[error(
        "database `{database}` already holds a generated catalog (schema `{schema}` exists); pass --drop to recreate it"
    )]
    Exists { database: String, schema: String },
    #[error("cannot connect to {target}")]
    Connect { target: String, source: sqlx::Error },
    #[error("{step}")]
    Sql { step: String, source: sqlx::Error },
    #[error("the generator task stopped abnormally: {0}")]
    Task(String),
    #[error("the benchmark workflow is invalid")]
    Workflow(#[from] crate::config::ConfigError),
    #[error("ingestion ({label}) failed")]
    Ingest { label: String, source: crate::plan::IngestError },
    #[error("cannot load the plugin for the compile cache warm-up")]
    Warmup(#[from] crate::runtime::RuntimeError),
    #[error("no built-in plugin for `postgres` in this binary")]
    NoPlugin,
    #[error("temporary directory {path}")]
    TempDir { path: String, source: std::io::Error },
    #[error("catalog replay")]
    Catalog(#[from] crate::sink::catalog::CatalogError),
    #[error("latency proxy: {step}")]
    Proxy { step: String, source: std::io::Error },
    #[cfg(feature = "bench-looker")]
    #[error("the Looker fixture ({label}) did not start")]
    Fixture { label: String, source: std::io::Error },
    #[error("distributed run: {0}")]
    Pods(String),
    #[error("Airflow: {0}")]
    Airflow(String),
    #[error("the scaling matrix needs at least one {0}")]
    EmptyMatrix(&'static str),
}

/// Wraps a sqlx error with the step that failed.
fn sql(step: impl Into<String>) -> impl FnOnce(sqlx::Error) -> BenchError {
    let step = step.into();
    move |source| BenchError::Sql { step, source }
}
