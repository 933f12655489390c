//! Dashboards, with their elements as charts: one `GET /dashboards/{id}`
//! per dashboard, all of a batch sent at once, and one `GET /users` per
//! batch for the owners. Lineage: each element's explore feeds its chart,
//! and every explore a dashboard uses feeds the dashboard.

use crate::api::Api;
use crate::model::{data_model_name, entity_name, id_string, text};
use crate::settings::{Settings, keeps};
use crate::types::chart_type;
use std::collections::{BTreeSet, HashMap};
use weir_sdk::percent::encode;
use weir_sdk::serde_json::Value;
use weir_sdk::{Batch, Chart, Dashboard, Deferred, Entity, EntityFailure, EntityKind, EntityRef, LineageEdge};

/// Only what a catalog needs; Looker answers with these fields alone.
const DASHBOARD_FIELDS: &str = "id,title,description,folder(name),user_id,dashboard_elements(id,title,title_text,\
type,note_text,subtitle_text,query(model,view,vis_config),look(title,query(model,view,vis_config)),\
result_maker(query(model,view,vis_config)))";

/// User ids per `GET /users` call.
const USERS_PER_CALL: usize = 100;

pub fn process(settings: &Settings, api: &Api, refs: &[EntityRef], batch: &mut Batch) {
    let id = |r: &EntityRef| r.key.clone().unwrap_or_else(|| r.path[0].clone());
    let paths: Vec<String> =
        refs.iter().map(|r| format!("/dashboards/{}?fields={DASHBOARD_FIELDS}", encode(&id(r)))).collect();
    let answers = api.get_all(&paths);
    let mut found = Vec::new();
    for (r, answer) in refs.iter().zip(answers) {
        match answer {
            Ok(dashboard) => found.push((r, dashboard)),
            Err(error) => batch.failures.push(EntityFailure { path: r.path.clone(), error }),
        }
    }
    let owners =
        if settings.source.include_owners { owners(api, found.iter().map(|(_, d)| d)) } else { HashMap::new() };
    for (r, dashboard) in found {
        add_dashboard(settings, &r.path[0], &id(r), &dashboard, &owners, batch);
    }
}

fn add_dashboard(
    settings: &Settings,
    name: &str,
    id: &str,
    dashboard: &Value,
    owners: &HashMap<String, String>,
    batch: &mut Batch,
) {
    let mut charts = Vec::new();
    let mut explores = BTreeSet::new();
    let elements = dashboard.get("dashboard_elements").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for element in elements {
        let Some(element_id) = element.get("id").and_then(id_string).map(|e| entity_name(&e)) else { continue };
        let title = element_title(element);
        if !keeps(&settings.source.chart_filter_pattern, title.as_deref().unwrap_or(&element_id)) {
            continue;
        }
        let query = element_query(element);
        let vis = query.and_then(|q| q.get("vis_config")).and_then(|v| text(v, "type"));
        let element_type = text(element, "type");
        batch.entities.push(Entity::Chart(Chart {
            name: element_id.clone(),
            display_name: title,
            description: text(element, "note_text").or_else(|| text(element, "subtitle_text")),
            chart_type: Some(chart_type(vis.as_deref(), element_type.as_deref()).to_string()),
            source_url: Some(format!("{}/dashboards/{}", settings.host, encode(id))),
        }));
        if let Some(explore) = query.and_then(explore_of) {
            batch.deferred.push(edge(&explore, EntityKind::Chart, &element_id));
            explores.insert(explore);
        }
        charts.push(element_id);
    }
    for explore in &explores {
        batch.deferred.push(edge(explore, EntityKind::Dashboard, name));
    }
    let owner = dashboard.get("user_id").and_then(id_string).and_then(|u| owners.get(&u).cloned());
    batch.entities.push(Entity::Dashboard(Dashboard {
        name: name.to_string(),
        display_name: text(dashboard, "title"),
        description: text(dashboard, "description"),
        source_url: Some(format!("{}/dashboards/{}", settings.host, encode(id))),
        charts,
        project: dashboard.get("folder").and_then(|f| text(f, "name")),
        owner,
    }));
}

/// Data flows from the explore (a data model) into a chart or dashboard.
fn edge(explore: &str, to_kind: EntityKind, to: &str) -> Deferred {
    Deferred::Lineage(LineageEdge {
        from_kind: EntityKind::DataModel,
        from: vec![explore.to_string()],
        from_service: None,
        to_kind,
        to: vec![to.to_string()],
        to_service: None,
        sql: None,
    })
}

fn element_title(element: &Value) -> Option<String> {
    text(element, "title")
        .or_else(|| text(element, "title_text"))
        .or_else(|| element.get("look").and_then(|l| text(l, "title")))
}

/// The query behind an element: its own, its look's, or its merged
/// result's.
fn element_query(element: &Value) -> Option<&Value> {
    fn object(v: Option<&Value>) -> Option<&Value> {
        v.filter(|v| v.is_object())
    }
    object(element.get("query"))
        .or_else(|| object(element.get("look").and_then(|l| l.get("query"))))
        .or_else(|| object(element.get("result_maker").and_then(|r| r.get("query"))))
}

/// The data model of a query's explore (Looker calls it `view` there).
fn explore_of(query: &Value) -> Option<String> {
    Some(data_model_name(&text(query, "model")?, &text(query, "view")?))
}

/// Owners' emails (or names) by user id: one call per hundred users.
fn owners<'a>(api: &Api, dashboards: impl Iterator<Item = &'a Value>) -> HashMap<String, String> {
    let ids: BTreeSet<String> = dashboards.filter_map(|d| d.get("user_id").and_then(id_string)).collect();
    let ids: Vec<String> = ids.into_iter().collect();
    let paths: Vec<String> = ids
        .chunks(USERS_PER_CALL)
        .map(|chunk| format!("/users?ids={}&fields=id,email,display_name", encode(&chunk.join(","))))
        .collect();
    let mut owners = HashMap::new();
    for answer in api.get_all(&paths) {
        match answer {
            Ok(users) => {
                for user in users.as_array().map(Vec::as_slice).unwrap_or_default() {
                    let Some(id) = user.get("id").and_then(id_string) else { continue };
                    if let Some(who) = text(user, "email").or_else(|| text(user, "display_name")) {
                        owners.insert(id, who);
                    }
                }
            }
            // Owners are a nicety: the dashboards go on without them.
            Err(failure) => weir_sdk::log::warn(&format!("dashboard owners not read: {}", failure.message)),
        }
    }
    owners
}
