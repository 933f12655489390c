//! How messages write a name, and the two parameters each
//! set-based query takes, so that a batch of any size is one statement per
//! query.
//!
//! The names travel as fixed-width slots in one nvarchar parameter (`@P1`),
//! the slot width in characters as the other (`@P2`); the statements cut
//! the slots from the parameter's bytes. OPENJSON or STRING_SPLIT would
//! read better, but both exist only under compatibility level 130, and
//! databases upgraded from older versions often keep a lower one. Bytes do
//! not depend on the collation either, as character positions would on a
//! supplementary-character (_SC) collation.

use weir_sdk::sql::Value;

/// The most refs one statement takes: the statements number their slots
/// from 0 to 9999. Larger batches are read in chunks of this size.
pub const MAX_SLOTS: usize = 10_000;

/// A name in a dotted path for messages (`db.[Edge Cases].[a]]b]`): a name
/// with a dot, a space or a bracket in it is bracketed as T-SQL writes it.
pub fn quote(name: &str) -> String {
    if name.contains(['.', ' ', '[', ']', '"']) { bracketed(name) } else { name.to_string() }
}

/// `[name]`, with `]` doubled: T-SQL's QUOTENAME.
pub fn bracketed(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// The parameters naming schemas (the last name of each path), as the
/// catalog spells them.
pub fn schemas_param(paths: &[Vec<String>]) -> [Value; 2] {
    let names: Vec<String> = paths.iter().filter_map(|p| p.last()).cloned().collect();
    slots(&names)
}

/// The parameters naming tables or procedures: `[schema].[name]`, each
/// part bracketed as QUOTENAME does, which OBJECT_ID reads back exactly.
pub fn objects_param(paths: &[Vec<String>]) -> [Value; 2] {
    let names: Vec<String> = paths
        .iter()
        .filter_map(|p| match p.as_slice() {
            [_, schema, name] => Some(format!("{}.{}", bracketed(schema), bracketed(name))),
            _ => None,
        })
        .collect();
    slots(&names)
}

/// `entries` right-padded with spaces to the longest one's length, and
/// that length (at least 1, which the statements divide by). Lengths
/// count UTF-16 code units: two bytes each in the nvarchar parameter,
/// whatever the character.
fn slots(entries: &[String]) -> [Value; 2] {
    let width = entries.iter().map(|e| e.encode_utf16().count()).max().unwrap_or(0).max(1);
    let mut text = String::new();
    for entry in entries {
        text.push_str(entry);
        text.extend(std::iter::repeat_n(' ', width - entry.encode_utf16().count()));
    }
    [Value::Text(text), Value::Int(i64::try_from(width).unwrap_or(i64::MAX))]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(params: [Value; 2]) -> (String, i64) {
        match params {
            [Value::Text(text), Value::Int(width)] => (text, width),
            _ => panic!("not (text, int)"),
        }
    }

    #[test]
    fn objects_go_in_fixed_width_slots_bracketed_as_quotename() {
        let paths = vec![
            vec!["db".to_string(), "dbo".into(), "Orders".into()],
            vec!["db".to_string(), "Sales".into(), "Customer".into()],
        ];
        // The example of the statements' header comments.
        assert_eq!(texts(objects_param(&paths)), ("[dbo].[Orders]    [Sales].[Customer]".to_string(), 18));
        let odd = vec![vec!["db".to_string(), "Edge Cases".into(), "a]b".into()]];
        assert_eq!(texts(objects_param(&odd)), ("[Edge Cases].[a]]b]".to_string(), 19));
    }

    #[test]
    fn widths_count_utf16_code_units() {
        // U+1F600 is two code units (four bytes) in the nvarchar parameter.
        let paths = vec![vec!["db".to_string(), "😀".into()], vec!["db".to_string(), "abc".into()]];
        let (text, width) = texts(schemas_param(&paths));
        assert_eq!(width, 3);
        assert_eq!(text, "😀 abc");
        assert_eq!(text.encode_utf16().count(), 6);
        assert_eq!(texts(schemas_param(&[])), (String::new(), 1));
    }

    #[test]
    fn dotted_brackets_odd_names() {
        let path = ["db".to_string(), "Edge Cases".into(), "a]b".into(), "plain".into()];
        assert_eq!(crate::ENGINE.dotted(&path), "db.[Edge Cases].[a]]b].plain");
    }
}
