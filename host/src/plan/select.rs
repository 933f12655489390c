//! Which discovered entities a run keeps: OpenMetadata's filter patterns on
//! database, schema, table and stored procedure names (or FQNs with
//! `useFqnForFiltering`), on pipeline names, and the include flags.

use crate::config::{DatabaseMetadataConfig, FilterPattern, Workflow};
use crate::model::Kind;
use crate::model::entity::{Entity, EntityRef, Table, TableType};
use crate::sink::document::ref_fqn;

pub struct Selection {
    config: DatabaseMetadataConfig,
    service: String,
    /// `chartFilterPattern` (on chart titles): the plugin applies it to
    /// what it lists; the host to the charts a dashboard brings along.
    charts: Option<FilterPattern>,
    /// `pipelineFilterPattern`, of the connection and of `sourceConfig`
    /// (OpenMetadata has it in both): a pipeline, and its runs, passes
    /// every one given.
    pipelines: Vec<FilterPattern>,
}

impl Selection {
    pub fn new(config: DatabaseMetadataConfig, service: &str) -> Self {
        Selection { config, service: service.to_string(), charts: None, pipelines: Vec::new() }
    }

    /// The selection `workflow` asks for.
    pub fn of(workflow: &Workflow) -> Self {
        let mut selection = Selection::new(workflow.metadata_config().clone(), workflow.source.service_name.as_str());
        selection.charts = workflow.dashboard_config().and_then(|d| d.chart_filter_pattern.clone());
        let connection = workflow.source.service_connection.config.pipeline_filter_pattern.clone();
        let source = workflow.pipeline_config().and_then(|p| p.pipeline_filter_pattern.clone());
        selection.pipelines = connection.into_iter().chain(source).collect();
        selection
    }

    /// Whether an entity a call brought along (a dashboard's charts) passes
    /// the filters of its kind: it was never discovered, so never filtered.
    pub fn keeps_along(&self, entity: &Entity, path: &[String]) -> bool {
        match entity {
            Entity::Chart(chart) => {
                let title = chart.display_name.as_deref().unwrap_or(&chart.name);
                self.charts.as_ref().is_none_or(|p| p.keeps(title))
            }
            Entity::Table(table) => {
                self.keeps_table(table)
                    && self.keeps(&EntityRef { kind: Kind::Table, path: path.to_vec(), cost: 0, key: None })
            }
            other => match other.kind() {
                Some(kind) => self.keeps(&EntityRef { kind, path: path.to_vec(), cost: 0, key: None }),
                None => true,
            },
        }
    }

    /// Whether a kind is wanted at all.
    pub fn wants_kind(&self, kind: Kind) -> bool {
        match kind {
            Kind::Table => self.config.include_tables || self.config.include_views,
            Kind::StoredProcedure => self.config.include_stored_procedures,
            _ => true,
        }
    }

    /// Whether a discovered reference passes the filter patterns.
    pub fn keeps(&self, r: &EntityRef) -> bool {
        if matches!(r.kind, Kind::Pipeline | Kind::PipelineStatus) {
            let Some(name) = r.path.first() else { return true };
            return self.pipelines.iter().all(|p| p.keeps(name));
        }
        let c = &self.config;
        let levels: [(usize, Option<&FilterPattern>); 3] = [
            (0, c.database_filter_pattern.as_ref()),
            (1, c.schema_filter_pattern.as_ref()),
            (
                2,
                match r.kind {
                    Kind::Table => c.table_filter_pattern.as_ref(),
                    Kind::StoredProcedure => c.stored_procedure_filter_pattern.as_ref(),
                    _ => None,
                },
            ),
        ];
        levels.into_iter().all(|(depth, pattern)| {
            let (Some(pattern), Some(name)) = (pattern, r.path.get(depth)) else { return true };
            if c.use_fqn_for_filtering {
                let fqn = ref_fqn(&self.service, &r.path[..=depth]).unwrap_or_else(|_| name.clone());
                pattern.keeps(&fqn)
            } else {
                pattern.keeps(name)
            }
        })
    }

    /// Whether a database passes `databaseFilterPattern` (by name or FQN,
    /// as `useFqnForFiltering` says).
    pub fn keeps_database(&self, name: &str) -> bool {
        self.keeps(&EntityRef { kind: Kind::Database, path: vec![name.to_string()], cost: 0, key: None })
    }

    /// Whether a produced table passes `includeTables` / `includeViews`.
    pub fn keeps_table(&self, t: &Table) -> bool {
        let is_view = matches!(t.table_type, TableType::View | TableType::MaterializedView | TableType::SecureView);
        if is_view { self.config.include_views } else { self.config.include_tables }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_ref(path: &[&str]) -> EntityRef {
        EntityRef { kind: Kind::Table, path: path.iter().map(|s| s.to_string()).collect(), cost: 1, key: None }
    }

    fn pattern(inc: &[&str], exc: &[&str]) -> Option<FilterPattern> {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Some(FilterPattern::new(v(inc), v(exc)).unwrap())
    }

    #[test]
    fn schema_and_table_patterns_both_apply() {
        let config = DatabaseMetadataConfig {
            schema_filter_pattern: pattern(&["^sales$", "^hr$"], &[]),
            table_filter_pattern: pattern(&[], &["^tmp_"]),
            ..Default::default()
        };
        let s = Selection::new(config, "svc");
        assert!(s.keeps(&table_ref(&["db", "sales", "orders"])));
        assert!(!s.keeps(&table_ref(&["db", "sales", "tmp_orders"])));
        assert!(!s.keeps(&table_ref(&["db", "public", "orders"])));
    }

    #[test]
    fn pipelines_and_their_runs_pass_both_pipeline_patterns() {
        let mut s = Selection::new(DatabaseMetadataConfig::default(), "af");
        s.pipelines = [pattern(&["^load_"], &[]), pattern(&[], &[".*_test$"])].into_iter().flatten().collect();
        let r = |kind, path: &[&str]| EntityRef {
            kind,
            path: path.iter().map(|p| p.to_string()).collect(),
            cost: 1,
            key: None,
        };
        assert!(s.keeps(&r(Kind::Pipeline, &["load_orders"])));
        assert!(!s.keeps(&r(Kind::Pipeline, &["load_orders_test"])), "an exclude of either pattern wins");
        assert!(!s.keeps(&r(Kind::Pipeline, &["report"])));
        assert!(s.keeps(&r(Kind::PipelineStatus, &["load_orders", "manual__1"])));
        assert!(!s.keeps(&r(Kind::PipelineStatus, &["report", "manual__1"])), "a run goes with its pipeline");
    }

    #[test]
    fn fqn_filtering_matches_the_whole_name() {
        let config = DatabaseMetadataConfig {
            table_filter_pattern: pattern(&[r"svc\.db\.sales\."], &[]),
            use_fqn_for_filtering: true,
            ..Default::default()
        };
        let s = Selection::new(config, "svc");
        assert!(s.keeps(&table_ref(&["db", "sales", "orders"])));
        assert!(!s.keeps(&table_ref(&["db", "hr", "orders"])));
    }

    #[test]
    fn databases_are_filtered_by_fqn_too() {
        let config = DatabaseMetadataConfig {
            database_filter_pattern: pattern(&[r"svc\.sales"], &[]),
            use_fqn_for_filtering: true,
            ..Default::default()
        };
        let s = Selection::new(config, "svc");
        assert!(s.keeps_database("sales_eu"));
        assert!(!s.keeps_database("hr"));
    }
}
