-- $1: include tables (r, p, f); $2: include views (v, m).
-- Partitions are left out: their parent stands for them.
SELECT n.nspname AS schema,
       c.relname AS name,
       (SELECT count(*)
          FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS column_count
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT c.relispartition
  AND n.nspname !~ '^pg_'
  AND n.nspname <> 'information_schema'
  AND (($1::boolean AND c.relkind IN ('r', 'p', 'f'))
    OR ($2::boolean AND c.relkind IN ('v', 'm')))
ORDER BY n.nspname, c.relname
