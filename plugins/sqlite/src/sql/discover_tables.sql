-- Every table and view of the main schema, SQLite's internal tables left
-- out. The cost hint is the column count; it is only computed for ordinary
-- tables, because table_xinfo has to compile a view (a broken view would
-- fail the whole discovery) and to load a virtual table's module.
SELECT m.name,
       m.type,
       CASE
           WHEN m.type = 'table' AND m.sql NOT LIKE 'CREATE VIRTUAL%'
           THEN (SELECT count(*) FROM pragma_table_xinfo(m.name))
           ELSE 1
       END AS cost
FROM sqlite_master AS m
WHERE m.type IN ('table', 'view')
  AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.name
