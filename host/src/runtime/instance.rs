//! One sandboxed plugin instance: its own Store, an empty WASI context,
//! a memory cap and a deadline on every call.

use super::adapt::convert;
use super::into_model::{IntoModel, refs_into_contract};
use super::limits::Limits;
use crate::caps::{CapabilityState, CapabilityView};
use crate::contract::{self, v0_2_1};
use crate::model::Kind;
use crate::model::entity::{Batch, EntityRef, ErrorKind, Failure, PluginInfo};
use std::fmt;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// How much of a plugin's stderr is kept to explain a trap.
const STDERR_CAPACITY: usize = 64 * 1024;

/// Everything a Store holds for one instance.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryCap,
    stderr: MemoryOutputPipe,
    caps: CapabilityState,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl CapabilityView for HostState {
    fn capabilities(&mut self) -> &mut CapabilityState {
        &mut self.caps
    }
}

/// Caps linear memory growth and remembers that it did, so the report can
/// say "memory limit" instead of a bare trap.
struct MemoryCap {
    max: usize,
    refused: Option<usize>,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.refused = Some(desired);
            wasmtime::bail!("memory limit of {} MiB exceeded (asked for {} MiB)", self.max >> 20, desired >> 20);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// Why a call into a plugin did not return. After a fault the instance is
/// unusable: drop it and instantiate a new one.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The plugin panicked: the panic's message and where.
    Panic { message: String, location: String },
    /// The plugin trapped otherwise (an out-of-bounds access, ...).
    Trap { message: String, stderr: String },
    /// The plugin tried to grow its memory past the cap.
    Memory { message: String },
    /// The call ran past its wall-clock deadline and was stopped.
    Deadline { call: &'static str, secs: u64 },
    /// The instance could not be created.
    Instantiate(String),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Panic { message, location } => write!(f, "plugin panicked: {message} (at {location})"),
            Fault::Trap { message, stderr } if stderr.is_empty() => write!(f, "plugin trapped: {message}"),
            Fault::Trap { message, stderr } => write!(f, "plugin trapped: {message}; stderr: {stderr}"),
            Fault::Memory { message } => write!(f, "plugin stopped: {message}"),
            Fault::Deadline { call, secs } => {
                write!(f, "plugin stopped: `{call}` ran past its deadline of {secs} s")
            }
            Fault::Instantiate(message) => write!(f, "plugin could not be instantiated: {message}"),
        }
    }
}

impl std::error::Error for Fault {}

/// A plugin ready to instantiate, through the bindings of its contract.
pub enum Pre {
    Current(contract::ConnectorPre<HostState>),
    V0_2_1(v0_2_1::ConnectorPre<HostState>),
}

impl Pre {
    fn engine(&self) -> &wasmtime::Engine {
        match self {
            Pre::Current(pre) => pre.engine(),
            Pre::V0_2_1(pre) => pre.engine(),
        }
    }
}

enum Bindings {
    Current(contract::Connector),
    V0_2_1(v0_2_1::Connector),
}

pub struct Instance {
    store: Store<HostState>,
    bindings: Bindings,
    limits: Limits,
}

/// A value an older plugin gave or is given that its contract cannot
/// carry: a fault of the call, as a malformed answer would be.
fn mismatch(call: &'static str) -> impl Fn(String) -> wasmtime::Error {
    move |e| wasmtime::Error::msg(format!("`{call}` through the 0.2.1 contract: {e}"))
}

impl Instance {
    pub async fn new(pre: &Pre, caps: CapabilityState, limits: &Limits) -> Result<Instance, Fault> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        // Nothing granted: no args, env, preopens, network, stdin.
        let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).allow_ip_name_lookup(false).build();
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryCap { max: limits.memory_bytes(), refused: None },
            stderr,
            caps,
        };
        let mut store = Store::new(pre.engine(), state);
        store.limiter(|s| &mut s.memory);
        // What the host takes out of the plugin in one call (a `discover`
        // answer, a page of refs, a batch) can be as large as the plugin's
        // memory, no larger: wasmtime's own default is 128 MiB.
        store.set_hostcall_fuel(limits.memory_bytes());
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        let instantiated = |e: wasmtime::Error| Fault::Instantiate(format!("{e:#}"));
        let bindings = match pre {
            Pre::Current(pre) => Bindings::Current(pre.instantiate_async(&mut store).await.map_err(instantiated)?),
            Pre::V0_2_1(pre) => Bindings::V0_2_1(pre.instantiate_async(&mut store).await.map_err(instantiated)?),
        };
        Ok(Instance { store, bindings, limits: limits.clone() })
    }

    pub async fn describe(&mut self) -> Result<PluginInfo, Fault> {
        let deadline = self.limits.describe_timeout();
        let store = &mut self.store;
        let call = async {
            match &self.bindings {
                Bindings::Current(b) => b.call_describe(store).await,
                Bindings::V0_2_1(b) => {
                    let info = b.call_describe(store).await?;
                    convert(&info).map_err(mismatch("describe"))
                }
            }
        };
        let outcome = tokio::time::timeout(deadline, call).await;
        self.outcome_or_fault("describe", outcome).map(IntoModel::into_model)
    }

    /// The refs of one kind: those the plugin emitted in pages while the
    /// call ran, then those it returned.
    pub async fn discover(&mut self, config: &str, kind: Kind) -> Result<Result<Vec<EntityRef>, Failure>, Fault> {
        let deadline = self.limits.call_timeout();
        self.store.data_mut().caps.discovery.open(self.limits.max_refs);
        let store = &mut self.store;
        let call = async {
            match &self.bindings {
                Bindings::Current(b) => b.call_discover(store, config, kind.into()).await,
                Bindings::V0_2_1(b) => {
                    let kind: v0_2_1::types::EntityKind =
                        convert(&contract::types::EntityKind::from(kind)).map_err(mismatch("discover"))?;
                    let refs = b.call_discover(store, config, kind).await?;
                    convert(&refs).map_err(mismatch("discover"))
                }
            }
        };
        let outcome = tokio::time::timeout(deadline, call).await;
        // Same layout on both sides: the conversion reuses the list's memory.
        let mut refs = self.store.data_mut().caps.discovery.take().into_model();
        let returned = self.outcome_or_fault("discover", outcome)?.into_model();
        self.store.data_mut().caps.sql.end_call().await;
        Ok(returned.and_then(|more| {
            if (refs.len() + more.len()) as u64 > self.limits.max_refs {
                return Err(Failure {
                    kind: ErrorKind::Config,
                    message: format!(
                        "discover listed more than {} references (weir.limits.maxRefs)",
                        self.limits.max_refs
                    ),
                });
            }
            refs.extend(more);
            Ok(refs)
        }))
    }

    pub async fn process(&mut self, config: &str, refs: &[EntityRef]) -> Result<Result<Batch, Failure>, Fault> {
        let deadline = self.limits.call_timeout();
        let refs = refs_into_contract(refs);
        let store = &mut self.store;
        let call = async {
            match &self.bindings {
                Bindings::Current(b) => b.call_process(store, config, &refs).await,
                Bindings::V0_2_1(b) => {
                    let refs: Vec<v0_2_1::types::EntityRef> = convert(&refs).map_err(mismatch("process"))?;
                    let batch = b.call_process(store, config, &refs).await?;
                    convert(&batch).map_err(mismatch("process"))
                }
            }
        };
        let outcome = tokio::time::timeout(deadline, call).await;
        let batch = self.outcome_or_fault("process", outcome)?.into_model();
        // After a fault the instance is dropped, its sessions closed.
        self.store.data_mut().caps.sql.end_call().await;
        Ok(batch)
    }

    /// Names the shard later log lines of this instance belong to.
    pub fn set_shard(&mut self, shard: Option<std::sync::Arc<str>>) {
        self.store.data_mut().caps.log.set_shard(shard);
    }

    /// Statements this instance has sent so far.
    pub fn queries(&self) -> u64 {
        self.store.data().caps.sql.queries()
    }

    fn outcome_or_fault<T>(
        &mut self,
        call: &'static str,
        outcome: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, Fault> {
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Err(_) => Err(Fault::Deadline {
                call,
                secs: if call == "describe" {
                    self.limits.describe_timeout().as_secs()
                } else {
                    self.limits.call_timeout().as_secs()
                },
            }),
            Ok(Err(err)) => {
                let state = self.store.data();
                if state.memory.refused.is_some() {
                    return Err(Fault::Memory { message: root_message(&err) });
                }
                let stderr = String::from_utf8_lossy(&state.stderr.contents()).to_string();
                Err(trap(&err, &stderr))
            }
        }
    }
}

/// What a trap tells the user: a Rust panic's own message and place (the
/// panic hook's lines on stderr), else the trap's cause and stderr. The
/// wasm frames go to the debug log (`-v`) only, and the hook's
/// `RUST_BACKTRACE` hint, which nothing in the sandbox can act on, is
/// dropped.
fn trap(err: &wasmtime::Error, stderr: &str) -> Fault {
    tracing::debug!(frames = %format!("{err:?}"), "the plugin trapped");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE")).collect();
    if let Some(at) = lines.iter().position(|l| l.contains(" panicked at ")) {
        let location = lines[at].split(" panicked at ").nth(1).unwrap_or_default().trim_end_matches(':');
        let message = lines[at + 1..].join("\n").trim().to_string();
        return Fault::Panic { message, location: location.to_string() };
    }
    Fault::Trap { message: err.root_cause().to_string(), stderr: lines.join("\n").trim().to_string() }
}

/// The innermost cause of a wasmtime error, which is the part a user can
/// act on ("wasm `unreachable` instruction executed", "memory limit ...").
fn root_message(err: &wasmtime::Error) -> String {
    let outer = err.to_string();
    let inner = err.root_cause().to_string();
    if inner == outer { outer } else { format!("{outer}: {inner}") }
}
