-- $1: JSON array of schema names.
SELECT n.nspname AS name,
       obj_description(n.oid, 'pg_namespace') AS description
FROM pg_namespace n
WHERE n.nspname IN (SELECT json_array_elements_text($1::json))
