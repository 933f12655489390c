# Runs the connector against an HTTP API at hostPort: GET /tables answers
# [{"name": "orders", "columns": [{"name": "id", "type": "INT"}]}, ...].
source:
  type: {{name}}
  serviceName: {{name}}
  serviceConnection:
    config:
      type: CustomDatabase
      # The plugin's `http:connection` capability is granted this origin.
      hostPort: {{host_port}}
      # The connector's own keys (its config schema declares them). `token`
      # is a secret: the plugin never sees it. Better: token: ${env:API_TOKEN}
      token: replace-with-the-api-token
  sourceConfig:
    config:
      type: DatabaseMetadata
sink:
  type: catalog
  config:
    path: {{name}}.db
weir:
  plugin: target/wasm32-wasip2/release/{{crate_file}}.wasm
