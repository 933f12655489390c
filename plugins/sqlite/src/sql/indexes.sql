-- The indexes behind PRIMARY KEY ('pk') and UNIQUE ('u') constraints, with
-- their columns in key order. Indexes made by CREATE [UNIQUE] INDEX
-- ('c') are not constraints and are left out. The 'pk' rows only tell the
-- plugin that the primary key is not the rowid; its columns come from
-- table_xinfo.pk.
-- Parameter 1: a JSON array of table names.
SELECT m.name AS tbl,
       l.name AS idx,
       l.origin,
       i.seqno,
       i.name AS col
FROM sqlite_master AS m
JOIN pragma_index_list(m.name) AS l
JOIN pragma_index_info(l.name) AS i
WHERE m.type = 'table'
  AND m.name IN (SELECT value FROM json_each(?1))
  AND l.origin IN ('pk', 'u')
ORDER BY m.name, l.name, i.seqno
