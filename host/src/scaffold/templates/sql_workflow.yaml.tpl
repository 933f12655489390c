# Runs the connector on a SQLite file. `weir quickstart` leaves one,
# weir-demo.db, in the folder it ran in; point databaseMode at it (or at
# any SQLite file).
source:
  type: {{name}}
  serviceName: {{name}}
  serviceConnection:
    config:
      # The connection's type picks the engine the host opens for the
      # plugin's `sql:source` capability.
      type: SQLite
      databaseMode: {{database}}
      database: main
  sourceConfig:
    config:
      type: DatabaseMetadata
sink:
  type: catalog
  config:
    path: {{name}}.db
weir:
  plugin: target/wasm32-wasip2/release/{{crate_file}}.wasm
