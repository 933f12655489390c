-- $1: JSON array of pg_proc oids (the refs' keys).
-- pg_get_functiondef gives the whole CREATE FUNCTION / PROCEDURE text: for
-- C and internal functions prosrc is only the symbol name, and for a
-- SQL-standard body (BEGIN ATOMIC) it is empty. It refuses aggregates,
-- which discovery never lists; the CASE keeps a reused oid from failing the
-- batch (the WHERE drops that row anyway, and the plugin reports it).
WITH wanted AS (
    SELECT DISTINCT w.oid::oid AS oid FROM json_array_elements_text($1::json) AS w(oid)
)
SELECT p.oid::int8 AS oid,
       n.nspname AS schema,
       p.proname AS name,
       pg_get_function_identity_arguments(p.oid) AS signature,
       l.lanname::text AS language,
       coalesce(CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END, p.prosrc) AS code,
       d.description
FROM wanted w
JOIN pg_proc p ON p.oid = w.oid
JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN pg_language l ON l.oid = p.prolang
-- What obj_description() reads, as a join rather than a query per function.
LEFT JOIN pg_description d ON d.objoid = p.oid
                          AND d.classoid = 'pg_proc'::regclass
                          AND d.objsubid = 0
WHERE p.prokind IN ('f', 'p')
