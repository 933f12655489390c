//! `weir plugin new`: a connector crate that builds as it is written, with a
//! workflow that runs it, a unit test and a README. Two starting points:
//! one that reads a database through the `sql` capability (a SQLite file,
//! so it runs with nothing else installed), one that reads an HTTP API
//! through the `http` capability.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Which capability the new connector reads its source through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Sql,
    Http,
}

/// Where the new crate takes `weir-sdk` from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkSource {
    /// A checkout's `sdk/` folder.
    Path(PathBuf),
    /// crates.io, this version requirement.
    Registry(&'static str),
}

impl SdkSource {
    /// The SDK of the checkout this weir was built from, when it is still
    /// there; else crates.io's.
    pub fn default_for_this_build() -> SdkSource {
        let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
        match checkout.join("Cargo.toml").is_file().then(|| checkout.canonicalize()) {
            Some(Ok(path)) => SdkSource::Path(path),
            _ => SdkSource::Registry("0.2"),
        }
    }

    fn dependency(&self) -> String {
        match self {
            SdkSource::Path(path) => {
                let shown = path.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
                format!("weir-sdk = {{ path = \"{shown}\" }}")
            }
            SdkSource::Registry(version) => format!("weir-sdk = \"{version}\""),
        }
    }
}

#[derive(Debug, Error)]
pub enum ScaffoldError {
    #[error("`{name}` cannot name a connector: {reason}")]
    Name { name: String, reason: &'static str },
    #[error("{0} exists and is not empty: choose another --dir, or remove it")]
    Exists(PathBuf),
    #[error("cannot write {path}")]
    Write { path: PathBuf, source: std::io::Error },
}

const CARGO_TOML: &str = include_str!("templates/Cargo.toml.tpl");
const README: &str = include_str!("templates/README.md.tpl");
const SQL_LIB: &str = include_str!("templates/sql_lib.rs.tpl");
const SQL_WORKFLOW: &str = include_str!("templates/sql_workflow.yaml.tpl");
const HTTP_LIB: &str = include_str!("templates/http_lib.rs.tpl");
const HTTP_WORKFLOW: &str = include_str!("templates/http_workflow.yaml.tpl");
const GITIGNORE: &str = "/target\n/*.db\n/*.db-*\n";

/// Writes the crate of connector `name` into `dir` (which must be absent
/// or empty) and returns the files written.
pub fn create(name: &str, flavour: Flavour, dir: &Path, sdk: &SdkSource) -> Result<Vec<PathBuf>, ScaffoldError> {
    check_name(name)?;
    if dir.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ScaffoldError::Exists(dir.to_path_buf()));
    }
    let (lib, workflow, flag, what) = match flavour {
        Flavour::Sql => {
            (SQL_LIB, SQL_WORKFLOW, "--sql", "reads the tables of a SQLite file through the host's `sql` capability")
        }
        Flavour::Http => (
            HTTP_LIB,
            HTTP_WORKFLOW,
            "--http",
            "reads table definitions from an HTTP API through the host's `http` capability",
        ),
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", name)
            .replace("{{crate_file}}", &name.replace('-', "_"))
            .replace("{{type_name}}", &type_name(name))
            .replace("{{sdk}}", &sdk.dependency())
            .replace("{{flavour}}", flag)
            .replace("{{what}}", what)
            .replace("{{database}}", "weir-demo.db")
            .replace("{{host_port}}", "http://127.0.0.1:8080")
    };
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(lib)),
        ("workflow.yaml", fill(workflow)),
        ("README.md", fill(README)),
        (".gitignore", GITIGNORE.to_string()),
    ];
    let mut written = Vec::new();
    for (relative, text) in files {
        let path = dir.join(relative);
        let write = |path: &Path| -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, text.as_bytes())
        };
        write(&path).map_err(|source| ScaffoldError::Write { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}

/// A connector's name is its crate's name and its `source.type`: lower
/// case ASCII letters, digits, `-` and `_`, starting with a letter.
fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let bad = |reason| Err(ScaffoldError::Name { name: name.to_string(), reason });
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("it must start with a lower-case letter");
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
        return bad("use lower-case letters, digits, `-` and `_` only (it is the crate's name and the source.type)");
    }
    if name.len() > 64 {
        return bad("keep it to 64 characters");
    }
    if crate::plugins::builtin(name).is_some() {
        return bad("a built-in connector has that name");
    }
    Ok(())
}

/// `my-source_2` → `MySource2`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_crates_and_types() {
        assert_eq!(type_name("my-source_2"), "MySource2");
        assert!(check_name("acme").is_ok());
        for bad in ["Acme", "9lives", "my source", "a.b", "postgres", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_folder_with_something_in_it_is_left_alone() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap_or_else(|e| panic!("{e}"));
        let refused = create("acme", Flavour::Sql, dir.path(), &SdkSource::Registry("0.2"));
        assert!(matches!(refused, Err(ScaffoldError::Exists(_))), "{refused:?}");
        assert_eq!(std::fs::read_to_string(dir.path().join("keep.txt")).unwrap_or_default(), "mine");
    }

    #[test]
    fn every_placeholder_is_filled() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for (flavour, sub) in [(Flavour::Sql, "sql"), (Flavour::Http, "http")] {
            let files = create("acme-db", flavour, &dir.path().join(sub), &SdkSource::Path("/x/sdk".into()))
                .unwrap_or_else(|e| panic!("{e}"));
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                // `{{secret:NAME}}` is the SDK's placeholder, not the scaffold's.
                assert!(!text.replace("{{secret:", "").contains("{{"), "{}: {text}", file.display());
            }
            let manifest = std::fs::read_to_string(dir.path().join(sub).join("Cargo.toml")).unwrap_or_default();
            assert!(manifest.contains("name = \"acme-db\"") && manifest.contains("path = \"/x/sdk\""), "{manifest}");
        }
    }
}
