//! OpenMetadata filter patterns: `includes` and `excludes` regex lists.
//!
//! The semantics follow OpenMetadata's ingestion: a pattern matches when it
//! matches at the start of the name, case-insensitively; a name is kept when
//! `includes` is empty or one include matches, and no exclude matches.

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};

/// One `*FilterPattern` of `sourceConfig.config`, compiled. Deserializing
/// compiles it as [`FilterPattern::new`] does, so an invalid regular
/// expression or an unknown key fails there; the default keeps every name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FilterPattern {
    /// The patterns as written, one of which a kept name must match; none
    /// keeps every name. Changing it does not recompile the filter.
    pub includes: Vec<String>,
    /// The patterns as written that no kept name may match; they win over
    /// `includes`. Changing it does not recompile the filter.
    pub excludes: Vec<String>,
    #[serde(skip)]
    compiled_includes: Vec<Regex>,
    #[serde(skip)]
    compiled_excludes: Vec<Regex>,
}

impl FilterPattern {
    /// Compiles the patterns; an invalid one is named in the error.
    pub fn new(includes: Vec<String>, excludes: Vec<String>) -> Result<Self, String> {
        let compile = |patterns: &[String]| -> Result<Vec<Regex>, String> {
            patterns
                .iter()
                .map(|p| {
                    Regex::new(&format!("(?i)^(?:{p})"))
                        .map_err(|e| format!("invalid regular expression `{p}`: {}", last_line(&e.to_string())))
                })
                .collect()
        };
        Ok(FilterPattern {
            compiled_includes: compile(&includes)?,
            compiled_excludes: compile(&excludes)?,
            includes,
            excludes,
        })
    }

    /// Whether `name` survives the filter.
    pub fn keeps(&self, name: &str) -> bool {
        let included = self.compiled_includes.is_empty() || self.compiled_includes.iter().any(|r| r.is_match(name));
        included && !self.compiled_excludes.iter().any(|r| r.is_match(name))
    }
}

impl<'de> Deserialize<'de> for FilterPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            #[serde(default)]
            includes: Vec<String>,
            #[serde(default)]
            excludes: Vec<String>,
        }
        let raw = Raw::deserialize(d)?;
        FilterPattern::new(raw.includes, raw.excludes).map_err(serde::de::Error::custom)
    }
}

/// The regex crate explains a syntax error over several lines, the cause
/// on the last; an error here must stay on one line.
fn last_line(message: &str) -> String {
    let last = message.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(message);
    last.trim().trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(inc: &[&str], exc: &[&str]) -> FilterPattern {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        FilterPattern::new(v(inc), v(exc)).unwrap()
    }

    #[test]
    fn empty_filter_keeps_everything() {
        assert!(filter(&[], &[]).keeps("anything"));
    }

    #[test]
    fn includes_match_at_the_start_case_insensitively() {
        let f = filter(&["sales"], &[]);
        assert!(f.keeps("sales"));
        assert!(f.keeps("SALES_eu"));
        assert!(!f.keeps("presales"));
    }

    #[test]
    fn excludes_win_over_includes() {
        let f = filter(&["^s"], &["^staging$"]);
        assert!(f.keeps("sales"));
        assert!(!f.keeps("staging"));
        assert!(f.keeps("staging2"));
        assert!(!f.keeps("public"));
    }
}
