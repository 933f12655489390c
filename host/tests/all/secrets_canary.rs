//! Canary secrets through every path an operator reads: a source password
//! and an OpenMetadata token that appear nowhere in what weir prints or
//! writes — logs at -vv (text and JSON), the JSON and HTML reports, the run
//! history, `weir check`, errors (a host nobody answers, a plugin panic),
//! and the Argo documents `weir argo render` writes. (A row of the
//! reliability matrix, issue 21.)

use crate::common;

use common::{TestDb, text, weir, workflow};
use weir_fixtures::openmetadata::{OpenMetadataFixture, require_specs};

const PASSWORD: &str = "Canary-Pw-8c1f2e";
const TOKEN: &str = "Canary-Tok-3d9a7b";
const STORE_PASSWORD: &str = "Canary-Store-5e61";

/// The forms a secret could leak in: as is, and percent-encoded (as in a
/// URL).
fn forms(secret: &str) -> Vec<String> {
    use std::fmt::Write;
    let mut percent = String::new();
    for b in secret.bytes() {
        if b.is_ascii_alphanumeric() {
            percent.push(b as char);
        } else {
            let _ = write!(percent, "%{b:02X}");
        }
    }
    vec![secret.to_string(), percent]
}

#[track_caller]
fn assert_clean(what: &str, shown: &str) {
    for secret in [PASSWORD, TOKEN, STORE_PASSWORD] {
        for form in forms(secret) {
            assert!(!shown.contains(&form), "{what} shows a secret ({form}):\n{shown}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_secrets_appear_in_no_log_report_history_check_error_or_rendered_document() {
    require_specs();
    let db = TestDb::create("canary").await;
    db.run("CREATE TABLE public.t (id int PRIMARY KEY); COMMENT ON TABLE public.t IS 'plain';").await;
    let fixture = OpenMetadataFixture::start_with_token(TOKEN).await;
    fixture.add_ingestion_pipeline("canary.nightly");
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // The machine's PostgreSQL trusts local connections: the password is
    // sent, and must be kept out of everything, but is not checked.
    let connection = |host_port: &str| {
        format!(
            "      type: Postgres\n      hostPort: \"{host_port}\"\n      username: {}\n      authType:\n        \
             password: {PASSWORD}\n      database: {}",
            db.reader(),
            db.name
        )
    };
    let yaml = |host_port: &str, sink: &str| {
        format!(
            "source:\n  type: postgres\n  serviceName: canary\n  serviceConnection:\n    config:\n{}\n  sourceConfig:\n    \
             config:\n      type: DatabaseMetadata\n{sink}workflowConfig:\n  ingestionPipelineFQN: canary.nightly\n  \
             openMetadataServerConfig:\n    hostPort: \"{}\"\n    authProvider: openmetadata\n    securityConfig:\n      \
             jwtToken: {TOKEN}\nweir:\n  statePath: state.db\n  retry: {{attempts: 1, baseDelayMs: 1, maxDelayMs: 1}}\n",
            connection(host_port),
            fixture.base_url()
        )
    };
    let rest = "sink:\n  type: metadata-rest\n  config: {}\n";
    let wf = workflow(dir, &yaml(&db.host_port(), rest));
    let wf = wf.to_str().unwrap().to_string();
    let run = |args: Vec<String>| {
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = weir(&dir, &args, &[]);
            (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
        })
        .join()
        .unwrap()
    };
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    // A run into OpenMetadata at -vv, text then JSON, with both reports.
    let (json_report, html_report) = (dir.join("run.json"), dir.join("run.html"));
    let (j, h) = (json_report.to_str().unwrap(), html_report.to_str().unwrap());
    let (code, shown) = run(args(&["-vv", "ingest", "-c", &wf, "--report", j, "--report", h, "--full"]));
    assert_eq!(code, Some(0), "{shown}");
    assert_clean("ingest -vv", &shown);
    let (code, shown) = run(args(&["-vv", "--log-format", "json", "ingest", "-c", &wf, "--full"]));
    assert_eq!(code, Some(0), "{shown}");
    assert_clean("ingest -vv --log-format json", &shown);
    assert_clean("the JSON report", &std::fs::read_to_string(&json_report).unwrap());
    assert_clean("the HTML report", &std::fs::read_to_string(&html_report).unwrap());

    // The run history, the check (passing, then with a refused token).
    let (_, shown) = run(args(&["runs", "list", "-c", &wf, "--json"]));
    assert!(shown.contains("\"service\":\"canary\""), "{shown}");
    assert_clean("runs list", &shown);
    let (code, shown) = run(args(&["-vv", "check", "-c", &wf]));
    assert_eq!(code, Some(0), "{shown}");
    assert_clean("check", &shown);

    // Errors: a host nobody answers; a token the server refuses.
    let nobody = workflow(dir, &yaml("127.0.0.1:1", rest));
    let (code, shown) = run(args(&["-vv", "ingest", "-c", nobody.to_str().unwrap()]));
    assert_eq!(code, Some(75), "{shown}");
    assert_clean("a connection error", &shown);
    let (_, shown) = run(args(&["-vv", "check", "-c", nobody.to_str().unwrap(), "--json"]));
    assert_clean("check of a host nobody answers", &shown);
    let (_, shown) = run(args(&["runs", "list", "-c", nobody.to_str().unwrap(), "--json"]));
    assert!(shown.contains("failed"), "{shown}");
    assert_clean("the history of a failed run", &shown);

    // A plugin that panics, holding the secrets it was given.
    let probe = format!(
        "source:\n  type: probe\n  serviceName: canary_probe\n  serviceConnection:\n    config:\n      type: Custom\n      \
         password: {PASSWORD}\n  sourceConfig:\n    config:\n      probeTables: [t1, panic_x]\nweir:\n  plugin: {}\n  \
         statePath: state.db\n  retry: {{attempts: 1, baseDelayMs: 1, maxDelayMs: 1}}\n",
        common::test_plugin("probe_bare").display()
    );
    let probe = workflow(dir, &probe);
    let (code, shown) =
        run(args(&["-vv", "--catalog", "p.db", "ingest", "-c", probe.to_str().unwrap(), "--report", h]));
    assert_eq!(code, Some(2), "{shown}");
    assert_clean("a plugin panic", &shown);
    assert_clean("the HTML report of a panic", &std::fs::read_to_string(&html_report).unwrap());

    // The Argo documents: secrets go to a Kubernetes Secret by name only.
    let shared = format!(
        "sink:\n  type: catalog\n  config:\n    url: \"postgres://weir:{STORE_PASSWORD}@127.0.0.1:5432/cat\"\n"
    );
    let argo = yaml(&db.host_port(), &shared).replace(
        "weir:\n  statePath: state.db\n",
        &format!("weir:\n  stateStore: \"postgres://weir:{STORE_PASSWORD}@127.0.0.1:5432/state\"\n"),
    );
    let argo = workflow(dir, &argo);
    let (code, shown) = run(args(&["argo", "render", "-c", argo.to_str().unwrap(), "--image", "weir:test"]));
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("kind: Workflow") || shown.contains("kind: WorkflowTemplate"), "{shown}");
    assert_clean("argo render", &shown);
}
