//! The scheduler: N sandboxed instances pulling shards from one queue.
//!
//! Each worker owns at most one instance at a time and keeps it across
//! shards; only a fault (trap, memory cap, deadline) replaces it. A shard
//! that faults is retried once on a fresh instance, then bisected until the
//! entity that causes the fault stands alone: that entity fails with the
//! fault's message, every other one is processed normally.
//!
//! Transient failures, of a whole call or of single entities, are retried
//! with exponential backoff and jitter; other failures are final at once.
//! Results go to the sink through a bounded channel, so a slow sink slows
//! the plugins down instead of filling memory.

use super::shard::Shard;
use crate::caps::Grants;
use crate::model::WorkCost;
use crate::model::entity::{Batch, EntityRef, ErrorKind, Failure};
use crate::retry::RetryPolicy;
use crate::runtime::{Fault, Instance, Plugin};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;

/// What the scheduler tells the sink, in the order things happen.
pub enum Event {
    /// A `process` call's answer for `refs` of shard `shard` (an index into
    /// the shards handed to [`Scheduler::run`]).
    Batch { shard: usize, refs: Vec<EntityRef>, batch: Batch, cost: WorkCost },
    /// `refs` failed together, for one reason.
    Failed { shard: usize, refs: Vec<EntityRef>, error: &'static str, reason: String, cost: WorkCost },
    /// A shard is finished; `cancelled` refs of it never ran because the
    /// run was stopped.
    ShardDone { shard: usize, instances: Vec<String>, started: Instant, ended: Instant, cancelled: usize },
}

pub struct Scheduler {
    pub plugin: Arc<Plugin>,
    pub grants: Grants,
    pub config: Arc<str>,
    pub instances: usize,
    /// Refs per `process` call; a larger shard takes several calls.
    pub batch_size: usize,
    pub retry: RetryPolicy,
    /// Set to stop the run: running calls finish, nothing new starts.
    pub stop: Arc<AtomicBool>,
    /// Stop once more entities than this have failed. Checked here as
    /// failures are sent, so no new call starts after the one that crossed
    /// the line; the sink keeps the exact count.
    pub max_failures: Option<usize>,
    failed: AtomicUsize,
    /// Instances between shard groups, so they outlive a group.
    pub idle: Arc<Mutex<Vec<WorkerInstance>>>,
    next_instance: Arc<AtomicUsize>,
}

/// An instance with the id reports know it by (`i3`).
pub struct WorkerInstance {
    pub id: String,
    pub instance: Instance,
}

impl Scheduler {
    pub fn new(plugin: Arc<Plugin>, grants: Grants, config: Arc<str>, instances: usize) -> Scheduler {
        Scheduler {
            plugin,
            grants,
            config,
            instances: instances.max(1),
            batch_size: super::shard::DEFAULT_SHARD_SIZE,
            retry: RetryPolicy::default(),
            stop: Arc::new(AtomicBool::new(false)),
            max_failures: None,
            failed: AtomicUsize::new(0),
            idle: Arc::new(Mutex::new(Vec::new())),
            next_instance: Arc::new(AtomicUsize::new(1)),
        }
    }

    /// A fresh instance with the next id.
    pub async fn instantiate(&self) -> Result<WorkerInstance, Fault> {
        let instance = self.plugin.instantiate(&self.grants).await?;
        let id = format!("i{}", self.next_instance.fetch_add(1, Ordering::Relaxed));
        tracing::debug!(plugin = %self.grants.plugin, instance = %id, "instance created");
        Ok(WorkerInstance { id, instance })
    }

    /// Hands an instance back for later shards.
    pub fn park(&self, named: WorkerInstance) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(named);
        }
    }

    /// Drops the parked instances once no shard is left: their memory, and
    /// the connections a plugin kept in them, which the pools wait for
    /// before they can close.
    pub fn retire(&self) {
        let retired: Vec<WorkerInstance> =
            self.idle.lock().map(|mut idle| idle.drain(..).collect()).unwrap_or_default();
        drop(retired);
    }

    /// Runs `shards` (all of one kind) and reports everything to `out` as
    /// it happens. Returns when every shard is done or cancelled.
    pub async fn run(self: &Arc<Self>, shards: Arc<Vec<Shard>>, out: mpsc::Sender<Event>) {
        let workers = self.instances.min(shards.len()).max(1);
        let queue = Arc::new(Mutex::new((0..shards.len()).collect::<VecDeque<usize>>()));
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let worker = Worker {
                scheduler: self.clone(),
                shards: shards.clone(),
                queue: queue.clone(),
                out: out.clone(),
                instance: None,
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
    scheduler: Arc<Scheduler>,
    shards: Arc<Vec<Shard>>,
    queue: Arc<Mutex<VecDeque<usize>>>,
    out: mpsc::Sender<Event>,
    instance: Option<WorkerInstance>,
}

/// The sink went away: nothing more to do.
struct Closed;

impl Worker {
    fn next(&self) -> Option<usize> {
        self.queue.lock().ok()?.pop_front()
    }

    async fn run(mut self) {
        self.instance = self.scheduler.idle.lock().ok().and_then(|mut idle| idle.pop());
        while let Some(index) = self.next() {
            if self.shard(index).await.is_err() {
                break;
            }
        }
        if let Some(named) = self.instance.take() {
            self.scheduler.park(named);
        }
    }

    async fn shard(&mut self, index: usize) -> Result<(), Closed> {
        let shards = self.shards.clone();
        let shard = &shards[index];
        let started = Instant::now();
        let label: Arc<str> = Arc::from(shard.id.as_str());
        let mut used: Vec<String> = Vec::new();
        let mut cancelled = 0;
        let refs = shard.entity_refs();
        for chunk in refs.chunks(self.scheduler.batch_size.max(1)) {
            if self.scheduler.stop.load(Ordering::Relaxed) {
                cancelled += chunk.len();
                continue;
            }
            self.isolate(index, &label, chunk.to_vec(), &mut used).await?;
        }
        if let Some(named) = &mut self.instance {
            named.instance.set_shard(None);
        }
        let done = Event::ShardDone { shard: index, instances: used, started, ended: Instant::now(), cancelled };
        self.send(done).await
    }

    /// Runs refs, replacing the instance after a fault: the whole set is
    /// retried once, then halved until the faulting entity stands alone.
    async fn isolate(
        &mut self,
        shard: usize,
        label: &Arc<str>,
        refs: Vec<EntityRef>,
        used: &mut Vec<String>,
    ) -> Result<(), Closed> {
        let plugin = self.scheduler.grants.plugin.clone();
        // (refs, whether they faulted once already); last in, first out.
        let mut work: Vec<(Vec<EntityRef>, bool)> = vec![(refs, false)];
        while let Some((refs, faulted_before)) = work.pop() {
            let (fault, refs, cost) = match self.attempt(shard, label, refs, used).await? {
                None => continue,
                Some(faulted) => faulted,
            };
            let reason = self.scheduler.grants.redactor.redact(&fault.to_string());
            if matches!(fault, Fault::Instantiate(_)) {
                // Nothing to do with the refs: they all fail with it.
                let failed = Event::Failed { shard, refs, error: "fault", reason, cost };
                self.send(failed).await?;
                continue;
            }
            if refs.len() == 1 && faulted_before {
                // Warned about with its FQN when the failure is recorded.
                tracing::debug!(plugin = %plugin, shard = %label, entity = %refs[0].path.join("."), "{reason}");
                let failed = Event::Failed { shard, refs, error: fault_kind(&fault), reason, cost };
                self.send(failed).await?;
                continue;
            }
            // Each step of the bisection at -v; the entity at fault is
            // warned about once, when its failure is recorded.
            tracing::debug!(plugin = %plugin, shard = %label, refs = refs.len(), "{reason}; isolating the cause");
            // The cost so far is reported with an empty result, so the
            // retry and fault counts are not lost.
            self.send(Event::Batch { shard, refs: Vec::new(), batch: empty_batch(), cost }).await?;
            if !faulted_before {
                work.push((refs, true));
            } else {
                let mut first = refs;
                let second = first.split_off(first.len() / 2);
                work.push((second, true));
                work.push((first, true));
            }
        }
        Ok(())
    }

    /// One set of refs through `process`, with transient retries. Returns
    /// the fault, if one stopped it, with the refs it was processing then.
    async fn attempt(
        &mut self,
        shard: usize,
        label: &Arc<str>,
        mut refs: Vec<EntityRef>,
        used: &mut Vec<String>,
    ) -> Result<Option<(Fault, Vec<EntityRef>, WorkCost)>, Closed> {
        let mut started = Instant::now();
        let mut cost = WorkCost::default();
        // Retries so far, across events (each event counts its own).
        let policy = self.scheduler.retry.clone();
        let mut backoff = policy.backoff();
        loop {
            let named = match self.instance.take() {
                Some(named) => named,
                None => match self.scheduler.instantiate().await {
                    Ok(named) => named,
                    Err(fault) => {
                        cost.elapsed = started.elapsed();
                        return Ok(Some((fault, refs, cost)));
                    }
                },
            };
            let WorkerInstance { id, mut instance } = named;
            if used.last() != Some(&id) {
                used.push(id.clone());
            }
            instance.set_shard(Some(label.clone()));
            let queries = instance.queries();
            let answer = instance.process(&self.scheduler.config, &refs).await;
            cost.calls += 1;
            cost.queries += instance.queries() - queries;
            cost.elapsed = started.elapsed();
            match answer {
                Err(fault) => {
                    // The instance is unusable: dropped here, a fresh one
                    // is made for the next call.
                    cost.faults += 1;
                    return Ok(Some((fault, refs, cost)));
                }
                Ok(Ok(mut batch)) => {
                    self.instance = Some(WorkerInstance { id, instance });
                    let again = if backoff.can_retry() { take_transient(&mut batch, &refs) } else { vec![] };
                    // The refs to retry are answered later, by the retry.
                    let mut retried = vec![false; refs.len()];
                    for i in again {
                        retried[i] = true;
                    }
                    let (mut again, mut answered) = (Vec::new(), Vec::new());
                    for (r, retry) in std::mem::take(&mut refs).into_iter().zip(retried) {
                        if retry { again.push(r) } else { answered.push(r) }
                    }
                    let done = Event::Batch { shard, refs: answered, batch, cost };
                    self.send(done).await?;
                    if again.is_empty() {
                        return Ok(None);
                    }
                    let wait = backoff.next(None).unwrap_or_default();
                    cost = WorkCost { retries: 1, ..WorkCost::default() };
                    tracing::debug!(shard = %label, refs = again.len(), "retrying entities that failed transiently");
                    tokio::time::sleep(wait).await;
                    started = Instant::now();
                    refs = again;
                }
                Ok(Err(failure)) if failure.kind == ErrorKind::Transient && backoff.can_retry() => {
                    self.instance = Some(WorkerInstance { id, instance });
                    let wait = backoff.next(None).unwrap_or_default();
                    cost.retries += 1;
                    let message = self.scheduler.grants.redactor.redact(&failure.message);
                    tracing::debug!(shard = %label, retries = backoff.retries(), "retrying after: {message}");
                    tokio::time::sleep(wait).await;
                }
                Ok(Err(failure)) => {
                    self.instance = Some(WorkerInstance { id, instance });
                    let reason = self.scheduler.grants.redactor.redact(&failure.message);
                    let failed = Event::Failed { shard, refs, error: error_kind(&failure), reason, cost };
                    self.send(failed).await?;
                    return Ok(None);
                }
            }
        }
    }

    // `&mut self`: a `&self` held across the await would need the worker
    // (and its instance) to be `Sync`.
    async fn send(&mut self, event: Event) -> Result<(), Closed> {
        let failed = match &event {
            Event::Failed { refs, .. } => refs.len(),
            Event::Batch { batch, .. } => batch.failures.len(),
            Event::ShardDone { .. } => 0,
        };
        let scheduler = &self.scheduler;
        if let Some(max) = scheduler.max_failures
            && failed > 0
            && scheduler.failed.fetch_add(failed, Ordering::Relaxed) + failed > max
        {
            scheduler.stop.store(true, Ordering::Relaxed);
        }
        self.out.send(event).await.map_err(|_| Closed)
    }
}

/// Removes the batch's transient entity failures and returns the indexes
/// of the refs they name, to be processed again.
fn take_transient(batch: &mut Batch, refs: &[EntityRef]) -> Vec<usize> {
    if !batch.failures.iter().any(|f| f.error.kind == ErrorKind::Transient) {
        return Vec::new();
    }
    let mut by_path: HashMap<&[String], Vec<usize>> = HashMap::new();
    for (i, r) in refs.iter().enumerate() {
        by_path.entry(r.path.as_slice()).or_default().push(i);
    }
    let mut again = Vec::new();
    batch.failures.retain(|f| {
        if f.error.kind != ErrorKind::Transient {
            return true;
        }
        match by_path.get_mut(f.path.as_slice()).and_then(Vec::pop) {
            Some(i) => {
                again.push(i);
                false
            }
            // Not one of ours: reported as it is.
            None => true,
        }
    });
    again
}

fn empty_batch() -> Batch {
    Batch { entities: Vec::new(), deferred: Vec::new(), failures: Vec::new() }
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
        Fault::Trap { .. } | Fault::Panic { .. } => "trap",
        Fault::Memory { .. } => "memory",
        Fault::Deadline { .. } => "deadline",
        Fault::Instantiate(_) => "fault",
    }
}
