-- The database of the connection it runs on, with its MS_Description. A
-- database's extended properties (class 0) live in that database, so this
-- runs once per database, on that database's own connection. No parameters.
SELECT d.name AS database_name,
       CAST(ep.value AS nvarchar(max)) AS description
FROM sys.databases AS d
LEFT JOIN sys.extended_properties AS ep ON ep.class = 0
                                       AND ep.major_id = 0
                                       AND ep.minor_id = 0
                                       AND ep.name = N'MS_Description'
WHERE d.database_id = DB_ID()
