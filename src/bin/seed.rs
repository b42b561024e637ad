//! `seed`: fills a fresh requestdesk database with a benchmark data set, fast.
//!
//! The schema comes from the service's own migrations (`db::run_migrations`); the rows are made
//! by the database itself with set-based `INSERT ... SELECT` over a generated series (a recursive
//! CTE on SQLite, `generate_series` on PostgreSQL), so no row crosses a socket or a bind call.
//! Secondary indexes of the filled tables are dropped first and rebuilt from their own definitions
//! afterwards (bulk index builds are many times faster than a million random B-tree inserts).
//!
//! What it makes: `--users` users (`heavy` is id 1, `light` id 2, then `user0000003`...; every
//! 100th is an approver), all sharing one bcrypt hash of `--password` computed once;
//! `--requests` certificate requests (`heavy` holds `--heavy`, `light` holds `--light`, the rest
//! spread round-robin), 70% approved, 10% rejected, 5% expired, 15% pending, created over the last
//! year; one issued certificate per approved request (2% of them revoked). Every certificate row
//! carries the same real PEM issued by the data directory's CA (created there if missing, so the
//! service started on that directory is the issuer), every request the same real CSR.
//!
//! `seed --database-url sqlite://data/requestdesk.db --users 100000 --requests 1000000`

use std::path::PathBuf;
use std::time::Instant;

use chrono::{NaiveDateTime, Timelike, Utc};
use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::{PgConnection, SqliteConnection};
use requestdesk::db::{self, Backend};
use requestdesk::pki::{CaPolicy, CertificateAuthority, parse_csr};

#[derive(Parser)]
#[command(about = "Fill a fresh requestdesk database with a benchmark data set")]
struct Args {
    /// The database; without it, `<data dir>/requestdesk.db` (as the service).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Where the service keeps its CA: the seeded certificates are issued by it.
    #[arg(long, env = "REQUESTDESK_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Delete the SQLite file first (PostgreSQL: create a fresh database instead).
    #[arg(long)]
    fresh: bool,
    #[arg(long, default_value_t = 100_000)]
    users: i64,
    #[arg(long, default_value_t = 1_000_000)]
    requests: i64,
    /// Requests of the heavy user (`heavy`).
    #[arg(long, default_value_t = 100_000)]
    heavy: i64,
    /// Requests of the light user (`light`).
    #[arg(long, default_value_t = 10)]
    light: i64,
    /// Every user's password.
    #[arg(long, default_value = "bench-password")]
    password: String,
    #[arg(long, env = "REQUESTDESK_BCRYPT_COST", default_value_t = 12)]
    bcrypt_cost: u32,
}

/// Everything the generated rows share.
struct Template {
    base: String,
    password_hash: String,
    csr_pem: String,
    key_algorithm: String,
    cert_pem: String,
    issuer: String,
}

/// The tables whose secondary indexes and triggers are set aside during the load.
const TABLES: &str = "'users', 'requests', 'certificates'";

/// An index or a trigger: its name and the statement that creates it.
#[derive(QueryableByName)]
struct SchemaObject {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

fn main() {
    if let Err(message) = run(Args::parse()) {
        eprintln!("seed: {message}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    if args.users < 3 || args.heavy + args.light > args.requests || args.heavy < 0 || args.light < 0
    {
        return Err("need --users >= 3 and --heavy + --light <= --requests".into());
    }
    let url = args.database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            args.data_dir.join("requestdesk.db").display()
        )
    });
    let backend = Backend::from_url(&url)?;
    let started = Instant::now();
    let template = template(&args)?;
    println!(
        "template (bcrypt cost {}, CA, CSR, certificate): {:.1}s",
        args.bcrypt_cost,
        started.elapsed().as_secs_f64()
    );
    if backend == Backend::Sqlite {
        std::fs::create_dir_all(&args.data_dir).map_err(|e| e.to_string())?;
        let path = url.strip_prefix("sqlite://").unwrap_or(&url);
        if args.fresh {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
    db::run_migrations(&url).map_err(|e| e.to_string())?;
    let load = Instant::now();
    match backend {
        Backend::Sqlite => {
            let path = url.strip_prefix("sqlite://").unwrap_or(&url);
            let mut conn = SqliteConnection::establish(path).map_err(|e| e.to_string())?;
            seed_sqlite(&mut conn, &args, &template).map_err(|e| e.to_string())?;
        }
        Backend::Postgres => {
            let mut conn = PgConnection::establish(&url).map_err(|e| e.to_string())?;
            seed_postgres(&mut conn, &args, &template).map_err(|e| e.to_string())?;
        }
    }
    println!(
        "{{\"backend\":\"{}\",\"users\":{},\"requests\":{},\"heavy\":{},\"light\":{},\"load_seconds\":{:.2},\"total_seconds\":{:.2}}}",
        if backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        },
        args.users,
        args.requests,
        args.heavy,
        args.light,
        load.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One bcrypt hash, one CSR and one certificate issued by the data directory's CA.
fn template(args: &Args) -> Result<Template, String> {
    let password_hash =
        bcrypt::hash(&args.password, args.bcrypt_cost).map_err(|e| e.to_string())?;
    let ca = CertificateAuthority::load_or_generate(&args.data_dir).map_err(|e| e.to_string())?;
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let csr_pem = rcgen::CertificateParams::new(vec!["svc.bench.example.com".to_owned()])
        .and_then(|params| params.serialize_request(&key))
        .and_then(|csr| csr.pem())
        .map_err(|e| e.to_string())?;
    let csr = parse_csr(&csr_pem, &CaPolicy::default()).map_err(|e| e.to_string())?;
    let issued = ca.issue(&csr, 90, Utc::now()).map_err(|e| e.to_string())?;
    let now: NaiveDateTime = Utc::now().naive_utc();
    let base = now
        .with_nanosecond(0)
        .unwrap_or(now)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    Ok(Template {
        base,
        password_hash,
        csr_pem: csr.csr_pem,
        key_algorithm: csr.key_algorithm,
        cert_pem: issued.pem,
        issuer: issued.issuer,
    })
}

/// A SQL string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn step<C: SimpleConnection>(conn: &mut C, what: &str, sql: &str) -> QueryResult<()> {
    let started = Instant::now();
    conn.batch_execute(sql)?;
    println!("{what}: {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The requester of request `j`: heavy first, then light, then everyone else round-robin.
fn requester_sql(args: &Args) -> String {
    let (h, l, others) = (args.heavy, args.heavy + args.light, args.users - 2);
    format!(
        "CASE WHEN j <= {h} THEN 1 WHEN j <= {l} THEN 2 ELSE 3 + ((j - {l} - 1) % {others}) END"
    )
}

/// Rebuilds the per-user counters from the loaded rows, as the counters migration does: the
/// load runs without the triggers that keep them (dropped on SQLite, off on PostgreSQL through
/// `session_replication_role`), which is faster than a counter update per row. `day` turns a
/// column into its date on the backend.
fn recount_sql(day: impl Fn(&str) -> String) -> String {
    format!(
        "DELETE FROM request_counts;
         INSERT INTO request_counts (requester_id, request_type, status, n)
             SELECT requester_id, request_type, status, count(*) FROM requests
             GROUP BY requester_id, request_type, status;
         DELETE FROM certificate_counts;
         INSERT INTO certificate_counts (owner_id, n)
             SELECT owner_id, count(*) FROM certificates GROUP BY owner_id;
         DELETE FROM certificate_expiry_counts;
         INSERT INTO certificate_expiry_counts (owner_id, expires_on, n)
             SELECT owner_id, {day}, count(*) FROM certificates WHERE revoked_at IS NULL
             GROUP BY owner_id, {day};",
        day = day("valid_until")
    )
}

fn seed_sqlite(conn: &mut SqliteConnection, args: &Args, t: &Template) -> QueryResult<()> {
    let existing: i64 = db::schema::users::table.count().get_result(conn)?;
    if existing > 0 {
        return Err(diesel::result::Error::QueryBuilderError(
            "the database already has users: seed a fresh one (--fresh)".into(),
        ));
    }
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000; \
         PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF;",
    )?;
    let indexes: Vec<SchemaObject> = diesel::sql_query(format!(
        "SELECT name, sql AS definition FROM sqlite_master WHERE type = 'index' \
         AND tbl_name IN ({TABLES}) AND sql IS NOT NULL"
    ))
    .load(conn)?;
    let triggers: Vec<SchemaObject> = diesel::sql_query(format!(
        "SELECT name, sql AS definition FROM sqlite_master WHERE type = 'trigger' \
         AND tbl_name IN ({TABLES})"
    ))
    .load(conn)?;
    let (n, m) = (args.users, args.requests);
    let (base, hash) = (quote(&t.base), quote(&t.password_hash));
    let username = |id: &str| {
        format!(
            "CASE {id} WHEN 1 THEN 'heavy' WHEN 2 THEN 'light' ELSE printf('user%07d', {id}) END"
        )
    };
    let requester = requester_sql(args);
    let (user_i, user_r) = (username("i"), username("r"));
    let (csr, alg) = (quote(&t.csr_pem), quote(&t.key_algorithm));
    let (pem, issuer) = (quote(&t.cert_pem), quote(&t.issuer));
    conn.transaction(|conn| {
        for index in &indexes {
            conn.batch_execute(&format!("DROP INDEX {}", index.name))?;
        }
        for trigger in &triggers {
            conn.batch_execute(&format!("DROP TRIGGER {}", trigger.name))?;
        }
        step(conn, "users", &format!(
            "INSERT INTO users (id, username, name, email, password_hash, role, status, created_at, updated_at)
             WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})
             SELECT i, {user_i},
                    CASE i WHEN 1 THEN 'Heavy Bench User' WHEN 2 THEN 'Light Bench User' ELSE 'Bench User ' || i END,
                    {user_i} || '@bench.example.com', {hash},
                    CASE WHEN i % 100 = 0 THEN 'approver' ELSE 'developer' END, 'active',
                    datetime({base}, '-' || (400 * 86400 + i) || ' seconds'),
                    datetime({base}, '-' || (400 * 86400 + i) || ' seconds')
             FROM s"))?;
        step(conn, "requests", &format!(
            "INSERT INTO requests (id, request_type, status, requester_id, reason, created_at, updated_at,
                 expires_at, approved_at, rejected_at, rejection_reason, current_level,
                 confirmations_required, confirmations_given, requester_email, csr_pem, common_name,
                 subject_alt_names, key_algorithm, public_key_fingerprint, validity_days,
                 certificate_id, level2_required, level2_given, invalid_flags, use_count)
             WITH RECURSIVE s(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM s WHERE j < {m}),
             g AS (SELECT j, {requester} AS r, j % 20 AS k,
                          datetime({base}, '-' || ((j * 7919) % 31536000) || ' seconds') AS c FROM s)
             SELECT j, 'certificate',
                    CASE WHEN k < 14 THEN 'approved' WHEN k < 16 THEN 'rejected' WHEN k = 16 THEN 'expired' ELSE 'pending' END,
                    r, 'TLS certificate for service ' || j || ' behind the internal load balancer', c,
                    CASE WHEN k < 14 THEN datetime(c, '+1 hour') WHEN k < 17 THEN datetime(c, '+2 hours') ELSE c END,
                    datetime(c, '+30 days'),
                    CASE WHEN k < 14 THEN datetime(c, '+1 hour') END,
                    CASE WHEN k IN (14, 15) THEN datetime(c, '+2 hours') END,
                    CASE WHEN k = 14 THEN 'Cancelled by requester' WHEN k = 15 THEN 'Use the wildcard certificate' END,
                    1, 1, CASE WHEN k < 14 THEN 1 ELSE 0 END,
                    {user_r} || '@bench.example.com', {csr},
                    'svc-' || j || '.bench.example.com', '[\"svc-' || j || '.bench.example.com\"]', {alg},
                    lower(hex(randomblob(32))), 90,
                    CASE WHEN k < 14 THEN j END, 0, 0, 0, 0
             FROM g"))?;
        step(conn, "certificates", &format!(
            "INSERT INTO certificates (id, owner_id, request_id, source, serial_number, common_name,
                 subject_alt_names, issuer, pem, fingerprint_sha256, public_key_fingerprint, created_at,
                 valid_from, valid_until, revoked_at, revocation_reason, requester_email)
             SELECT id, requester_id, id, 'issued', lower(hex(randomblob(16))), common_name,
                    subject_alt_names, {issuer}, {pem}, lower(hex(randomblob(32))),
                    public_key_fingerprint, approved_at, approved_at, datetime(approved_at, '+90 days'),
                    CASE WHEN id % 50 = 3 THEN datetime(approved_at, '+10 days') END,
                    CASE WHEN id % 50 = 3 THEN 'superseded' END, requester_email
             FROM requests WHERE status = 'approved' ORDER BY id"))?;
        let started = Instant::now();
        for index in &indexes {
            conn.batch_execute(&index.definition)?;
        }
        println!("indexes ({}): {:.1}s", indexes.len(), started.elapsed().as_secs_f64());
        for trigger in &triggers {
            conn.batch_execute(&trigger.definition)?;
        }
        step(conn, "counters", &recount_sql(|column| format!("date({column})")))
    })?;
    step(conn, "checkpoint", "PRAGMA wal_checkpoint(TRUNCATE);")
}

fn seed_postgres(conn: &mut PgConnection, args: &Args, t: &Template) -> QueryResult<()> {
    let existing: i64 = db::schema::users::table.count().get_result(conn)?;
    if existing > 0 {
        return Err(diesel::result::Error::QueryBuilderError(
            "the database already has users: seed a fresh database".into(),
        ));
    }
    // Triggers off for the load: foreign keys (the rows are consistent by construction) and the
    // per-user counters (rebuilt at the end).
    conn.batch_execute(
        "SET session_replication_role = replica; SET synchronous_commit = off; \
         SET maintenance_work_mem = '512MB'; SET work_mem = '64MB';",
    )?;
    let indexes: Vec<SchemaObject> = diesel::sql_query(format!(
        "SELECT i.indexname AS name, i.indexdef AS definition FROM pg_indexes i \
         WHERE i.schemaname = current_schema() AND i.tablename IN ({TABLES}) \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                         WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"
    ))
    .load(conn)?;
    let (n, m) = (args.users, args.requests);
    let base = format!("{}::timestamp", quote(&t.base));
    let hash = quote(&t.password_hash);
    let username = |id: &str| {
        format!(
            "CASE {id} WHEN 1 THEN 'heavy' WHEN 2 THEN 'light' ELSE 'user' || lpad({id}::text, 7, '0') END"
        )
    };
    let requester = requester_sql(args);
    let (user_i, user_r) = (username("i"), username("r"));
    let (csr, alg) = (quote(&t.csr_pem), quote(&t.key_algorithm));
    let (pem, issuer) = (quote(&t.cert_pem), quote(&t.issuer));
    conn.transaction(|conn| {
        for index in &indexes {
            conn.batch_execute(&format!("DROP INDEX {}", index.name))?;
        }
        step(conn, "users", &format!(
            "INSERT INTO users (id, username, name, email, password_hash, role, status, created_at, updated_at)
             OVERRIDING SYSTEM VALUE
             SELECT i, {user_i},
                    CASE i WHEN 1 THEN 'Heavy Bench User' WHEN 2 THEN 'Light Bench User' ELSE 'Bench User ' || i END,
                    {user_i} || '@bench.example.com', {hash},
                    CASE WHEN i % 100 = 0 THEN 'approver' ELSE 'developer' END, 'active',
                    {base} - make_interval(secs => 400 * 86400 + i),
                    {base} - make_interval(secs => 400 * 86400 + i)
             FROM generate_series(1::bigint, {n}::bigint) AS i"))?;
        step(conn, "requests", &format!(
            "INSERT INTO requests (id, request_type, status, requester_id, reason, created_at, updated_at,
                 expires_at, approved_at, rejected_at, rejection_reason, current_level,
                 confirmations_required, confirmations_given, requester_email, csr_pem, common_name,
                 subject_alt_names, key_algorithm, public_key_fingerprint, validity_days,
                 certificate_id, level2_required, level2_given, invalid_flags, use_count)
             OVERRIDING SYSTEM VALUE
             SELECT j, 'certificate',
                    CASE WHEN k < 14 THEN 'approved' WHEN k < 16 THEN 'rejected' WHEN k = 16 THEN 'expired' ELSE 'pending' END,
                    r, 'TLS certificate for service ' || j || ' behind the internal load balancer', c,
                    CASE WHEN k < 14 THEN c + interval '1 hour' WHEN k < 17 THEN c + interval '2 hours' ELSE c END,
                    c + interval '30 days',
                    CASE WHEN k < 14 THEN c + interval '1 hour' END,
                    CASE WHEN k IN (14, 15) THEN c + interval '2 hours' END,
                    CASE WHEN k = 14 THEN 'Cancelled by requester' WHEN k = 15 THEN 'Use the wildcard certificate' END,
                    1, 1, CASE WHEN k < 14 THEN 1 ELSE 0 END,
                    {user_r} || '@bench.example.com', {csr},
                    'svc-' || j || '.bench.example.com', '[\"svc-' || j || '.bench.example.com\"]', {alg},
                    md5(random()::text) || md5(random()::text), 90,
                    CASE WHEN k < 14 THEN j END, 0, 0, 0, 0
             FROM (SELECT j, {requester} AS r, j % 20 AS k,
                          {base} - make_interval(secs => (j * 7919) % 31536000) AS c
                   FROM generate_series(1::bigint, {m}::bigint) AS j) g"))?;
        step(conn, "certificates", &format!(
            "INSERT INTO certificates (id, owner_id, request_id, source, serial_number, common_name,
                 subject_alt_names, issuer, pem, fingerprint_sha256, public_key_fingerprint, created_at,
                 valid_from, valid_until, revoked_at, revocation_reason, requester_email)
             OVERRIDING SYSTEM VALUE
             SELECT id, requester_id, id, 'issued', md5(random()::text), common_name,
                    subject_alt_names, {issuer}, {pem}, md5(random()::text) || md5(random()::text),
                    public_key_fingerprint, approved_at, approved_at, approved_at + interval '90 days',
                    CASE WHEN id % 50 = 3 THEN approved_at + interval '10 days' END,
                    CASE WHEN id % 50 = 3 THEN 'superseded' END, requester_email
             FROM requests WHERE status = 'approved' ORDER BY id"))?;
        let started = Instant::now();
        for index in &indexes {
            conn.batch_execute(&index.definition)?;
        }
        println!("indexes ({}): {:.1}s", indexes.len(), started.elapsed().as_secs_f64());
        for table in ["users", "requests", "certificates"] {
            conn.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            ))?;
        }
        step(conn, "counters", &recount_sql(|column| format!("{column}::date")))
    })?;
    // VACUUM as well as ANALYZE: it sets the visibility map, so index-only scans (the per-user
    // counts) skip the heap from the first query, as on a database autovacuum has caught up with,
    // instead of whenever autovacuum happens to visit the freshly loaded tables mid-benchmark.
    step(conn, "vacuum analyze", "VACUUM (ANALYZE);")
}
