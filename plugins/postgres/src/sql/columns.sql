-- $1: JSON array of {"s": schema, "t": table}.
WITH RECURSIVE wanted AS (
    SELECT DISTINCT w.s, w.t FROM json_to_recordset($1::json) AS w(s text, t text)
),
rel AS (
    SELECT c.oid, n.nspname, c.relname
    FROM wanted w
    JOIN pg_namespace n ON n.nspname = w.s
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.t
    WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
),
-- A domain may sit on another domain: walk down to the real type. The
-- nearest typmod wins (varchar(10) under a domain without one).
domain_walk (domain, base, typmod) AS (
    SELECT t.oid, t.typbasetype, t.typtypmod FROM pg_type t WHERE t.typtype = 'd'
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
-- The element type of each range and multirange. Multiranges (14+) are read
-- through to_jsonb so that the query still runs where pg_range lacks the
-- rngmultitypid column.
range_subtype (typid, subtype) AS (
    SELECT rg.rngtypid, s.typname
    FROM pg_range rg JOIN pg_type s ON s.oid = rg.rngsubtype
    UNION ALL
    SELECT (to_jsonb(rg) ->> 'rngmultitypid')::oid, s.typname
    FROM pg_range rg JOIN pg_type s ON s.oid = rg.rngsubtype
    WHERE to_jsonb(rg) ? 'rngmultitypid'
)
SELECT r.nspname AS schema,
       r.relname AS name,
       a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS display,
       a.attnotnull AS not_null,
       -- A generated column's expression is not a default.
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default_value,
       col_description(r.oid, a.attnum) AS description,
       bt.typname AS type_name,
       bt.typtype::text AS type_kind,
       coalesce(nullif(a.atttypmod, -1), db.typmod, -1) AS typmod,
       brs.subtype AS range_subtype,
       et.typname AS element_name,
       et.typtype::text AS element_kind,
       ers.subtype AS element_range_subtype
FROM rel r
JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN domain_base db ON db.domain = a.atttypid
JOIN pg_type bt ON bt.oid = coalesce(db.base, a.atttypid)
LEFT JOIN range_subtype brs ON brs.typid = bt.oid
-- Arrays: typcategory 'A' (point has a typelem too, but is no array).
LEFT JOIN domain_base edb ON edb.domain = bt.typelem
LEFT JOIN pg_type et ON bt.typcategory = 'A' AND bt.typelem <> 0
                    AND et.oid = coalesce(edb.base, bt.typelem)
LEFT JOIN range_subtype ers ON ers.typid = et.oid
ORDER BY r.nspname, r.relname, a.attnum
