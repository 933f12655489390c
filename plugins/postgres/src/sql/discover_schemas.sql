-- Every name beginning with pg_ is reserved for the system (pg_catalog,
-- pg_toast, pg_temp_N, pg_toast_temp_N), so one pattern covers them all.
SELECT n.nspname AS name
FROM pg_namespace n
WHERE n.nspname !~ '^pg_'
  AND n.nspname <> 'information_schema'
ORDER BY n.nspname
