-- $1: the pushed-down filter patterns (filters.rs), "{}" filters nothing.
-- Functions and procedures, not aggregates or window functions (no source
-- of their own), nor those an extension installed (they belong to the
-- extension, and come and go with it). Functions of schemas the role cannot
-- use are left out silently: schema discovery names those schemas. The oid
-- tells overloads apart; the host hands it back as the ref's key.
WITH pushed AS (
    -- As in discover_schemas.sql: anchored, case-insensitive, excludes
    -- never matching a newline with `.`, nothing pushed on SQL_ASCII.
    SELECT ARRAY(SELECT '^(?:' || p || ')' FROM json_array_elements_text($1::json #> '{schema,include}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII') AS schema_in,
           ARRAY(SELECT '(?p)^(?:' || p || ')' FROM json_array_elements_text($1::json #> '{schema,exclude}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII')
               AS schema_ex,
           ARRAY(SELECT '^(?:' || p || ')' FROM json_array_elements_text($1::json #> '{procedure,include}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII') AS procedure_in,
           ARRAY(SELECT '(?p)^(?:' || p || ')' FROM json_array_elements_text($1::json #> '{procedure,exclude}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII')
               AS procedure_ex
)
SELECT p.oid::int8 AS oid,
       n.nspname AS schema,
       p.proname AS name
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
CROSS JOIN pushed f
WHERE p.prokind IN ('f', 'p')
  AND n.nspname !~ '^pg_'
  AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT 1
                    FROM pg_depend d
                   WHERE d.classid = 'pg_proc'::regclass
                     AND d.objid = p.oid
                     AND d.deptype = 'e')
  AND (cardinality(f.schema_in) = 0 OR n.nspname ~* ANY (f.schema_in))
  AND NOT (n.nspname ~* ANY (f.schema_ex))
  AND (cardinality(f.procedure_in) = 0 OR p.proname ~* ANY (f.procedure_in))
  AND NOT (p.proname ~* ANY (f.procedure_ex))
  AND has_schema_privilege(n.oid, 'USAGE')
ORDER BY n.nspname, p.proname, p.oid
