//! The command line: argument parsing, logging set-up, exit codes.

mod argo;
mod bench;
mod catalog;
mod check;
mod distributed;
mod exit;
mod ingest;
mod plugin;
mod quickstart;
mod runs;
mod submitted;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// weir reads the catalog of a data system (PostgreSQL, SQLite, ...) with a
/// sandboxed WebAssembly connector and writes what it finds (databases,
/// schemas, tables, columns, constraints, views) into a metadata store: its
/// embedded catalog by default.
///
/// Workflow files follow OpenMetadata's ingestion format, so existing ones
/// run unchanged. Start with `weir quickstart`.
#[derive(Parser)]
#[command(name = "weir", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    /// The catalog: a file (default ./weir.db) or a PostgreSQL database
    /// (postgres://USER:PASSWORD@HOST/DB). Overrides sink.config.
    #[arg(long, global = true, env = "WEIR_CATALOG", value_name = "PATH")]
    catalog: Option<PathBuf>,

    /// Log format: `text` for a terminal, `json` for pods and log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "WEIR_LOG_FORMAT")]
    log_format: LogFormat,

    /// More log output (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// No progress bar and no summary, only errors.
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run an ingestion workflow (OpenMetadata format) into the catalog.
    ///
    /// Exit status: 0 when every entity was written, 2 when the run finished
    /// but some entities failed (listed in the summary and the report),
    /// 1 when the run could not go on.
    Ingest(ingest::Args),
    /// Test that a workflow can run, step by step, as OpenMetadata's
    /// test-connection does: the source (connect, list, read, privileges),
    /// the sink and the state store. Writes nothing. Exit status 0 when
    /// every mandatory step passes, else 1.
    Check(check::Args),
    /// Distributed run, first stage: discover, filter and plan into the
    /// shared state store (`weir.stateStore`); write the shard ids.
    Discover(distributed::DiscoverArgs),
    /// Distributed run: process one shard of the plan `weir discover`
    /// stored. Exit status as `ingest`'s; 0 when an earlier attempt did it.
    Process(distributed::ProcessArgs),
    /// Distributed run, last stage: phase 2 (foreign keys, lineage) once,
    /// and the run report put together from every shard's.
    Finalize(distributed::FinalizeArgs),
    /// Run on Argo Workflows: render the workflow as Kubernetes documents.
    #[command(subcommand)]
    Argo(argo::Command),
    /// Build a demo SQLite database and ingest it, no server needed.
    Quickstart(quickstart::Args),
    /// Read the catalog: list, show, export.
    #[command(subcommand)]
    Catalog(catalog::Command),
    /// The runs the state store has seen: list them, show one.
    #[command(subcommand)]
    Runs(runs::Command),
    /// Look at connector plugins.
    #[command(subcommand)]
    Plugin(plugin::Command),
    /// Benchmarks: generate a synthetic catalog, ingest it, measure.
    #[command(subcommand)]
    Bench(bench::Command),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => return fail(anyhow::anyhow!("cannot start the async runtime: {err}")),
    };
    let outcome = runtime.block_on(run(cli));
    match outcome {
        Ok(code) => code,
        Err(err) => fail(err),
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    if let Some(url) = cli.catalog.as_ref().and_then(|c| c.to_str()).filter(|c| weir::engines::is_postgres_url(c)) {
        weir::logging::redact_secrets(weir::engines::url_secrets(url));
    }
    let ui = Ui {
        progress: !cli.quiet && cli.log_format == LogFormat::Text && std::io::stderr().is_terminal(),
        quiet: cli.quiet,
    };
    match cli.command {
        Command::Ingest(args) => ingest::run(args, cli.catalog, ui).await,
        Command::Check(args) => check::run(args, cli.catalog, ui).await,
        Command::Quickstart(args) => quickstart::run(args, cli.catalog, ui).await,
        Command::Argo(cmd) => argo::run(cmd, cli.catalog, ui).await,
        Command::Discover(args) => distributed::discover(args, cli.catalog, ui).await,
        Command::Process(args) => distributed::process(args, cli.catalog, ui).await,
        Command::Finalize(args) => distributed::finalize(args, cli.catalog, ui).await,
        Command::Catalog(cmd) => catalog::run(cmd, cli.catalog).await,
        Command::Runs(cmd) => runs::run(cmd).await,
        Command::Plugin(cmd) => plugin::run(cmd).await,
        Command::Bench(cmd) => bench::run(cmd, ui).await,
    }
}

/// How much to show the person at the terminal.
#[derive(Clone, Copy)]
pub struct Ui {
    pub progress: bool,
    pub quiet: bool,
}

impl Ui {
    /// Bars on a terminal; where there is none (a pod), progress lines in
    /// the log; nothing when quiet.
    pub fn progress_view(self) -> weir::plan::ProgressView {
        use weir::plan::ProgressView;
        match (self.progress, self.quiet) {
            (true, _) => ProgressView::Bars,
            (false, false) => ProgressView::Lines,
            (false, true) => ProgressView::Hidden,
        }
    }
}

/// The cause chain joined, redacted, on stderr; exit status 75 when the
/// cause may pass, else 1.
fn fail(err: anyhow::Error) -> ExitCode {
    let code = exit::of_error(&err);
    let retry = if code == exit::MAY_PASS { " (this may pass: try again later)" } else { "" };
    eprintln!("error: {}{retry}", weir::logging::redact(&format!("{err:#}")));
    ExitCode::from(code)
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // Our own crate at the chosen level, dependencies one notch quieter.
        // Progress lines show unless quiet (bars take their place on a terminal).
        let progress = if cli.quiet { "" } else { ",weir::progress=info" };
        EnvFilter::new(format!("{default},sqlx=warn,wasmtime=warn,cranelift=warn{progress}"))
    });
    let format = match cli.log_format {
        LogFormat::Json => weir::logging::Format::Json,
        LogFormat::Text => weir::logging::Format::Text { ansi: std::io::stderr().is_terminal() },
    };
    weir::logging::init(format, filter);
}

/// The compile cache, unless WEIR_NO_CACHE is set.
pub fn cache_dir() -> Option<PathBuf> {
    if std::env::var_os("WEIR_NO_CACHE").is_some() {
        return None;
    }
    weir::runtime::CompileCache::default_dir()
}
