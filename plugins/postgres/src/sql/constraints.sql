-- $1: JSON array of {"s": schema, "t": table}.
-- Rows come unordered: the plugin orders them.
WITH wanted AS (
    SELECT DISTINCT w.s, w.t FROM json_to_recordset($1::json) AS w(s text, t text)
)
SELECT n.nspname AS schema,
       c.relname AS name,
       con.conname AS constraint_name,
       con.contype::text AS kind,
       -- Key order, not table order: (b, a) is another key than (a, b). One
       -- index lookup per key column beats joining the table's attributes.
       (SELECT json_agg((SELECT a.attname FROM pg_attribute a
                          WHERE a.attrelid = con.conrelid AND a.attnum = k.attnum)
                        ORDER BY k.ord)
          FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord))::text AS columns,
       fn.nspname AS referred_schema,
       fc.relname AS referred_table,
       (SELECT json_agg((SELECT a.attname FROM pg_attribute a
                          WHERE a.attrelid = con.confrelid AND a.attnum = k.attnum)
                        ORDER BY k.ord)
          FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord))::text AS referred_columns,
       CASE WHEN con.contype = 'c' THEN pg_get_constraintdef(con.oid, true) END AS definition
FROM wanted w
JOIN pg_namespace n ON n.nspname = w.s
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.t
JOIN pg_constraint con ON con.conrelid = c.oid
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
  AND con.contype IN ('p', 'u', 'c', 'f')
  -- A foreign key to a partitioned table gets one hidden copy per partition,
  -- all on the same table, each pointing at its parent constraint.
  AND NOT EXISTS (SELECT 1 FROM pg_constraint pc
                   WHERE pc.oid = con.conparentid AND pc.conrelid = con.conrelid)
