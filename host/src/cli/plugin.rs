use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use weir::model::entity::Capability;
use weir::runtime::{Limits, LoadOutcome, Runtime, RuntimeOptions};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Show a plugin's name, version, contract version, entity kinds and
    /// the capabilities it asks for.
    Inspect {
        /// A .wasm component, or the name of a built-in plugin.
        plugin: String,
        /// Stop the plugin's `describe` after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = Limits::default().describe_timeout_secs)]
        timeout: u64,
    },
    /// List the built-in plugins.
    List,
    /// Run the acceptance suite: describe is valid and its config schema
    /// compiles, the workflow can run it, discover is deterministic, every
    /// reference processes with no entity unasked and no call denied, FQNs
    /// are unique, the documents validate against OpenMetadata's schemas,
    /// two runs give the same output, and (with --golden) the output is
    /// the expected one. Writes nowhere the workflow says. Exit 0 when no
    /// check fails.
    Test {
        /// A .wasm component, or the name of a built-in plugin.
        plugin: String,
        /// The workflow to run it with (its source; its sink is not used).
        #[arg(short = 'c', long = "config", value_name = "WORKFLOW")]
        config: PathBuf,
        /// Expected output (JSON Lines): compared, or written when absent.
        #[arg(long, value_name = "FILE")]
        golden: Option<PathBuf>,
        /// OpenMetadata's JSON Schemas, the folder holding api/ and entity/
        /// (openmetadata-spec/src/main/resources/json/schema in its
        /// repository); default: those beside the checkout weir was built
        /// from, if any.
        #[arg(long, value_name = "DIR", env = "WEIR_OPENMETADATA_SCHEMAS")]
        schemas: Option<PathBuf>,
    },
    /// Write a new connector crate: the connector, a workflow that runs it,
    /// a unit test and a README. It builds as written with `cargo build
    /// --release --target wasm32-wasip2`.
    New {
        /// The connector's name: its crate's name and its `source.type`.
        name: String,
        /// Read a database through the `sql` capability (a SQLite file).
        #[arg(long, conflicts_with = "http", required_unless_present = "http")]
        sql: bool,
        /// Read an HTTP API through the `http` capability.
        #[arg(long)]
        http: bool,
        /// Where to write the crate (default: ./NAME); absent or empty.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// A local `weir-sdk` to depend on (default: the SDK of the checkout
        /// this weir was built from, else crates.io's).
        #[arg(long, value_name = "PATH")]
        sdk: Option<PathBuf>,
    },
}

pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::List => {
            for name in weir::plugins::builtin_names() {
                println!("{name}");
            }
        }
        Command::Inspect { plugin, timeout } => inspect(&plugin, timeout).await?,
        Command::Test { plugin, config, golden, schemas } => return acceptance(&plugin, config, golden, schemas).await,
        Command::New { name, sql, http: _, dir, sdk } => {
            use weir::scaffold::{Flavour, SdkSource};
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let sdk = match sdk {
                Some(path) => {
                    SdkSource::Path(path.canonicalize().with_context(|| format!("--sdk {}", path.display()))?)
                }
                None => SdkSource::default_for_this_build(),
            };
            let flavour = if sql { Flavour::Sql } else { Flavour::Http };
            let written = weir::scaffold::create(&name, flavour, &dir, &sdk)?;
            for path in &written {
                println!("wrote {}", path.display());
            }
            match &sdk {
                SdkSource::Path(path) => println!("weir-sdk from {}", path.display()),
                SdkSource::Registry(version) => println!("weir-sdk {version} from crates.io"),
            }
            println!(
                "\nNext:\n  cd {}\n  cargo build --release --target wasm32-wasip2\n  cargo test\n  weir ingest -c workflow.yaml",
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `weir plugin test`: each check on a line, then the tally.
async fn acceptance(
    plugin: &str,
    workflow: PathBuf,
    golden: Option<PathBuf>,
    schemas: Option<PathBuf>,
) -> Result<ExitCode> {
    use weir::acceptance::{Options, Verdict};
    let scratch = std::env::temp_dir().join(format!("weir-plugin-test-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).with_context(|| format!("scratch folder {}", scratch.display()))?;
    let path = match weir::plugins::builtin(plugin) {
        Some(bytes) if !plugin.ends_with(".wasm") => {
            let path = scratch.join(format!("{plugin}.wasm"));
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
            path
        }
        _ => PathBuf::from(plugin),
    };
    // The schemas beside the checkout this weir was built from.
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs/openmetadata");
    let beside = beside.canonicalize().unwrap_or(beside);
    let schemas = schemas.or_else(|| beside.join("api/data/createTable.json").is_file().then_some(beside));
    let options =
        Options { plugin: path, workflow, golden, schemas, cache_dir: super::cache_dir(), scratch: scratch.clone() };
    let checks = weir::acceptance::run(&options).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let checks = checks.with_context(|| format!("weir plugin test {plugin}"))?;
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for check in &checks {
        let verdict = match check.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
        };
        println!("{verdict}  {:width$}  {}", check.name, weir::logging::redact(&check.reason));
    }
    let count = |v: Verdict| checks.iter().filter(|c| c.verdict == v).count();
    let failed = count(Verdict::Fail);
    println!(
        "\n{} checks: {} passed, {failed} failed, {} skipped",
        checks.len(),
        count(Verdict::Pass),
        count(Verdict::Skip)
    );
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn inspect(plugin: &str, timeout: u64) -> Result<()> {
    let (wasm, origin) = match weir::plugins::builtin(plugin) {
        Some(bytes) if !plugin.ends_with(".wasm") => (bytes.to_vec(), format!("built in ({plugin})")),
        _ => {
            let path = PathBuf::from(plugin);
            let bytes = std::fs::read(&path).with_context(|| format!("read {}", path.display()))?;
            (bytes, path.display().to_string())
        }
    };
    let limits = Limits { describe_timeout_secs: timeout, ..Limits::default() };
    let runtime = Runtime::new(RuntimeOptions { instances: 1, limits, cache_dir: super::cache_dir() })?;
    let loaded = runtime.load(&wasm).await?;
    let info = &loaded.info;
    let kinds: Vec<&str> = info.entity_kinds.iter().map(|k| k.entity_type()).collect();
    let caps: Vec<String> = info
        .capabilities
        .iter()
        .map(|c| match c {
            Capability::Sql(label) => format!("sql:{label}"),
            Capability::Http(origin) => format!("http:{origin}"),
        })
        .collect();
    println!("plugin:        {}", info.name);
    println!("version:       {}", info.version);
    println!("contract:      weir:connector@{}", loaded.wit_version);
    println!("source types:  {}", info.source_types.join(", "));
    println!("entity kinds:  {}", kinds.join(", "));
    println!("capabilities:  {}", if caps.is_empty() { "none".into() } else { caps.join(", ") });
    println!("file:          {origin} ({} bytes, sha256 {})", loaded.size, loaded.sha256);
    println!("compiled:      {}", if loaded.outcome == LoadOutcome::Cached { "from cache" } else { "now" });
    println!("config schema: {}", info.config_schema);
    Ok(())
}
