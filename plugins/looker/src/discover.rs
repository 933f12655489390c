//! Discovery: one call lists every dashboard, one call per page of 500
//! lists every LookML model with its explores. Refs are dashboards (by
//! id) and explores (by `model_explore`, as OpenMetadata names them).

use crate::api::{Api, Session};
use crate::model::{data_model_name, entity_name, id_string, text};
use crate::settings::{Settings, keeps};
use weir_sdk::serde_json::Value;
use weir_sdk::{EntityKind, EntityRef, Result};

/// Models per page of `GET /lookml_models`.
const MODEL_PAGE: usize = 500;

pub fn discover(settings: &Settings, session: &Session, kind: EntityKind) -> Result<Vec<EntityRef>> {
    let api = Api::new(settings, session);
    match kind {
        EntityKind::Dashboard => dashboards(settings, &api),
        EntityKind::DataModel if settings.source.include_data_models => explores(settings, &api),
        _ => Ok(Vec::new()),
    }
}

fn dashboards(settings: &Settings, api: &Api) -> Result<Vec<EntityRef>> {
    // The folder is only needed to filter by project.
    let fields = if settings.source.project_filter_pattern.is_some() { "id,title,folder(name)" } else { "id,title" };
    let list = api.get(&format!("/dashboards?fields={fields}"))?;
    let mut refs = Vec::new();
    for dashboard in list.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(id) = dashboard.get("id").and_then(id_string) else { continue };
        let title = text(dashboard, "title").unwrap_or_else(|| id.clone());
        let folder = dashboard.get("folder").and_then(|f| text(f, "name")).unwrap_or_default();
        if !keeps(&settings.source.dashboard_filter_pattern, &title)
            || (settings.source.project_filter_pattern.is_some()
                && !keeps(&settings.source.project_filter_pattern, &folder))
        {
            continue;
        }
        // The API wants the id as Looker spells it; the name may differ.
        refs.push(EntityRef { kind: EntityKind::Dashboard, path: vec![entity_name(&id)], cost: 1, key: Some(id) });
    }
    Ok(refs)
}

fn explores(settings: &Settings, api: &Api) -> Result<Vec<EntityRef>> {
    let mut refs = Vec::new();
    let mut offset = 0;
    loop {
        let page = api.get(&format!("/lookml_models?fields=name,explores&limit={MODEL_PAGE}&offset={offset}"))?;
        let models = page.as_array().map(Vec::as_slice).unwrap_or_default();
        for model in models {
            let Some(model_name) = text(model, "name") else { continue };
            let explores = model.get("explores").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            for explore in explores {
                let Some(name) = text(explore, "name") else { continue };
                let data_model = data_model_name(&model_name, &name);
                if !keeps(&settings.source.data_model_filter_pattern, &data_model) {
                    continue;
                }
                refs.push(EntityRef {
                    kind: EntityKind::DataModel,
                    path: vec![data_model],
                    cost: 1,
                    key: Some(model_name.clone()),
                });
            }
        }
        if models.len() < MODEL_PAGE {
            return Ok(refs);
        }
        offset += models.len();
    }
}
