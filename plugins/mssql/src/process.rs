//! Turning a batch of refs into entities: check the refs, then hand each
//! kind, database by database, to the module that reads it with a fixed
//! number of queries per database.

use crate::refs::{self, Wanted};
use crate::settings::Settings;
use crate::{connections, containers, procedures, tables};
use weir_sdk::log::{self, Level};
use weir_sdk::{Batch, EntityKind, EntityRef, ErrorKind, Result};

pub fn process(settings: &Settings, batch: Vec<EntityRef>) -> Result<Batch> {
    let mut out = Batch::default();
    for (kind, group) in refs::by_kind(batch) {
        let asked = group.len();
        let mut wanted = refs::wanted(kind, &group);
        let malformed = std::mem::take(&mut wanted.failures);
        let mut part = Batch::default();
        for (database, group) in wanted.by_database() {
            append(&mut part, in_database(settings, kind, &database, &group)?);
        }
        part.failures.extend(malformed);
        log_batch(kind, asked, &part);
        append(&mut out, part);
    }
    Ok(out)
}

/// The refs of one database, through that database's connection (a
/// database's own description included: it lives in its catalog). Not
/// being allowed to reach the database (no `ingestAllDatabases`, or the
/// host refusing its label) fails its refs, not the batch; any other error
/// fails the batch, which the host retries when it is transient.
fn in_database(settings: &Settings, kind: EntityKind, database: &str, wanted: &Wanted) -> Result<Batch> {
    let conn = match connections::open_database(settings, database) {
        Ok(conn) => conn,
        Err(e) if matches!(e.kind, ErrorKind::Denied | ErrorKind::Permanent) => {
            let failures = wanted.paths.iter().map(|path| refs::failure(path, e.clone())).collect();
            return Ok(Batch { failures, ..Batch::default() });
        }
        Err(e) => return Err(e),
    };
    match kind {
        EntityKind::Database => containers::database(&conn, wanted),
        EntityKind::DatabaseSchema => containers::schemas(&conn, wanted),
        EntityKind::Table => tables::process(&conn, database, wanted),
        EntityKind::StoredProcedure => procedures::process(&conn, database, wanted),
        // `refs::wanted` keeps no path of any other kind.
        _ => Ok(Batch::default()),
    }
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
            ("kind", refs::kind_name(kind)),
            ("refs", &asked.to_string()),
            ("entities", &batch.entities.len().to_string()),
            ("deferred", &batch.deferred.len().to_string()),
            ("failures", &batch.failures.len().to_string()),
        ],
    );
}
