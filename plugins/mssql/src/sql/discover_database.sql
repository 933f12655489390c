-- The database the `source` connection is in, to check it against
-- connection.database. No parameters.
SELECT DB_NAME() AS database_name
