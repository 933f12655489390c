-- Tables, views and synonyms of the connection's database.
-- Parameters (to run it in SSMS: DECLARE @P1 bit = 1, @P2 bit = 1;):
--   @P1 bit: includeTables: tables (U) and external tables (ET).
--   @P2 bit: includeViews: views (V, indexed or not) and synonyms (SN),
--            which the plugin records as views.
-- Objects SQL Server itself installed (is_ms_shipped) are left out.
-- column_count is the cost hint; a synonym's is that of the object it
-- names. base_type is the type of that object when it is in this database
-- (the plugin drops synonyms of procedures and functions), NULL when it is
-- elsewhere or does not exist.
SELECT s.name AS schema_name,
       o.name AS table_name,
       RTRIM(o.type) AS object_type,
       (SELECT COUNT(*)
          FROM sys.columns AS c
         WHERE c.object_id = COALESCE(base.object_id, o.object_id)) AS column_count,
       RTRIM(bo.type) AS base_type
FROM sys.objects AS o
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
LEFT JOIN sys.synonyms AS sn ON sn.object_id = o.object_id
-- A synonym's base object, when it is in this database: no server part, and
-- no database part or this database's name. OBJECT_ID resolves the name as
-- T-SQL does (a name without schema: the login's default schema, then dbo).
OUTER APPLY (SELECT CASE WHEN PARSENAME(sn.base_object_name, 4) IS NULL
                          AND (PARSENAME(sn.base_object_name, 3) IS NULL
                               OR PARSENAME(sn.base_object_name, 3) = DB_NAME())
                         THEN OBJECT_ID(sn.base_object_name) END AS object_id) AS base
LEFT JOIN sys.objects AS bo ON bo.object_id = base.object_id
WHERE o.is_ms_shipped = 0
  AND s.schema_id NOT IN (3, 4)
  AND ((@P1 = 1 AND o.type IN ('U', 'ET'))
    OR (@P2 = 1 AND o.type IN ('V', 'SN')))
ORDER BY s.name, o.name
