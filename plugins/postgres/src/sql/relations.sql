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
       -- Size from the catalog's own page counts (table, TOAST, indexes),
       -- kept by VACUUM and ANALYZE like reltuples: pg_total_relation_size
       -- stats every file of every relation on disk, which made this query
       -- several times slower on a batch of tables. Unknown (NULL) until
       -- the table has been analysed.
       CASE
           WHEN c.relkind IN ('r', 'm') AND c.reltuples >= 0 THEN pages.total * current_setting('block_size')::int8
           WHEN c.relkind = 'p' THEN (
               SELECT CASE WHEN bool_and(p.reltuples >= 0) THEN
                          sum(p.relpages::int8
                              + coalesce((SELECT t.relpages FROM pg_class t WHERE t.oid = p.reltoastrelid), 0)
                              + coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                                           WHERE x.indrelid = p.oid), 0)
                          )::int8 * current_setting('block_size')::int8
                      END
                 FROM pg_partition_tree(c.oid) pt
                 JOIN pg_class p ON p.oid = pt.relid
                WHERE pt.isleaf)
       END AS size_bytes,
       -- A partitioned table's key, its plain key columns, and every
       -- partition below it (sub-partitions too), each with its own bound:
       -- partitions are recorded here, on the parent, not as tables.
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN c.relkind = 'p' THEN (
           SELECT json_agg(a.attname::text ORDER BY k.ord)::text
             FROM pg_partitioned_table pt
            CROSS JOIN LATERAL unnest(pt.partattrs::int2[]) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = k.attnum
            WHERE pt.partrelid = c.oid AND k.attnum <> 0)
       END AS partition_columns,
       CASE WHEN c.relkind = 'p' THEN (
           SELECT json_agg(json_build_array(pn.nspname, pc.relname, pg_get_expr(pc.relpartbound, pc.oid))
                           ORDER BY pn.nspname, pc.relname)::text
             FROM pg_partition_tree(c.oid) tree
             JOIN pg_class pc ON pc.oid = tree.relid
             JOIN pg_namespace pn ON pn.oid = pc.relnamespace
            WHERE tree.level > 0)
       END AS partitions,
       -- View lineage: the relations a view's rewrite rule depends on, one
       -- pg_depend row per column used, hence DISTINCT; the rule also
       -- depends on the view itself. A partition read directly stands for
       -- its root, the table the catalog has; system catalogs are no
       -- entities. A JSON array of [schema, name], in order.
       CASE WHEN c.relkind IN ('v', 'm') THEN (
           SELECT json_agg(json_build_array(src.schema, src.name) ORDER BY src.schema, src.name)::text
             FROM (SELECT DISTINCT sn.nspname AS schema, s.relname AS name
                     FROM pg_rewrite r
                     JOIN pg_depend dep ON dep.classid = 'pg_rewrite'::regclass
                                       AND dep.objid = r.oid
                                       AND dep.refclassid = 'pg_class'::regclass
                                       AND dep.refobjid <> c.oid
                     JOIN pg_class used ON used.oid = dep.refobjid
                     JOIN pg_class s ON s.oid = CASE WHEN used.relispartition
                                                     THEN pg_partition_root(used.oid)::oid
                                                     ELSE used.oid END
                     JOIN pg_namespace sn ON sn.oid = s.relnamespace
                    WHERE r.ev_class = c.oid
                      AND s.relkind IN ('r', 'p', 'f', 'v', 'm')
                      AND sn.nspname !~ '^pg_'
                      AND sn.nspname <> 'information_schema') src)
       END AS sources
FROM wanted w
JOIN pg_namespace n ON n.nspname = w.s
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.t
CROSS JOIN LATERAL (
    SELECT c.relpages::int8
           + coalesce((SELECT t.relpages FROM pg_class t WHERE t.oid = c.reltoastrelid), 0)
           + coalesce((SELECT sum(i.relpages) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                        WHERE x.indrelid = c.oid), 0) AS total
) pages
-- What obj_description() reads, as a join rather than a query per table.
LEFT JOIN pg_description d ON d.objoid = c.oid
                          AND d.classoid = 'pg_class'::regclass
                          AND d.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
