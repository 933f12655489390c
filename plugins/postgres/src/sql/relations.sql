-- $1: JSON array of {"s": schema, "t": table}.
WITH wanted AS (
    SELECT DISTINCT w.s, w.t FROM json_to_recordset($1::json) AS w(s text, t text)
)
SELECT n.nspname AS schema,
       c.relname AS name,
       c.relkind::text AS kind,
       d.description,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS view_definition,
       pg_get_userbyid(c.relowner)::text AS owner,
       -- Compared with the rows of the columns query, which runs in another
       -- transaction, to notice a table altered in between.
       (SELECT count(*)
          FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS column_count,
       -- reltuples is -1 until the first VACUUM or ANALYZE (PostgreSQL 14+).
       -- A partitioned parent holds no rows itself: add up its leaves, and
       -- only when every leaf has an estimate.
       CASE
           WHEN c.relkind IN ('r', 'm', 'f') THEN
               CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8 END
           WHEN c.relkind = 'p' THEN (
               SELECT CASE WHEN bool_and(p.reltuples >= 0) THEN sum(p.reltuples)::int8 END
                 FROM pg_partition_tree(c.oid) pt
                 JOIN pg_class p ON p.oid = pt.relid
                WHERE pt.isleaf)
       END AS row_count,
       CASE
           WHEN c.relkind IN ('r', 'm') THEN pg_total_relation_size(c.oid)
           WHEN c.relkind = 'p' THEN (
               SELECT coalesce(sum(pg_total_relation_size(pt.relid)), 0)::int8
                 FROM pg_partition_tree(c.oid) pt)
       END AS size_bytes
FROM wanted w
JOIN pg_namespace n ON n.nspname = w.s
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.t
-- What obj_description() reads, as a join rather than a query per table.
LEFT JOIN pg_description d ON d.objoid = c.oid
                          AND d.classoid = 'pg_class'::regclass
                          AND d.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
