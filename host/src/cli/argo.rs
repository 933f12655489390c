//! `weir argo render`: the workflow as Kubernetes documents for Argo
//! Workflows (see [`weir::argo`]).

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use weir::argo::{RenderOptions, render};
use weir::plan::distributed;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write the ConfigMap (the workflow file, secrets stripped), the
    /// WorkflowTemplate (discover → one pod per shard, kind by kind →
    /// finalize) and a Workflow that runs it.
    Render(RenderArgs),
}

#[derive(clap::Args)]
pub struct RenderArgs {
    /// The workflow file (YAML, OpenMetadata format).
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
    /// The weir image the pods run (else distributedExecution.image).
    #[arg(long, value_name = "REGISTRY/weir:TAG")]
    image: Option<String>,
    /// The namespace of every document (else distributedExecution.namespace).
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// The Kubernetes Secret the pods read the workflow's secrets from
    /// (else distributedExecution.secretName, else weir-<service>-secrets).
    #[arg(long, value_name = "NAME")]
    secret: Option<String>,
    /// Where to write the documents; `-` for stdout.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    output: PathBuf,
}

pub async fn run(command: Command, catalog: Option<PathBuf>, ui: super::Ui) -> Result<ExitCode> {
    let Command::Render(args) = command;
    let (workflow, options) = super::ingest::load(&args.config, catalog, ui, None)?;
    let context = || format!("render {}", args.config.display());
    distributed::check_shared(&workflow, &options).with_context(context)?;
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("read {}", args.config.display()))?;
    let kinds = distributed::kinds(&workflow, &options).await.with_context(context)?;
    let choices = RenderOptions { image: args.image, namespace: args.namespace, secret: args.secret };
    let rendered = render(&workflow, &text, &kinds, &choices).with_context(context)?;
    let yaml = rendered.to_yaml().with_context(context)?;
    if args.output.as_os_str() == "-" {
        print!("{yaml}");
    } else {
        std::fs::write(&args.output, &yaml).with_context(|| format!("write {}", args.output.display()))?;
        if !ui.quiet {
            eprintln!("wrote {} (ConfigMap, WorkflowTemplate, Workflow)", args.output.display());
        }
    }
    if !ui.quiet && !rendered.secret_keys.is_empty() {
        eprintln!(
            "the pods read {} from the Secret `{}`: create it before submitting (see the file's header)",
            rendered.secret_keys.join(", "),
            rendered.secret_name
        );
    }
    Ok(ExitCode::SUCCESS)
}
