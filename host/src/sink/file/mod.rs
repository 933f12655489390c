//! The file sink: JSON Lines of the same Create* documents every sink
//! writes, one per line, parents first, then a section of the deferred
//! records (foreign keys, lineage).
//!
//! Lines go to a hidden temporary file beside the target, which is synced
//! and renamed over the target only when the run finishes: a crash never
//! leaves half a file under the name a user reads.

use super::Document;
use super::catalog::Unresolved;
use crate::model::{Relation, ServiceKind};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use thiserror::Error;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::Mutex;

#[derive(Debug, Error)]
pub enum FileSinkError {
    #[error("file sink {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("file sink {path}: already finished")]
    Finished { path: String },
}

pub struct FileSink {
    path: PathBuf,
    temp: PathBuf,
    state: Mutex<State>,
}

struct State {
    out: Option<BufWriter<tokio::fs::File>>,
    /// FQNs written so far: a deferred record is written only when what it
    /// points at is in the file.
    written: HashSet<String>,
}

impl FileSink {
    /// Starts a file that will appear at `path` when [`FileSink::finish`]
    /// is called.
    pub async fn create(path: &Path) -> Result<FileSink, FileSinkError> {
        let io = |source| FileSinkError::Io { path: path.display().to_string(), source };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        let temp = dir.join(format!(".{name}.{}.partial", std::process::id()));
        let file = tokio::fs::File::create(&temp).await.map_err(io)?;
        Ok(FileSink {
            path: path.to_path_buf(),
            temp,
            state: Mutex::new(State { out: Some(BufWriter::new(file)), written: HashSet::new() }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Documents and services written so far.
    pub async fn written_count(&self) -> usize {
        self.state.lock().await.written.len()
    }

    pub async fn put_service(&self, name: &str, service_type: &str, kind: ServiceKind) -> Result<(), FileSinkError> {
        let document = json!({ "name": name, "serviceType": service_type });
        let mut state = self.state.lock().await;
        state.written.insert(name.to_string());
        let line = json!({ "kind": kind.entity_type(), "fqn": name, "document": document });
        self.line(&mut state, &line).await
    }

    pub async fn write(&self, docs: &[Document]) -> Result<(), FileSinkError> {
        let mut state = self.state.lock().await;
        for doc in docs {
            let mut line = json!({ "kind": doc.kind, "fqn": doc.fqn, "document": doc.body });
            // What the Create* request has no field for (a dashboard's
            // owner, a table's row count) goes beside it, as the catalog
            // keeps it.
            if doc.extra.as_object().is_some_and(|e| !e.is_empty()) {
                line["extra"] = doc.extra.clone();
            }
            self.line(&mut state, &line).await?;
            state.written.insert(doc.fqn.clone());
        }
        Ok(())
    }

    /// The deferred section: records whose target is in the file; the
    /// others come back unresolved.
    pub async fn apply_relations(&self, relations: &[Relation]) -> Result<Vec<Unresolved>, FileSinkError> {
        let mut state = self.state.lock().await;
        let mut unresolved = Vec::new();
        for r in relations {
            if !state.written.contains(r.target()) {
                unresolved.push(Unresolved {
                    owner: r.owner().to_string(),
                    kind: r.kind(),
                    reason: format!("refers to `{}`, which is not in this file (filtered out or failed)", r.target()),
                });
                continue;
            }
            let mut line = json!({ "kind": r.kind(), "fqn": r.owner(), "target": r.target(), "document": r.body() });
            if !r.name().is_empty() {
                line["name"] = Value::from(r.name());
            }
            self.line(&mut state, &line).await?;
        }
        Ok(unresolved)
    }

    /// Flushes, syncs and renames the file into place.
    pub async fn finish(&self) -> Result<(), FileSinkError> {
        let io = |source| FileSinkError::Io { path: self.path.display().to_string(), source };
        let mut state = self.state.lock().await;
        let Some(mut out) = state.out.take() else {
            return Err(FileSinkError::Finished { path: self.path.display().to_string() });
        };
        out.flush().await.map_err(io)?;
        let file = out.into_inner();
        file.sync_all().await.map_err(io)?;
        drop(file);
        tokio::fs::rename(&self.temp, &self.path).await.map_err(io)?;
        Ok(())
    }

    async fn line(&self, state: &mut State, value: &Value) -> Result<(), FileSinkError> {
        let io = |source| FileSinkError::Io { path: self.path.display().to_string(), source };
        let Some(out) = state.out.as_mut() else {
            return Err(FileSinkError::Finished { path: self.path.display().to_string() });
        };
        let mut text = value.to_string();
        text.push('\n');
        out.write_all(text.as_bytes()).await.map_err(io)
    }
}

impl Drop for FileSink {
    /// A run that did not finish leaves no partial file behind.
    fn drop(&mut self) {
        if self.state.get_mut().out.is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(kind: &str, fqn: &str) -> Document {
        Document {
            kind: kind.into(),
            fqn: fqn.into(),
            parent: None,
            name: fqn.rsplit('.').next().unwrap_or(fqn).into(),
            body: json!({ "name": fqn }),
            extra: Value::Null,
            source_hash: String::new(),
        }
    }

    #[tokio::test]
    async fn the_file_appears_whole_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let sink = FileSink::create(&path).await.unwrap();
        sink.put_service("svc", "Postgres", ServiceKind::Database).await.unwrap();
        sink.write(&[doc("database", "svc.db"), doc("table", "svc.db.s.a"), doc("table", "svc.db.s.b")]).await.unwrap();
        assert!(!path.exists(), "nothing under the target name before the end");
        let fk = Relation::ForeignKey {
            table: "svc.db.s.a".into(),
            name: "a_b_fk".into(),
            columns: vec!["b_id".into()],
            referred_table: "svc.db.s.b".into(),
            referred_columns: vec!["svc.db.s.b.id".into()],
        };
        let dangling = Relation::ForeignKey {
            table: "svc.db.s.a".into(),
            name: "a_c_fk".into(),
            columns: vec!["c_id".into()],
            referred_table: "svc.db.s.c".into(),
            referred_columns: vec!["svc.db.s.c.id".into()],
        };
        let unresolved = sink.apply_relations(&[fk, dangling]).await.unwrap();
        assert_eq!(unresolved.len(), 1);
        assert!(unresolved[0].reason.contains("svc.db.s.c"), "{}", unresolved[0].reason);
        sink.finish().await.unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["databaseService", "database", "table", "table", "foreignKey"]);
        assert_eq!(lines[4]["target"], "svc.db.s.b");
        assert_eq!(lines[4]["document"]["constraintType"], "FOREIGN_KEY");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(Result::ok).collect();
        assert_eq!(leftovers.len(), 1, "only the finished file is left");
    }

    #[tokio::test]
    async fn an_unfinished_run_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "previous run\n").unwrap();
        {
            let sink = FileSink::create(&path).await.unwrap();
            sink.write(&[doc("table", "svc.db.s.a")]).await.unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous run\n", "the old file is untouched");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}
