-- The columns of the requested tables and views, in declaration order.
-- table_xinfo rather than table_info so that generated columns (hidden 2
-- and 3) are included; hidden 1 is a virtual table's hidden column.
-- Parameter 1: a JSON array of names.
SELECT m.name AS tbl,
       c.cid,
       c.name,
       c.type,
       c."notnull" AS not_null,
       c.dflt_value,
       c.pk
FROM sqlite_master AS m
JOIN pragma_table_xinfo(m.name) AS c
WHERE m.type IN ('table', 'view')
  AND m.name IN (SELECT value FROM json_each(?1))
  AND c.hidden <> 1
ORDER BY m.name, c.cid
