//! A workflow as Argo Workflows runs it: `weir argo render` writes the
//! Kubernetes documents (a ConfigMap holding the workflow file without its
//! secrets, a WorkflowTemplate whose DAG runs `weir discover`, one `weir
//! process` pod per shard kind by kind, then `weir finalize`, and a
//! Workflow that runs the template), and `weir ingest` can submit the
//! Workflow to an Argo Server and watch it.

pub mod render;
pub mod server;
pub mod submit;

pub use render::{RenderOptions, Rendered, render};
