//! Discovery in pages (`weir:connector/discovery`): a plugin with a large
//! catalog hands references over while `discover` runs, so its memory holds
//! one page at a time. The host gathers them for the call under way.

use crate::caps::Grants;
use crate::contract::types::EntityRef;
use crate::contract::weir::connector::discovery::Host;
use std::sync::Arc;

/// References emitted during one `discover` call.
pub struct DiscoveryState {
    plugin: Arc<str>,
    /// `Some` while a `discover` call runs.
    refs: Option<Vec<EntityRef>>,
    /// At most this many per call (`weir.limits.maxRefs`).
    limit: u64,
}

impl DiscoveryState {
    pub fn new(grants: &Grants) -> Self {
        DiscoveryState { plugin: grants.plugin.clone(), refs: None, limit: 0 }
    }

    /// Opens the list for a `discover` call that may list `limit` refs.
    pub fn open(&mut self, limit: u64) {
        self.refs = Some(Vec::new());
        self.limit = limit;
    }

    /// What the call emitted; closes the list.
    pub fn take(&mut self) -> Vec<EntityRef> {
        self.refs.take().unwrap_or_default()
    }
}

impl Host for DiscoveryState {
    async fn emit(&mut self, refs: Vec<EntityRef>) -> wasmtime::Result<()> {
        let emitted = self;
        let Some(list) = emitted.refs.as_mut() else {
            tracing::warn!(plugin = %emitted.plugin, refs = refs.len(), "the plugin emitted refs outside discover; ignored");
            return Ok(());
        };
        if (list.len() + refs.len()) as u64 > emitted.limit {
            // A trap, not a value: the call cannot go on, and its instance
            // is dropped with what it gathered.
            wasmtime::bail!("discover listed more than {} references (weir.limits.maxRefs)", emitted.limit);
        }
        list.extend(refs);
        Ok(())
    }
}
