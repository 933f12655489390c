//! Reading Looker's JSON leniently: ids may be strings or numbers, and any
//! field may be missing or null.

use weir_sdk::serde_json::Value;

/// An id as a string, whether Looker sent `"12"` or `12`.
pub fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-empty string field.
pub fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// An entity name OpenMetadata accepts: `::` separates FQN parts there,
/// so it becomes `_` (LookML dashboards have ids like `model::name`). The
/// same rule as OpenMetadata's own Looker connector, so names match.
pub fn entity_name(id: &str) -> String {
    id.replace("::", "_")
}

/// A data model's name: `model_explore`, as OpenMetadata names explores.
pub fn data_model_name(model: &str, explore: &str) -> String {
    entity_name(&format!("{model}_{explore}"))
}

/// The (model, explore) of a data model ref: the model travels in the
/// ref's key, since names alone are ambiguous.
pub fn explore_of_ref(path: &str, key: Option<&str>) -> Option<(String, String)> {
    let model = key?;
    let explore = path.strip_prefix(model)?.strip_prefix('_')?;
    (!model.is_empty() && !explore.is_empty()).then(|| (model.to_string(), explore.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_openmetadata_accepts_and_refs_split_back() {
        assert_eq!(entity_name("thelook::business_pulse"), "thelook_business_pulse");
        assert_eq!(data_model_name("thelook", "order_items"), "thelook_order_items");
        assert_eq!(
            explore_of_ref("the_look_order_items", Some("the_look")),
            Some(("the_look".into(), "order_items".into()))
        );
        assert_eq!(explore_of_ref("thelook_order_items", None), None);
        assert_eq!(explore_of_ref("other_x", Some("thelook")), None);
        assert_eq!(id_string(&weir_sdk::serde_json::json!(12)), Some("12".into()));
    }
}
