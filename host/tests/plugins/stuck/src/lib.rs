//! `stuck`: a test-only connector whose `describe` never returns, so the
//! host's tests can prove that loading a plugin is bounded in time.

use std::hint::black_box;
use weir_sdk::*;

struct Stuck;

impl Connector for Stuck {
    fn new() -> Self {
        Stuck
    }

    fn describe() -> PluginInfo {
        loop {
            black_box(());
        }
    }

    fn discover(&mut self, _config: &Config, _kind: EntityKind) -> Result<Vec<EntityRef>> {
        Ok(Vec::new())
    }

    fn process(&mut self, _config: &Config, _refs: Vec<EntityRef>) -> Result<Batch> {
        Ok(Batch::default())
    }
}

export_connector!(Stuck);
