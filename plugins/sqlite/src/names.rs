//! The names this plugin gives to the one database and the one schema of a
//! SQLite file.

use weir_sdk::Config;

/// SQLite's name for the database file's own schema. Attached databases
/// are not the host's to open, so there is only ever this one.
pub const SCHEMA: &str = "main";

/// The connection label the plugin asks the host for: the workflow's
/// `serviceConnection`.
pub const SOURCE: &str = "source";

/// The database name: `connection.database` if set, else the file stem of
/// `connection.databaseMode`, else `main`.
pub fn database_name(config: &Config) -> String {
    pick_database_name(config.connection_str("database"), config.connection_str("databaseMode"))
}

/// The pure half of [`database_name`].
pub fn pick_database_name(database: Option<&str>, mode: Option<&str>) -> String {
    if let Some(name) = database.map(str::trim).filter(|n| !n.is_empty()) {
        return name.to_string();
    }
    mode.and_then(file_stem).unwrap_or_else(|| SCHEMA.to_string())
}

/// `/tmp/x/demo.db` → `demo`; also accepts `file:` URIs with a query
/// string. In-memory databases have no file, hence no name.
fn file_stem(mode: &str) -> Option<String> {
    let path = mode.trim();
    let path = path.strip_prefix("file:").unwrap_or(path);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    if file.is_empty() || file == ":memory:" {
        return None;
    }
    // A leading dot is part of a hidden file's name, not an extension.
    let stem = match file.rfind('.') {
        Some(dot) if dot > 0 => &file[..dot],
        _ => file,
    };
    Some(stem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_database_wins() {
        assert_eq!(pick_database_name(Some("shop"), Some("/tmp/demo.db")), "shop");
        assert_eq!(pick_database_name(Some("  "), Some("/tmp/demo.db")), "demo");
    }

    #[test]
    fn file_stem_of_the_path() {
        assert_eq!(pick_database_name(None, Some("/tmp/x/demo.db")), "demo");
        assert_eq!(pick_database_name(None, Some("demo")), "demo");
        assert_eq!(pick_database_name(None, Some("data/archive.2024.sqlite3")), "archive.2024");
        assert_eq!(pick_database_name(None, Some("C:\\data\\shop.db")), "shop");
        assert_eq!(pick_database_name(None, Some("file:/srv/shop.db?mode=ro")), "shop");
        assert_eq!(pick_database_name(None, Some("/tmp/.hidden")), ".hidden");
    }

    #[test]
    fn falls_back_to_main() {
        assert_eq!(pick_database_name(None, None), "main");
        assert_eq!(pick_database_name(None, Some(":memory:")), "main");
        assert_eq!(pick_database_name(None, Some("/tmp/dir/")), "main");
        assert_eq!(pick_database_name(None, Some("")), "main");
    }
}
