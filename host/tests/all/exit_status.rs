//! The exit-code contract a scheduler retries on (README "Exit status"):
//! 0 done, 2 entity failures a retry will not change, 75 a cause that may
//! pass, 1 fatal. Each case is made for real: a port nothing listens on, a
//! database the real server does not have, a plugin whose entity stays
//! not ready past the retries, a plugin that panics.

use crate::common;

use common::{TestDb, ingest, text, weir, workflow};

fn failure_of<'a>(report: &'a serde_json::Value, entity: &str) -> &'a serde_json::Value {
    report["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["entity"].as_str().is_some_and(|e| e.ends_with(entity)))
        .unwrap_or_else(|| panic!("no failure of {entity}: {report}"))
}

fn postgres_yaml(host_port: &str, user: &str, database: &str) -> String {
    format!(
        r#"
source:
  type: postgres
  serviceName: exits
  serviceConnection:
    config:
      hostPort: "{host_port}"
      username: {user}
      authType:
        password: hush-Pw-7731
      database: {database}
"#
    )
}

#[test]
fn a_database_nobody_answers_for_may_pass_and_exits_75() {
    let dir = tempfile::tempdir().unwrap();
    let wf = workflow(dir.path(), &postgres_yaml("127.0.0.1:1", "postgres", "postgres"));
    let out = weir(dir.path(), &["ingest", "-c", wf.to_str().unwrap()], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("cannot connect to PostgreSQL") && stderr.contains("try again later"), "{stderr}");
    assert!(!stderr.contains("hush-Pw-7731"), "the password leaked: {stderr}");
    // The run history has it, failed, with the reason and the same exit status.
    let runs = weir(dir.path(), &["runs", "list", "--json"], &[]);
    let listed = text(&runs.stdout);
    let record: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap_or("null")).unwrap();
    assert_eq!((&record["status"], &record["exitCode"]), (&"failed".into(), &75.into()), "{listed}");
    assert!(record["error"].as_str().unwrap_or_default().contains("cannot connect to PostgreSQL"), "{record}");
    assert!(!listed.contains("hush-Pw-7731"), "the password leaked into the history: {listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_or_role_the_server_refuses_is_fatal_and_exits_1() {
    let db = TestDb::create("exit_refused").await;
    let dir = tempfile::tempdir().unwrap();
    for (user, database) in [(db.reader(), "weir_no_such_database_here"), ("weir_no_such_role_here", db.name.as_str())]
    {
        let wf = workflow(dir.path(), &postgres_yaml(&db.host_port(), user, database));
        let out = weir(dir.path(), &["ingest", "-c", wf.to_str().unwrap()], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{user}@{database}: {stderr}");
        assert!(stderr.contains("does not exist"), "the server's reason: {stderr}");
        assert!(!stderr.contains("try again later"), "{stderr}");
    }
}

fn probe_yaml(tables: &[&str]) -> String {
    format!(
        r#"
source:
  type: probe
  serviceName: exits
  serviceConnection:
    config:
      type: Custom
  sourceConfig:
    config:
      probeTables: [{tables}]
weir:
  plugin: {plugin}
  retry: {{attempts: 1, baseDelayMs: 1, maxDelayMs: 1}}
"#,
        tables = tables.join(", "),
        plugin = common::test_plugin("probe_bare").display()
    )
}

#[test]
fn an_entity_still_not_ready_after_the_retries_may_pass_and_outranks_a_fault() {
    // `transient…` fails transiently twice; one retry is not enough.
    let dir = tempfile::tempdir().unwrap();
    let run = ingest(dir.path(), &probe_yaml(&["t1", "transient_a"]), &[], &[]);
    assert_eq!(run.code, Some(75), "{}\n{}", run.stdout, run.stderr);
    let failed = failure_of(&run.report, "transient_a");
    assert_eq!((&failed["error"], &failed["mayPass"]), (&"transient".into(), &true.into()), "{failed}");
    assert!(run.stderr.contains("1 for a cause that may pass"), "{}", run.stderr);

    // A panic will panic again: alone it is exit 2; with the transient one, 75.
    let run = ingest(dir.path(), &probe_yaml(&["t1", "panic_b"]), &[], &[]);
    assert_eq!(run.code, Some(2), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(failure_of(&run.report, "panic_b").get("mayPass"), None, "{}", run.report);
    let run = ingest(dir.path(), &probe_yaml(&["t1", "panic_b", "transient_a"]), &[], &[]);
    assert_eq!(run.code, Some(75), "{}\n{}", run.stdout, run.stderr);

    let run = ingest(dir.path(), &probe_yaml(&["t1", "t2"]), &[], &[]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
}
