//! One pipeline in front of every sink: documents are gathered into
//! batches (by size, and by time so a slow trickle is not held back), and
//! up to `workers` batches are written at once. A full set of writers
//! makes `send` wait, so a slow sink slows the plugins down instead of
//! filling memory.
//!
//! Every document is acknowledged: written, or failed with the sink's
//! reason after retries. [`Pipeline::flush`] waits for everything sent so
//! far and hands the acknowledgements back; the run calls it between
//! kinds, which is what puts parents before children.

use super::{Document, Sink, SinkError};
use crate::config::Workflow;
use crate::retry::RetryPolicy;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Documents per write, as OpenMetadata's `bulk_sink_batch_size`.
pub const DEFAULT_DOCUMENTS_PER_WRITE: usize = 100;
/// Writes at once, as OpenMetadata's `async_pipeline_workers`.
pub const DEFAULT_WORKERS: usize = 2;
/// A partial batch waits at most this long for company.
const MAX_WAIT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct PipelineSettings {
    pub batch_size: usize,
    pub workers: usize,
    pub retry: RetryPolicy,
}

impl PipelineSettings {
    /// The sink's batching, from `sink.config`, and the run's retries.
    pub fn of(workflow: &Workflow) -> PipelineSettings {
        let config = workflow.sink.as_ref().and_then(|s| s.config.as_ref());
        PipelineSettings {
            batch_size: config.and_then(|c| c.bulk_sink_batch_size).unwrap_or(DEFAULT_DOCUMENTS_PER_WRITE),
            workers: config.and_then(|c| c.async_pipeline_workers).unwrap_or(DEFAULT_WORKERS),
            retry: workflow.weir.retry.clone(),
        }
    }
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            batch_size: DEFAULT_DOCUMENTS_PER_WRITE,
            workers: DEFAULT_WORKERS,
            retry: RetryPolicy::default(),
        }
    }
}

/// A document the sink could not take.
#[derive(Debug, Clone)]
pub struct SinkFailure {
    pub kind: String,
    pub fqn: String,
    pub reason: String,
    /// The write failed for a reason that may pass (the server down after
    /// the retries), not because the sink refused the document.
    pub may_pass: bool,
    /// The shard whose processing sent it.
    pub shard: Option<Arc<str>>,
}

/// What the sink did with the documents sent since the last flush.
#[derive(Debug, Default)]
pub struct Acks {
    /// Documents written, by kind.
    pub written: HashMap<String, usize>,
    /// The same by the shard that sent them, for the shards that said.
    pub written_by_shard: HashMap<Arc<str>, HashMap<String, usize>>,
    /// Every document written.
    pub written_total: usize,
    pub failures: Vec<SinkFailure>,
    /// Writes retried after a transient sink error.
    pub retries: usize,
}

impl Acks {
    pub fn absorb(&mut self, other: Acks) {
        for (kind, n) in other.written {
            *self.written.entry(kind).or_default() += n;
        }
        for (shard, kinds) in other.written_by_shard {
            let into = self.written_by_shard.entry(shard).or_default();
            for (kind, n) in kinds {
                *into.entry(kind).or_default() += n;
            }
        }
        self.written_total += other.written_total;
        self.failures.extend(other.failures);
        self.retries += other.retries;
    }
}

/// A document on its way, with the shard that sent it.
struct Item {
    doc: Document,
    shard: Option<Arc<str>>,
}

enum Message {
    Item(Item),
    Flush(oneshot::Sender<Acks>),
}

pub struct Pipeline {
    tx: mpsc::Sender<Message>,
    task: tokio::task::JoinHandle<()>,
}

impl Pipeline {
    pub fn start(sink: Arc<Sink>, run_id: Arc<str>, settings: PipelineSettings) -> Pipeline {
        let batch_size = settings.batch_size.max(1);
        // Room for one batch being gathered while the writers are busy.
        let (tx, rx) = mpsc::channel(batch_size);
        let task = tokio::spawn(run(sink, run_id, settings, rx));
        Pipeline { tx, task }
    }

    /// Hands a document to the sink; waits while the writers are all busy.
    /// Its acknowledgement names `shard`, when given.
    pub async fn send(&self, doc: Document, shard: Option<Arc<str>>) -> Result<(), SinkError> {
        self.tx.send(Message::Item(Item { doc, shard })).await.map_err(|_| SinkError::Stopped)
    }

    /// Waits until everything sent so far is written or failed.
    pub async fn flush(&self) -> Result<Acks, SinkError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Message::Flush(reply)).await.map_err(|_| SinkError::Stopped)?;
        answer.await.map_err(|_| SinkError::Stopped)
    }

    /// Flushes and stops the pipeline.
    pub async fn close(self) -> Result<Acks, SinkError> {
        let acks = self.flush().await;
        drop(self.tx);
        let _ = self.task.await;
        acks
    }
}

async fn run(sink: Arc<Sink>, run_id: Arc<str>, settings: PipelineSettings, mut rx: mpsc::Receiver<Message>) {
    let batch_size = settings.batch_size.max(1);
    let workers = settings.workers.max(1);
    let mut batch: Vec<Item> = Vec::with_capacity(batch_size);
    let mut deadline = Instant::now() + MAX_WAIT;
    let mut writes: JoinSet<Acks> = JoinSet::new();
    let mut acks = Acks::default();
    let write = |batch: Vec<Item>, writes: &mut JoinSet<Acks>| {
        writes.spawn(write_batch(sink.clone(), run_id.clone(), batch, settings.retry.clone()));
    };
    loop {
        tokio::select! {
            message = rx.recv() => match message {
                Some(Message::Item(item)) => {
                    if batch.is_empty() {
                        deadline = Instant::now() + MAX_WAIT;
                    }
                    batch.push(item);
                    if batch.len() >= batch_size {
                        wait_for_room(&mut writes, workers, &mut acks).await;
                        write(std::mem::take(&mut batch), &mut writes);
                    }
                }
                Some(Message::Flush(reply)) => {
                    if !batch.is_empty() {
                        wait_for_room(&mut writes, workers, &mut acks).await;
                        write(std::mem::take(&mut batch), &mut writes);
                    }
                    while let Some(done) = writes.join_next().await {
                        acks.absorb(joined(done));
                    }
                    let _ = reply.send(std::mem::take(&mut acks));
                }
                None => break,
            },
            _ = tokio::time::sleep_until(deadline), if !batch.is_empty() => {
                wait_for_room(&mut writes, workers, &mut acks).await;
                write(std::mem::take(&mut batch), &mut writes);
            }
            Some(done) = writes.join_next(), if !writes.is_empty() => acks.absorb(joined(done)),
        }
    }
}

async fn wait_for_room(writes: &mut JoinSet<Acks>, workers: usize, acks: &mut Acks) {
    while writes.len() >= workers {
        match writes.join_next().await {
            Some(done) => acks.absorb(joined(done)),
            None => break,
        }
    }
}

fn joined(done: Result<Acks, tokio::task::JoinError>) -> Acks {
    done.unwrap_or_else(|err| {
        // A write task that panicked took its batch with it; say so loudly.
        tracing::error!(error = %err, "a sink write task ended abnormally");
        Acks::default()
    })
}

/// Writes one batch, retrying transient sink errors; a batch that still
/// fails is acknowledged as failed, document by document.
async fn write_batch(sink: Arc<Sink>, run_id: Arc<str>, batch: Vec<Item>, retry: RetryPolicy) -> Acks {
    // The documents go to the sink as they are, no copy.
    let mut docs = Vec::with_capacity(batch.len());
    let mut tags = Vec::with_capacity(batch.len());
    for item in batch {
        docs.push(item.doc);
        tags.push(item.shard);
    }
    let mut acks = Acks::default();
    let mut backoff = retry.backoff();
    loop {
        match sink.write(&run_id, &docs).await {
            Ok(rejected) => {
                for (doc, tag) in docs.iter().zip(&tags) {
                    match rejected.get(&doc.fqn) {
                        Some(reason) => acks.failures.push(failure(doc, tag, reason.clone(), false)),
                        None => {
                            acks.written_total += 1;
                            *acks.written.entry(doc.kind.clone()).or_default() += 1;
                            if let Some(shard) = tag {
                                let of_shard = acks.written_by_shard.entry(shard.clone()).or_default();
                                *of_shard.entry(doc.kind.clone()).or_default() += 1;
                            }
                        }
                    }
                }
                return acks;
            }
            Err(err) if err.is_transient() && backoff.can_retry() => {
                let wait = backoff.next(err.retry_after()).unwrap_or_default();
                acks.retries += 1;
                let retries = backoff.retries();
                tracing::warn!(sink = sink.name(), retries, "{err}; retrying in {:.1} s", wait.as_secs_f64());
                tokio::time::sleep(wait).await;
            }
            Err(err) => {
                let reason = err.to_string();
                let may_pass = err.may_pass();
                tracing::error!(sink = sink.name(), documents = docs.len(), "{reason}");
                acks.failures.extend(docs.iter().zip(&tags).map(|(d, t)| failure(d, t, reason.clone(), may_pass)));
                return acks;
            }
        }
    }
}

fn failure(doc: &Document, shard: &Option<Arc<str>>, reason: String, may_pass: bool) -> SinkFailure {
    SinkFailure { kind: doc.kind.clone(), fqn: doc.fqn.clone(), reason, may_pass, shard: shard.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::file::FileSink;
    use serde_json::{Value, json};

    fn doc(i: usize) -> Document {
        let fqn = format!("svc.db.s.t{i:04}");
        Document {
            kind: "table".into(),
            fqn: fqn.clone(),
            parent: Some("svc.db.s".into()),
            name: format!("t{i:04}"),
            body: json!({ "name": fqn }),
            extra: Value::Null,
            source_hash: String::new(),
        }
    }

    #[tokio::test]
    async fn every_document_is_acknowledged_once_and_flush_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let sink = Arc::new(Sink::File(Box::new(FileSink::create(&path).await.unwrap())));
        let settings = PipelineSettings { batch_size: 7, workers: 3, ..PipelineSettings::default() };
        let pipeline = Pipeline::start(sink.clone(), Arc::from("run"), settings);
        let shards: [Arc<str>; 2] = [Arc::from("table-0000"), Arc::from("table-0001")];
        for i in 0..250 {
            pipeline.send(doc(i), Some(shards[i % 2].clone())).await.unwrap();
        }
        let acks = pipeline.flush().await.unwrap();
        assert_eq!(acks.written_total, 250);
        assert_eq!(acks.written.get("table"), Some(&250));
        let of = |s: &Arc<str>| acks.written_by_shard[s]["table"];
        assert_eq!((of(&shards[0]), of(&shards[1])), (125, 125), "each shard's own");
        assert!(acks.failures.is_empty());
        pipeline.send(doc(999), None).await.unwrap();
        let last = pipeline.close().await.unwrap();
        assert_eq!(last.written_total, 1, "a flush hands back only what came after the previous one");
        sink.finish("run", "svc", &Value::Null).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut fqns: Vec<&str> = text.lines().collect();
        fqns.sort();
        fqns.dedup();
        assert_eq!(fqns.len(), 251, "each document once");
    }

    #[tokio::test]
    async fn a_partial_batch_is_written_after_a_short_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let sink = Arc::new(Sink::File(Box::new(FileSink::create(&path).await.unwrap())));
        let pipeline = Pipeline::start(sink.clone(), Arc::from("run"), PipelineSettings::default());
        pipeline.send(doc(1), None).await.unwrap();
        // No flush: the time limit alone must send it on.
        tokio::time::sleep(MAX_WAIT * 3).await;
        if let Sink::File(file) = sink.as_ref() {
            assert_eq!(file.written_count().await, 1);
        }
        let acks = pipeline.close().await.unwrap();
        assert_eq!(acks.written_total, 1);
    }
}
