//! `weir quickstart`: the whole pipeline on a demo database that needs no
//! server, built from the project's own SQL script.

use super::Ui;
use anyhow::{Context, Result};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use weir::config::Workflow;
use weir::plan::{IngestOptions, ingest};

const DEMO_SQL: &str = include_str!("../../../examples/demo/demo.sql");

#[derive(clap::Args)]
pub struct Args {
    /// Where to create the demo source database.
    #[arg(long, value_name = "PATH", default_value = "weir-demo.db")]
    demo_db: PathBuf,
    /// Also write the run report to this file (JSON, or HTML when it ends
    /// in `.html`). May be given more than once.
    #[arg(long, value_name = "FILE")]
    report: Vec<PathBuf>,
}

pub async fn run(args: Args, catalog: Option<PathBuf>, ui: Ui) -> Result<ExitCode> {
    create_demo(&args.demo_db).await?;
    let path = serde_json::to_string(&args.demo_db.display().to_string())?;
    let text = format!(
        "source:\n  type: sqlite\n  serviceName: demo\n  serviceConnection:\n    config:\n      type: SQLite\n      databaseMode: {path}\n      database: shop\nsink:\n  type: catalog\n"
    );
    let workflow = Workflow::parse(&text, "quickstart workflow")?;
    let options = IngestOptions {
        run_id: None,
        full: false,
        catalog,
        progress: ui.progress_view(),
        cache_dir: super::cache_dir(),
        base_dir: None,
        max_failures: None,
    };
    let report = ingest(&workflow, &options).await.context("quickstart")?;
    let code = super::ingest::finish(&report, &args.report, ui)?;
    if !ui.quiet {
        println!(
            "\nNext: weir catalog list   |   weir catalog show demo.shop.main.orders   |   weir catalog export --format jsonl"
        );
    }
    Ok(code)
}

/// Builds the demo database afresh from the bundled script.
async fn create_demo(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file).with_context(|| format!("remove old demo database {}", file.display()))?;
        }
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .connect()
        .await
        .with_context(|| format!("create demo database {}", path.display()))?;
    sqlx::raw_sql(DEMO_SQL).execute(&mut conn).await.context("load the demo schema")?;
    conn.close().await?;
    Ok(())
}
