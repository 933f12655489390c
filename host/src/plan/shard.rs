//! The shard planner: discovered references split into shards, the unit of
//! work an instance pulls from the queue (and, later, a pod runs).
//!
//! A plan is plain data with stable ids, so it can be stored and handed out
//! shard by shard. The same discovery always gives the same plan: refs are
//! ordered by cost and path before anything is assigned, never by the order
//! the plugin listed them in.

use crate::config::ShardStrategy;
use crate::model::Kind;
use crate::model::entity::EntityRef;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// References per shard when the workflow does not say.
pub const DEFAULT_SHARD_SIZE: usize = 200;

/// One reference as the plan keeps it: the contract's `entity-ref` in a
/// form that serializes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRef {
    pub path: Vec<String>,
    pub cost: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl PlannedRef {
    fn from_ref(r: EntityRef) -> Self {
        PlannedRef { path: r.path, cost: r.cost, key: r.key }
    }

    pub fn to_ref(&self, kind: Kind) -> EntityRef {
        EntityRef { kind, path: self.path.clone(), cost: self.cost, key: self.key.clone() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shard {
    /// `<kind>-<n>`, stable for a given discovery (`table-0007`).
    pub id: String,
    #[serde(with = "kind_serde")]
    pub kind: Kind,
    /// The sum of the refs' cost hints.
    pub cost: u64,
    pub refs: Vec<PlannedRef>,
}

impl Shard {
    pub fn entity_refs(&self) -> Vec<EntityRef> {
        self.refs.iter().map(|r| r.to_ref(self.kind)).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub strategy: ShardStrategy,
    pub shard_size: usize,
    /// Parents' shards before children's: databases, schemas, tables, ...
    pub shards: Vec<Shard>,
}

impl Plan {
    /// Plans every kind's refs; `kinds` must already be in parent-first
    /// order, and each kind gets its own shards.
    pub fn new(strategy: ShardStrategy, shard_size: usize, kinds: Vec<(Kind, Vec<EntityRef>)>) -> Plan {
        let shard_size = shard_size.max(1);
        let mut shards = Vec::new();
        for (kind, refs) in kinds {
            let refs: Vec<PlannedRef> = refs.into_iter().map(PlannedRef::from_ref).collect();
            let groups = match strategy {
                ShardStrategy::Cost => by_cost(refs, shard_size),
                ShardStrategy::Schema => by_schema(refs),
                ShardStrategy::Count => by_count(refs, shard_size),
            };
            let width = groups.len().to_string().len().max(4);
            for (n, refs) in groups.into_iter().enumerate() {
                let cost = refs.iter().map(|r| u64::from(r.cost)).sum();
                shards.push(Shard { id: format!("{}-{n:0width$}", kind.code()), kind, cost, refs });
            }
        }
        Plan { strategy, shard_size, shards }
    }

    pub fn refs(&self) -> usize {
        self.shards.iter().map(|s| s.refs.len()).sum()
    }
}

/// Path order, then key: the order every strategy starts from.
fn sorted(mut refs: Vec<PlannedRef>) -> Vec<PlannedRef> {
    refs.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.key.cmp(&b.key)));
    refs
}

/// Longest-processing-time first: each ref, largest first, goes to the
/// shard with the least cost so far. The result is within one ref's cost
/// of the ideal, which is as balanced as a greedy plan gets.
fn by_cost(refs: Vec<PlannedRef>, shard_size: usize) -> Vec<Vec<PlannedRef>> {
    if refs.is_empty() {
        return Vec::new();
    }
    let count = refs.len().div_ceil(shard_size);
    let mut refs = sorted(refs);
    // Stable sort: equal costs stay in path order.
    refs.sort_by_key(|r| Reverse(r.cost));
    let mut shards: Vec<Vec<PlannedRef>> = vec![Vec::new(); count];
    // Min-heap on (cost so far, shard index): ties go to the lowest index.
    let mut load: BinaryHeap<Reverse<(u64, usize)>> = (0..count).map(|i| Reverse((0, i))).collect();
    for r in refs {
        let Some(Reverse((cost, i))) = load.pop() else { break };
        load.push(Reverse((cost + u64::from(r.cost), i)));
        shards[i].push(r);
    }
    // Within a shard, path order: neighbours in one schema stay together,
    // which is what set-based catalog queries like.
    shards.into_iter().map(sorted).collect()
}

fn by_schema(refs: Vec<PlannedRef>) -> Vec<Vec<PlannedRef>> {
    let mut groups: BTreeMap<Vec<String>, Vec<PlannedRef>> = BTreeMap::new();
    for r in sorted(refs) {
        // The path minus its last part, at most [database, schema].
        let depth = r.path.len().saturating_sub(1).min(2);
        groups.entry(r.path[..depth].to_vec()).or_default().push(r);
    }
    groups.into_values().collect()
}

fn by_count(refs: Vec<PlannedRef>, shard_size: usize) -> Vec<Vec<PlannedRef>> {
    sorted(refs).chunks(shard_size).map(<[PlannedRef]>::to_vec).collect()
}

/// Kinds by their OpenMetadata names (`databaseSchema`), as in reports.
mod kind_serde {
    use super::Kind;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(kind: &Kind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.entity_type())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let name = String::deserialize(d)?;
        Kind::from_entity_type(&name).ok_or_else(|| D::Error::custom(format!("unknown entity kind `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(schema: &str, name: &str, cost: u32) -> EntityRef {
        EntityRef { kind: Kind::Table, path: vec!["db".into(), schema.into(), name.into()], cost, key: None }
    }

    /// One schema of 5,000 tables and 99 of 50, with costs (column counts)
    /// that vary the way real ones do: mostly small, a few wide tables.
    fn skewed() -> Vec<EntityRef> {
        let cost = |i: usize| -> u32 {
            let spread = ((i * 7_919) % 97) as u32;
            if i.is_multiple_of(500) { 300 + spread } else { 3 + spread / 3 }
        };
        let mut refs: Vec<EntityRef> = (0..5_000).map(|i| table("big", &format!("t{i:05}"), cost(i))).collect();
        for s in 0..99 {
            refs.extend((0..50).map(|i| table(&format!("s{s:02}"), &format!("t{i:02}"), cost(s * 50 + i))));
        }
        refs
    }

    fn reversed(mut refs: Vec<EntityRef>) -> Vec<EntityRef> {
        refs.reverse();
        refs
    }

    #[test]
    fn cost_shards_are_within_ten_percent_of_ideal_on_a_skewed_catalog() {
        let refs = skewed();
        let total: u64 = refs.iter().map(|r| u64::from(r.cost)).sum();
        let plan = Plan::new(ShardStrategy::Cost, 200, vec![(Kind::Table, refs)]);
        assert_eq!(plan.shards.len(), 9_950_usize.div_ceil(200));
        assert_eq!(plan.refs(), 9_950);
        let ideal = total as f64 / plan.shards.len() as f64;
        for shard in &plan.shards {
            let off = (shard.cost as f64 - ideal).abs() / ideal;
            assert!(
                off <= 0.10,
                "{} costs {} against an ideal of {ideal:.0} ({:.1} % off)",
                shard.id,
                shard.cost,
                off * 100.0
            );
        }
        // Largest first: every wide table is alone with small ones, not
        // stacked with other wide tables.
        let widest = plan.shards.iter().map(|s| s.refs.iter().filter(|r| r.cost >= 300).count()).max();
        assert_eq!(widest, Some(1));
    }

    #[test]
    fn schema_strategy_gives_one_shard_per_schema() {
        let plan = Plan::new(ShardStrategy::Schema, 200, vec![(Kind::Table, skewed())]);
        assert_eq!(plan.shards.len(), 100);
        let big = plan.shards.iter().find(|s| s.refs[0].path[1] == "big").map(|s| s.refs.len());
        assert_eq!(big, Some(5_000));
        for shard in &plan.shards {
            let schema = &shard.refs[0].path[1];
            assert!(shard.refs.iter().all(|r| &r.path[1] == schema), "{} mixes schemas", shard.id);
        }
    }

    #[test]
    fn count_strategy_cuts_fixed_runs() {
        let plan = Plan::new(ShardStrategy::Count, 300, vec![(Kind::Table, skewed())]);
        let sizes: Vec<usize> = plan.shards.iter().map(|s| s.refs.len()).collect();
        assert_eq!(sizes.len(), 34);
        assert!(sizes[..33].iter().all(|n| *n == 300));
        assert_eq!(sizes[33], 9_950 - 33 * 300);
    }

    #[test]
    fn plans_are_deterministic_whatever_the_discovery_order() {
        for strategy in [ShardStrategy::Cost, ShardStrategy::Schema, ShardStrategy::Count] {
            let a = Plan::new(strategy, 150, vec![(Kind::Table, skewed())]);
            let b = Plan::new(strategy, 150, vec![(Kind::Table, reversed(skewed()))]);
            assert_eq!(a, b, "{strategy}");
        }
    }

    #[test]
    fn every_ref_is_planned_exactly_once_with_stable_ids() {
        let schemas = vec![
            EntityRef { kind: Kind::DatabaseSchema, path: vec!["db".into(), "a".into()], cost: 1, key: None },
            EntityRef { kind: Kind::DatabaseSchema, path: vec!["db".into(), "b".into()], cost: 1, key: None },
        ];
        let plan = Plan::new(ShardStrategy::Cost, 64, vec![(Kind::DatabaseSchema, schemas), (Kind::Table, skewed())]);
        assert_eq!(plan.shards[0].id, "schema-0000");
        assert_eq!(plan.shards[1].id, "table-0000");
        assert_eq!(plan.shards.last().map(|s| s.id.as_str()), Some("table-0155"));
        let mut paths: Vec<&Vec<String>> = plan.shards.iter().flat_map(|s| s.refs.iter().map(|r| &r.path)).collect();
        let planned = paths.len();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), planned);
        assert_eq!(planned, 9_952);
    }

    #[test]
    fn a_plan_round_trips_through_json() {
        let mut refs = skewed();
        refs.truncate(10);
        refs[0].key = Some("4242".into());
        let plan = Plan::new(ShardStrategy::Cost, 4, vec![(Kind::Table, refs)]);
        let text = serde_json::to_string(&plan).unwrap();
        assert!(text.contains(r#""kind":"table""#), "{text}");
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, plan);
    }
}
