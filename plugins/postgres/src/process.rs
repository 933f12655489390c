//! Turning a batch of refs into entities: check the refs, then hand each
//! kind to the module that reads it with a fixed number of queries.

use crate::settings::Settings;
use crate::{containers, refs, tables};
use weir_sdk::log::{self, Level};
use weir_sdk::sql::Connection;
use weir_sdk::{Batch, EntityKind, EntityRef, Result};

pub fn process(conn: &Connection, settings: &Settings, batch: Vec<EntityRef>) -> Result<Batch> {
    let mut out = Batch::default();
    for (kind, group) in refs::by_kind(batch) {
        let asked = group.len();
        let wanted = refs::wanted(&settings.database, kind, &group);
        let mut part = if wanted.paths.is_empty() {
            Batch::default()
        } else {
            match kind {
                EntityKind::Database => containers::databases(conn, &wanted)?,
                EntityKind::DatabaseSchema => containers::schemas(conn, &wanted)?,
                EntityKind::Table => tables::process(conn, &settings.database, &wanted)?,
                // `refs::wanted` keeps no path of any other kind.
                _ => Batch::default(),
            }
        };
        part.failures.extend(wanted.failures);
        log_batch(kind, asked, &part);
        out.entities.append(&mut part.entities);
        out.deferred.append(&mut part.deferred);
        out.failures.append(&mut part.failures);
    }
    Ok(out)
}

fn log_batch(kind: EntityKind, asked: usize, batch: &Batch) {
    log::log(
        Level::Debug,
        "batch processed",
        &[
            ("kind", refs::kind_name(kind)),
            ("refs", &asked.to_string()),
            ("entities", &batch.entities.len().to_string()),
            ("deferred", &batch.deferred.len().to_string()),
            ("failures", &batch.failures.len().to_string()),
        ],
    );
}
