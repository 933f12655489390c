-- $1: include tables (r, p, f); $2: include views (v, m); $3: the
-- pushed-down filter patterns (filters.rs), "{}" filters nothing.
-- Partitions are left out: their parent stands for them. Tables of schemas
-- the role cannot use are left out silently (schema discovery names those
-- schemas); tables it cannot read come back flagged, to be named.
WITH pushed AS (
    -- As in discover_schemas.sql: anchored, case-insensitive, excludes
    -- never matching a newline with `.`, nothing pushed on SQL_ASCII.
    SELECT ARRAY(SELECT '^(?:' || p || ')' FROM json_array_elements_text($3::json #> '{schema,include}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII') AS schema_in,
           ARRAY(SELECT '(?p)^(?:' || p || ')' FROM json_array_elements_text($3::json #> '{schema,exclude}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII')
               AS schema_ex,
           ARRAY(SELECT '^(?:' || p || ')' FROM json_array_elements_text($3::json #> '{table,include}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII') AS table_in,
           ARRAY(SELECT '(?p)^(?:' || p || ')' FROM json_array_elements_text($3::json #> '{table,exclude}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII')
               AS table_ex
)
SELECT n.nspname AS schema,
       c.relname AS name,
       (SELECT count(*)
          FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS column_count,
       -- SELECT on the table or on any of its columns.
       coalesce(has_any_column_privilege(c.oid, 'SELECT'), false) AS readable
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN pushed f
WHERE NOT c.relispartition
  AND n.nspname !~ '^pg_'
  AND n.nspname <> 'information_schema'
  AND (($1::boolean AND c.relkind IN ('r', 'p', 'f'))
    OR ($2::boolean AND c.relkind IN ('v', 'm')))
  AND (cardinality(f.schema_in) = 0 OR n.nspname ~* ANY (f.schema_in))
  AND NOT (n.nspname ~* ANY (f.schema_ex))
  AND (cardinality(f.table_in) = 0 OR c.relname ~* ANY (f.table_in))
  AND NOT (c.relname ~* ANY (f.table_ex))
  AND has_schema_privilege(n.oid, 'USAGE')
ORDER BY n.nspname, c.relname
