//! Looker's names for field and visualization types, in OpenMetadata's
//! vocabulary. Pure functions, tested below.

/// A LookML field type (`string`, `number`, `date_date`, `yesno`, a
/// measure's `count`/`sum`/...) as an OpenMetadata column `dataType`.
pub fn column_data_type(looker_type: &str, is_measure: bool) -> &'static str {
    let t = looker_type.to_ascii_lowercase();
    match t.as_str() {
        "yesno" => "BOOLEAN",
        "number" | "distance" | "duration_day" | "duration_hour" | "duration_minute" | "duration_second" => "NUMBER",
        "date" | "date_date" | "date_week" | "date_month" | "date_quarter" | "date_year" | "date_raw" => "DATE",
        "date_time" | "time" | "datetime" | "timestamp" | "date_minute" | "date_hour" | "date_second" => "TIMESTAMP",
        "location" => "GEOGRAPHY",
        "string" | "tier" | "zipcode" | "bin" | "date_day_of_week" | "date_month_name" => "STRING",
        // Every measure type (count, sum, average, max, median, ...) is a
        // number unless it is one of the kinds above.
        _ if is_measure => "NUMBER",
        _ if t.starts_with("date_") => "DATE",
        _ if t.starts_with("duration_") => "NUMBER",
        _ => "STRING",
    }
}

/// A dashboard element's visualization (`vis_config.type`) as an
/// OpenMetadata `chartType`.
pub fn chart_type(vis: Option<&str>, element_type: Option<&str>) -> &'static str {
    if element_type == Some("text") {
        return "Text";
    }
    let Some(vis) = vis else { return "Other" };
    match vis.to_ascii_lowercase().as_str() {
        "looker_line" => "Line",
        "looker_area" => "Area",
        "looker_column" | "looker_bar" | "looker_waterfall" => "Bar",
        "looker_pie" | "looker_donut_multiples" => "Pie",
        "looker_scatter" => "Scatter",
        "table" | "looker_grid" | "looker_single_record" => "Table",
        "single_value" | "text" => "Text",
        "looker_boxplot" => "BoxPlot",
        "looker_timeline" => "Timeline",
        "looker_map" | "looker_geo_coordinates" | "looker_geo_choropleth" | "looker_google_map" => "Map",
        "looker_gauge" => "Gauge",
        "looker_heatmap" => "Heatmap",
        "looker_sankey" => "SanKey",
        "looker_histogram" => "Histogram",
        _ => "Other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_sdk::is_data_type;

    #[test]
    fn every_mapped_type_is_an_openmetadata_data_type() {
        for (t, m) in [
            ("string", false),
            ("number", false),
            ("yesno", false),
            ("date_date", false),
            ("date_time", false),
            ("location", false),
            ("count", true),
            ("sum", true),
            ("date_fiscal_quarter", false),
            ("weird", false),
        ] {
            assert!(is_data_type(column_data_type(t, m)), "{t}");
        }
        assert_eq!(column_data_type("count_distinct", true), "NUMBER");
        assert_eq!(column_data_type("yesno", false), "BOOLEAN");
        assert_eq!(column_data_type("date_week", false), "DATE");
        assert_eq!(column_data_type("tier", false), "STRING");
    }

    #[test]
    fn visualizations_map_to_chart_types() {
        assert_eq!(chart_type(Some("looker_line"), Some("vis")), "Line");
        assert_eq!(chart_type(Some("looker_column"), Some("vis")), "Bar");
        assert_eq!(chart_type(Some("single_value"), Some("vis")), "Text");
        assert_eq!(chart_type(None, Some("text")), "Text");
        assert_eq!(chart_type(Some("looker_funnel"), Some("vis")), "Other");
        assert_eq!(chart_type(None, Some("vis")), "Other");
    }
}
