-- ingestAllDatabases: every database of the server that accepts
-- connections and is not a template, plus the connected one whatever it is
-- (the workflow names it). $1: the pushed-down filter patterns
-- (filters.rs), "{}" filters nothing; `kept` says whether a database passes
-- them, rather than a WHERE, so that the connected database is always there
-- to check against connection.database.
WITH pushed AS (
    -- As in discover_schemas.sql: anchored, case-insensitive, excludes
    -- never matching a newline with `.`, nothing pushed on SQL_ASCII.
    SELECT ARRAY(SELECT '^(?:' || p || ')' FROM json_array_elements_text($1::json #> '{database,include}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII') AS database_in,
           ARRAY(SELECT '(?p)^(?:' || p || ')' FROM json_array_elements_text($1::json #> '{database,exclude}') p
                  WHERE current_setting('server_encoding') <> 'SQL_ASCII')
               AS database_ex
)
SELECT d.datname::text AS name,
       d.datname = current_database() AS connected,
       coalesce(has_database_privilege(d.oid, 'CONNECT'), false) AS can_connect,
       (cardinality(f.database_in) = 0 OR d.datname ~* ANY (f.database_in))
           AND NOT (d.datname ~* ANY (f.database_ex)) AS kept
FROM pg_database d
CROSS JOIN pushed f
WHERE (d.datallowconn AND NOT d.datistemplate)
   OR d.datname = current_database()
ORDER BY d.datname
