//! `weir`: ingest metadata with sandboxed WebAssembly connectors.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
