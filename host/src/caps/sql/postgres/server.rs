//! What the host learns about a PostgreSQL server once per run, on the
//! connection that checks the workflow's credentials: whether the role is
//! one a plugin may be handed, which built-ins a statement may call, and
//! how many sessions weir may take.

use super::read_only::{FunctionPolicy, STABLE_BUILT_INS};
use crate::caps::sql::SqlSettings;
use sqlx::postgres::PgConnection;
use sqlx::{Row, postgres::PgRow};

/// Predefined roles whose members can reach the server's files, programs
/// or other sessions from a plain SELECT.
const RISKY_ROLES: [&str; 4] =
    ["pg_execute_server_program", "pg_write_server_files", "pg_read_server_files", "pg_signal_backend"];

/// The role, and the server's connection slots.
const ROLE_AND_SLOTS: &str = "\
SELECT r.rolname::text, r.rolsuper, r.rolreplication, r.rolbypassrls,
       ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_roles AS g
             WHERE g.oid <> r.oid
               AND (g.rolsuper OR g.rolreplication OR g.rolbypassrls OR g.rolname = ANY($1))
               AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER')
             ORDER BY 1) AS memberships,
       pg_catalog.current_setting('max_connections')::int,
       pg_catalog.current_setting('superuser_reserved_connections')::int
         + coalesce(pg_catalog.current_setting('reserved_connections', true), '0')::int,
       (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend')::int
FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user";

/// The facts, as read.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    pub role: String,
    /// Why the role may do more than read; empty for a plain reader.
    pub privileges: Vec<String>,
    pub functions: FunctionPolicy,
    pub slots: Slots,
}

/// The server's connection slots when the run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    /// `max_connections`.
    pub max: u32,
    /// Kept for superusers and `pg_use_reserved_connections`.
    pub reserved: u32,
    /// Client sessions open, the checking one included.
    pub in_use: u32,
}

impl Slots {
    /// Slots another client could still take, not counting the session
    /// that asked.
    pub fn free(&self) -> u32 {
        self.max.saturating_sub(self.reserved).saturating_sub(self.in_use.saturating_sub(1))
    }

    /// Sessions weir may hold at once: its share of the free slots, at
    /// least one, never more than it asked for.
    pub fn budget(&self, wanted: u32, share: f64) -> u32 {
        let allowed = (f64::from(self.free()) * share.clamp(0.0, 1.0)).floor() as u32;
        wanted.min(allowed).max(1)
    }
}

/// Reads the facts on `conn`.
pub async fn inspect(conn: &mut PgConnection) -> Result<ServerFacts, sqlx::Error> {
    let risky: Vec<String> = RISKY_ROLES.iter().map(|r| r.to_string()).collect();
    let row: PgRow = sqlx::query(ROLE_AND_SLOTS).bind(risky).fetch_one(&mut *conn).await?;
    let role: String = row.try_get(0)?;
    let mut attributes = Vec::new();
    for (i, attribute) in [(1, "SUPERUSER"), (2, "REPLICATION"), (3, "BYPASSRLS")] {
        if row.try_get::<bool, _>(i)? {
            attributes.push(attribute);
        }
    }
    let mut privileges = Vec::new();
    if !attributes.is_empty() {
        privileges.push(format!("has {}", attributes.join(", ")));
    }
    // A superuser is a member of every role; naming them all says nothing.
    if !attributes.contains(&"SUPERUSER") {
        let memberships: Vec<String> = row.try_get(4)?;
        privileges.extend(memberships.into_iter().map(|g| format!("is a member of {g}")));
    }
    let count = |i: usize| row.try_get::<i32, _>(i).map(|v| u32::try_from(v).unwrap_or(0));
    let slots = Slots { max: count(5)?, reserved: count(6)?, in_use: count(7)? };
    let stable: Vec<String> = sqlx::query_scalar(STABLE_BUILT_INS).fetch_all(&mut *conn).await?;
    Ok(ServerFacts { role, privileges, functions: FunctionPolicy::new(stable), slots })
}

impl ServerFacts {
    /// `Err` with the whole explanation when the role may do more than read
    /// and the workflow did not accept that; `Ok(Some(warning))` when it
    /// did.
    pub fn admit(&self, settings: &SqlSettings) -> Result<Option<String>, String> {
        if self.privileges.is_empty() {
            return Ok(None);
        }
        let why = self.privileges.join(", ");
        if settings.allow_privileged_role {
            return Ok(Some(format!(
                "PostgreSQL role `{}` {why}; weir.sql.allowPrivilegedRole accepts it, so only the host's statement \
                 check stands between the plugin and the server's files, programs and sessions",
                self.role
            )));
        }
        Err(format!(
            "PostgreSQL role `{role}` {why}: such a role can run programs, touch files or end other sessions on the \
             database server even inside a read-only transaction, so weir does not hand it to a plugin.\n\
             Connect as a role that can only read. Create one once, as a superuser:\n\n\
             \x20   CREATE ROLE weir_reader LOGIN PASSWORD '...';\n\
             \x20   GRANT pg_read_all_data TO weir_reader;   -- PostgreSQL 14 and later\n\n\
             (On PostgreSQL 12 and 13, instead of pg_read_all_data: GRANT USAGE ON SCHEMA s TO weir_reader; \
             GRANT SELECT ON ALL TABLES IN SCHEMA s TO weir_reader; for each schema.) The catalog itself is \
             readable by every role; without those grants, schemas and tables the role cannot read are skipped \
             with a warning.\n\
             To use `{role}` anyway, knowingly, set weir.sql.allowPrivilegedRole: true.",
            role = self.role
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_a_share_of_the_free_slots() {
        // The case reported: 100 slots, 3 reserved, a few in use, 200 asked.
        let slots = Slots { max: 100, reserved: 3, in_use: 4 };
        assert_eq!(slots.free(), 94);
        assert_eq!(slots.budget(200, 0.5), 47);
        assert_eq!(slots.budget(8, 0.5), 8, "never more than asked");
        assert_eq!(slots.budget(8, 1.0), 8);
        let full = Slots { max: 10, reserved: 3, in_use: 9 };
        assert_eq!(full.free(), 0);
        assert_eq!(full.budget(8, 0.5), 1, "one session, at least, to fail with the server's own message");
    }

    fn facts(privileges: &[&str]) -> ServerFacts {
        ServerFacts {
            role: "postgres".into(),
            privileges: privileges.iter().map(|p| p.to_string()).collect(),
            functions: FunctionPolicy::default(),
            slots: Slots { max: 100, reserved: 3, in_use: 1 },
        }
    }

    #[test]
    fn a_privileged_role_is_refused_with_the_sql_to_fix_it_unless_accepted() {
        let refused = facts(&["has SUPERUSER"]).admit(&SqlSettings::default()).unwrap_err();
        assert!(refused.starts_with("PostgreSQL role `postgres` has SUPERUSER:"), "{refused}");
        assert!(refused.contains("GRANT pg_read_all_data TO weir_reader"), "{refused}");
        assert!(refused.contains("weir.sql.allowPrivilegedRole: true"), "{refused}");
        let accepted = SqlSettings { allow_privileged_role: true, ..SqlSettings::default() };
        let warning = facts(&["has SUPERUSER"]).admit(&accepted).unwrap().unwrap();
        assert!(warning.contains("allowPrivilegedRole"), "{warning}");
        assert_eq!(facts(&[]).admit(&SqlSettings::default()), Ok(None));
    }
}
