-- Tables, views and synonyms by schema and name: one row each.
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
       RTRIM(o.type) AS object_type,
       -- A view with a clustered index is materialized: SQL Server stores
       -- its rows and keeps them up to date.
       CAST(CASE WHEN o.type = 'V'
                  AND EXISTS (SELECT 1 FROM sys.indexes AS i WHERE i.object_id = o.object_id AND i.type = 1)
                 THEN 1 ELSE 0 END AS bit) AS is_indexed_view,
       -- sql_variant, which the host does not map: cast.
       CAST(ep.value AS nvarchar(max)) AS description,
       -- A view's CREATE VIEW text; NULL when it was created WITH ENCRYPTION
       -- or the login lacks VIEW DEFINITION on it (is_encrypted tells which).
       m.definition AS definition,
       CAST(COALESCE(OBJECTPROPERTY(o.object_id, 'IsEncrypted'), 0) AS bit) AS is_encrypted,
       -- The object's own owner, else its schema's.
       dp.name AS owner_name,
       -- Compared with the rows of the columns query, which runs apart, to
       -- notice an object altered in between. A synonym has its base's.
       (SELECT COUNT(*)
          FROM sys.columns AS c
         WHERE c.object_id = COALESCE(base.object_id, o.object_id)) AS column_count,
       -- Rows of the heap (index 0) or clustered index (1), summed over
       -- partitions; the other indexes hold the same rows again. NULL for
       -- what stores nothing (plain views, synonyms, external tables).
       (SELECT SUM(p.rows)
          FROM sys.partitions AS p
         WHERE p.object_id = o.object_id
           AND p.index_id IN (0, 1)) AS row_count,
       -- Pages reserved by every index and partition, in-row, row-overflow
       -- and LOB data, as sp_spaceused's `reserved`; 8 KiB pages.
       (SELECT SUM(au.total_pages) * 8192
          FROM sys.partitions AS p
          JOIN sys.allocation_units AS au
            ON au.container_id = CASE WHEN au.type = 2 THEN p.partition_id ELSE p.hobt_id END
         WHERE p.object_id = o.object_id) AS size_bytes,
       -- A synonym: the name it stands for as written, its parts, and the
       -- object it resolves to in this database, if it does.
       sn.base_object_name AS base_object_name,
       PARSENAME(sn.base_object_name, 4) AS base_server,
       PARSENAME(sn.base_object_name, 3) AS base_database,
       PARSENAME(sn.base_object_name, 2) AS base_schema,
       PARSENAME(sn.base_object_name, 1) AS base_name,
       bs.name AS resolved_schema,
       bo.name AS resolved_name,
       RTRIM(bo.type) AS resolved_type
FROM wanted AS w
JOIN sys.objects AS o ON o.object_id = w.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
LEFT JOIN sys.database_principals AS dp ON dp.principal_id = COALESCE(o.principal_id, s.principal_id)
LEFT JOIN sys.sql_modules AS m ON m.object_id = o.object_id
LEFT JOIN sys.extended_properties AS ep ON ep.class = 1
                                       AND ep.major_id = o.object_id
                                       AND ep.minor_id = 0
                                       AND ep.name = N'MS_Description'
LEFT JOIN sys.synonyms AS sn ON sn.object_id = o.object_id
-- As in discover_tables.sql: the base object when it is in this database.
OUTER APPLY (SELECT CASE WHEN PARSENAME(sn.base_object_name, 4) IS NULL
                          AND (PARSENAME(sn.base_object_name, 3) IS NULL
                               OR PARSENAME(sn.base_object_name, 3) = DB_NAME())
                         THEN OBJECT_ID(sn.base_object_name) END AS object_id) AS base
LEFT JOIN sys.objects AS bo ON bo.object_id = base.object_id
LEFT JOIN sys.schemas AS bs ON bs.schema_id = bo.schema_id
WHERE o.type IN ('U', 'ET', 'V', 'SN')
