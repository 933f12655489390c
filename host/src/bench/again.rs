//! `weir bench again`: running again, measured. The benchmark database is
//! ingested into the OpenMetadata stand-in (`weir_fixtures::openmetadata`,
//! which validates every body against OpenMetadata's schemas and models
//! its `sourceHash` fast path) three times in one process, sharing one
//! state store: a first run, a run with nothing changed, and a run after
//! one column was added to one table (dropped again afterwards). It prints
//! the three side by side: wall time, entities sent, requests, unchanged.

use super::BenchError;
use super::measure::TempDir;
use super::target::PgUrl;
use crate::config::Workflow;
use crate::plan::{IngestOptions, ingest};
use serde::Serialize;
use sqlx::Connection;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;
use weir_fixtures::openmetadata::OpenMetadataFixture;

#[derive(Debug, Clone)]
pub struct AgainOptions {
    pub url: String,
    pub instances: u32,
    pub cache_dir: Option<PathBuf>,
    pub work_dir: PathBuf,
    pub verbose: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgainRun {
    pub label: String,
    pub wall_secs: f64,
    /// Entities the server was sent (items of every `/bulk` request and
    /// single PUTs of entities).
    pub entities_sent: usize,
    /// Requests the server answered, of every kind.
    pub requests: usize,
    pub written: usize,
    pub unchanged: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgainResult {
    pub database: String,
    pub tables: usize,
    /// The table a column was added to for the third run.
    pub changed_table: String,
    pub runs: Vec<AgainRun>,
}

pub async fn bench_again(options: &AgainOptions) -> Result<AgainResult, BenchError> {
    let url = PgUrl::parse(&options.url)?;
    url.check_dedicated()?;
    let fixture = OpenMetadataFixture::start().await;
    let dir = TempDir::new(&options.work_dir, "again")?;
    let yaml = workflow(&url, &fixture, &dir, options.instances)?;
    let workflow = Workflow::parse(&yaml, "bench workflow (again)")?;
    let mut runs = vec![
        run(options, &workflow, &fixture, "first run").await?,
        run(options, &workflow, &fixture, "nothing changed").await?,
    ];
    let changed_table = first_table(&url).await?;
    let column = "weir_bench_again";
    alter(&url, &format!("ALTER TABLE {changed_table} ADD COLUMN {column} integer")).await?;
    let third = run(options, &workflow, &fixture, "one column added").await;
    alter(&url, &format!("ALTER TABLE {changed_table} DROP COLUMN IF EXISTS {column}")).await?;
    runs.push(third?);
    let tables = fixture.entities("table").len();
    Ok(AgainResult { database: url.database().to_string(), tables, changed_table, runs })
}

async fn run(
    options: &AgainOptions,
    workflow: &Workflow,
    fixture: &OpenMetadataFixture,
    label: &str,
) -> Result<AgainRun, BenchError> {
    if options.verbose {
        eprintln!("bench: {label} …");
    }
    let before = fixture.requests().len();
    let ingest_options = IngestOptions { cache_dir: options.cache_dir.clone(), ..IngestOptions::default() };
    let started = Instant::now();
    let report = ingest(workflow, &ingest_options)
        .await
        .map_err(|source| BenchError::Ingest { label: label.to_string(), source })?;
    let wall_secs = started.elapsed().as_secs_f64();
    let requests = fixture.requests();
    let later = &requests[before..];
    let entities_sent = later
        .iter()
        .filter(|r| r.method == "PUT" && !r.path.contains("/services/") && r.path != "/api/v1/lineage")
        .map(|r| r.items.max(1))
        .sum();
    Ok(AgainRun {
        label: label.to_string(),
        wall_secs,
        entities_sent,
        requests: later.len(),
        written: report.written(),
        unchanged: report.kinds.iter().map(|k| k.unchanged).sum(),
        failed: report.failed(),
    })
}

/// The bench workflow with the OpenMetadata stand-in as its sink and a
/// state store of its own.
fn workflow(url: &PgUrl, fixture: &OpenMetadataFixture, dir: &TempDir, instances: u32) -> Result<String, BenchError> {
    let base = url.workflow(&dir.path().join("unused.db"), instances, 200, true)?;
    let (source, rest) = base.split_once("sink:\n").ok_or(BenchError::Url("the bench workflow has no sink".into()))?;
    let weir = rest.split_once("weir:\n").map(|(_, w)| w).unwrap_or_default();
    let q = |s: &str| serde_json::Value::from(s).to_string();
    Ok(format!(
        "{source}sink:\n  type: metadata-rest\n  config: {{}}\nworkflowConfig:\n  openMetadataServerConfig:\n    hostPort: {}\n    authProvider: openmetadata\n    securityConfig:\n      jwtToken: {}\nweir:\n  statePath: {}\n{weir}",
        q(&fixture.base_url()),
        q(&fixture.token()),
        q(&dir.path().join("state.db").display().to_string()),
    ))
}

/// The first table of the benchmark's catalog, quoted.
async fn first_table(url: &PgUrl) -> Result<String, BenchError> {
    const FIRST: &str = "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY schemaname, tablename LIMIT 1";
    let step = |step: &str| {
        let step = step.to_string();
        move |source| BenchError::Sql { step, source }
    };
    let mut conn = sqlx::PgConnection::connect_with(&url.options()).await.map_err(step("connect"))?;
    let table: String = sqlx::query_scalar(FIRST).fetch_one(&mut conn).await.map_err(step("find a table"))?;
    let _ = conn.close().await;
    Ok(table)
}

async fn alter(url: &PgUrl, statement: &str) -> Result<(), BenchError> {
    let step = |source| BenchError::Sql { step: statement.to_string(), source };
    let mut conn = sqlx::PgConnection::connect_with(&url.options()).await.map_err(step)?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut conn).await.map_err(step)?;
    let _ = conn.close().await;
    Ok(())
}

impl AgainResult {
    pub fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "weir bench again: {} ({} tables) into the OpenMetadata stand-in, three runs on one state store",
            self.database, self.tables
        )?;
        writeln!(
            out,
            "  {:<18} {:>8} {:>14} {:>9} {:>9} {:>10} {:>7}",
            "run", "wall s", "entities sent", "requests", "written", "unchanged", "failed"
        )?;
        for r in &self.runs {
            writeln!(
                out,
                "  {:<18} {:>8.2} {:>14} {:>9} {:>9} {:>10} {:>7}",
                r.label, r.wall_secs, r.entities_sent, r.requests, r.written, r.unchanged, r.failed
            )?;
        }
        if let [first, again, ..] = self.runs.as_slice() {
            writeln!(
                out,
                "  nothing changed: {:.1}x faster than the first run; column added to {}",
                first.wall_secs / again.wall_secs.max(f64::EPSILON),
                self.changed_table
            )?;
        }
        Ok(())
    }
}
