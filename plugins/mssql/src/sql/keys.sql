-- Primary keys and unique constraints of tables by schema and name: one row
-- per key column, key_ordinal giving its place in the key ((b, a) is another
-- key than (a, b)). Included columns of the key's index (key_ordinal 0) are
-- no part of the key. Unique indexes that are not constraints are left out,
-- as the PostgreSQL connector leaves them out.
-- Parameters (to run it in SSMS):
--   DECLARE @P1 nvarchar(max) = N'[dbo].[Orders]    [Sales].[Customer]', @P2 bigint = 18;
-- @P1 holds the wanted objects in fixed-width slots: each [schema].[name]
-- (QUOTENAME of each part) right-padded with spaces to @P2 characters. The
-- slots are cut from the parameter's bytes (UTF-16, two per character), so
-- neither the collation nor the compatibility level matters (OPENJSON and
-- STRING_SPLIT need level 130, which many upgraded databases lack).
WITH digits AS (
    SELECT v.d FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS v (d)
),
-- 0 to 9999, a slot number each: the plugin sends at most 10 000 slots.
slots AS (
    SELECT d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d AS k
    FROM digits AS d0
    CROSS JOIN digits AS d1
    CROSS JOIN digits AS d2
    CROSS JOIN digits AS d3
),
-- OBJECT_ID resolves each name as T-SQL does, with the catalog's own
-- collation: an index lookup per name and no collation conflict. On a
-- case-insensitive database it also finds [DBO].[orders]; the plugin keeps
-- only the exact names it asked for.
wanted AS (
    SELECT DISTINCT
           OBJECT_ID(RTRIM(CAST(SUBSTRING(CAST(@P1 AS varbinary(max)), n.k * @P2 * 2 + 1, @P2 * 2) AS nvarchar(max))))
               AS object_id
    FROM slots AS n
    WHERE n.k < DATALENGTH(@P1) / 2 / @P2
)
SELECT s.name AS schema_name,
       o.name AS table_name,
       kc.name AS constraint_name,
       -- PK or UQ.
       RTRIM(kc.type) AS constraint_type,
       ic.key_ordinal AS key_ordinal,
       c.name AS column_name
FROM wanted AS w
JOIN sys.objects AS o ON o.object_id = w.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
JOIN sys.key_constraints AS kc ON kc.parent_object_id = o.object_id
JOIN sys.index_columns AS ic ON ic.object_id = kc.parent_object_id
                            AND ic.index_id = kc.unique_index_id
                            AND ic.key_ordinal > 0
JOIN sys.columns AS c ON c.object_id = ic.object_id
                     AND c.column_id = ic.column_id
