//! Declared SQLite column types → OpenMetadata `dataType` values.
//!
//! SQLite accepts any text as a column type and derives only an *affinity*
//! from it (<https://www.sqlite.org/datatype3.html#determination_of_column_affinity>).
//! The mapping first recognises the names people actually write, keeping
//! what they meant (`BOOLEAN`, `DATE`, `VARCHAR(120)`, `NUMERIC(10,2)`);
//! anything else gets the type of its affinity, by SQLite's own rules and
//! in their order, so `FLOATING POINT` is `INT` just as it is for SQLite.
//! Every value returned is one of OpenMetadata's `dataType` enum values.

/// An OpenMetadata column type with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    pub data_type: &'static str,
    /// Only for `CHAR`, `VARCHAR`, `BINARY` and `VARBINARY`, which
    /// OpenMetadata refuses without one.
    pub data_length: Option<i32>,
    pub precision: Option<i32>,
    pub scale: Option<i32>,
}

impl Mapped {
    const fn plain(data_type: &'static str) -> Self {
        Mapped { data_type, data_length: None, precision: None, scale: None }
    }
}

/// Maps a declared type as `pragma_table_info` reports it (`VARCHAR(120)`,
/// `unsigned big int`, or empty).
pub fn map_declared_type(declared: &str) -> Mapped {
    let upper = declared.to_ascii_uppercase();
    let (base, args) = split_args(&upper);
    let first = args.first().copied().flatten();

    // Character and binary types keep their length when they have one.
    // Without one SQLite sets no limit (it never enforces one anyway), and
    // OpenMetadata refuses a CHAR or VARCHAR without a length, so those
    // become TEXT or BLOB.
    let with_length = |data_type: &'static str, unbounded: &'static str| match first {
        Some(length) => Mapped { data_length: Some(length), ..Mapped::plain(data_type) },
        None => Mapped::plain(unbounded),
    };
    let exact = |data_type: &'static str| Mapped {
        precision: first,
        // `NUMERIC(10)` means no fractional digits, as in standard SQL.
        scale: first.map(|_| args.get(1).copied().flatten().unwrap_or(0)),
        ..Mapped::plain(data_type)
    };

    match base.as_str() {
        "INT" | "INTEGER" | "MEDIUMINT" | "INT4" => Mapped::plain("INT"),
        "TINYINT" | "INT1" => Mapped::plain("TINYINT"),
        "SMALLINT" | "INT2" => Mapped::plain("SMALLINT"),
        "BIGINT" | "INT8" | "UNSIGNED BIG INT" => Mapped::plain("BIGINT"),
        "BOOLEAN" | "BOOL" => Mapped::plain("BOOLEAN"),
        "DATE" => Mapped::plain("DATE"),
        "DATETIME" => Mapped::plain("DATETIME"),
        "TIMESTAMP" | "TIMESTAMP WITHOUT TIME ZONE" => Mapped::plain("TIMESTAMP"),
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => Mapped::plain("TIMESTAMPZ"),
        "TIME" => Mapped::plain("TIME"),
        "JSON" | "JSONB" => Mapped::plain("JSON"),
        "UUID" => Mapped::plain("UUID"),
        "NUMERIC" => exact("NUMERIC"),
        "DECIMAL" => exact("DECIMAL"),
        "REAL" | "DOUBLE" | "DOUBLE PRECISION" => Mapped::plain("DOUBLE"),
        "FLOAT" => Mapped::plain("FLOAT"),
        "TEXT" => Mapped::plain("TEXT"),
        "MEDIUMTEXT" => Mapped::plain("MEDIUMTEXT"),
        "CLOB" => Mapped::plain("CLOB"),
        "CHAR" | "CHARACTER" | "NCHAR" | "NATIVE CHARACTER" => with_length("CHAR", "TEXT"),
        "VARCHAR" | "CHARACTER VARYING" | "VARYING CHARACTER" | "NVARCHAR" | "VARCHAR2" | "NVARCHAR2" => {
            with_length("VARCHAR", "TEXT")
        }
        "BLOB" | "" => Mapped::plain("BLOB"),
        "MEDIUMBLOB" => Mapped::plain("MEDIUMBLOB"),
        "LONGBLOB" => Mapped::plain("LONGBLOB"),
        "BINARY" => with_length("BINARY", "BLOB"),
        "VARBINARY" => with_length("VARBINARY", "BLOB"),
        _ => by_affinity(&base, first, args.get(1).copied().flatten()),
    }
}

/// SQLite's five affinity rules, applied in SQLite's order.
fn by_affinity(base: &str, precision: Option<i32>, scale: Option<i32>) -> Mapped {
    if base.contains("INT") {
        Mapped::plain("INT")
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|w| base.contains(w)) {
        Mapped::plain("TEXT")
    } else if base.contains("BLOB") {
        Mapped::plain("BLOB")
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|w| base.contains(w)) {
        Mapped::plain("DOUBLE")
    } else {
        // NUMERIC affinity: `MONEY`, `STRING` (yes: SQLite gives it NUMERIC).
        Mapped { precision, scale: precision.map(|_| scale.unwrap_or(0)), ..Mapped::plain("NUMERIC") }
    }
}

/// `NUMERIC( 10 , 2 )` → (`NUMERIC`, [Some(10), Some(2)]). The name has its
/// whitespace collapsed; an argument that is not a non-negative integer
/// is `None`.
fn split_args(upper: &str) -> (String, Vec<Option<i32>>) {
    let (name, rest) = upper.split_once('(').unwrap_or((upper, ""));
    let base = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let inside = rest.split_once(')').map_or(rest, |(inside, _)| inside);
    let args = if inside.trim().is_empty() {
        Vec::new()
    } else {
        inside.split(',').map(|a| a.trim().trim_start_matches('+').parse::<i32>().ok().filter(|n| *n >= 0)).collect()
    };
    (base, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short(declared: &str) -> (&'static str, Option<i32>, Option<i32>, Option<i32>) {
        let m = map_declared_type(declared);
        (m.data_type, m.data_length, m.precision, m.scale)
    }

    #[test]
    fn common_names() {
        assert_eq!(short("INTEGER"), ("INT", None, None, None));
        assert_eq!(short("int"), ("INT", None, None, None));
        assert_eq!(short("INT(11)"), ("INT", None, None, None));
        assert_eq!(short("BIGINT"), ("BIGINT", None, None, None));
        assert_eq!(short("unsigned  big int"), ("BIGINT", None, None, None));
        assert_eq!(short("SMALLINT"), ("SMALLINT", None, None, None));
        assert_eq!(short("TINYINT"), ("TINYINT", None, None, None));
        assert_eq!(short("TEXT"), ("TEXT", None, None, None));
        assert_eq!(short("VARCHAR(120)"), ("VARCHAR", Some(120), None, None));
        assert_eq!(short("nvarchar( 50 )"), ("VARCHAR", Some(50), None, None));
        assert_eq!(short("CHAR(2)"), ("CHAR", Some(2), None, None));
        assert_eq!(short("VARCHAR"), ("TEXT", None, None, None));
        assert_eq!(short("CLOB"), ("CLOB", None, None, None));
        assert_eq!(short("BLOB"), ("BLOB", None, None, None));
        assert_eq!(short(""), ("BLOB", None, None, None));
        assert_eq!(short("REAL"), ("DOUBLE", None, None, None));
        assert_eq!(short("DOUBLE PRECISION"), ("DOUBLE", None, None, None));
        assert_eq!(short("FLOAT"), ("FLOAT", None, None, None));
        assert_eq!(short("NUMERIC(10,2)"), ("NUMERIC", None, Some(10), Some(2)));
        assert_eq!(short("DECIMAL(10, 2)"), ("DECIMAL", None, Some(10), Some(2)));
        assert_eq!(short("NUMERIC(12)"), ("NUMERIC", None, Some(12), Some(0)));
        assert_eq!(short("NUMERIC"), ("NUMERIC", None, None, None));
        assert_eq!(short("BOOLEAN"), ("BOOLEAN", None, None, None));
        assert_eq!(short("DATE"), ("DATE", None, None, None));
        assert_eq!(short("DATETIME"), ("DATETIME", None, None, None));
        assert_eq!(short("TIMESTAMP"), ("TIMESTAMP", None, None, None));
        assert_eq!(short("timestamp with time zone"), ("TIMESTAMPZ", None, None, None));
        assert_eq!(short("JSON"), ("JSON", None, None, None));
        assert_eq!(short("BINARY(16)"), ("BINARY", Some(16), None, None));
        assert_eq!(short("VARBINARY"), ("BLOB", None, None, None));
    }

    #[test]
    fn odd_names_follow_sqlite_affinity() {
        // Rule 1 comes first, so these are integers to SQLite too.
        assert_eq!(short("FLOATING POINT"), ("INT", None, None, None));
        assert_eq!(short("CHARINT"), ("INT", None, None, None));
        assert_eq!(short("POINT"), ("INT", None, None, None));
        assert_eq!(short("NATIVE VARYING CHARACTER(70)"), ("TEXT", None, None, None));
        assert_eq!(short("LONGTEXT"), ("TEXT", None, None, None));
        assert_eq!(short("TINYBLOB"), ("BLOB", None, None, None));
        assert_eq!(short("FLOAT8"), ("DOUBLE", None, None, None));
        assert_eq!(short("STRING"), ("NUMERIC", None, None, None));
        assert_eq!(short("MONEY(8,2)"), ("NUMERIC", None, Some(8), Some(2)));
    }

    #[test]
    fn malformed_arguments_are_ignored() {
        assert_eq!(short("VARCHAR(abc)"), ("TEXT", None, None, None));
        assert_eq!(short("VARCHAR(-5)"), ("TEXT", None, None, None));
        assert_eq!(short("VARCHAR(+5)"), ("VARCHAR", Some(5), None, None));
        assert_eq!(short("NUMERIC(10,"), ("NUMERIC", None, Some(10), Some(0)));
        assert_eq!(short("DECIMAL(99999999999)"), ("DECIMAL", None, None, None));
        assert_eq!(short("VARCHAR(10"), ("VARCHAR", Some(10), None, None));
    }

    #[test]
    fn every_result_is_an_openmetadata_type() {
        // One declared type per match arm, and one per affinity rule.
        let declared = [
            "INT",
            "TINYINT",
            "SMALLINT",
            "BIGINT",
            "BOOL",
            "DATE",
            "DATETIME",
            "TIMESTAMP",
            "TIMESTAMPTZ",
            "TIME",
            "JSONB",
            "UUID",
            "NUMERIC(1)",
            "DECIMAL",
            "REAL",
            "FLOAT",
            "TEXT",
            "MEDIUMTEXT",
            "CLOB",
            "CHAR(1)",
            "CHAR",
            "VARCHAR(1)",
            "BLOB",
            "MEDIUMBLOB",
            "LONGBLOB",
            "BINARY(1)",
            "VARBINARY(2)",
            "VARBINARY",
            "BIGNUMINT",
            "XCHAR",
            "XBLOB",
            "XFLOA",
            "XYZ",
        ];
        for declared in declared {
            let t = map_declared_type(declared).data_type;
            assert!(weir_sdk::is_data_type(t), "{declared} -> {t}");
        }
    }
}
