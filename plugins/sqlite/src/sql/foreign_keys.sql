-- The foreign keys of the requested tables, one row per column pair,
-- grouped by the pragma's id. SQLite matches the names in a FOREIGN KEY
-- clause case-insensitively, so every name is resolved to the one its
-- table or column was declared with (the name the entities carry). A
-- REFERENCES clause without columns refers to the primary key: its n-th
-- column pairs with the key's n-th column.
-- Parameter 1: a JSON array of table names.
SELECT m.name AS tbl,
       f.id,
       f.seq,
       coalesce(
           (SELECT c.name FROM pragma_table_info(m.name) AS c
            WHERE c.name = f."from" COLLATE NOCASE),
           f."from") AS col,
       coalesce(
           (SELECT t.name FROM sqlite_master AS t
            WHERE t.type = 'table' AND t.name = f."table" COLLATE NOCASE),
           f."table") AS ref_table,
       CASE
           WHEN f."to" IS NULL
           THEN (SELECT r.name FROM pragma_table_info(f."table") AS r WHERE r.pk = f.seq + 1)
           ELSE coalesce(
               (SELECT r.name FROM pragma_table_info(f."table") AS r
                WHERE r.name = f."to" COLLATE NOCASE),
               f."to")
       END AS ref_col
FROM sqlite_master AS m
JOIN pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table'
  AND m.name IN (SELECT value FROM json_each(?1))
ORDER BY m.name, f.id, f.seq
