//! PostgreSQL column types to OpenMetadata `dataType` values.
//!
//! Pure on purpose: the columns query has already walked domains down to
//! their base type, found array elements and range subtypes; this module
//! only decides, so every rule can be unit-tested without a database.
//!
//! Every value returned is one of `table.json#/definitions/dataType`; the
//! host rejects an entity carrying anything else.

/// `VARHDRSZ`: the header PostgreSQL adds to the typmod of its varlena types
/// (`varchar`, `bpchar`, `numeric`), but not to `bit`/`varbit`.
const VARHDRSZ: i32 = 4;

/// One type as the catalog describes it, after domain resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgType<'a> {
    /// `pg_type.typname`: the internal name (`int4`, `bpchar`, `_text`).
    pub name: &'a str,
    /// `pg_type.typtype`: `b` base, `c` composite, `e` enum, `p` pseudo,
    /// `r` range, `m` multirange.
    pub kind: &'a str,
    /// The subtype's `typname`, for ranges and multiranges.
    pub range_subtype: Option<&'a str>,
}

/// A column's type: its base type, the element type when the base is an
/// array, and the typmod that applies (the column's, else the nearest
/// domain's; for arrays it describes the element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnType<'a> {
    pub base: PgType<'a>,
    pub element: Option<PgType<'a>>,
    pub typmod: i32,
}

/// The OpenMetadata side of a column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub data_type: &'static str,
    pub array_data_type: Option<&'static str>,
    pub data_length: Option<i32>,
    pub precision: Option<i32>,
    pub scale: Option<i32>,
}

impl Mapped {
    fn plain(data_type: &'static str) -> Self {
        Mapped { data_type, array_data_type: None, data_length: None, precision: None, scale: None }
    }
}

/// Maps one column type.
pub fn map(column: &ColumnType<'_>) -> Mapped {
    if let Some(element) = column.element {
        // OpenMetadata keeps one level: ARRAY plus the element's type. The
        // typmod belongs to the element and OpenMetadata has no place for
        // it on an ARRAY, so lengths and precisions are not reported.
        let mut mapped = Mapped::plain("ARRAY");
        mapped.array_data_type = Some(scalar(&element));
        return mapped;
    }
    let mut mapped = Mapped::plain(scalar(&column.base));
    if column.base.kind != "b" {
        return mapped;
    }
    match column.base.name {
        // Without a length (`varchar`, or `bpchar` in a view's expression)
        // the length stays unknown rather than made up. OpenMetadata's
        // server does refuse CHAR/VARCHAR/BINARY/VARBINARY without a
        // dataLength, and its Python ingestion answers with 1, which reads
        // as `varchar(1)`; filling a placeholder is the OpenMetadata sink's
        // business, where it can be done once for every connector.
        "varchar" | "bpchar" => mapped.data_length = char_length(column.typmod),
        // The one-byte internal type, always exactly one character.
        "char" => mapped.data_length = Some(1),
        // NAMEDATALEN (64, a compile-time constant nobody changes) less the
        // terminating NUL.
        "name" => mapped.data_length = Some(63),
        "bit" | "varbit" => mapped.data_length = bit_length(column.typmod),
        "numeric" => {
            if let Some((precision, scale)) = numeric_precision_scale(column.typmod) {
                mapped.precision = Some(precision);
                mapped.scale = Some(scale);
            }
        }
        _ => {}
    }
    mapped
}

/// The `dataType` of one non-array type.
pub fn scalar(t: &PgType<'_>) -> &'static str {
    match t.kind {
        "e" => "ENUM",
        "r" | "m" => range(t.range_subtype),
        // A composite's closest value would be STRUCT, but OpenMetadata
        // refuses a STRUCT without `children`, which the contract's column
        // cannot carry yet; dataTypeDisplay still names the type.
        "c" => "UNKNOWN",
        _ => base(t.name),
    }
}

/// Ranges and multiranges. OpenMetadata has one range type,
/// DATETIMERANGE, and it fits the temporal ranges exactly (tsrange,
/// tstzrange, daterange and any range over those subtypes). Numeric ranges
/// (int4range, numrange, ...) have no counterpart: calling them
/// DATETIMERANGE would be wrong and calling them INT or NUMERIC would hide
/// that a value is an interval, so they are UNKNOWN, with the real name in
/// dataTypeDisplay.
fn range(subtype: Option<&str>) -> &'static str {
    match subtype {
        Some("date" | "timestamp" | "timestamptz") => "DATETIMERANGE",
        _ => "UNKNOWN",
    }
}

fn base(name: &str) -> &'static str {
    match name {
        "int2" => "SMALLINT",
        "int4" => "INT",
        "int8" => "BIGINT",
        // oid is an unsigned 32-bit integer (large-object columns use it).
        "oid" => "UINT",
        "float4" => "FLOAT",
        "float8" => "DOUBLE",
        "numeric" => "NUMERIC",
        "money" => "MONEY",
        "varchar" | "name" => "VARCHAR",
        "bpchar" | "char" => "CHAR",
        "text" | "citext" => "TEXT",
        "bool" => "BOOLEAN",
        "date" => "DATE",
        // OpenMetadata has no time-with-zone value; TIME is the nearest.
        "time" | "timetz" => "TIME",
        "timestamp" => "TIMESTAMP",
        "timestamptz" => "TIMESTAMPZ",
        "interval" => "INTERVAL",
        "bytea" => "BYTEA",
        "json" | "jsonb" => "JSON",
        "uuid" => "UUID",
        "xml" => "XML",
        "inet" => "INET",
        "cidr" => "CIDR",
        "macaddr" | "macaddr8" => "MACADDR",
        "tsvector" => "TSVECTOR",
        "tsquery" => "TSQUERY",
        "bit" | "varbit" => "BIT",
        "point" => "POINT",
        "polygon" => "POLYGON",
        // The other built-in planar shapes, as OpenMetadata's own
        // PostgreSQL ingestion maps them.
        "box" | "circle" | "line" | "lseg" | "path" => "GEOMETRY",
        // PostGIS, matched by name: the extension may live in any schema.
        "geometry" => "GEOMETRY",
        "geography" => "GEOGRAPHY",
        // hstore is a text-to-text map.
        "hstore" => "MAP",
        "pg_lsn" => "PG_LSN",
        "pg_snapshot" => "PG_SNAPSHOT",
        "txid_snapshot" => "TXID_SNAPSHOT",
        _ => "UNKNOWN",
    }
}

/// The declared length of `varchar(n)` / `char(n)`, if any.
pub fn char_length(typmod: i32) -> Option<i32> {
    (typmod >= VARHDRSZ).then(|| typmod - VARHDRSZ)
}

/// The declared length of `bit(n)` / `varbit(n)`: stored without header.
pub fn bit_length(typmod: i32) -> Option<i32> {
    (typmod >= 0).then_some(typmod)
}

/// `numeric(p, s)` from its typmod: precision in the high 16 bits, scale in
/// the low 11 bits as a signed number. PostgreSQL 15 made the scale signed
/// (`numeric(5,-2)`) and allowed it above the precision; earlier servers
/// never stored a scale above 1000, which decodes the same either way.
pub fn numeric_precision_scale(typmod: i32) -> Option<(i32, i32)> {
    if typmod < VARHDRSZ {
        return None;
    }
    let packed = typmod - VARHDRSZ;
    let precision = (packed >> 16) & 0xffff;
    let scale = ((packed & 0x7ff) ^ 1024) - 1024;
    Some((precision, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(name: &str) -> PgType<'_> {
        PgType { name, kind: "b", range_subtype: None }
    }

    fn col(base: PgType<'_>, typmod: i32) -> Mapped {
        map(&ColumnType { base, element: None, typmod })
    }

    fn array_of(element: PgType<'_>) -> Mapped {
        map(&ColumnType { base: b("_whatever"), element: Some(element), typmod: -1 })
    }

    const KNOWN_BASE_TYPES: &[&str] = &[
        "int2",
        "int4",
        "int8",
        "oid",
        "float4",
        "float8",
        "numeric",
        "money",
        "varchar",
        "name",
        "bpchar",
        "char",
        "text",
        "citext",
        "bool",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "interval",
        "bytea",
        "json",
        "jsonb",
        "uuid",
        "xml",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
        "tsvector",
        "tsquery",
        "bit",
        "varbit",
        "point",
        "polygon",
        "box",
        "circle",
        "line",
        "lseg",
        "path",
        "geometry",
        "geography",
        "hstore",
        "pg_lsn",
        "pg_snapshot",
        "txid_snapshot",
    ];

    #[test]
    fn every_mapping_is_an_openmetadata_data_type() {
        for name in KNOWN_BASE_TYPES {
            let mapped = base(name);
            assert_ne!(mapped, "UNKNOWN", "{name} should be mapped");
            assert!(weir_sdk::is_data_type(mapped), "{name} -> {mapped}");
        }
        for kind in ["e", "r", "m", "c", "p"] {
            for subtype in [None, Some("date"), Some("int4")] {
                let mapped = scalar(&PgType { name: "x", kind, range_subtype: subtype });
                assert!(weir_sdk::is_data_type(mapped), "{kind} -> {mapped}");
            }
        }
    }

    #[test]
    fn integers_and_floats() {
        assert_eq!(col(b("int2"), -1).data_type, "SMALLINT");
        assert_eq!(col(b("int4"), -1).data_type, "INT");
        assert_eq!(col(b("int8"), -1).data_type, "BIGINT");
        assert_eq!(col(b("float4"), -1).data_type, "FLOAT");
        assert_eq!(col(b("float8"), -1).data_type, "DOUBLE");
        assert_eq!(col(b("int4"), -1).precision, None);
    }

    #[test]
    fn numeric_with_and_without_typmod() {
        // numeric(10,2), as stored in pg_attribute.atttypmod.
        let m = col(b("numeric"), 655366);
        assert_eq!((m.data_type, m.precision, m.scale), ("NUMERIC", Some(10), Some(2)));
        // numeric(4,2) from pagila's film.rental_rate.
        assert_eq!(numeric_precision_scale(262150), Some((4, 2)));
        let m = col(b("numeric"), -1);
        assert_eq!((m.data_type, m.precision, m.scale), ("NUMERIC", None, None));
    }

    #[test]
    fn numeric_typmod_edges_of_postgresql_15() {
        assert_eq!(numeric_precision_scale(329730), Some((5, -2)));
        assert_eq!(numeric_precision_scale(131081), Some((2, 5)));
        assert_eq!(numeric_precision_scale(((1000 << 16) | 1000) + VARHDRSZ), Some((1000, 1000)));
        assert_eq!(numeric_precision_scale((1 << 16) + VARHDRSZ), Some((1, 0)));
        assert_eq!(numeric_precision_scale(3), None);
    }

    #[test]
    fn character_lengths() {
        let m = col(b("varchar"), 24);
        assert_eq!((m.data_type, m.data_length), ("VARCHAR", Some(20)));
        let m = col(b("varchar"), -1);
        assert_eq!((m.data_type, m.data_length), ("VARCHAR", None));
        let m = col(b("bpchar"), 7);
        assert_eq!((m.data_type, m.data_length), ("CHAR", Some(3)));
        assert_eq!(col(b("bpchar"), -1).data_length, None);
        let m = col(b("char"), -1);
        assert_eq!((m.data_type, m.data_length), ("CHAR", Some(1)));
        assert_eq!(col(b("name"), -1).data_length, Some(63));
        let m = col(b("text"), -1);
        assert_eq!((m.data_type, m.data_length), ("TEXT", None));
        assert_eq!(char_length(4), Some(0));
    }

    #[test]
    fn bit_strings_carry_their_length_without_header() {
        let m = col(b("bit"), 5);
        assert_eq!((m.data_type, m.data_length), ("BIT", Some(5)));
        let m = col(b("varbit"), -1);
        assert_eq!((m.data_type, m.data_length), ("BIT", None));
    }

    #[test]
    fn time_types() {
        assert_eq!(col(b("date"), -1).data_type, "DATE");
        assert_eq!(col(b("time"), -1).data_type, "TIME");
        assert_eq!(col(b("timetz"), -1).data_type, "TIME");
        assert_eq!(col(b("timestamp"), 3).data_type, "TIMESTAMP");
        assert_eq!(col(b("timestamptz"), -1).data_type, "TIMESTAMPZ");
        assert_eq!(col(b("interval"), 470351871).data_type, "INTERVAL");
        assert_eq!(col(b("timestamp"), 3).precision, None);
    }

    #[test]
    fn special_types() {
        for (pg, om) in [
            ("bool", "BOOLEAN"),
            ("bytea", "BYTEA"),
            ("json", "JSON"),
            ("jsonb", "JSON"),
            ("uuid", "UUID"),
            ("xml", "XML"),
            ("inet", "INET"),
            ("cidr", "CIDR"),
            ("macaddr", "MACADDR"),
            ("tsvector", "TSVECTOR"),
            ("tsquery", "TSQUERY"),
            ("money", "MONEY"),
            ("point", "POINT"),
            ("polygon", "POLYGON"),
            ("geometry", "GEOMETRY"),
            ("geography", "GEOGRAPHY"),
            ("int2vector_of_nothing", "UNKNOWN"),
        ] {
            assert_eq!(col(b(pg), -1).data_type, om, "{pg}");
        }
    }

    #[test]
    fn enums_ranges_composites() {
        let mood = PgType { name: "mpaa_rating", kind: "e", range_subtype: None };
        assert_eq!(col(mood, -1).data_type, "ENUM");
        let ts = PgType { name: "tstzrange", kind: "r", range_subtype: Some("timestamptz") };
        assert_eq!(col(ts, -1).data_type, "DATETIMERANGE");
        let dm = PgType { name: "datemultirange", kind: "m", range_subtype: Some("date") };
        assert_eq!(col(dm, -1).data_type, "DATETIMERANGE");
        let ir = PgType { name: "int4range", kind: "r", range_subtype: Some("int4") };
        assert_eq!(col(ir, -1).data_type, "UNKNOWN");
        let pair = PgType { name: "pair", kind: "c", range_subtype: None };
        assert_eq!(col(pair, -1).data_type, "UNKNOWN");
        // A user type that happens to be called like a built-in is still an enum.
        let text_enum = PgType { name: "text", kind: "e", range_subtype: None };
        assert_eq!(col(text_enum, -1).data_type, "ENUM");
    }

    #[test]
    fn arrays_map_their_element() {
        let m = array_of(b("text"));
        assert_eq!((m.data_type, m.array_data_type), ("ARRAY", Some("TEXT")));
        let m = array_of(PgType { name: "mpaa_rating", kind: "e", range_subtype: None });
        assert_eq!(m.array_data_type, Some("ENUM"));
        let m = array_of(PgType { name: "tsrange", kind: "r", range_subtype: Some("timestamp") });
        assert_eq!(m.array_data_type, Some("DATETIMERANGE"));
        // varchar(10)[]: the typmod describes the element; no length on ARRAY.
        let m = map(&ColumnType { base: b("_varchar"), element: Some(b("varchar")), typmod: 14 });
        assert_eq!((m.array_data_type, m.data_length), (Some("VARCHAR"), None));
    }
}
