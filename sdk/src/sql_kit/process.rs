//! Turning a batch of refs into entities: check the refs, then hand each
//! kind, database by database, to the connector, which reads it with a
//! fixed number of queries per database.

use super::{Settings, SqlConnector, Wanted, failure};
use crate::log::{self, Level};
use crate::refs::{by_kind, kind_name};
use crate::{Batch, EntityKind, EntityRef, ErrorKind, Result};

pub(super) fn process<C: SqlConnector>(settings: &Settings<C::Pattern>, batch: Vec<EntityRef>) -> Result<Batch> {
    let mut out = Batch::default();
    for (kind, group) in by_kind(batch) {
        let asked = group.len();
        let mut wanted = Wanted::check(&C::ENGINE, kind, &group);
        let malformed = std::mem::take(&mut wanted.failures);
        let mut part = if kind == EntityKind::Database {
            C::process_databases(settings, wanted)?
        } else {
            per_database::<C>(settings, kind, wanted)?
        };
        part.failures.extend(malformed);
        log_batch(kind, asked, &part);
        append(&mut out, part);
    }
    Ok(out)
}

/// The refs of each database, through that database's connection. Not
/// being allowed to reach a database (no `ingestAllDatabases`, or the host
/// refusing its label) fails its refs, not the batch; any other error
/// fails the batch, which the host retries when it is transient.
pub fn per_database<C: SqlConnector>(
    settings: &Settings<C::Pattern>,
    kind: EntityKind,
    wanted: Wanted,
) -> Result<Batch> {
    let mut out = Batch::default();
    for (database, wanted) in wanted.by_database() {
        let part = match C::ENGINE.open_database(settings, &database) {
            Ok(conn) => C::process_in(&conn, &database, kind, &wanted)?,
            Err(e) if matches!(e.kind, ErrorKind::Denied | ErrorKind::Permanent) => {
                let failures = wanted.paths.iter().map(|path| failure(path, e.clone())).collect();
                Batch { failures, ..Batch::default() }
            }
            Err(e) => return Err(e),
        };
        append(&mut out, part);
    }
    Ok(out)
}

fn append(out: &mut Batch, mut part: Batch) {
    out.entities.append(&mut part.entities);
    out.deferred.append(&mut part.deferred);
    out.failures.append(&mut part.failures);
}

fn log_batch(kind: EntityKind, asked: usize, batch: &Batch) {
    log::log(
        Level::Debug,
        "batch processed",
        &[
            ("kind", kind_name(kind)),
            ("refs", &asked.to_string()),
            ("entities", &batch.entities.len().to_string()),
            ("deferred", &batch.deferred.len().to_string()),
            ("failures", &batch.failures.len().to_string()),
        ],
    );
}
