-- $1: the pushed-down filter patterns (filters.rs), as
-- {"schema": {"include": [..], "exclude": [..]}, ...}; "{}" filters nothing.
-- Every name beginning with pg_ is reserved for the system (pg_catalog,
-- pg_toast, pg_temp_N, pg_toast_temp_N), so one pattern covers them all.
-- Schemas the role cannot use come back too, flagged, so that the plugin
-- can name them in a warning.
WITH pushed AS (
    -- Anchored at the start and case-insensitive (~*), as OpenMetadata
    -- matches. Excludes run with (?p) so that `.` never matches a newline,
    -- as in the host's engine: an exclude must not match more than there.
    -- SQL_ASCII databases compare bytes, not characters: nothing is pushed
    -- down there.
    SELECT ARRAY(SELECT '^(?:' || p || ')' FROM json_array_elements_text($1::json #> '{schema,include}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII') AS schema_in,
           ARRAY(SELECT '(?p)^(?:' || p || ')' FROM json_array_elements_text($1::json #> '{schema,exclude}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII')
               AS schema_ex
)
SELECT n.nspname AS name,
       has_schema_privilege(n.oid, 'USAGE') AS usable
FROM pg_namespace n, pushed f
WHERE n.nspname !~ '^pg_'
  AND n.nspname <> 'information_schema'
  AND (cardinality(f.schema_in) = 0 OR n.nspname ~* ANY (f.schema_in))
  AND NOT (n.nspname ~* ANY (f.schema_ex))
ORDER BY n.nspname
