//! `weir bench`: generate a synthetic PostgreSQL catalog, then ingest it and
//! print what it cost.

use super::Ui;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
#[cfg(feature = "bench-looker")]
use weir::bench::looker::{LookerBenchOptions, bench_looker};
use weir::bench::scaling::{DEFAULT_INSTANCES, DEFAULT_RTTS_MS};
use weir::bench::{BenchOptions, GenSpec, PgUrl, ScalingOptions, bench_postgres, bench_scaling, generate};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/weir_bench";

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a synthetic catalog in PostgreSQL: schemas × tables of 20
    /// mixed-type columns with primary, unique and foreign keys, comments on
    /// ~30 % of tables and columns, and ~5 % views.
    GenPostgres(GenArgs),
    /// Ingest the benchmark database into a fresh embedded catalog and print
    /// wall time, tables per second, peak RSS and query counts.
    ///
    /// With --scaling, run a matrix instead: the same ingestion at several
    /// instance counts, each through a TCP proxy that the benchmark starts
    /// on 127.0.0.1 and that adds a round-trip time (a remote database is
    /// the normal case; localhost hides the cost of round trips). It prints
    /// one table: a row per instance count; per round-trip time the wall
    /// time, tables per second, speed-up over the fewest instances and CPU
    /// use; then each round-trip time's wall time over the lowest one's.
    /// The 0 ms runs go through the proxy too, so both sides pay its cost.
    ///
    /// Example: weir bench postgres --scaling --rtt-ms 0,10 --instances-list 1,2,4,8,16
    Postgres(RunArgs),
    /// Ingest a generated Looker instance (the spec-shaped fixture, served
    /// in this process with a fixed latency per call) with the default
    /// settings, then serially (one instance, one request in flight), and
    /// print wall time, calls per second and the peak request rate of
    /// each, side by side.
    ///
    /// Needs a build with the `bench-looker` feature (the shipped binary
    /// holds no fixture): cargo run --release --features bench-looker -- bench looker
    Looker(LookerArgs),
    /// The first pod of a distributed run at scale: run `weir discover` on
    /// the benchmark database (a process of its own, as its pod) and `weir
    /// argo render`, and print the shard pods, the largest withParam list
    /// against Argo's limit, and the wall time and peak memory of each.
    /// The state store and the catalog are databases beside the benchmark
    /// one (`<db>_state`, `<db>_catalog`), created if missing.
    ///
    /// Example: weir bench gen-postgres --schemas 1000 --tables 100 && weir bench argo
    Argo(ArgoArgs),
    /// Running again: ingest the benchmark database into the OpenMetadata
    /// stand-in three times on one state store (a first run, one with
    /// nothing changed, one after a column was added to one table, dropped
    /// again after) and print wall time, entities sent and requests side by
    /// side.
    ///
    /// Needs a build with the `bench-openmetadata` feature: cargo run
    /// --release --features bench-openmetadata -- bench again
    Again(AgainArgs),
    /// Ingest a real Airflow (started from a venv with `airflow api-server`
    /// and `airflow dag-processor` on 127.0.0.1, serving generated DAGs)
    /// through the latency proxy, with the default settings and then
    /// serially (one instance, one request in flight), and print wall time
    /// and round trips side by side.
    ///
    /// Make the venv first with scripts/airflow-venv (Airflow 3.3.2).
    ///
    /// Example: weir bench airflow --venv ~/.cache/weir/airflow-venv
    Airflow(AirflowArgs),
}

#[derive(clap::Args)]
pub struct AirflowArgs {
    /// A venv with apache-airflow installed (scripts/airflow-venv prints it).
    #[arg(long, env = "WEIR_AIRFLOW_VENV")]
    venv: PathBuf,
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    dags: u32,
    /// Tasks per DAG, a chain.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    tasks: u32,
    /// Added to every round trip by the proxy in front of Airflow.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    latency_ms: u64,
    /// Skip the serial run (minutes at the default size).
    #[arg(long)]
    no_serial: bool,
    /// Where Airflow's home and the catalogs go (default: the system temp directory).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Print the numbers as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct AgainArgs {
    /// The database to ingest (fill it with `weir bench gen-postgres`).
    #[arg(long, env = "WEIR_BENCH_URL", hide_env_values = true, default_value = DEFAULT_URL)]
    url: String,
    /// Sandboxed instances at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    instances: u32,
    /// Where the temporary files go (default: the system temp directory).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Print the numbers as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ArgoArgs {
    /// The database to discover (fill it with `weir bench gen-postgres`).
    #[arg(long, env = "WEIR_BENCH_URL", hide_env_values = true, default_value = DEFAULT_URL)]
    url: String,
    /// Shard pods at most (`distributedExecution.maxPods`).
    #[arg(long, default_value_t = weir::plan::distributed::DEFAULT_MAX_PODS)]
    max_pods: u32,
    /// Where the temporary files go (default: the system temp directory).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Print the numbers as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct LookerArgs {
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    dashboards: u32,
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    explores: u32,
    /// Added to every call the fixture answers.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    latency_ms: u64,
    /// Skip the serial run (over two minutes at the default size).
    #[arg(long)]
    no_serial: bool,
    /// Where the temporary catalogs go (default: the system temp directory).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Print the numbers as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct GenArgs {
    /// The database to fill (created if missing).
    #[arg(long, env = "WEIR_BENCH_URL", hide_env_values = true, default_value = DEFAULT_URL)]
    url: String,
    /// Schemas to create.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    schemas: u32,
    /// Tables per schema (views come on top: one per 20 tables).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    tables: u32,
    /// Drop the database first and create it afresh.
    #[arg(long)]
    drop: bool,
    /// Connections sending schema scripts at once. Creating an index
    /// fsyncs it, so the work waits on the disk more than on the CPU.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=16))]
    jobs: u32,
    /// Print the numbers as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The database to ingest (fill it with `weir bench gen-postgres`).
    #[arg(long, env = "WEIR_BENCH_URL", hide_env_values = true, default_value = DEFAULT_URL)]
    url: String,
    /// References per shard (`weir.shardSize`); a shard is one `process`
    /// call.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// Sandboxed instances at once (default: cores × 2).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    instances: Option<u32>,
    /// Run the scaling matrix (--rtt-ms × --instances-list) instead of one
    /// configuration.
    #[arg(long, conflicts_with_all = ["baseline", "instances"])]
    scaling: bool,
    /// With --scaling: round-trip times the proxy adds, in milliseconds,
    /// one column group each [default: 0,10].
    #[arg(
        long,
        value_name = "MS,...",
        value_delimiter = ',',
        requires = "scaling",
        value_parser = clap::value_parser!(u64).range(0..=10_000)
    )]
    rtt_ms: Option<Vec<u64>>,
    /// With --scaling: instance counts, one row each [default: 1,2,4,8,16].
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        requires = "scaling",
        value_parser = clap::value_parser!(u32).range(1..=1024)
    )]
    instances_list: Option<Vec<u32>>,
    /// Also run the same ingestion with batch size 1 (one `process` call per
    /// table, the N+1 shape) and print the ratios.
    #[arg(long)]
    baseline: bool,
    /// Run the weir configuration (with --scaling: each cell) this many
    /// times and report the median run (the machine may be shared: one run
    /// is one sample).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: u32,
    /// Where the temporary catalogs go (default: the system temp directory).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Print the numbers as one JSON object.
    #[arg(long)]
    json: bool,
}

pub async fn run(cmd: Command, ui: Ui) -> Result<ExitCode> {
    match cmd {
        Command::GenPostgres(args) => gen_postgres(args, ui).await,
        Command::Postgres(args) => postgres(args, ui).await,
        Command::Looker(args) => looker(args, ui).await,
        Command::Argo(args) => argo(args).await,
        Command::Again(args) => again(args, ui).await,
        Command::Airflow(args) => airflow(args, ui).await,
    }
}

async fn airflow(args: AirflowArgs, ui: Ui) -> Result<ExitCode> {
    let options = weir::bench::airflow::AirflowBenchOptions {
        venv: args.venv,
        dags: args.dags as usize,
        tasks: args.tasks as usize,
        latency: Duration::from_millis(args.latency_ms),
        serial: !args.no_serial,
        cache_dir: super::cache_dir(),
        work_dir: args.work_dir.unwrap_or_else(std::env::temp_dir),
        verbose: !ui.quiet && !args.json,
    };
    let result = weir::bench::airflow::bench_airflow(&options).await.context("the Airflow benchmark")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        result.print(&mut std::io::stdout())?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "bench-openmetadata")]
async fn again(args: AgainArgs, ui: Ui) -> Result<ExitCode> {
    let options = weir::bench::again::AgainOptions {
        url: args.url,
        instances: args.instances,
        cache_dir: super::cache_dir(),
        work_dir: args.work_dir.unwrap_or_else(std::env::temp_dir),
        verbose: !ui.quiet && !args.json,
    };
    let result = weir::bench::again::bench_again(&options).await.context("the running-again benchmark")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        result.print(&mut std::io::stdout())?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "bench-openmetadata"))]
async fn again(_: AgainArgs, _: Ui) -> Result<ExitCode> {
    anyhow::bail!(
        "this weir was built without the OpenMetadata stand-in; run the benchmark from a checkout with \
         `cargo run --release --features bench-openmetadata -- bench again`"
    )
}

async fn argo(args: ArgoArgs) -> Result<ExitCode> {
    let options = weir::bench::pods::PodsOptions {
        url: args.url,
        exe: std::env::current_exe().context("where is this weir")?,
        max_pods: args.max_pods,
        work_dir: args.work_dir.unwrap_or_else(std::env::temp_dir),
        cache_dir: super::cache_dir(),
    };
    let result = weir::bench::pods::bench_pods(&options).await.context("the distributed-run benchmark")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        result.print(&mut std::io::stdout())?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "bench-looker")]
async fn looker(args: LookerArgs, ui: Ui) -> Result<ExitCode> {
    let options = LookerBenchOptions {
        dashboards: args.dashboards as usize,
        explores: args.explores as usize,
        latency: Duration::from_millis(args.latency_ms),
        serial: !args.no_serial,
        cache_dir: super::cache_dir(),
        work_dir: args.work_dir.unwrap_or_else(std::env::temp_dir),
        verbose: !ui.quiet && !args.json,
    };
    let result = bench_looker(&options).await.context("the Looker benchmark")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        result.print(&mut std::io::stdout())?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "bench-looker"))]
async fn looker(_: LookerArgs, _: Ui) -> Result<ExitCode> {
    anyhow::bail!(
        "this weir was built without the Looker stand-in; run the benchmark from a checkout with \
         `cargo run --release --features bench-looker -- bench looker`"
    )
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

async fn gen_postgres(args: GenArgs, ui: Ui) -> Result<ExitCode> {
    let url = PgUrl::parse(&args.url).context("--url")?;
    let spec = GenSpec {
        schemas: args.schemas as usize,
        tables: args.tables as usize,
        jobs: args.jobs as usize,
        drop: args.drop,
    };
    if !ui.quiet && !args.json {
        eprintln!(
            "bench: generating {} schemas × {} tables in {} ({} connections) …",
            spec.schemas,
            spec.tables,
            url.describe(),
            spec.jobs
        );
    }
    let stats = generate(&url, spec).await.with_context(|| format!("generate the catalog in {}", url.describe()))?;
    if args.json {
        println!("{}", serde_json::to_string(&stats)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "generated {} in {:.2} s (create/drop database {:.2} s, DDL {:.2} s, vacuum + checkpoint {:.2} s; {:.1} MiB of SQL)",
        stats.database,
        stats.elapsed_secs,
        stats.prepare_secs,
        stats.ddl_secs,
        stats.settle_secs,
        stats.script_bytes as f64 / (1024.0 * 1024.0),
    );
    println!("  {} schemas, {} tables, {} views, {} columns", stats.schemas, stats.tables, stats.views, stats.columns);
    println!(
        "  {} primary keys, {} unique constraints, {} foreign keys ({} cross-schema)",
        stats.primary_keys, stats.unique_constraints, stats.foreign_keys, stats.cross_schema_foreign_keys
    );
    println!("  comments on {} tables and {} columns", stats.table_comments, stats.column_comments);
    Ok(ExitCode::SUCCESS)
}

async fn postgres(args: RunArgs, ui: Ui) -> Result<ExitCode> {
    if args.scaling {
        return scaling(args, ui).await;
    }
    let url = PgUrl::parse(&args.url).context("--url")?;
    let instances = args.instances.unwrap_or_else(|| u32::try_from(cores() * 2).unwrap_or(8));
    let options = BenchOptions {
        url,
        batch_size: args.batch_size as usize,
        instances,
        baseline: args.baseline,
        repeat: args.repeat as usize,
        cache_dir: super::cache_dir(),
        work_dir: args.work_dir.unwrap_or_else(std::env::temp_dir),
        verbose: !ui.quiet && !args.json,
    };
    let result = bench_postgres(&options).await.with_context(|| format!("benchmark on {}", options.url.describe()))?;
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        result.print(&mut std::io::stdout().lock())?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn scaling(args: RunArgs, ui: Ui) -> Result<ExitCode> {
    let url = PgUrl::parse(&args.url).context("--url")?;
    let rtts = args.rtt_ms.unwrap_or_else(|| DEFAULT_RTTS_MS.to_vec());
    let options = ScalingOptions {
        url,
        batch_size: args.batch_size as usize,
        rtts: rtts.into_iter().map(Duration::from_millis).collect(),
        instances: args.instances_list.unwrap_or_else(|| DEFAULT_INSTANCES.to_vec()),
        repeat: args.repeat as usize,
        cache_dir: super::cache_dir(),
        work_dir: args.work_dir.unwrap_or_else(std::env::temp_dir),
        verbose: !ui.quiet && !args.json,
    };
    let result =
        bench_scaling(&options).await.with_context(|| format!("scaling benchmark on {}", options.url.describe()))?;
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        result.print(&mut std::io::stdout().lock())?;
    }
    Ok(ExitCode::SUCCESS)
}
