-- $1: JSON array of {"s": schema, "t": table}.
-- Rows come unordered: the plugin sorts by attnum, which is cheaper than a
-- server-side sort of wide rows that spills to disk on large batches.
WITH RECURSIVE wanted AS (
    SELECT DISTINCT w.s, w.t FROM json_to_recordset($1::json) AS w(s text, t text)
),
cols AS (
    SELECT n.nspname, c.relname, a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod,
           a.attnotnull, a.attgenerated, a.attidentity
    FROM wanted w
    JOIN pg_namespace n ON n.nspname = w.s
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.t
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
),
-- A domain may sit on another domain: walk down to the real type. The
-- nearest typmod wins (varchar(10) under a domain without one).
-- Every type the batch's columns can lead to through base and element
-- types: the only domains worth walking. Anchoring the walk on all of
-- pg_type meant a scan of two rows per table in the database, per batch.
reachable (typid) AS (
    SELECT DISTINCT atttypid FROM cols
    UNION
    SELECT next.typid
    FROM reachable r
    JOIN pg_type t ON t.oid = r.typid
    CROSS JOIN LATERAL (VALUES (t.typbasetype), (t.typelem)) AS next(typid)
    WHERE next.typid <> 0
),
domain_walk (domain, base, typmod) AS (
    SELECT t.oid, t.typbasetype, t.typtypmod
    FROM reachable r
    -- OFFSET 0 keeps this a lookup by oid per reachable type; flattened,
    -- the planner hashes all of pg_type instead.
    CROSS JOIN LATERAL (SELECT oid, typbasetype, typtypmod, typtype FROM pg_type WHERE oid = r.typid OFFSET 0) t
    WHERE t.typtype = 'd'
    UNION ALL
    SELECT d.domain, t.typbasetype, CASE WHEN d.typmod = -1 THEN t.typtypmod ELSE d.typmod END
    FROM domain_walk d
    JOIN pg_type t ON t.oid = d.base
    WHERE t.typtype = 'd'
),
domain_base AS (
    SELECT d.domain, d.base, d.typmod
    FROM domain_walk d
    JOIN pg_type t ON t.oid = d.base
    WHERE t.typtype <> 'd'
),
-- The subtype of each range and multirange. Multiranges (14+) are read
-- through to_jsonb so that the query still runs where pg_range lacks the
-- rngmultitypid column.
range_subtype (typid, subtype) AS (
    SELECT rg.rngtypid, s.typname
    FROM pg_range rg JOIN pg_type s ON s.oid = rg.rngsubtype
    UNION ALL
    SELECT (to_jsonb(rg) ->> 'rngmultitypid')::oid, s.typname
    FROM pg_range rg JOIN pg_type s ON s.oid = rg.rngsubtype
    WHERE to_jsonb(rg) ? 'rngmultitypid'
),
-- Each distinct type of the batch resolved once (a few dozen rows), rather
-- than once per column.
resolved AS (
    SELECT u.typid,
           bt.typname AS type_name,
           bt.typtype::text AS type_kind,
           db.typmod AS domain_typmod,
           brs.subtype AS range_subtype,
           et.typname AS element_name,
           et.typtype::text AS element_kind,
           ers.subtype AS element_range_subtype
    FROM (SELECT DISTINCT atttypid AS typid FROM cols) u
    LEFT JOIN domain_base db ON db.domain = u.typid
    JOIN pg_type bt ON bt.oid = coalesce(db.base, u.typid)
    LEFT JOIN range_subtype brs ON brs.typid = bt.oid
    -- Arrays: typcategory 'A' (point has a typelem too, but is no array).
    LEFT JOIN domain_base edb ON edb.domain = bt.typelem
    LEFT JOIN pg_type et ON bt.typcategory = 'A' AND bt.typelem <> 0
                        AND et.oid = coalesce(edb.base, bt.typelem)
    LEFT JOIN range_subtype ers ON ers.typid = et.oid
)
SELECT a.nspname AS schema,
       a.relname AS name,
       a.attnum AS attnum,
       a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS display,
       a.attnotnull AS not_null,
       -- A generated column's expression is not a default. A default cannot
       -- refer to columns, so it deparses without opening the table (relid
       -- 0), several times faster over a large batch.
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0) END AS default_value,
       -- 'a' (always), 'd' (by default) or ''.
       a.attidentity::text AS identity,
       -- A generation expression refers to columns: it needs the relation.
       -- Generated columns are few, so the slower deparse is affordable.
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, a.attrelid) END AS generated,
       d.description,
       t.type_name,
       t.type_kind,
       coalesce(nullif(a.atttypmod, -1), t.domain_typmod, -1) AS typmod,
       t.range_subtype,
       t.element_name,
       t.element_kind,
       t.element_range_subtype
FROM cols a
JOIN resolved t ON t.typid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
-- What col_description() reads, as a join: the function costs a query per
-- column.
LEFT JOIN pg_description d ON d.objoid = a.attrelid
                          AND d.classoid = 'pg_class'::regclass
                          AND d.objsubid = a.attnum
