-- $1: JSON array of database names.
SELECT d.datname AS name,
       shobj_description(d.oid, 'pg_database') AS description
FROM pg_database d
WHERE d.datname IN (SELECT json_array_elements_text($1::json))
