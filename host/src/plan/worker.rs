//! Sandboxed instances pulling batches from a shared queue. A fault (trap,
//! memory, deadline) fails only the batch that caused it; the worker drops
//! its instance, makes a fresh one and goes on.

use crate::caps::Grants;
use crate::runtime::bindings::types::{Batch, EntityRef, ErrorKind, Failure};
use crate::runtime::{Fault, Instance, Plugin};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Retries of a batch whose failure the plugin calls transient.
const TRANSIENT_RETRIES: u32 = 2;

/// What a batch cost, whatever became of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Effort {
    pub retries: u32,
    /// Statements the plugin sent for this batch, retries included.
    pub queries: u64,
    pub elapsed: Duration,
}

/// What became of one batch.
pub enum Outcome {
    Done {
        batch: Batch,
        refs: usize,
        effort: Effort,
    },
    /// The whole batch failed; every ref in it is reported with `reason`.
    Failed {
        refs: Vec<EntityRef>,
        error: &'static str,
        reason: String,
        faulted: bool,
        effort: Effort,
    },
}

pub struct WorkerPool {
    pub plugin: Arc<Plugin>,
    pub grants: Grants,
    pub config: Arc<str>,
    pub instances: usize,
}

impl WorkerPool {
    /// Runs `batches` and sends each outcome to `out` as it completes.
    pub async fn run(&self, batches: Vec<Vec<EntityRef>>, out: mpsc::Sender<Outcome>) {
        let workers = self.instances.min(batches.len()).max(1);
        let queue = Arc::new(Mutex::new(VecDeque::from(batches)));
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let worker = Worker {
                plugin: self.plugin.clone(),
                grants: self.grants.clone(),
                config: self.config.clone(),
                queue: queue.clone(),
                out: out.clone(),
            };
            handles.push(tokio::spawn(worker.run()));
        }
        for handle in handles {
            if let Err(err) = handle.await {
                tracing::error!(error = %err, "a worker task ended abnormally");
            }
        }
    }
}

struct Worker {
    plugin: Arc<Plugin>,
    grants: Grants,
    config: Arc<str>,
    queue: Arc<Mutex<VecDeque<Vec<EntityRef>>>>,
    out: mpsc::Sender<Outcome>,
}

impl Worker {
    fn next(&self) -> Option<Vec<EntityRef>> {
        self.queue.lock().ok()?.pop_front()
    }

    async fn run(self) {
        let mut instance: Option<Instance> = None;
        while let Some(refs) = self.next() {
            if instance.is_none() {
                match self.plugin.instantiate(&self.grants).await {
                    Ok(fresh) => instance = Some(fresh),
                    Err(fault) => {
                        let reason = fault.to_string();
                        let outcome =
                            Outcome::Failed { refs, error: "fault", reason, faulted: true, effort: Effort::default() };
                        let _ = self.out.send(outcome).await;
                        continue;
                    }
                }
            }
            let Some(current) = instance.as_mut() else { continue };
            let (outcome, faulted) = self.process(current, refs).await;
            if faulted {
                instance = None;
            }
            if self.out.send(outcome).await.is_err() {
                return;
            }
        }
    }

    /// Runs one batch, retrying transient failures; returns whether the
    /// instance faulted (and must be replaced).
    async fn process(&self, instance: &mut Instance, refs: Vec<EntityRef>) -> (Outcome, bool) {
        let started = Instant::now();
        let queries_before = instance.queries();
        let mut retries = 0;
        let effort = |instance: &Instance, retries| Effort {
            retries,
            queries: instance.queries() - queries_before,
            elapsed: started.elapsed(),
        };
        loop {
            match instance.process(&self.config, &refs).await {
                Ok(Ok(batch)) => {
                    let outcome = Outcome::Done { batch, refs: refs.len(), effort: effort(instance, retries) };
                    return (outcome, false);
                }
                Ok(Err(failure)) if failure.kind == ErrorKind::Transient && retries < TRANSIENT_RETRIES => {
                    retries += 1;
                    tracing::debug!(plugin = %self.grants.plugin, error = %failure.message, retries, "retrying a batch");
                    tokio::time::sleep(Duration::from_millis(250 * u64::from(retries * retries))).await;
                }
                Ok(Err(failure)) => {
                    let reason = self.grants.redactor.redact(&failure.message);
                    let error = error_kind(&failure);
                    let outcome =
                        Outcome::Failed { refs, error, reason, faulted: false, effort: effort(instance, retries) };
                    return (outcome, false);
                }
                Err(fault) => {
                    let reason = self.grants.redactor.redact(&fault.to_string());
                    tracing::warn!(plugin = %self.grants.plugin, "{reason}; replacing the instance");
                    let error = fault_kind(&fault);
                    let outcome =
                        Outcome::Failed { refs, error, reason, faulted: true, effort: effort(instance, retries) };
                    return (outcome, true);
                }
            }
        }
    }
}

pub fn error_kind(failure: &Failure) -> &'static str {
    match failure.kind {
        ErrorKind::Transient => "transient",
        ErrorKind::Permanent => "permanent",
        ErrorKind::Config => "config",
        ErrorKind::Denied => "denied",
    }
}

fn fault_kind(fault: &Fault) -> &'static str {
    match fault {
        Fault::Trap { .. } => "trap",
        Fault::Memory { .. } => "memory",
        Fault::Deadline { .. } => "deadline",
        Fault::Instantiate(_) => "fault",
    }
}
