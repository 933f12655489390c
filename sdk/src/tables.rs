//! From a table name a source writes (a LookML `sql_table_name`, an
//! Airflow asset's path) to the FQN parts of a table in a database
//! service, through `lineageInformation.dbServicePrefixes`: the way
//! OpenMetadata maps a dashboard's or a pipeline's connections to services.

/// Splits `schema.table`, `"db"."schema"."table"` or `` `a`.`b` `` into
/// its parts; `None` for anything that is not a plain dotted name (a
/// derived table's SQL, a Liquid template).
pub fn split_table_name(text: &str) -> Option<Vec<String>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut part = String::new();
        match chars.peek() {
            Some(&q @ ('"' | '`' | '[')) => {
                let close = if q == '[' { ']' } else { q };
                chars.next();
                loop {
                    match chars.next() {
                        Some(c) if c == close => {
                            // A doubled quote stands for itself.
                            if chars.peek() == Some(&close) && close != ']' {
                                chars.next();
                                part.push(close);
                            } else {
                                break;
                            }
                        }
                        Some(c) => part.push(c),
                        None => return None,
                    }
                }
            }
            _ => {
                while let Some(&c) = chars.peek() {
                    if c == '.' {
                        break;
                    }
                    if !(c.is_alphanumeric() || c == '_' || c == '$' || c == '-') {
                        return None;
                    }
                    part.push(c);
                    chars.next();
                }
            }
        }
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        match chars.next() {
            None => break,
            Some('.') => continue,
            Some(_) => return None,
        }
    }
    (1..=3).contains(&parts.len()).then_some(parts)
}

/// The table as `(service, [database, schema, table])`: the first prefix
/// whose parts agree with the name's and together name all four wins.
pub fn resolve(prefixes: &[String], table: &[String]) -> Option<(String, Vec<String>)> {
    prefixes.iter().find_map(|prefix| {
        let given = split_table_name(prefix)?;
        let (service, path) = given.split_first()?;
        // Positions 0..3 are database, schema, table: the prefix fills them
        // from the left, the name from the right.
        let mut slots: [Option<&str>; 3] = [None; 3];
        for (i, part) in path.iter().enumerate().take(3) {
            slots[i] = Some(part);
        }
        let offset = 3 - table.len();
        for (i, part) in table.iter().enumerate() {
            let slot = &mut slots[offset + i];
            match slot {
                Some(existing) if !existing.eq_ignore_ascii_case(part) => return None,
                // The prefix's spelling is the store's.
                Some(_) => {}
                None => *slot = Some(part),
            }
        }
        let full: Option<Vec<String>> = slots.iter().map(|s| s.map(str::to_string)).collect();
        Some((service.clone(), full?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn table_names_are_split_with_their_quotes_removed() {
        assert_eq!(split_table_name("public.film"), Some(v(&["public", "film"])));
        assert_eq!(split_table_name(r#""Sales"."Order ""Lines""""#), Some(v(&["Sales", "Order \"Lines\""])));
        assert_eq!(split_table_name("`proj`.`ds`.`t`"), Some(v(&["proj", "ds", "t"])));
        assert_eq!(split_table_name("film"), Some(v(&["film"])));
        assert_eq!(split_table_name("{{ _user_attributes['schema'] }}.film"), None);
        assert_eq!(split_table_name("(SELECT 1)"), None);
        assert_eq!(split_table_name("a.b.c.d"), None);
        assert_eq!(split_table_name("a..b"), None);
    }

    #[test]
    fn prefixes_fill_what_the_name_leaves_out() {
        let prefixes = v(&["pg.pagila"]);
        assert_eq!(resolve(&prefixes, &v(&["public", "film"])), Some(("pg".into(), v(&["pagila", "public", "film"]))));
        // A bare table name needs the schema from the prefix.
        assert_eq!(resolve(&prefixes, &v(&["film"])), None);
        assert_eq!(
            resolve(&v(&["pg.pagila.public"]), &v(&["film"])),
            Some(("pg".into(), v(&["pagila", "public", "film"])))
        );
        // A prefix naming another database does not match; the next one may.
        let two = v(&["pg.other", "wh"]);
        assert_eq!(
            resolve(&two, &v(&["pagila", "public", "film"])),
            Some(("wh".into(), v(&["pagila", "public", "film"])))
        );
        assert_eq!(resolve(&[], &v(&["public", "film"])), None);
    }
}
