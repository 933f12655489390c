//! SQL Server column types to OpenMetadata `dataType` values, with the
//! length, precision and scale OpenMetadata keeps and the type as the user
//! declared it (`dataTypeDisplay`).
//!
//! Pure on purpose: the columns query hands over sys.columns and sys.types
//! as they are; every rule lives here and is unit-tested without a server.
//! Every `dataType` returned is one of `table.json#/definitions/dataType`;
//! the host rejects an entity carrying anything else.
//!
//! | SQL Server                          | dataType   | length / precision, scale |
//! |-------------------------------------|------------|---------------------------|
//! | bit                                 | BOOLEAN    |                           |
//! | tinyint, smallint, int, bigint      | TINYINT, SMALLINT, INT, BIGINT |      |
//! | decimal(p,s), numeric(p,s)          | DECIMAL, NUMERIC | p, s                |
//! | money, smallmoney                   | MONEY      | 19,4 / 10,4               |
//! | real (float(1-24)), float (25-53)   | FLOAT, DOUBLE |                        |
//! | date, time(n)                       | DATE, TIME |                           |
//! | datetime, datetime2(n), smalldatetime | DATETIME |                           |
//! | datetimeoffset(n)                   | TIMESTAMPZ |                           |
//! | char(n), nchar(n)                   | CHAR       | n characters              |
//! | varchar(n), nvarchar(n), sysname    | VARCHAR    | n characters; (max): none |
//! | text, ntext                         | TEXT, NTEXT |                          |
//! | binary(n), varbinary(n)             | BINARY, VARBINARY | n bytes; (max): none |
//! | image                               | IMAGE      |                           |
//! | rowversion (timestamp)              | BINARY     | 8                         |
//! | uniqueidentifier                    | UUID       |                           |
//! | xml                                 | XML        |                           |
//! | sql_variant                         | VARIANT    |                           |
//! | geography, geometry, hierarchyid    | GEOGRAPHY, GEOMETRY, HIERARCHYID |     |
//! | alias type (CREATE TYPE .. FROM)    | its system type's, display = alias name |
//! | CLR user type                       | UNKNOWN, display = its name |          |

/// A column's type as sys.columns and sys.types describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlType<'a> {
    /// `sys.types.name` of the column's type: a system type (`nvarchar`,
    /// `sysname`, `geography`), or an alias or CLR type's own name.
    pub name: &'a str,
    /// `sys.types.is_user_defined`.
    pub user_defined: bool,
    /// The system type under an alias type; `None` for system types and
    /// for CLR user types, which have none.
    pub base: Option<&'a str>,
    /// `sys.columns.max_length`: bytes, not characters; -1 for (max).
    pub max_length: i32,
    /// `sys.columns.precision`.
    pub precision: i32,
    /// `sys.columns.scale`: decimal places, or fractional-second digits.
    pub scale: i32,
}

/// The OpenMetadata side of a column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub data_type: &'static str,
    pub data_length: Option<i32>,
    pub precision: Option<i32>,
    pub scale: Option<i32>,
    /// The type as declared: `nvarchar(50)`, `decimal(18,4)`, `Phone`.
    pub display: String,
}

/// Maps one column type.
pub fn map(t: &SqlType<'_>) -> Mapped {
    // An alias type is its system type under another name: mapped as that
    // type, with the length, precision and scale the column has, and shown
    // by the name the user declared.
    let system = if t.user_defined { t.base } else { Some(t.name) };
    let Some(system) = system else {
        // A CLR user type: an assembly's class, opaque to the catalog.
        return Mapped {
            data_type: "UNKNOWN",
            data_length: None,
            precision: None,
            scale: None,
            display: t.name.to_string(),
        };
    };
    let system = system.to_ascii_lowercase();
    let system = system.as_str();
    let mut mapped = Mapped {
        data_type: data_type(system),
        data_length: data_length(system, t.max_length),
        precision: None,
        scale: None,
        display: if t.user_defined { t.name.to_string() } else { display(system, t) },
    };
    if matches!(system, "decimal" | "numeric" | "money" | "smallmoney") {
        mapped.precision = Some(t.precision);
        mapped.scale = Some(t.scale);
    }
    mapped
}

/// The `dataType` of a system type, by its sys.types name.
pub fn data_type(system: &str) -> &'static str {
    match system {
        // A 0/1 flag (NULL aside); SQL Server itself converts 'TRUE' and
        // 'FALSE' to it. OpenMetadata's own parser calls it BINARY, which
        // tells a reader the column holds bytes: BOOLEAN says what it holds.
        "bit" => "BOOLEAN",
        // Unsigned, 0 to 255: still the one-byte integer OpenMetadata means.
        "tinyint" => "TINYINT",
        "smallint" => "SMALLINT",
        "int" => "INT",
        "bigint" => "BIGINT",
        "decimal" => "DECIMAL",
        "numeric" => "NUMERIC",
        // Fixed-point currency, exactly decimal(19,4) / decimal(10,4).
        // OpenMetadata has MONEY, which names it better than NUMBER (any
        // number) or DECIMAL (which loses that it is money); precision and
        // scale carry the exactness.
        "money" | "smallmoney" => "MONEY",
        // float(1-24) is stored as real, 4 bytes; float(25-53), the
        // default, is 8 bytes: OpenMetadata's FLOAT and DOUBLE.
        "real" => "FLOAT",
        "float" => "DOUBLE",
        "date" => "DATE",
        "time" => "TIME",
        // Date and time without offset; OpenMetadata's TIMESTAMP is the
        // same idea, but DATETIME is the name SQL Server users know and
        // OpenMetadata's own ingestion uses.
        "datetime" | "datetime2" | "smalldatetime" => "DATETIME",
        // A point in time with its UTC offset.
        "datetimeoffset" => "TIMESTAMPZ",
        "char" | "nchar" => "CHAR",
        // sysname is nvarchar(128) NOT NULL under another name.
        "varchar" | "nvarchar" | "sysname" => "VARCHAR",
        "text" => "TEXT",
        "ntext" => "NTEXT",
        "binary" => "BINARY",
        "varbinary" => "VARBINARY",
        "image" => "IMAGE",
        // rowversion, still named `timestamp` in sys.types: an 8-byte
        // counter the server bumps on every write to the row. It holds no
        // date or time at all; TIMESTAMP would say it does. Eight bytes of
        // binary is what it is.
        "timestamp" | "rowversion" => "BINARY",
        "uniqueidentifier" => "UUID",
        "xml" => "XML",
        // A value of any of several base types, tagged with its type.
        "sql_variant" => "VARIANT",
        "geography" => "GEOGRAPHY",
        "geometry" => "GEOMETRY",
        "hierarchyid" => "HIERARCHYID",
        _ => "UNKNOWN",
    }
}

/// The declared length in characters (strings) or bytes (binary), from
/// `max_length` in bytes. `(max)` has no length: as for PostgreSQL's
/// unbounded varchar, it stays unknown rather than made up (OpenMetadata
/// wants one on CHAR/VARCHAR/BINARY/VARBINARY; filling a placeholder is
/// the OpenMetadata sink's business, done once for every connector). The
/// old text/ntext/image types report 16, the size of their row pointer,
/// which is no length of theirs.
pub fn data_length(system: &str, max_length: i32) -> Option<i32> {
    if max_length < 0 {
        return None;
    }
    match system {
        "char" | "varchar" | "binary" | "varbinary" => Some(max_length),
        // UCS-2/UTF-16: two bytes per character declared.
        "nchar" | "nvarchar" | "sysname" => Some(max_length / 2),
        "timestamp" | "rowversion" => Some(8),
        _ => None,
    }
}

/// A system type as a user writes it in DDL.
fn display(system: &str, t: &SqlType<'_>) -> String {
    let size = |length: i32| if t.max_length < 0 { "max".to_string() } else { length.to_string() };
    match system {
        "char" | "varchar" | "binary" | "varbinary" => format!("{system}({})", size(t.max_length)),
        "nchar" | "nvarchar" => format!("{system}({})", size(t.max_length / 2)),
        "decimal" | "numeric" => format!("{system}({},{})", t.precision, t.scale),
        "datetime2" | "time" | "datetimeoffset" => format!("{system}({})", t.scale),
        // The name the documentation uses; `timestamp` is its deprecated
        // synonym and reads like a date.
        "timestamp" => "rowversion".to_string(),
        _ => system.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A system type as sys.columns/sys.types report it.
    fn system(name: &str, max_length: i32, precision: i32, scale: i32) -> Mapped {
        map(&SqlType { name, user_defined: false, base: None, max_length, precision, scale })
    }

    fn check(m: &Mapped, data_type: &str, display: &str) {
        assert_eq!((m.data_type, m.display.as_str()), (data_type, display));
    }

    /// Every system type of SQL Server 2016+ (sys.types where
    /// is_user_defined = 0).
    const SYSTEM_TYPES: &[&str] = &[
        "bigint",
        "binary",
        "bit",
        "char",
        "date",
        "datetime",
        "datetime2",
        "datetimeoffset",
        "decimal",
        "float",
        "geography",
        "geometry",
        "hierarchyid",
        "image",
        "int",
        "money",
        "nchar",
        "ntext",
        "numeric",
        "nvarchar",
        "real",
        "smalldatetime",
        "smallint",
        "smallmoney",
        "sql_variant",
        "sysname",
        "text",
        "time",
        "timestamp",
        "tinyint",
        "uniqueidentifier",
        "varbinary",
        "varchar",
        "xml",
    ];

    #[test]
    fn every_system_type_maps_to_an_openmetadata_data_type() {
        for name in SYSTEM_TYPES {
            let mapped = data_type(name);
            assert_ne!(mapped, "UNKNOWN", "{name} should be mapped");
            assert!(weir_sdk::is_data_type(mapped), "{name} -> {mapped}");
        }
        assert!(weir_sdk::is_data_type(data_type("no such type")));
    }

    // The max_length, precision and scale below are what sys.columns holds
    // for each declaration, per learn.microsoft.com "sys.columns
    // (Transact-SQL)" (max_length in bytes, -1 for max) and the data type
    // pages (precision/scale/storage of each type).

    #[test]
    fn integers_and_bit() {
        check(&system("tinyint", 1, 3, 0), "TINYINT", "tinyint");
        check(&system("smallint", 2, 5, 0), "SMALLINT", "smallint");
        check(&system("int", 4, 10, 0), "INT", "int");
        check(&system("bigint", 8, 19, 0), "BIGINT", "bigint");
        check(&system("bit", 1, 1, 0), "BOOLEAN", "bit");
        // Integer precision is not reported: it says nothing a reader needs.
        assert_eq!(system("int", 4, 10, 0).precision, None);
    }

    #[test]
    fn exact_and_approximate_numbers() {
        let m = system("decimal", 9, 18, 4);
        check(&m, "DECIMAL", "decimal(18,4)");
        assert_eq!((m.precision, m.scale, m.data_length), (Some(18), Some(4), None));
        let m = system("numeric", 5, 5, 0);
        check(&m, "NUMERIC", "numeric(5,0)");
        assert_eq!((m.precision, m.scale), (Some(5), Some(0)));
        let m = system("money", 8, 19, 4);
        check(&m, "MONEY", "money");
        assert_eq!((m.precision, m.scale), (Some(19), Some(4)));
        let m = system("smallmoney", 4, 10, 4);
        check(&m, "MONEY", "smallmoney");
        assert_eq!((m.precision, m.scale), (Some(10), Some(4)));
        check(&system("float", 8, 53, 0), "DOUBLE", "float");
        check(&system("real", 4, 24, 0), "FLOAT", "real");
    }

    #[test]
    fn dates_and_times() {
        check(&system("date", 3, 10, 0), "DATE", "date");
        check(&system("time", 5, 16, 7), "TIME", "time(7)");
        check(&system("datetime", 8, 23, 3), "DATETIME", "datetime");
        check(&system("datetime2", 6, 23, 3), "DATETIME", "datetime2(3)");
        check(&system("smalldatetime", 4, 16, 0), "DATETIME", "smalldatetime");
        check(&system("datetimeoffset", 10, 34, 7), "TIMESTAMPZ", "datetimeoffset(7)");
        assert_eq!(system("datetime2", 8, 27, 7).precision, None);
    }

    #[test]
    fn character_lengths_are_characters_not_bytes() {
        let m = system("nvarchar", 100, 0, 0);
        check(&m, "VARCHAR", "nvarchar(50)");
        assert_eq!(m.data_length, Some(50));
        let m = system("nvarchar", -1, 0, 0);
        check(&m, "VARCHAR", "nvarchar(max)");
        assert_eq!(m.data_length, None);
        let m = system("nchar", 20, 0, 0);
        check(&m, "CHAR", "nchar(10)");
        assert_eq!(m.data_length, Some(10));
        let m = system("varchar", 255, 0, 0);
        check(&m, "VARCHAR", "varchar(255)");
        assert_eq!(m.data_length, Some(255));
        let m = system("varchar", -1, 0, 0);
        check(&m, "VARCHAR", "varchar(max)");
        assert_eq!(m.data_length, None);
        let m = system("char", 3, 0, 0);
        check(&m, "CHAR", "char(3)");
        assert_eq!(m.data_length, Some(3));
        // sysname: nvarchar(128), 256 bytes.
        let m = system("sysname", 256, 0, 0);
        check(&m, "VARCHAR", "sysname");
        assert_eq!(m.data_length, Some(128));
    }

    #[test]
    fn large_objects_have_no_length() {
        // text, ntext and image report their 16-byte row pointer.
        for (name, om) in [("text", "TEXT"), ("ntext", "NTEXT"), ("image", "IMAGE")] {
            let m = system(name, 16, 0, 0);
            check(&m, om, name);
            assert_eq!(m.data_length, None, "{name}");
        }
        let m = system("xml", -1, 0, 0);
        check(&m, "XML", "xml");
        assert_eq!(m.data_length, None);
    }

    #[test]
    fn binary_types() {
        let m = system("binary", 16, 0, 0);
        check(&m, "BINARY", "binary(16)");
        assert_eq!(m.data_length, Some(16));
        let m = system("varbinary", 64, 0, 0);
        check(&m, "VARBINARY", "varbinary(64)");
        assert_eq!(m.data_length, Some(64));
        let m = system("varbinary", -1, 0, 0);
        check(&m, "VARBINARY", "varbinary(max)");
        assert_eq!(m.data_length, None);
        // rowversion: 8 bytes, and no point in time.
        let m = system("timestamp", 8, 0, 0);
        check(&m, "BINARY", "rowversion");
        assert_eq!(m.data_length, Some(8));
    }

    #[test]
    fn other_system_types() {
        check(&system("uniqueidentifier", 16, 0, 0), "UUID", "uniqueidentifier");
        check(&system("sql_variant", 8016, 0, 0), "VARIANT", "sql_variant");
        // The CLR system types report max_length -1 (geography, geometry)
        // or 892 (hierarchyid).
        check(&system("geography", -1, 0, 0), "GEOGRAPHY", "geography");
        check(&system("geometry", -1, 0, 0), "GEOMETRY", "geometry");
        check(&system("hierarchyid", 892, 0, 0), "HIERARCHYID", "hierarchyid");
        assert_eq!(system("hierarchyid", 892, 0, 0).data_length, None);
    }

    #[test]
    fn alias_types_map_as_their_system_type_and_keep_their_name() {
        // AdventureWorks: CREATE TYPE dbo.Phone FROM nvarchar(25) NULL;
        // sys.columns.max_length is 50 for a Phone column.
        let phone = SqlType {
            name: "Phone",
            user_defined: true,
            base: Some("nvarchar"),
            max_length: 50,
            precision: 0,
            scale: 0,
        };
        let m = map(&phone);
        check(&m, "VARCHAR", "Phone");
        assert_eq!(m.data_length, Some(25));
        // CREATE TYPE dbo.Amount FROM decimal(19,4).
        let amount = SqlType {
            name: "Amount",
            user_defined: true,
            base: Some("decimal"),
            max_length: 9,
            precision: 19,
            scale: 4,
        };
        let m = map(&amount);
        check(&m, "DECIMAL", "Amount");
        assert_eq!((m.precision, m.scale), (Some(19), Some(4)));
        // AdventureWorks' Flag: bit.
        let flag =
            SqlType { name: "Flag", user_defined: true, base: Some("bit"), max_length: 1, precision: 1, scale: 0 };
        check(&map(&flag), "BOOLEAN", "Flag");
    }

    #[test]
    fn clr_user_types_are_unknown_but_named() {
        let point = SqlType { name: "Point", user_defined: true, base: None, max_length: -1, precision: 0, scale: 0 };
        let m = map(&point);
        check(&m, "UNKNOWN", "Point");
        assert_eq!(m.data_length, None);
    }

    #[test]
    fn system_type_names_are_matched_case_insensitively() {
        // A case-sensitive server collation does not change sys.types
        // names, but an alias's base is looked up the same way.
        let t = SqlType {
            name: "Code",
            user_defined: true,
            base: Some("NVARCHAR"),
            max_length: 20,
            precision: 0,
            scale: 0,
        };
        assert_eq!(map(&t).data_length, Some(10));
    }
}
