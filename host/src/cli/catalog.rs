use anyhow::{Result, bail};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use weir::sink::catalog::{Catalog, ExportKind};

#[derive(clap::Subcommand)]
pub enum Command {
    /// List entities by FQN.
    List {
        /// Only this kind: database, databaseSchema, table, ...
        #[arg(long)]
        kind: Option<String>,
        /// Only the entities marked deleted (gone from their source), with
        /// when.
        #[arg(long)]
        deleted: bool,
    },
    /// Show one entity's document, relations and facts as JSON.
    Show {
        /// Fully qualified name, e.g. demo.shop.main.orders (quote dotted
        /// parts: 'svc.db."my.schema".t').
        fqn: String,
        /// The kind, when entities of several kinds share the FQN (a
        /// dashboard and a chart).
        #[arg(long)]
        kind: Option<String>,
    },
    /// Write documents to stdout.
    Export {
        /// `jsonl`: one OpenMetadata Create* document per line.
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// `table` (CreateTable documents) or `all` (every entity, wrapped
        /// as {"kind","fqn","document"}).
        #[arg(long, default_value = "table")]
        kind: String,
    },
}

pub async fn run(command: Command, catalog: Option<PathBuf>) -> Result<ExitCode> {
    let path = catalog.unwrap_or_else(|| PathBuf::from(weir::plan::DEFAULT_CATALOG_PATH));
    let catalog = Catalog::open_existing(&path).await?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match command {
        Command::List { kind, deleted } => {
            let entries = catalog.list(kind.as_deref(), deleted).await?;
            let width = entries.iter().map(|e| e.kind.len()).max().unwrap_or(4);
            for e in &entries {
                let columns = if e.kind == "table" { format!("  ({} columns)", e.columns) } else { String::new() };
                let deleted = e.deleted_at.as_ref().map(|at| format!("  (deleted {at})")).unwrap_or_default();
                if writeln!(out, "{:<width$}  {}{columns}{deleted}", e.kind, e.fqn).is_err() {
                    break;
                }
            }
        }
        Command::Show { fqn, kind } => {
            let value = catalog.show(&fqn, kind.as_deref()).await?;
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        Command::Export { format, kind } => {
            if format != "jsonl" {
                bail!("--format {format}: only `jsonl` is supported");
            }
            let kind = match kind.as_str() {
                "table" => ExportKind::Tables,
                "all" => ExportKind::All,
                other => bail!("--kind {other}: use `table` or `all`"),
            };
            catalog.export(kind, |doc| writeln!(out, "{doc}")).await?;
        }
    }
    catalog.close().await;
    Ok(ExitCode::SUCCESS)
}
