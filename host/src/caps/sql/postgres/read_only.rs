//! PostgreSQL's rules for the host's read-only statement check
//! ([`crate::caps::sql::read_only`]).
//!
//! A read-only transaction stops writes to tables, not side effects: a
//! superuser's `COPY ... TO PROGRAM`, `pg_read_file`, `dblink_exec` or
//! `pg_terminate_backend` all run inside one. So the host lets through one
//! query that reads (`SELECT`, `VALUES`, `WITH` of those, or `SHOW name`)
//! and only functions that cannot change anything:
//!
//! - built-ins (`pg_catalog`) none of whose overloads the server marks
//!   volatile; the server says which, once per run;
//! - a few volatile built-ins that only read or wait (sizes, the partition
//!   tree, `pg_sleep`, `random`, ...);
//! - the SQL forms the parser sees as calls (`coalesce`, `current_user`).
//!
//! Families with side effects are refused by name even if a server marked
//! one of them stable. User-defined functions are refused: the check cannot
//! see what they do. What the check cannot see at all is code that runs
//! implicitly: a user-defined type's input function, cast or operator. A
//! role that cannot create those (anything but a superuser) closes that gap;
//! see the role check in `server.rs`.

use crate::caps::sql::read_only::{self, Rules, folded_parts};
use sqlparser::ast::ObjectName;
use sqlparser::dialect::PostgreSqlDialect;
use std::collections::HashSet;

/// Built-in functions a plugin statement may call on one server.
#[derive(Debug, Clone, Default)]
pub struct FunctionPolicy {
    /// `pg_catalog` function names with no volatile overload.
    stable: HashSet<String>,
}

/// The names of `pg_catalog` functions none of whose overloads is
/// volatile: what [`FunctionPolicy`] is built from.
pub const STABLE_BUILT_INS: &str = "SELECT p.proname::text FROM pg_catalog.pg_proc AS p \
     WHERE p.pronamespace = 'pg_catalog'::regnamespace \
     GROUP BY p.proname HAVING bool_and(p.provolatile <> 'v')";

/// Volatile built-ins that only read or wait.
const HARMLESS_VOLATILE: &[&str] = &[
    "clock_timestamp",
    "currval",
    "gen_random_uuid",
    "lastval",
    "pg_blocking_pids",
    "pg_collation_actual_version",
    "pg_current_wal_lsn",
    "pg_database_collation_actual_version",
    "pg_database_size",
    "pg_indexes_size",
    "pg_is_in_recovery",
    "pg_jit_available",
    "pg_last_wal_receive_lsn",
    "pg_last_wal_replay_lsn",
    "pg_last_xact_replay_timestamp",
    "pg_lock_status",
    "pg_partition_ancestors",
    "pg_partition_tree",
    "pg_relation_size",
    "pg_sequence_last_value",
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
    "pg_table_size",
    "pg_tablespace_size",
    "pg_total_relation_size",
    "random",
    "timeofday",
];

/// SQL syntax that the parser reads as a function call, though PostgreSQL
/// has no function of that name.
const SQL_FORMS: &[&str] = &[
    "array",
    "coalesce",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "greatest",
    "least",
    "localtime",
    "localtimestamp",
    "nullif",
    "row",
    "session_user",
    "user",
];

/// Families with side effects, refused whatever the server says of them:
/// (name prefix, what the family does).
const REFUSED_FAMILIES: &[(&str, &str)] = &[
    ("binary_upgrade_", "changes the catalog"),
    ("cursor_to_xml", "runs SQL given as text"),
    ("dblink", "reaches another database"),
    ("lo_", "reads and writes large objects and server files"),
    ("loread", "reads large objects"),
    ("lowrite", "writes large objects"),
    ("nextval", "advances a sequence"),
    ("pg_advisory", "takes advisory locks that outlive the transaction"),
    ("pg_backup_", "administers the server"),
    ("pg_cancel_backend", "signals another session"),
    ("pg_copy_", "creates replication slots"),
    ("pg_create_", "creates replication slots or restore points"),
    ("pg_current_xact_id", "assigns a transaction id (each one brings wraparound nearer)"),
    ("pg_drop_", "drops replication slots"),
    ("pg_export_snapshot", "exports a snapshot"),
    ("pg_extension_config_dump", "changes the catalog"),
    ("pg_file_", "writes server files"),
    ("pg_import_system_collations", "changes the catalog"),
    ("pg_log_", "writes the server log"),
    ("pg_logical_", "consumes or writes logical replication"),
    ("pg_ls_", "lists server directories"),
    ("pg_notify", "notifies other sessions"),
    ("pg_promote", "administers the server"),
    ("pg_read_", "reads server files"),
    ("pg_reload_conf", "administers the server"),
    ("pg_replication_", "administers replication"),
    ("pg_rotate_logfile", "administers the server"),
    ("pg_signal_", "signals another session"),
    ("pg_start_backup", "administers the server"),
    ("pg_stat_file", "reads server files"),
    ("pg_stat_reset", "resets statistics"),
    ("pg_stop_backup", "administers the server"),
    ("pg_switch_wal", "administers the server"),
    ("pg_terminate_backend", "signals another session"),
    ("pg_try_advisory", "takes advisory locks that outlive the transaction"),
    ("pg_wal_replay_", "administers replication"),
    ("query_to_xml", "runs SQL given as text"),
    ("set_config", "changes settings"),
    ("setseed", "changes the session's random seed"),
    ("setval", "changes a sequence"),
    ("ts_rewrite", "runs SQL given as text"),
    ("ts_stat", "runs SQL given as text"),
    ("txid_current", "assigns a transaction id (each one brings wraparound nearer)"),
];

impl FunctionPolicy {
    /// A policy from the server's stable built-ins (the rows of
    /// [`STABLE_BUILT_INS`]).
    pub fn new(stable: impl IntoIterator<Item = String>) -> Self {
        FunctionPolicy { stable: stable.into_iter().collect() }
    }

    /// Whether a statement may call `name`; `Err` says why not.
    pub fn check(&self, name: &ObjectName) -> Result<(), String> {
        let parts = folded_parts(name);
        let function = match parts.as_slice() {
            [function] => function,
            [schema, function] if schema == "pg_catalog" => function,
            [_, _] => {
                return Err(format!(
                    "function {name} is refused: only built-in (pg_catalog) functions are let through"
                ));
            }
            _ => return Err(format!("function {name} is refused: a function name has at most a schema before it")),
        };
        if let Some((_, what)) = REFUSED_FAMILIES.iter().find(|(prefix, _)| function.starts_with(prefix)) {
            return Err(format!("function {function} is refused: it {what}"));
        }
        let name = function.as_str();
        if SQL_FORMS.contains(&name) || HARMLESS_VOLATILE.contains(&name) || self.stable.contains(name) {
            return Ok(());
        }
        Err(format!(
            "function {function} is refused: only built-in functions that cannot change anything are let through, \
             and this server marks it volatile or does not have it as a built-in"
        ))
    }
}

/// `Ok` when `statement` is one read-only query whose calls `functions`
/// allows; `Err` says what was found.
pub fn check(statement: &str, functions: &FunctionPolicy) -> Result<(), String> {
    let rules = Rules {
        dialect: &PostgreSqlDialect {},
        language: "PostgreSQL",
        allow_show: true,
        function: &|name| functions.check(name),
        operator: &|parts| match parts {
            [schema, _] if schema.eq_ignore_ascii_case("pg_catalog") => Ok(()),
            _ => Err(format!(
                "operator {} is refused: only built-in (pg_catalog) operators are let through",
                parts.join(".")
            )),
        },
    };
    read_only::check(statement, &rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FunctionPolicy {
        // As a server would list them; `ts_stat` is here to show that the
        // family rule wins over what the server says.
        let names = ["format_type", "pg_get_viewdef", "count", "generate_series", "obj_description", "ts_stat"];
        FunctionPolicy::new(names.map(String::from))
    }

    #[test]
    fn catalog_reads_pass() {
        for sql in [
            "SELECT c.relname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid WHERE c.relkind = ANY($1)",
            "SELECT pg_get_viewdef('v'::regclass, true), obj_description(c.oid, 'pg_class') FROM pg_class c",
            "WITH t AS (SELECT oid FROM pg_class) SELECT count(*) FROM t",
            "SELECT n FROM generate_series(1, 10) AS n",
            "SELECT coalesce(NULL, current_user), nullif(1, 2), pg_sleep(0), random()",
            "VALUES (1, 'a'), (2, 'b')",
            "SHOW server_version",
            "SELECT * FROM pg_partition_tree('t'::regclass)",
            "SELECT 'a' OPERATOR(pg_catalog.~) 'b'",
        ] {
            assert_eq!(check(sql, &policy()), Ok(()), "{sql}");
        }
    }

    #[test]
    fn side_effects_are_refused_before_anything_is_sent() {
        let refused = [
            ("COPY (SELECT 1) TO PROGRAM 'touch /tmp/x'", "only SELECT"),
            ("COPY t TO '/tmp/file'", "only SELECT"),
            ("SELECT lo_export(lo_create(0), '/tmp/x')", "large objects"),
            ("SELECT pg_read_file('/etc/passwd')", "reads server files"),
            ("SELECT * FROM pg_ls_dir('/')", "lists server directories"),
            ("SELECT dblink_exec('dbname=x', 'CREATE TABLE t(id int)')", "another database"),
            ("SELECT public.dblink_exec('dbname=x', 'CREATE TABLE t(id int)')", "only built-in"),
            ("SELECT pg_create_physical_replication_slot('s', true)", "replication slots"),
            ("SELECT pg_terminate_backend(1234)", "signals another session"),
            ("SELECT pg_cancel_backend(1234)", "signals another session"),
            ("SELECT pg_reload_conf()", "administers the server"),
            ("SELECT pg_stat_reset()", "resets statistics"),
            // sqlparser has no CHECKPOINT: refused as unparsable.
            ("CHECKPOINT", "does not parse"),
            ("SELECT pg_switch_wal()", "administers the server"),
            ("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "only SELECT"),
            ("SELECT pg_advisory_lock(42)", "advisory locks"),
            ("SELECT pg_catalog.pg_try_advisory_lock(42)", "advisory locks"),
            ("SELECT set_config('default_transaction_read_only', 'off', false)", "changes settings"),
            ("SET default_transaction_read_only = off", "only SELECT"),
            ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "only SELECT"),
            ("DO $$BEGIN PERFORM 1; END$$", "does not parse"),
            ("CALL p()", "only SELECT"),
            ("INSERT INTO t VALUES (1)", "only SELECT"),
            ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "may not contain"),
            ("SELECT * FROM t FOR UPDATE", "row locks"),
            ("SELECT * INTO copy FROM t", "creates a table"),
            ("SELECT query_to_xml('SELECT pg_terminate_backend(1)', true, true, '')", "runs SQL given as text"),
            ("SELECT ts_stat('SELECT 1')", "runs SQL given as text"),
            ("SELECT nextval('s')", "advances a sequence"),
            ("SELECT my_function()", "volatile or does not have it"),
            ("SELECT 1; SELECT 2", "found 2"),
            ("SELECT 1 OPERATOR(public.+) 2", "operator public.+"),
            ("EXPLAIN ANALYZE SELECT 1", "only SELECT"),
            ("SELECT 1 FROM", "does not parse"),
        ];
        let mut wrong = Vec::new();
        for (sql, expected) in refused {
            match check(sql, &policy()) {
                Ok(()) => wrong.push(format!("`{sql}` was let through")),
                Err(reason) if !reason.contains(expected) => wrong.push(format!("`{sql}`: {reason}")),
                Err(_) => {}
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn quoted_names_are_not_folded() {
        // "FORMAT_TYPE" is another function than format_type.
        assert!(check("SELECT \"FORMAT_TYPE\"(23, NULL)", &policy()).is_err());
        assert_eq!(check("SELECT FORMAT_TYPE(23, NULL)", &policy()), Ok(()));
    }
}
