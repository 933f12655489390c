-- The requested tables and views that still exist, with their CREATE text.
-- Parameter 1: a JSON array of names.
SELECT m.name, m.type, m.sql
FROM sqlite_master AS m
WHERE m.type IN ('table', 'view')
  AND m.name IN (SELECT value FROM json_each(?1))
