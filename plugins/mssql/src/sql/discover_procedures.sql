-- Stored procedures and functions of the connection's database, as the
-- PostgreSQL connector lists both: T-SQL procedures (P), scalar, inline and
-- multi-statement table-valued functions (FN, IF, TF), and their CLR
-- counterparts (PC, FS, FT). Not aggregates (AF), which have no body, nor
-- what SQL Server installed itself (is_ms_shipped). No parameters.
-- T-SQL has no overloading: schema and name identify a routine.
SELECT s.name AS schema_name,
       o.name AS procedure_name
FROM sys.objects AS o
JOIN sys.schemas AS s ON s.schema_id = o.schema_id
WHERE o.is_ms_shipped = 0
  AND s.schema_id NOT IN (3, 4)
  AND o.type IN ('P', 'PC', 'FN', 'IF', 'TF', 'FS', 'FT')
ORDER BY s.name, o.name
