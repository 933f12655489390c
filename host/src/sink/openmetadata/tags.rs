//! A pipeline's own tags (an Airflow DAG's) as OpenMetadata tag labels,
//! the way OpenMetadata's Airflow connector makes them: a classification
//! named after the service type (`AirflowTags`), a tag in it for each name,
//! both created before the first pipeline that carries them, and labels
//! `{tagFQN, labelType: Automated, state: Suggested, source:
//! Classification}` on the pipeline. A tag the server will not create is a
//! warning, and the pipelines go without that label.

use super::OpenMetadataSink;
use crate::model::fqn;
use crate::sink::Document;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Tag creations at once.
const AT_ONCE: usize = 8;

impl OpenMetadataSink {
    /// `docs` with their `extra.tags` as labels, the tags made first.
    pub(super) async fn with_tags(&self, docs: Vec<Document>) -> Vec<Document> {
        let names = |d: &Document| -> Vec<String> {
            let tags = d.extra.get("tags").and_then(Value::as_array).into_iter().flatten();
            tags.filter_map(Value::as_str).map(String::from).collect()
        };
        let wanted: BTreeSet<String> = docs.iter().flat_map(names).collect();
        if wanted.is_empty() {
            return docs;
        }
        let classification = self.tag_classification();
        let made = self.make_tags(&classification, wanted).await;
        docs.into_iter()
            .map(|mut doc| {
                let labels: Vec<Value> = names(&doc)
                    .iter()
                    .filter_map(|tag| made.get(tag).cloned().flatten())
                    .map(|tag_fqn| {
                        json!({"tagFQN": tag_fqn, "labelType": "Automated", "state": "Suggested", "source": "Classification"})
                    })
                    .collect();
                if !labels.is_empty()
                    && let Some(body) = doc.body.as_object_mut()
                {
                    body.insert("tags".into(), Value::Array(labels));
                }
                doc
            })
            .collect()
    }

    /// The tags' FQNs by name (`None`: the server refused it), making the
    /// classification and the tags this sink has not made yet.
    async fn make_tags(
        &self,
        classification: &str,
        wanted: BTreeSet<String>,
    ) -> std::collections::HashMap<String, Option<String>> {
        let mut known = self.tags.lock().await;
        let new: Vec<String> = wanted.into_iter().filter(|t| !known.contains_key(t)).collect();
        if new.is_empty() {
            return known.clone();
        }
        let source = classification.strip_suffix("Tags").unwrap_or(classification);
        let body = json!({"name": classification, "description": format!("Tags that {source} gives its pipelines")});
        if let Err(e) = self.client.send(Method::PUT, "/v1/classifications", Some(&body)).await {
            self.warn(format!("the classification `{classification}` could not be made ({e}): pipelines go untagged"));
            known.extend(new.into_iter().map(|t| (t, None)));
            return known.clone();
        }
        let made: Vec<(String, Option<String>)> = futures_util::stream::iter(new)
            .map(|tag| async move {
                let body =
                    json!({"classification": classification, "name": tag, "description": format!("A {source} tag")});
                match self.client.send(Method::PUT, "/v1/tags", Some(&body)).await {
                    Ok(_) => {
                        let tag_fqn = fqn::build(&[classification, &tag]).ok();
                        (tag, tag_fqn)
                    }
                    Err(e) => {
                        self.warn(format!("the tag `{tag}` could not be made ({e}): pipelines go without it"));
                        (tag, None)
                    }
                }
            })
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        known.extend(made);
        known.clone()
    }
}
