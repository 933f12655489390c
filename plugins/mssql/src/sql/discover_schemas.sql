-- The schemas of the connection's database. No parameters; the filter
-- patterns are applied by the plugin (T-SQL has no regular expressions).
-- Left out, by schema_id, which is the same in every database whatever its
-- collation:
--   3 INFORMATION_SCHEMA and 4 sys: views over the catalog, owned by the
--     system; no user object can live there.
--   2 guest and 16384-16393, the schemas of the fixed database roles
--     (db_owner, db_accessadmin, db_securityadmin, db_ddladmin,
--     db_backupoperator, db_datareader, db_datawriter, db_denydatareader,
--     db_denydatawriter): created in every database for backward
--     compatibility and empty in practice. They are kept when someone did
--     put an object there, so that nothing of the user's is lost.
-- A schema the login has no permission on is not in sys.schemas at all
-- (metadata visibility), so there is nothing to flag as unreadable.
SELECT s.name AS schema_name
FROM sys.schemas AS s
WHERE s.schema_id NOT IN (3, 4)
  AND ((s.schema_id <> 2 AND (s.schema_id < 16384 OR s.schema_id > 16393))
       OR EXISTS (SELECT 1
                    FROM sys.objects AS o
                   WHERE o.schema_id = s.schema_id
                     AND o.is_ms_shipped = 0
                     AND o.type IN ('U', 'ET', 'V', 'SN', 'P', 'PC', 'FN', 'IF', 'TF', 'FS', 'FT')))
ORDER BY s.name
