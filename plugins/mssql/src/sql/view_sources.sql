-- View lineage: the tables, views and synonyms each wanted view reads, from
-- the dependencies SQL Server records when a view is created. One row per
-- source (DISTINCT: a schema-bound view has a row per column it uses).
-- Parameters (to run it in SSMS):
--   DECLARE @P1 nvarchar(max) = N'[dbo].[Orders]    [Sales].[Customer]', @P2 bigint = 18;
-- @P1 holds the wanted objects in fixed-width slots: each [schema].[name]
-- (QUOTENAME of each part) right-padded with spaces to @P2 characters. The
-- slots are cut from the parameter's bytes (UTF-16, two per character), so
-- neither the collation nor the compatibility level matters (OPENJSON and
-- STRING_SPLIT need level 130, which many upgraded databases lack).
-- A source in this database is named as the catalog has it now; one in
-- another database of the server (three-part name) as the view writes it,
-- with no check that it exists. Sources on linked servers (four-part names)
-- belong to another service and are left out, as are references the server
-- could not resolve (a dropped table; a name without schema, which depends
-- on who runs the view).
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
SELECT DISTINCT
       s.name AS schema_name,
       o.name AS table_name,
       d.referenced_database_name AS source_database,
       COALESCE(rs.name, d.referenced_schema_name) AS source_schema,
       COALESCE(ro.name, d.referenced_entity_name) AS source_name
FROM wanted AS w
JOIN sys.objects AS o ON o.object_id = w.object_id
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
JOIN sys.sql_expression_dependencies AS d ON d.referencing_id = o.object_id
LEFT JOIN sys.objects AS ro ON ro.object_id = d.referenced_id
LEFT JOIN sys.schemas AS rs ON rs.schema_id = ro.schema_id
WHERE o.type = 'V'
  AND d.referencing_minor_id = 0
  -- 1: an object or column (not a type or XML schema collection).
  AND d.referenced_class = 1
  AND d.referenced_server_name IS NULL
  AND (ro.type IN ('U', 'ET', 'V', 'SN')
       OR (d.referenced_id IS NULL
           AND d.referenced_database_name IS NOT NULL
           AND d.referenced_schema_name IS NOT NULL))
