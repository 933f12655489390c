-- Columns of tables, views and synonyms by schema and name; a synonym gets
-- the columns of the table or view it names, when that is in this database.
-- Parameters (to run it in SSMS):
--   DECLARE @P1 nvarchar(max) = N'[dbo].[Orders]    [Sales].[Customer]', @P2 bigint = 18;
-- @P1 holds the wanted objects in fixed-width slots: each [schema].[name]
-- (QUOTENAME of each part) right-padded with spaces to @P2 characters. The
-- slots are cut from the parameter's bytes (UTF-16, two per character), so
-- neither the collation nor the compatibility level matters (OPENJSON and
-- STRING_SPLIT need level 130, which many upgraded databases lack).
-- Rows come unordered: the plugin orders them by column_id.
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
),
-- Each wanted object and the object whose columns it has: itself, or a
-- synonym's base (as in discover_tables.sql).
targets AS (
    SELECT s.name AS schema_name,
           o.name AS table_name,
           COALESCE(base.object_id, o.object_id) AS source_id
    FROM wanted AS w
    JOIN sys.objects AS o ON o.object_id = w.object_id
    JOIN sys.schemas AS s ON s.schema_id = o.schema_id
    LEFT JOIN sys.synonyms AS sn ON sn.object_id = o.object_id
    OUTER APPLY (SELECT CASE WHEN PARSENAME(sn.base_object_name, 4) IS NULL
                              AND (PARSENAME(sn.base_object_name, 3) IS NULL
                                   OR PARSENAME(sn.base_object_name, 3) = DB_NAME())
                             THEN OBJECT_ID(sn.base_object_name) END AS object_id) AS base
    WHERE o.type IN ('U', 'ET', 'V', 'SN')
)
SELECT x.schema_name AS schema_name,
       x.table_name AS table_name,
       c.column_id AS column_id,
       c.name AS column_name,
       -- The declared type: a system type, or an alias or CLR type's name.
       t.name AS type_name,
       t.is_user_defined AS is_user_defined,
       -- The system type under an alias type (NULL for system and CLR types).
       bt.name AS base_type_name,
       -- In bytes, -1 for (max): nchar/nvarchar take two per character.
       c.max_length AS max_length,
       c.precision AS numeric_precision,
       -- decimal/numeric scale; fractional-second digits of time types.
       c.scale AS numeric_scale,
       c.is_nullable AS is_nullable,
       dc.definition AS default_definition,
       c.is_identity AS is_identity,
       cc.definition AS computed_definition,
       -- Temporal period columns and ledger columns (2016+):
       -- NOT_APPLICABLE, AS_ROW_START, AS_ROW_END, ...
       c.generated_always_type_desc AS generated_always,
       CAST(ep.value AS nvarchar(max)) AS description
FROM targets AS x
JOIN sys.columns AS c ON c.object_id = x.source_id
JOIN sys.types AS t ON t.user_type_id = c.user_type_id
LEFT JOIN sys.types AS bt ON bt.user_type_id = t.system_type_id
                         AND t.is_user_defined = 1
LEFT JOIN sys.default_constraints AS dc ON dc.object_id = c.default_object_id
LEFT JOIN sys.computed_columns AS cc ON cc.object_id = c.object_id
                                    AND cc.column_id = c.column_id
LEFT JOIN sys.extended_properties AS ep ON ep.class = 1
                                       AND ep.major_id = c.object_id
                                       AND ep.minor_id = c.column_id
                                       AND ep.name = N'MS_Description'
