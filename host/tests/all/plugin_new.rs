//! A stranger's connector, as they would make it: `weir plugin new` into a
//! folder outside this workspace, `cargo build --release --target
//! wasm32-wasip2` and `cargo test` in it exactly as its README says, then
//! `weir ingest -c workflow.yaml` from that folder, into the catalog. The
//! SQL one reads a SQLite file the test writes where the workflow looks
//! (`weir-demo.db`); the HTTP one reads a small API served by the test,
//! whose address goes into the workflow's hostPort as a user would put it.

use crate::common;

use common::{target_dir, text, weir};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use weir_fixtures::http::{Request, Response, Server};

/// `weir plugin new NAME FLAG --dir <tmp>/NAME`, then the README's build and
/// test commands in it. Its `target/` links to one under this workspace's,
/// so the SDK's dependencies are compiled once for every run of the tests.
fn scaffold_and_build(tmp: &Path, name: &str, flag: &str) -> std::path::PathBuf {
    let dir = tmp.join(name);
    let out = weir(tmp, &["plugin", "new", name, flag, "--dir", dir.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    for file in ["Cargo.toml", "src/lib.rs", "workflow.yaml", "README.md"] {
        assert!(dir.join(file).is_file(), "{file} written");
    }
    let shared = target_dir().join("scaffolded");
    std::fs::create_dir_all(&shared).unwrap();
    std::os::unix::fs::symlink(&shared, dir.join("target")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for args in [&["build", "--release", "--target", "wasm32-wasip2"][..], &["test"][..]] {
        let out = Command::new(&cargo)
            .args(args)
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo {args:?} in the new crate:\n{}\n{}", text(&out.stdout), text(&out.stderr));
        if args == ["test"] {
            // discover and process ran natively, through weir_sdk::testing.
            let said = text(&out.stdout);
            assert!(said.contains("_and_one_reads_a_whole_batch ... ok"), "{said}");
        }
    }
    dir
}

fn ingest_and_list(dir: &Path, name: &str) -> BTreeSet<String> {
    let out = weir(dir, &["ingest", "-c", "workflow.yaml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let catalog = format!("{name}.db");
    let out = weir(dir, &["--catalog", &catalog, "catalog", "list", "--kind", "table"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().filter_map(|l| l.split_whitespace().nth(1)).map(String::from).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_sql_connector_builds_tests_and_ingests_a_sqlite_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tokio::task::spawn_blocking({
        let tmp = tmp.path().to_path_buf();
        move || scaffold_and_build(&tmp, "acme-files", "--sql")
    })
    .await
    .unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(dir.join("weir-demo.db")).create_if_missing(true);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, total DECIMAL(10,2));
         CREATE VIEW big AS SELECT * FROM orders WHERE total > 100;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    drop(conn);
    let (tables, first, second) = tokio::task::spawn_blocking(move || {
        let tables = ingest_and_list(&dir, "acme-files");
        let golden = ["--golden", "golden.jsonl"];
        (tables, plugin_test(&dir, "acme_files", &golden), plugin_test(&dir, "acme_files", &golden))
    })
    .await
    .unwrap();
    assert_eq!(tables, BTreeSet::from(["acme-files.main.main.customer".into(), "acme-files.main.main.orders".into()]));
    // The acceptance suite passes: the first run keeps the golden file,
    // the second compares with it.
    assert_eq!(first.0, Some(0), "{}", first.1);
    assert!(first.1.contains("skip  golden        golden.jsonl written"), "{}", first.1);
    assert_eq!(second.0, Some(0), "{}", second.1);
    assert!(second.1.contains("10 checks: 10 passed, 0 failed, 0 skipped"), "{}", second.1);
}

/// `weir plugin test` of the crate's built component, from its folder:
/// exit code and stdout.
fn plugin_test(dir: &Path, crate_file: &str, args: &[&str]) -> (Option<i32>, String) {
    let wasm = format!("target/wasm32-wasip2/release/{crate_file}.wasm");
    let mut argv = vec!["plugin", "test", wasm.as_str(), "-c", "workflow.yaml"];
    argv.extend_from_slice(args);
    let out = weir(dir, &argv, &[]);
    (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_http_connector_builds_tests_and_ingests_an_api() {
    // The connector's own secret key: the server wants it as the bearer
    // token, and nothing weir prints or writes holds it.
    const TOKEN: &str = "canary-token-5f1e-api";
    let server = Server::start(|request: Request| async move {
        if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return Response::text(401, "a bearer token, please");
        }
        match request.path.as_str() {
            "/v2/tables" => Response::json(
                200,
                &serde_json::json!([
                    {"name": "events", "description": "what happened", "columns": [{"name": "at", "type": "TIMESTAMP"}]},
                    {"name": "users", "columns": [{"name": "id", "type": "BIGINT"}, {"name": "tags", "type": "set"}]},
                ]),
            ),
            _ => Response::text(404, "no such path"),
        }
    })
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tokio::task::spawn_blocking({
        let tmp = tmp.path().to_path_buf();
        move || scaffold_and_build(&tmp, "acme-api", "--http")
    })
    .await
    .unwrap();
    let workflow = std::fs::read_to_string(dir.join("workflow.yaml")).unwrap();
    assert!(workflow.contains("http://127.0.0.1:8080"), "{workflow}");
    let workflow = workflow
        .replace("http://127.0.0.1:8080", &server.base_url())
        .replace("token: replace-with-the-api-token", &format!("token: {TOKEN}\n      tablesPath: /v2/tables"));
    // A misspelt key of the connector's own, then a wrong type: refused
    // with the key and line before anything runs.
    for (wrong, said) in [
        (
            "tablesPath: /v2/tables",
            "config.tablesPth (line 14): unknown field `tablesPth` (did you mean `tablesPath`?)",
        ),
        ("tablesPath: /v2/tables", "config.tablesPath (line 14): 3 is not of type \"string\""),
    ] {
        let bad = if said.contains("tablesPth") { "tablesPth: /v2/tables" } else { "tablesPath: 3" };
        std::fs::write(dir.join("workflow.yaml"), workflow.replace(wrong, bad)).unwrap();
        let out = tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || weir(&dir, &["ingest", "-c", "workflow.yaml"], &[])
        })
        .await
        .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(said), "{stderr}");
    }
    std::fs::write(dir.join("workflow.yaml"), &workflow).unwrap();
    let (listed, out, tested) = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let listed = ingest_and_list(&dir, "acme-api");
            let out = weir(&dir, &["-v", "ingest", "-c", "workflow.yaml", "--report", "run.json"], &[]);
            (listed, out, plugin_test(&dir, "acme_api", &[]))
        })
        .await
        .unwrap()
    };
    assert_eq!(tested.0, Some(0), "{}", tested.1);
    assert!(tested.1.contains("pass  schemas") && tested.1.contains("0 failed"), "{}", tested.1);
    assert!(!tested.1.contains(TOKEN), "{}", tested.1);
    assert_eq!(listed, BTreeSet::from(["acme-api.api.default.events".into(), "acme-api.api.default.users".into()]));
    let report = std::fs::read_to_string(dir.join("run.json")).unwrap();
    let catalog = std::fs::read(dir.join("acme-api.db")).unwrap();
    for shown in [text(&out.stdout), text(&out.stderr), report, String::from_utf8_lossy(&catalog).into_owned()] {
        assert!(!shown.contains(TOKEN), "the token leaked: {shown}");
    }
    let out = weir(&dir, &["--catalog", "acme-api.db", "catalog", "show", "acme-api.api.default.users"], &[]);
    let shown: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let types: Vec<&str> =
        shown["document"]["columns"].as_array().unwrap().iter().map(|c| c["dataType"].as_str().unwrap()).collect();
    assert_eq!(types, ["BIGINT", "UNKNOWN"], "{shown}");
}

#[tokio::test]
async fn a_source_type_the_plugin_does_not_serve_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "source:\n  type: treee\n  serviceName: typo\n  serviceConnection:\n    config:\n      type: Custom\nweir:\n  \
         plugin: {}\n",
        common::test_plugin("tree").display()
    );
    let r = common::ingest(dir.path(), &yaml, &[], &[]);
    assert_eq!(r.code, Some(1), "a wrong config, not a run: {}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("source.type `treee` is not one plugin `tree` serves (it serves: tree)")
            && r.stderr.contains("fix source.type"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("catalog.db").exists(), "nothing was written");
}

#[tokio::test]
async fn a_plugin_built_for_the_wrong_target_says_how_to_rebuild_it() {
    let dir = tempfile::tempdir().unwrap();
    // A core module, as wasm32-unknown-unknown or wasm32-wasip1 leave it.
    let module = dir.path().join("module.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let out = weir(dir.path(), &["plugin", "inspect", module.to_str().unwrap()], &[]);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("core WebAssembly module, not a component") && said.contains("--target wasm32-wasip2"),
        "{said}"
    );
    assert_eq!(said.matches("component").count(), 1, "said once, in its own words: {said}");
    let yaml = format!(
        "source:\n  type: tree\n  serviceName: m\n  serviceConnection:\n    config:\n      type: Custom\nweir:\n  plugin: {}\n",
        module.display()
    );
    let r = common::ingest(dir.path(), &yaml, &[], &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("rebuild the plugin with `cargo build --release --target wasm32-wasip2`"),
        "{}",
        r.stderr
    );
}

/// A plugin declaring what the workflow cannot grant is refused before
/// anything connects, each reason with its fix: no connection `type` or a
/// misspelt one for a plugin that reads a database, no `hostPort` for one
/// that reads the connection's API.
#[test]
fn a_capability_the_workflow_cannot_grant_is_refused_up_front_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |connection: &str, plugin: std::path::PathBuf| {
        let yaml = format!(
            "source:\n  type: probe\n  serviceName: caps\n  serviceConnection:\n    config:\n{connection}\nweir:\n  \
             plugin: {}\n  statePath: state.db\n",
            plugin.display()
        );
        let r = common::ingest(dir.path(), &yaml, &[], &[]);
        assert_eq!(r.code, Some(1), "a wrong config, not a run: {}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("plugin `probe` cannot run with this workflow"), "{}", r.stderr);
        assert!(!r.stderr.contains("not granted (granted: )"), "{}", r.stderr);
        assert!(!dir.path().join("catalog.db").exists(), "nothing was written");
        r.stderr
    };
    let said = refused("      hostPort: 127.0.0.1:5432", common::probe_wasm());
    assert!(
        said.contains(
            "declares sql:source, but serviceConnection.config has no `type`: set type to the database the \
                       plugin reads (Postgres, Mssql or SQLite)"
        ),
        "{said}"
    );
    let said = refused("      type: Postgress\n      hostPort: 127.0.0.1:5432", common::probe_wasm());
    assert!(
        said.contains("serviceConnection.config.type `Postgress` is not a database weir opens: set type to Postgres"),
        "{said}"
    );
    let said = refused("      type: Custom", common::test_plugin("probe_http"));
    assert!(said.contains("declares http:connection, but serviceConnection.config has no hostPort"), "{said}");
    // What it can grant runs.
    let yaml = format!(
        "source:\n  type: probe\n  serviceName: caps\n  serviceConnection:\n    config:\n      type: Custom\n      \
         hostPort: http://127.0.0.1:9\nweir:\n  plugin: {}\n  statePath: state.db\n",
        common::test_plugin("probe_http").display()
    );
    let r = common::ingest(dir.path(), &yaml, &[], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

/// The acceptance suite fails what a user would not want run: a reference
/// that does not process, a capability declared for nothing, output that
/// is not the golden one — each with its reason, exit 1.
#[test]
fn plugin_test_fails_each_check_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let run = |plugin: &std::path::Path, tables: &str, connection: &str, args: &[&str]| {
        let yaml = format!(
            "source:\n  type: probe\n  serviceName: accept\n  serviceConnection:\n    config:\n{connection}\n  \
             sourceConfig:\n    config:\n      probeTables: [{tables}]\nweir:\n  plugin: {}\n",
            plugin.display()
        );
        std::fs::write(dir.path().join("wf.yaml"), yaml).unwrap();
        let plugin = plugin.to_str().unwrap();
        let mut argv = vec!["plugin", "test", plugin, "-c", "wf.yaml"];
        argv.extend_from_slice(args);
        let out = weir(dir.path(), &argv, &[]);
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let bare = common::test_plugin("probe_bare");
    let (code, said, err) = run(&bare, "t1, t2", "      type: Custom", &["--golden", "golden.jsonl"]);
    assert_eq!(code, Some(0), "{said}{err}");
    assert!(said.contains("pass  process") && said.contains("pass  schemas"), "{said}");

    let (code, said, _) = run(&bare, "t1, panic_here", "      type: Custom", &[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("FAIL  process") && said.contains("1 references failed") && said.contains("panic_here"),
        "{said}"
    );

    // Declares sql:source, gets a database, never queries it.
    let file = dir.path().join("empty.db");
    std::fs::write(&file, b"").unwrap();
    let connection = format!("      type: SQLite\n      databaseMode: {}", file.display());
    let (code, said, _) = run(&common::probe_wasm(), "t1", &connection, &[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("FAIL  capabilities  declares sql but ran no query"), "{said}");

    // Another table than the golden file holds.
    let (code, said, _) = run(&bare, "t1, t3", "      type: Custom", &["--golden", "golden.jsonl"]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("FAIL  golden") && said.contains("missing table accept.db.s.t2"), "{said}");
    assert!(said.contains("new table accept.db.s.t3"), "{said}");
}
