use super::*;
use crate::caps::sql::SqlTarget;
use crate::caps::sql::mssql::Encryption;

const MINIMAL: &str = "\
source:
  type: postgres
  serviceName: svc
  serviceConnection:
    config:
      type: Postgres
      hostPort: db.internal:6432
      username: reader
      authType:
        password: hunter2-secret
      database: sales
";

fn parse_err(text: &str) -> String {
    Workflow::parse(text, "wf.yaml").unwrap_err().to_string()
}

#[test]
fn a_minimal_openmetadata_workflow_parses_with_defaults() {
    let wf = Workflow::parse(MINIMAL, "wf.yaml").unwrap();
    assert_eq!(wf.source.kind, "postgres");
    assert_eq!(wf.source.service_name.as_str(), "svc");
    let meta = wf.metadata_config();
    assert!(meta.include_tables && meta.include_views && meta.include_stored_procedures);
    assert!(wf.sink.is_none(), "no sink means the embedded catalog");
    assert_eq!(wf.weir.limits.memory_mib, Limits::default().memory_mib);
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let text = MINIMAL.replace("      database: sales", "      databse: sales");
    let err = parse_err(&text);
    assert!(err.contains("unknown field `databse`"), "{err}");
    assert!(err.contains("source.serviceConnection.config"), "{err}");
    assert!(err.contains("line 11"), "{err}");
    assert!(err.starts_with("wf.yaml: "), "{err}");
}

#[test]
fn unknown_keys_in_source_config_are_errors_too() {
    let text = format!("{MINIMAL}  sourceConfig:\n    config:\n      schemaFilterPatern:\n        includes: [a]\n");
    let err = parse_err(&text);
    assert!(err.contains("unknown field `schemaFilterPatern`") && err.contains("line 14"), "{err}");
}

#[test]
fn openmetadata_keys_weir_ignores_are_accepted_and_listed() {
    let text = format!(
        "{MINIMAL}      sslMode: require\n  sourceConfig:\n    config:\n      markDeletedTables: true\n      includeDDL: false\n"
    );
    let wf = Workflow::parse(&text, "wf.yaml").unwrap();
    assert_eq!(wf.source.service_connection.config.ignored_keys(), vec!["sslMode"]);
    assert_eq!(wf.metadata_config().ignored_keys(), vec!["includeDDL"]);
    assert!(wf.metadata_config().mark_deleted_tables);
}

#[test]
fn a_bad_regex_is_named_with_its_line() {
    let text =
        format!("{MINIMAL}  sourceConfig:\n    config:\n      tableFilterPattern:\n        excludes: [\"(tmp\"]\n");
    let err = parse_err(&text);
    assert!(err.contains("invalid regular expression `(tmp`"), "{err}");
    assert!(err.contains("line 14"), "the tableFilterPattern line: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn env_references_resolve_in_the_host() {
    // A variable name no other test uses, so setting it races with nothing.
    let name = "WEIR_CONFIG_TEST_PW_7731";
    unsafe { std::env::set_var(name, "from-env") };
    let text = MINIMAL.replace("hunter2-secret", &format!("${{env:{name}}}"));
    let wf = Workflow::parse(&text, "wf.yaml").unwrap();
    assert_eq!(wf.secrets(), vec!["from-env".to_string()]);

    let missing = MINIMAL.replace("hunter2-secret", "${env:WEIR_CONFIG_TEST_UNSET_9941}");
    let err = parse_err(&missing);
    assert!(err.contains("WEIR_CONFIG_TEST_UNSET_9941` is not set") && err.contains("line 10"), "{err}");
}

#[test]
fn the_plugin_view_has_no_secret() {
    let wf = Workflow::parse(MINIMAL, "wf.yaml").unwrap();
    let view = wf.plugin_config(&ConnectionSchema::default(), &Default::default());
    assert!(!view.contains("hunter2-secret"), "{view}");
    assert!(!view.contains("authType"), "{view}");
    let doc: serde_json::Value = serde_json::from_str(&view).unwrap();
    assert_eq!(doc["connection"]["hostPort"], "db.internal:6432");
    assert_eq!(doc["connection"]["database"], "sales");
    assert_eq!(doc["serviceName"], "svc");
    assert!(!format!("{wf:?}").contains("hunter2-secret"), "Debug prints the password");
}

#[test]
fn required_connection_keys_are_checked_per_source_type() {
    let err = parse_err(&MINIMAL.replace("      hostPort: db.internal:6432\n", ""));
    assert!(err.contains("source.serviceConnection.config.hostPort: missing"), "{err}");
    let sqlite = "source:\n  type: sqlite\n  serviceName: s\n  serviceConnection:\n    config:\n      type: SQLite\n";
    assert!(parse_err(sqlite).contains("databaseMode: missing"));
}

#[test]
fn unsupported_sinks_and_zero_settings_are_refused() {
    let err = parse_err(&format!("{MINIMAL}sink:\n  type: kafka\n"));
    assert!(err.contains("sink.type") && err.contains("kafka"), "{err}");
    // The OpenMetadata sink needs to know where the server is, and a token.
    let err = parse_err(&format!("{MINIMAL}sink:\n  type: metadata-rest\n"));
    assert!(err.contains("workflowConfig.openMetadataServerConfig"), "{err}");
    let server = "workflowConfig:\n  openMetadataServerConfig:\n    hostPort: http://om:8585/api\n";
    let err = parse_err(&format!("{MINIMAL}sink:\n  type: metadata-rest\n{server}"));
    assert!(err.contains("securityConfig.jwtToken"), "{err}");
    let err = parse_err(&format!(
        "{MINIMAL}sink:\n  type: metadata-rest\n{server}    authProvider: google\n    securityConfig:\n      jwtToken: t\n"
    ));
    assert!(err.contains("authProvider") && err.contains("google"), "{err}");
    let ok = format!("{MINIMAL}sink:\n  type: metadata-rest\n{server}    securityConfig:\n      jwtToken: s3cr3t\n");
    let wf = Workflow::parse(&ok, "wf.yaml").unwrap();
    assert!(wf.secrets().contains(&"s3cr3t".to_string()), "the token is redacted like a password");
    let err = parse_err(&format!("{MINIMAL}weir:\n  instances: 0\n"));
    assert!(err.contains("weir.instances"), "{err}");
}

#[test]
fn a_custom_plugin_keeps_its_own_source_config() {
    let text = "source:\n  type: acme\n  serviceName: s\n  serviceConnection:\n    config:\n      type: Custom\n  sourceConfig:\n    config:\n      anything: [1, 2]\n";
    let wf = Workflow::parse(text, "wf.yaml").unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&wf.plugin_config(&ConnectionSchema::default(), &Default::default())).unwrap();
    assert_eq!(doc["sourceConfig"]["anything"], serde_json::json!([1, 2]));
}

#[test]
fn the_looker_example_parses_and_its_secret_stays_out_of_the_plugin_config() {
    let text = include_str!("../../../examples/looker.yaml")
        .replace("${env:LOOKER_URL}", "https://looker.example.com:19999")
        .replace("${env:LOOKER_CLIENT_ID}", "abc123")
        .replace("${env:LOOKER_CLIENT_SECRET}", "s3cret-looker-value");
    let wf = Workflow::parse(&text, "looker.yaml").unwrap();
    let config = wf.plugin_config(&ConnectionSchema::default(), &Default::default());
    assert!(config.contains("\"clientId\":\"abc123\""), "{config}");
    assert!(config.contains("dbServicePrefixes"), "{config}");
    assert!(!config.contains("s3cret-looker-value"), "{config}");
    assert!(wf.secrets().contains(&"s3cret-looker-value".to_string()));
}

#[test]
fn looker_keys_are_checked_by_name_and_line() {
    let base = "\
source:
  type: looker
  serviceName: lk
  serviceConnection:
    config:
      type: Looker
      hostPort: https://looker.example.com
      clientId: abc
      clientSecret: s
  sourceConfig:
    config:
      type: DashboardMetadata
";
    assert!(Workflow::parse(base, "wf.yaml").is_ok());
    let err = parse_err(&base.replace("      clientSecret: s\n", ""));
    assert!(err.contains("clientSecret") && err.contains("missing"), "{err}");
    let err = parse_err(&base.replace("https://looker.example.com", "looker.example.com"));
    assert!(err.contains("hostPort") && err.contains("URL"), "{err}");
    let err = parse_err(&format!("{base}      dashbordFilterPattern: {{}}\n"));
    assert!(err.contains("dashbordFilterPattern") && err.contains("line 13"), "{err}");
    let err = parse_err(&format!("{base}      chartFilterPattern:\n        includes: [\"(\"]\n"));
    assert!(err.contains("invalid regular expression"), "{err}");
}

const MSSQL: &str = "\
source:
  type: mssql
  serviceName: estate
  serviceConnection:
    config:
      type: Mssql
      scheme: mssql+pytds
      hostPort: sql.corp.example:14330
      username: catalog_reader
      password: Winter-2026-secret
      database: Sales
      encrypt: true
      trustServerCertificate: false
      driver: ODBC Driver 18 for SQL Server
      ingestAllDatabases: true
";

#[test]
fn an_openmetadata_mssql_connection_becomes_a_read_only_tds_target() {
    use crate::caps::sql::mssql::MssqlAuth;
    let wf = Workflow::parse(MSSQL, "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
    let connection = &wf.source.service_connection.config;
    let Some(SqlTarget::Mssql(target)) = connection.sql_keys().target("mssql", None) else {
        panic!("no SQL Server target")
    };
    assert_eq!((target.host.as_str(), target.port, target.database.as_str()), ("sql.corp.example", 14330, "Sales"));
    assert!(target.encryption == Encryption::Full && !target.trust_server_certificate);
    assert!(matches!(&target.auth, MssqlAuth::SqlServer { username, .. } if username == "catalog_reader"));
    assert!(!target.describe().contains("Winter-2026-secret"), "{}", target.describe());
    assert!(!connection.plugin_view(&ConnectionSchema::default()).to_string().contains("Winter-2026-secret"));
    assert!(connection.secrets().contains(&"Winter-2026-secret".to_string()), "the password is redacted");
    assert_eq!(connection.ignored_keys(), vec!["driver"]);

    let default_port =
        MSSQL.replace("sql.corp.example:14330", "sql.corp.example").replace("      database: Sales\n", "");
    let wf = Workflow::parse(&default_port, "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
    let Some(SqlTarget::Mssql(target)) = wf.source.service_connection.config.sql_keys().target("mssql", None) else {
        panic!("no SQL Server target")
    };
    assert_eq!((target.port, target.database.as_str()), (1433, "master"));
    let plain = MSSQL.replace("      encrypt: true\n", "      connectionOptions:\n        Encrypt: DANGER_PLAINTEXT\n");
    let wf = Workflow::parse(&plain, "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
    let Some(SqlTarget::Mssql(target)) = wf.source.service_connection.config.sql_keys().target("mssql", None) else {
        panic!("no SQL Server target")
    };
    assert_eq!(target.encryption, Encryption::Plaintext);
    let err = parse_err(&plain.replace("DANGER_PLAINTEXT", "no"));
    assert!(err.contains("connectionOptions") && err.contains("DANGER_PLAINTEXT"), "{err}");
}

#[test]
fn kerberos_is_asked_for_with_trusted_connection_and_takes_no_password() {
    use crate::caps::sql::mssql::MssqlAuth;
    let kerberos = MSSQL
        .replace("      username: catalog_reader\n      password: Winter-2026-secret\n", "")
        .replace("      ingestAllDatabases: true\n", "      connectionOptions:\n        Trusted_Connection: \"yes\"\n");
    let wf = Workflow::parse(&kerberos, "wf.yaml").unwrap_or_else(|e| panic!("{e}"));
    let Some(SqlTarget::Mssql(target)) = wf.source.service_connection.config.sql_keys().target("mssql", None) else {
        panic!("no SQL Server target")
    };
    assert!(matches!(target.auth, MssqlAuth::Integrated));

    let both = kerberos.replace("      encrypt: true\n", "      encrypt: true\n      password: p\n");
    let err = parse_err(&both);
    assert!(err.contains("password") && err.contains("KRB5CCNAME"), "{err}");
    let bad = kerberos.replace("\"yes\"", "\"maybe\"");
    let err = parse_err(&bad);
    assert!(err.contains("connectionOptions") && err.contains("Trusted_Connection"), "{err}");
    let no_password = MSSQL.replace("      password: Winter-2026-secret\n", "");
    let err = parse_err(&no_password);
    assert!(err.contains("password") && err.contains("missing"), "{err}");
}

#[test]
fn the_mssql_example_parses_and_its_password_stays_out_of_the_plugin_config() {
    let text = include_str!("../../../examples/mssql.yaml")
        .replace("${env:MSSQL_HOST}", "sql.corp.example")
        .replace("${env:MSSQL_USER}", "catalog_reader")
        .replace("${env:MSSQL_PASSWORD}", "s3cret-sql-value");
    let wf = Workflow::parse(&text, "mssql.yaml").unwrap_or_else(|e| panic!("{e}"));
    let config = wf.plugin_config(&ConnectionSchema::default(), &Default::default());
    assert!(config.contains("\"ingestAllDatabases\":true"), "{config}");
    assert!(!config.contains("s3cret-sql-value"), "{config}");
    assert!(wf.secrets().contains(&"s3cret-sql-value".to_string()));
    let target = wf.source.service_connection.config.sql_keys().target("mssql", None);
    assert!(matches!(target, Some(SqlTarget::Mssql(t)) if t.port == 1433 && t.encryption == Encryption::Full));
}

#[test]
fn a_postgres_state_store_is_a_url_its_password_redacted_and_never_beside_a_state_path() {
    let url = "postgres://weir:p%40ss-Word9@state.db.internal:5432/weir";
    let wf = Workflow::parse(&format!("{MINIMAL}weir:\n  stateStore: {url}\n"), "wf.yaml").unwrap();
    assert_eq!(wf.weir.state_store.as_ref().map(Secret::expose), Some(url));
    let secrets = wf.secrets();
    for secret in [url, "p%40ss-Word9", "p@ss-Word9"] {
        assert!(secrets.contains(&secret.to_string()), "{secret} is redacted: {secrets:?}");
    }
    assert!(!format!("{:?}", wf.weir).contains("Word9"), "Debug shows no password");

    let err = parse_err(&format!("{MINIMAL}weir:\n  stateStore: {url}\n  statePath: /tmp/state.db\n"));
    assert!(err.contains("weir.stateStore") && err.contains("not both"), "{err}");
    for wrong in ["/var/lib/weir/state.db", "sqlite://state.db", "postgres://"] {
        let err = parse_err(&format!("{MINIMAL}weir:\n  stateStore: \"{wrong}\"\n"));
        assert!(err.contains("weir.stateStore") && err.contains("weir.statePath"), "{wrong}: {err}");
    }
}

const AIRFLOW: &str = "\
source:
  type: airflow
  serviceName: af
  serviceConnection:
    config:
      type: Airflow
      hostPort: http://127.0.0.1:8080
      numberOfStatus: 5
      connection:
        type: RestAPI
        authConfig:
          username: weir
          password: af-secret-pw
  sourceConfig:
    config:
      type: PipelineMetadata
      markDeletedPipelines: true
      pipelineFilterPattern:
        excludes: [tmp_.*]
      lineageInformation:
        dbServiceNames: [pg]
        dbServicePrefixes: [wh.sales]
";

#[test]
fn an_airflow_workflow_reads_its_connection_and_pipeline_keys() {
    let wf = Workflow::parse(AIRFLOW, "wf.yaml").unwrap();
    let connection = &wf.source.service_connection.config;
    let view = connection.plugin_view(&ConnectionSchema::default());
    assert_eq!(view["numberOfStatus"], 5);
    assert_eq!(view["connection"]["authConfig"]["username"], "weir");
    assert!(!view.to_string().contains("af-secret-pw"), "the password stays with the host: {view}");
    let named = connection.named_secrets(&ConnectionSchema::default());
    assert_eq!(named, vec![("password".to_string(), "af-secret-pw".to_string())]);
    let pipeline = wf.pipeline_config().expect("a pipeline source");
    assert!(pipeline.mark_deleted_pipelines && pipeline.include_tags && pipeline.include_owners);
    let source = wf.source_config_json();
    assert_eq!(source["lineageInformation"]["dbServicePrefixes"], serde_json::json!(["pg", "wh.sales"]));
}

#[test]
fn an_airflow_token_is_a_secret_and_a_misspelt_auth_key_is_refused() {
    let token =
        AIRFLOW.replace("          username: weir\n          password: af-secret-pw\n", "          token: af-tok\n");
    let wf = Workflow::parse(&token, "wf.yaml").unwrap();
    let named = wf.source.service_connection.config.named_secrets(&ConnectionSchema::default());
    assert_eq!(named, vec![("token".to_string(), "af-tok".to_string())]);
    let err = parse_err(&AIRFLOW.replace("markDeletedPipelines", "markDeletedPipeline"));
    assert!(err.contains("unknown field `markDeletedPipeline`") && err.contains("line 17"), "{err}");
    let err =
        parse_err(&AIRFLOW.replace("        type: RestAPI\n", "        type: RestAPI\n        verifySsl: true\n"));
    assert!(err.contains("verifySsl"), "{err}");
}

#[test]
fn an_airflow_workflow_without_its_server_or_credentials_is_refused_by_key() {
    let err = parse_err(&AIRFLOW.replace("      hostPort: http://127.0.0.1:8080\n", ""));
    assert!(err.contains("hostPort") && err.contains("API server's URL"), "{err}");
    let err = parse_err(&AIRFLOW.replace("hostPort: http://127.0.0.1:8080", "hostPort: 127.0.0.1:8080"));
    assert!(err.contains("hostPort") && err.contains("http://airflow:8080"), "{err}");
    let without = AIRFLOW.replace(
        "      connection:\n        type: RestAPI\n        authConfig:\n          username: weir\n          password: af-secret-pw\n",
        "",
    );
    let err = parse_err(&without);
    assert!(err.contains("connection") && err.contains("authConfig"), "{err}");
}

#[test]
fn the_plugin_config_carries_the_run_cursors_only_when_there_are_some() {
    let wf = Workflow::parse(AIRFLOW, "wf.yaml").unwrap();
    let none: serde_json::Value =
        serde_json::from_str(&wf.plugin_config(&ConnectionSchema::default(), &Default::default())).unwrap();
    assert!(none.get("lastRuns").is_none(), "{none}");
    let cursors = [("daily".to_string(), 1_796_083_200_000_i64)].into_iter().collect();
    let some: serde_json::Value =
        serde_json::from_str(&wf.plugin_config(&ConnectionSchema::default(), &cursors)).unwrap();
    assert_eq!(some["lastRuns"], serde_json::json!({"daily": 1_796_083_200_000_i64}));
}

#[test]
fn an_airflow_workflow_keeps_few_requests_in_flight_unless_told() {
    let wf = Workflow::parse(AIRFLOW, "wf.yaml").unwrap();
    assert_eq!(wf.weir.http.max_in_flight, super::AIRFLOW_MAX_IN_FLIGHT);
    let told = format!("{AIRFLOW}weir:\n  http:\n    maxInFlight: 32\n");
    assert_eq!(Workflow::parse(&told, "wf.yaml").unwrap().weir.http.max_in_flight, 32);
    let postgres = Workflow::parse(MINIMAL, "wf.yaml").unwrap();
    assert_eq!(postgres.weir.http.max_in_flight, crate::caps::http::HttpSettings::default().max_in_flight);
}

#[test]
fn the_airflow_example_parses_and_its_password_stays_out_of_the_plugin_config() {
    let text = include_str!("../../../examples/airflow.yaml")
        .replace("${env:AIRFLOW_URL}", "http://airflow.example.com:8080")
        .replace("${env:AIRFLOW_USER}", "weir")
        .replace("${env:AIRFLOW_PASSWORD}", "s3cret-airflow-value");
    let wf = Workflow::parse(&text, "airflow.yaml").unwrap();
    let config = wf.plugin_config(&ConnectionSchema::default(), &Default::default());
    assert!(config.contains("\"username\":\"weir\"") && config.contains("local_postgres"), "{config}");
    assert!(!config.contains("s3cret-airflow-value"), "{config}");
    assert!(wf.secrets().contains(&"s3cret-airflow-value".to_string()));
}
