-- Schemas by name, with their MS_Description (class 3: schema).
-- Parameters (to run it in SSMS):
--   DECLARE @P1 nvarchar(max) = N'dbo  Sales', @P2 bigint = 5;
-- @P1 holds the wanted schema names in fixed-width slots, each right-padded
-- with spaces to @P2 characters, cut from the parameter's bytes as in
-- tables.sql (no OPENJSON: it needs compatibility level 130).
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
-- SCHEMA_ID looks a name up with the catalog's own collation, as T-SQL
-- does: no collation conflict with the parameter. On a case-insensitive
-- database it also finds `DBO`; the plugin keeps only the exact names it
-- asked for. (RTRIM loses no part of a name: T-SQL ignores trailing spaces
-- when it compares names.)
wanted AS (
    SELECT DISTINCT
           SCHEMA_ID(RTRIM(CAST(SUBSTRING(CAST(@P1 AS varbinary(max)), n.k * @P2 * 2 + 1, @P2 * 2) AS nvarchar(max))))
               AS schema_id
    FROM slots AS n
    WHERE n.k < DATALENGTH(@P1) / 2 / @P2
)
SELECT s.name AS schema_name,
       CAST(ep.value AS nvarchar(max)) AS description
FROM wanted AS w
JOIN sys.schemas AS s ON s.schema_id = w.schema_id
LEFT JOIN sys.extended_properties AS ep ON ep.class = 3
                                       AND ep.major_id = s.schema_id
                                       AND ep.minor_id = 0
                                       AND ep.name = N'MS_Description'
