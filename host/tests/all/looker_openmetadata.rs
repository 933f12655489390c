//! Dashboards, charts and data models through `sink.type: metadata-rest`:
//! the Looker connector reads the Looker fixture and writes into the
//! OpenMetadata fixture, which checks every body against OpenMetadata's
//! JSON Schemas and refuses a dashboard whose charts it does not have.
//! Small shards, small sink batches and two writers make a dashboard and
//! its charts likely to land in different writes.

use crate::common;

use common::{text, weir, workflow};
use serde_json::Value;
use std::collections::BTreeSet;
use weir_fixtures::looker::{CLIENT_SECRET, LookerFixture, LookerSpec};
use weir_fixtures::openmetadata::{OpenMetadataFixture, require_specs};

const SERVICE: &str = "looker_om";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_charts_and_data_models_reach_openmetadata_valid_and_in_order() {
    require_specs();
    let looker = LookerFixture::start(LookerSpec::default()).await.unwrap();
    let om = OpenMetadataFixture::start().await;
    let instance = looker.instance().clone();
    // Every other Looker user is a user of the OpenMetadata server too.
    let mut om_users = std::collections::HashMap::new();
    for (i, user) in instance.users.iter().enumerate() {
        if i % 2 == 0 {
            let name = user.email.split('@').next().unwrap();
            om_users.insert(user.email.clone(), om.add_user(name, &user.email));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"{source}  sourceConfig:
    config:
      type: DashboardMetadata
      lineageInformation:
        dbServicePrefixes: [warehouse.analytics]
sink:
  type: metadata-rest
  config:
    bulk_sink_batch_size: 5
    async_pipeline_workers: 2
workflowConfig:
  openMetadataServerConfig:
    hostPort: "{om}"
    authProvider: openmetadata
    securityConfig:
      jwtToken: "${{env:OM_TOKEN}}"
weir:
  instances: 2
  shardSize: 3
"#,
        source = looker.source_yaml(SERVICE, "${env:LOOKER_SECRET}"),
        om = om.base_url(),
    );
    let wf = workflow(dir.path(), &yaml);
    let report_path = dir.path().join("report.json");
    let (dir_owned, token) = (dir.path().to_path_buf(), om.token());
    let args = ["ingest", "-c", wf.to_str().unwrap(), "--report", report_path.to_str().unwrap()].map(String::from);
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        weir(&dir_owned, &args, &[("OM_TOKEN", token.as_str()), ("LOOKER_SECRET", CLIENT_SECRET)])
    })
    .await
    .unwrap();
    let ctx = format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", out.status.code(), text(&out.stdout), text(&out.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).expect("a report")).unwrap();
    om.assert_no_violations();
    looker.assert_no_violations();
    assert_eq!(report["failures"].as_array().map(Vec::len), Some(0), "{}\n{ctx}", report["failures"]);

    // The service is a dashboard service of type Looker.
    let service = om.get("services/dashboardServices", SERVICE).expect("the dashboard service");
    assert_eq!(service["serviceType"], "Looker", "{service}");

    // Everything arrived, once per FQN, charts before the dashboards that
    // name them (the fixture refuses a dashboard whose charts it lacks).
    let names = |collection: &str| -> BTreeSet<String> {
        om.entities(collection).iter().map(|e| e["name"].as_str().unwrap_or_default().to_string()).collect()
    };
    let dashboards: BTreeSet<String> = instance.dashboards.iter().map(|d| d.id.clone()).collect();
    let charts: BTreeSet<String> = instance.elements().map(|e| e.id.clone()).collect();
    let models: BTreeSet<String> = instance.explores().map(|e| format!("{}_{}", e.model_name, e.name)).collect();
    assert_eq!(names("dashboards"), dashboards, "{ctx}");
    assert_eq!(names("charts"), charts, "{ctx}");
    assert_eq!(names("dashboard/datamodels"), models, "{ctx}");
    for model in om.entities("dashboard/datamodels") {
        assert_eq!(model["dataModelType"], "LookMlExplore", "{model}");
    }

    // Lineage by id: explore → chart and explore → dashboard for explores
    // that exist; edges to the retired explore and to the warehouse's
    // tables (not on this server) come back unresolved, the run goes on.
    let mut expected = 0;
    for d in &instance.dashboards {
        let mut used = BTreeSet::new();
        for e in &d.elements {
            if let Some((m, x)) = e.target()
                && instance.explore(m, x).is_some()
            {
                expected += 1;
                used.insert((m, x));
            }
        }
        expected += used.len();
    }
    assert_eq!(om.lineage().len(), expected, "{ctx}");
    let unresolved = report["relationsUnresolved"].as_array().unwrap();
    assert!(
        unresolved.iter().any(|u| u["reason"].as_str().unwrap_or("").contains("does not have")),
        "{}",
        report["relationsUnresolved"]
    );
    assert_eq!(out.status.code(), Some(0), "unresolved edges are not fatal\n{ctx}");

    // Owners: a dashboard's Looker owner is its OpenMetadata owner when the
    // server has a user with that email; the others are named once in the
    // report's warnings, and their dashboards go without one.
    let warnings = report["warnings"].to_string();
    let mut owned = 0;
    for d in &instance.dashboards {
        let email = &instance.user(&d.user_id).expect("the dashboard's user").email;
        let written = om.get("dashboards", &format!("{SERVICE}.{}", d.id)).expect("the dashboard");
        match om_users.get(email) {
            Some(id) => {
                owned += 1;
                assert_eq!(written["owners"], serde_json::json!([{ "id": id, "type": "user" }]), "{written}");
            }
            None => {
                assert!(written.get("owners").is_none(), "{written}");
                assert!(warnings.contains(&format!("dashboard owner `{email}` is not a user")), "{warnings}");
            }
        }
    }
    assert!(owned > 0 && owned < instance.dashboards.len(), "both cases are seen: {owned}");
    let searches = om.requests().iter().filter(|r| r.path == "/api/v1/search/query").count();
    let owners: BTreeSet<&str> =
        instance.dashboards.iter().map(|d| instance.user(&d.user_id).unwrap().email.as_str()).collect();
    assert_eq!(searches, owners.len(), "each owner looked up once");
}
