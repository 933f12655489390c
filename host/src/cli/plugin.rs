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
}

pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::List => {
            for name in weir::plugins::builtin_names() {
                println!("{name}");
            }
        }
        Command::Inspect { plugin, timeout } => inspect(&plugin, timeout).await?,
    }
    Ok(ExitCode::SUCCESS)
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
