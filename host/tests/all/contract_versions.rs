//! A plugin built against an older contract of the series (0.2.1, before
//! `pipeline` kinds) loads and runs unchanged on this host: its enums have
//! fewer cases, so the host calls it through bindings of its own and
//! turns what it returns into the current contract's values.

use crate::common::{self, export_all, ingest, test_plugin, text};

#[test]
fn a_plugin_built_against_0_2_1_is_inspected_for_what_it_is() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["plugin", "inspect", test_plugin("older").to_str().unwrap()])
        .env("WEIR_CACHE_DIR", common::cache_dir())
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(shown.contains("contract:      weir:connector@0.2.1"), "{shown}");
    assert!(shown.contains("plugin:        older"), "{shown}");
}

#[test]
fn a_plugin_built_against_0_2_1_ingests_every_entity_and_its_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "source:\n  type: older\n  serviceName: old_svc\n  serviceConnection:\n    config:\n      type: Custom\n\
         weir:\n  plugin: {}\n  statePath: state.db\n",
        test_plugin("older").display()
    );
    let run = ingest(dir.path(), &yaml, &[], &[]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.report["relationsApplied"], 1, "{}", run.report);
    let mut found: Vec<(String, String)> = export_all(dir.path(), "catalog.db")
        .iter()
        .map(|d| {
            (d["kind"].as_str().unwrap_or_default().to_string(), d["fqn"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    found.sort();
    let expected = [
        ("database", "old_svc.shop"),
        ("databaseSchema", "old_svc.shop.main"),
        ("table", "old_svc.shop.main.order_totals"),
        ("table", "old_svc.shop.main.orders"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(k, f)| (k.to_string(), f.to_string())).collect();
    assert_eq!(found, expected, "the tables came in two pages, through discovery.emit and the return value");
    let view = common::show(dir.path(), "catalog.db", "old_svc.shop.main.order_totals");
    assert_eq!(view["document"]["tableType"], "View", "{view}");
    let schema = common::show(dir.path(), "catalog.db", "old_svc.shop.main");
    assert_eq!(schema["document"]["description"], "built against 0.2.1", "{schema}");
}
