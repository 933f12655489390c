//! The SQL Server driver over real TDS: tiberius against the in-process
//! TDS fixture (`weir_fixtures::tds`). This proves the wire — login with
//! read-only intent, sp_executesql parameters, streaming, server errors,
//! deadlines, the statement check — never the catalog SQL, which no real
//! server answers here (see `mssql_catalog_sql.rs` and `mssql_real.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};
use weir::caps::sql::mssql::{Encryption, MssqlAuth, MssqlConnection, MssqlTarget};
use weir::caps::sql::{QueryLimits, SqlSource, SqlTarget};
use weir::contract::types::ErrorKind;
use weir::contract::weir::connector::sql::SqlValue;
use weir_fixtures::tds::{Answer, Cell, Options, Request, ResultSet, SqlType, TdsFixture};

const USER: &str = "weir_reader";
const PASSWORD: &str = "s3cret-Pa55";

async fn fixture(handler: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> TdsFixture {
    let options = Options { credentials: Some((USER.into(), PASSWORD.into())) };
    TdsFixture::start(options, Arc::new(handler)).await.unwrap()
}

fn target(fixture: &TdsFixture, password: &str) -> SqlTarget {
    let (host, port) = fixture.host_port().rsplit_once(':').map(|(h, p)| (h.to_string(), p.parse().unwrap())).unwrap();
    SqlTarget::Mssql(MssqlTarget {
        host,
        port,
        database: "sales".into(),
        auth: MssqlAuth::SqlServer { username: USER.into(), password: password.into() },
        encryption: Encryption::Plaintext,
        trust_server_certificate: false,
        ca_certificate: None,
    })
}

fn limits() -> QueryLimits {
    QueryLimits {
        statement_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        session_wait: Duration::from_secs(5),
        max_rows: 50_000,
        max_bytes: 64 << 20,
        max_open: 4,
    }
}

async fn connection(fixture: &TdsFixture) -> MssqlConnection {
    let source = SqlSource::connect(&target(fixture, PASSWORD), &limits(), 2).await.unwrap_or_else(|e| panic!("{e}"));
    let SqlSource::Mssql(pool) = source else { panic!("not a SQL Server source") };
    pool.acquire().await.unwrap()
}

/// The contract's values have no `PartialEq`; their debug form is exact.
fn shown<T: std::fmt::Debug>(values: &[T]) -> String {
    format!("{values:?}")
}

fn one_column(name: &str, kind: SqlType, rows: Vec<Cell>) -> Answer {
    Answer::Rows(ResultSet { columns: vec![(name.into(), kind)], rows: rows.into_iter().map(|c| vec![c]).collect() })
}

#[tokio::test]
async fn sessions_log_in_read_only_and_parameters_arrive_typed() {
    let fx = fixture(|req| {
        one_column("echo", SqlType::NVarChar, req.params.iter().map(|p| Cell::Text(format!("{p:?}"))).collect())
    })
    .await;
    let mut conn = connection(&fx).await;
    let params = [
        SqlValue::Int(-7),
        SqlValue::Text("Ünïcode ✓".into()),
        SqlValue::Boolean(true),
        SqlValue::Float(2.5),
        SqlValue::Null,
        SqlValue::Bytes(vec![0, 255]),
    ];
    let rows = conn.query("SELECT @P1, @P2, @P3, @P4, @P5, @P6", &params, &limits()).await.unwrap();
    let seen: Vec<&SqlValue> = rows.rows.iter().map(|r| &r[0]).collect();
    let expected = [
        Cell::Int(-7),
        Cell::Text("Ünïcode ✓".into()),
        Cell::Bit(true),
        Cell::Float(2.5),
        Cell::Null,
        Cell::Bytes(vec![0, 255]),
    ];
    let expected: Vec<SqlValue> = expected.iter().map(|c| SqlValue::Text(format!("{c:?}"))).collect();
    assert_eq!(shown(&seen), shown(&expected.iter().collect::<Vec<_>>()));

    let requests = fx.requests();
    let last = requests.last().unwrap();
    assert!(last.rpc, "parameters go out through sp_executesql");
    assert_eq!(last.sql, "SELECT @P1, @P2, @P3, @P4, @P5, @P6");
    let logins = fx.logins();
    assert!(!logins.is_empty());
    for login in &logins {
        assert!(login.read_only_intent, "every session asks for ApplicationIntent=ReadOnly: {login:?}");
        assert_eq!((login.user.as_str(), login.database.as_str(), login.app_name.as_str()), (USER, "sales", "weir"));
    }
}

#[tokio::test]
async fn result_values_map_exactly() {
    let fx = fixture(|_| {
        let columns = vec![
            ("tiny".to_string(), SqlType::TinyInt),
            ("small".to_string(), SqlType::SmallInt),
            ("big".to_string(), SqlType::BigInt),
            ("flag".to_string(), SqlType::Bit),
            ("amount".to_string(), SqlType::Decimal { precision: 18, scale: 4 }),
            ("ratio".to_string(), SqlType::Float),
            ("name".to_string(), SqlType::NVarChar),
            ("id".to_string(), SqlType::UniqueIdentifier),
            ("created".to_string(), SqlType::DateTime2),
            ("day".to_string(), SqlType::Date),
            ("blob".to_string(), SqlType::VarBinary),
            ("missing".to_string(), SqlType::Int),
        ];
        let row = vec![
            Cell::Int(250),
            Cell::Int(-32768),
            Cell::Int(i64::MAX),
            Cell::Bit(false),
            Cell::Decimal("-12345678901234.5678".into()),
            Cell::Float(0.125),
            Cell::Text("nvarchar ✓".into()),
            Cell::Guid("6f9619ff-8b86-d011-b42d-00c04fc964ff".into()),
            Cell::DateTime("2024-05-01T12:30:00".into()),
            Cell::DateTime("2024-05-01T00:00:00".into()),
            Cell::Bytes(vec![1, 2, 3]),
            Cell::Null,
        ];
        Answer::Rows(ResultSet { columns, rows: vec![row] })
    })
    .await;
    let mut conn = connection(&fx).await;
    let rows = conn.query("SELECT 1 AS x", &[], &limits()).await.unwrap();
    let types: Vec<&str> = rows.columns.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(
        types,
        [
            "tinyint",
            "smallint",
            "bigint",
            "bit",
            "decimal",
            "float",
            "nvarchar",
            "uniqueidentifier",
            "datetime2",
            "date",
            "varbinary",
            "int"
        ]
    );
    assert_eq!(
        shown(&rows.rows[0]),
        shown(&[
            SqlValue::Int(250),
            SqlValue::Int(-32768),
            SqlValue::Int(i64::MAX),
            SqlValue::Boolean(false),
            SqlValue::Text("-12345678901234.5678".into()),
            SqlValue::Float(0.125),
            SqlValue::Text("nvarchar ✓".into()),
            SqlValue::Text("6f9619ff-8b86-d011-b42d-00c04fc964ff".into()),
            SqlValue::Text("2024-05-01T12:30:00".into()),
            SqlValue::Text("2024-05-01".into()),
            SqlValue::Bytes(vec![1, 2, 3]),
            SqlValue::Null,
        ])
    );
}

#[tokio::test]
async fn a_large_result_streams_whole_and_the_row_cap_stops_a_larger_one() {
    let fx = fixture(|req| {
        let n: i64 = if req.sql.contains("big") { 60_000 } else { 20_000 };
        one_column("n", SqlType::Int, (0..n).map(Cell::Int).collect())
    })
    .await;
    let mut conn = connection(&fx).await;
    let rows = conn.query("SELECT o.object_id AS n FROM sys.objects AS o", &[], &limits()).await.unwrap();
    assert_eq!(rows.rows.len(), 20_000);
    assert_eq!(shown(&rows.rows[19_999]), shown(&[SqlValue::Int(19_999)]));
    let err = conn.query("SELECT o.object_id AS big FROM sys.objects AS o", &[], &limits()).await.unwrap_err();
    assert!(err.message.contains("more than 50000 rows"), "{}", err.message);
    // The connection is replaced after a failed read, and works.
    let again = conn.query("SELECT 1 AS n", &[], &limits()).await.unwrap();
    assert_eq!(again.rows.len(), 20_000);
}

#[tokio::test]
async fn server_errors_keep_their_number_and_kind() {
    let fx = fixture(|req| {
        if req.sql.contains("secret_table") {
            Answer::Error {
                number: 229,
                class: 14,
                message: "The SELECT permission was denied on the object 'secret_table'.".into(),
            }
        } else if req.sql.contains("victim") {
            Answer::Error { number: 1205, class: 13, message: "Transaction was deadlocked".into() }
        } else {
            Answer::Error { number: 208, class: 16, message: "Invalid object name 'nope'.".into() }
        }
    })
    .await;
    let mut conn = connection(&fx).await;
    let denied = conn.query("SELECT s.a FROM dbo.secret_table AS s", &[], &limits()).await.unwrap_err();
    assert_eq!(denied.kind, ErrorKind::Denied);
    assert!(denied.message.contains("SQL Server error 229"), "{}", denied.message);
    let deadlock = conn.query("SELECT v.a FROM dbo.victim AS v", &[], &limits()).await.unwrap_err();
    assert_eq!(deadlock.kind, ErrorKind::Transient);
    let missing = conn.query("SELECT n.a FROM nope AS n", &[], &limits()).await.unwrap_err();
    assert_eq!(missing.kind, ErrorKind::Permanent);
    assert!(missing.message.contains("Invalid object name 'nope'"), "{}", missing.message);
}

#[tokio::test]
async fn a_slow_statement_hits_the_deadline_and_the_next_one_gets_a_fresh_session() {
    let fx = fixture(|req| {
        let rows = one_column("n", SqlType::Int, vec![Cell::Int(1)]);
        if req.sql.contains("slow") { Answer::Delay(Duration::from_secs(30), Box::new(rows)) } else { rows }
    })
    .await;
    let mut conn = connection(&fx).await;
    let started = Instant::now();
    let err = conn.query("SELECT 1 AS slow", &[], &limits()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(err.message.contains("statement timeout"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_secs(10), "gave up after {:?}", started.elapsed());
    let logins_before = fx.logins().len();
    let rows = conn.query("SELECT 1 AS n", &[], &limits()).await.unwrap();
    assert_eq!(shown(&rows.rows), shown(&[vec![SqlValue::Int(1)]]));
    assert_eq!(fx.logins().len(), logins_before + 1, "a new session replaced the timed-out one");
}

#[tokio::test]
async fn a_dropped_connection_is_a_transient_error() {
    let fx = fixture(|_| Answer::Drop).await;
    let mut conn = connection(&fx).await;
    let err = conn.query("SELECT 1 AS n", &[], &limits()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{}", err.message);
}

#[tokio::test]
async fn writes_are_refused_before_they_reach_the_server() {
    let fx = fixture(|_| one_column("n", SqlType::Int, vec![])).await;
    let mut conn = connection(&fx).await;
    for statement in [
        "DELETE FROM dbo.orders",
        "SELECT * INTO dbo.copy FROM dbo.orders",
        "SELECT 1; DROP TABLE dbo.orders",
        "EXEC xp_cmdshell 'whoami'",
        "WITH x AS (SELECT 1 AS a) UPDATE dbo.orders SET a = 1",
    ] {
        let err = conn.query(statement, &[], &limits()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Denied, "{statement}: {}", err.message);
        assert!(err.message.starts_with("statement refused"), "{statement}: {}", err.message);
    }
    assert!(fx.requests().is_empty(), "nothing was sent: {:?}", fx.requests());
}

#[tokio::test]
async fn a_wrong_password_fails_up_front_without_echoing_it() {
    let fx = fixture(|_| one_column("n", SqlType::Int, vec![])).await;
    let err = match SqlSource::connect(&target(&fx, "wrong-Pa55word"), &limits(), 2).await {
        Ok(_) => panic!("a wrong password connected"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("18456") || err.contains("Login failed"), "{err}");
    assert!(!err.contains("wrong-Pa55word") && !err.contains(PASSWORD), "{err}");
    assert!(fx.logins().iter().all(|l| !l.accepted));
}

#[tokio::test]
async fn a_server_that_never_answers_the_login_times_out() {
    // Accepts TCP and then says nothing: tiberius's handshake must not wait
    // forever, and the TCP connect itself is under the same deadline.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let target = SqlTarget::Mssql(MssqlTarget {
        host: "127.0.0.1".into(),
        port,
        database: "master".into(),
        auth: MssqlAuth::SqlServer { username: USER.into(), password: PASSWORD.into() },
        encryption: Encryption::Plaintext,
        trust_server_certificate: false,
        ca_certificate: None,
    });
    let started = Instant::now();
    let err = match SqlSource::connect(&target, &limits(), 1).await {
        Ok(_) => panic!("connected to a silent server"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("connectTimeoutSecs") || err.contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
}
