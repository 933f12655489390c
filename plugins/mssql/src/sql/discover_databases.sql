-- ingestAllDatabases: every database of the server, with what decides
-- whether it is read (databases.rs in discover decides, not a WHERE, so that
-- a database left out can be named in a warning). No parameters.
-- sys.databases shows a login every database when it has VIEW ANY DATABASE
-- (granted to public by default), else only master, tempdb and its own.
-- database_id 1 to 4 are master, tempdb, model and msdb in every instance.
-- HAS_DBACCESS is 1 when the login may open the database, 0 when not,
-- NULL when it cannot tell (the database is offline, say).
SELECT d.name AS database_name,
       CAST(CASE WHEN d.database_id = DB_ID() THEN 1 ELSE 0 END AS bit) AS is_connected,
       CAST(CASE WHEN d.database_id <= 4 THEN 1 ELSE 0 END AS bit) AS is_system,
       CAST(CASE WHEN d.source_database_id IS NULL THEN 0 ELSE 1 END AS bit) AS is_snapshot,
       d.state_desc AS state,
       CAST(COALESCE(HAS_DBACCESS(d.name), 0) AS bit) AS has_access
FROM sys.databases AS d
ORDER BY d.name
