# {{name}}: a weir connector

Made by `weir plugin new {{name}} {{flavour}}`. It {{what}}.

```sh
rustup target add wasm32-wasip2                # once
cargo build --release --target wasm32-wasip2   # the connector
cargo test                                     # its unit tests, natively
weir ingest -c workflow.yaml                   # run it (from this folder)
weir catalog list --catalog {{name}}.db
```

`workflow.yaml` runs the component at
`target/wasm32-wasip2/release/{{crate_file}}.wasm` (`weir.plugin`, relative to
the folder you run weir from) with `source.type: {{name}}`, which is the
`source_types` its `describe` declares.

## Where to go from here

- `src/lib.rs` is the whole connector: `describe` says what it needs,
  `discover` lists references cheaply, `process` turns a batch of them
  into entities with a fixed number of queries or requests (never one per
  entity).
- The plugin runs in a sandbox: `std::fs`, `std::env` and sockets fail
  there. Read the source only through `weir_sdk::sql` (connections the host
  opens from `serviceConnection`, read-only) or `weir_sdk::http` (origins
  the workflow grants), and settings from the `Config` every call gets.
- The connector's own connection keys are declared in its config schema,
  under `connection` (a JSON Schema): the host refuses a workflow that
  misspells one or gives it a wrong type, naming the key and line. A key
  with `"format": "password"` is a secret.
- Secrets never enter the sandbox: the host keeps the connection's
  passwords and declared secrets, and an HTTP plugin names one with
  `weir_sdk::http::secret("name")`, which the host fills in on the way out
  to the connection's own origin.
- `weir plugin inspect target/wasm32-wasip2/release/{{crate_file}}.wasm`
  shows what the host sees of it.
