//! `bench_sql`: the ceiling of the read scenarios. Runs, in process, the very statements an
//! endpoint runs (the library's own `db` functions, so the same SQL, the same row decoding) through
//! a pool built by `db::connect` with the service's settings, on `--threads` threads for
//! `--seconds`, and prints one JSON line: operations (whole endpoint's worth of statements) and
//! statements per second.
//!
//! `bench_sql --database-url data/requestdesk.db --user heavy --what dashboard --seconds 5`
//!
//! Other ceilings: `--what password-verify` (S4: bcrypt verifications of the user's stored hash on
//! one thread per core), `--what submit-cancel` (S5: the service's own submit and cancel of a
//! certificate request, with a Context built as the service builds it), and `--what csrs --count N`
//! (prints N fresh CSRs, one JSON string per line, for the HTTP side of S5).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::{Parser, ValueEnum};
use requestdesk::db::certificates::{self as cert_db, CertificateFilter};
use requestdesk::db::requests::{self as req_db, RequestFilter};
use requestdesk::db::{self, DbConnection, DbPool, PoolOptions, sessions, users};
use requestdesk::service::{Context, auth::VerifiedToken, requests};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum What {
    /// `GET /api/v3/myrequests`: session check, requests total (counters) and page, certificates
    /// total (counter) and page (5 statements; the safe and account names need none for
    /// certificate requests).
    Dashboard,
    /// `GET /api/v3/myrequests/stats`: session check, the timed-out check, the counters and 3
    /// counts, recent requests and certificates, active certificates (9 statements).
    Stats,
    /// `bcrypt::verify` of the password against the user's stored hash (the data set's cost), on
    /// `--threads` threads (default: one per core): the ceiling of log-ins.
    PasswordVerify,
    /// `POST /api/v3/myrequests` (a certificate request) then `POST .../{id}/cancel`: the
    /// service's functions with a Context built by `startup::build_context`; one operation is
    /// one submit and one cancel, each of a distinct request (a fresh key each, cycled over
    /// `--count` keys).
    SubmitCancel,
    /// Prints `--count` CSRs (fresh ECDSA P-256 keys), each as a JSON string on its own line.
    Csrs,
}

#[derive(Parser)]
#[command(about = "The in-process ceiling: an endpoint's SQL in a loop through the service's pool")]
struct Args {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// The service's data directory (for `submit-cancel`: the CA); default: the SQLite file's.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, env = "REQUESTDESK_POOL_SIZE", default_value_t = 10)]
    pool_size: u32,
    /// Threads running the loop (default: the pool size).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Whose requests: the user's username.
    #[arg(long, default_value = "light")]
    user: String,
    #[arg(long, value_enum, default_value_t = What::Dashboard)]
    what: What,
    #[arg(long, default_value_t = 20)]
    per_page: i64,
    /// The user's password (`password-verify`).
    #[arg(long, default_value = "bench-password")]
    password: String,
    /// CSRs to print (`csrs`) or keys to cycle over (`submit-cancel`).
    #[arg(long, default_value_t = 4096)]
    count: usize,
}

fn main() {
    if let Err(message) = run(Args::parse()) {
        eprintln!("bench_sql: {message}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    if let What::Csrs = args.what {
        return print_csrs(args.count);
    }
    let database_url = args
        .database_url
        .clone()
        .ok_or("--database-url (or DATABASE_URL) is required")?;
    match args.what {
        What::PasswordVerify => return password_verify(&args, &database_url),
        What::SubmitCancel => return submit_cancel(&args, &database_url),
        What::Dashboard | What::Stats | What::Csrs => {}
    }
    let pool = db::connect(
        &database_url,
        PoolOptions {
            max_size: args.pool_size,
            connection_timeout: Duration::from_secs(3),
            database_timeout: Duration::from_secs(3),
        },
    )
    .map_err(|e| e.to_string())?;
    let session_id = format!("bench-sql-{}", uuid::Uuid::new_v4());
    let user_id = {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let user = users::find_by_username(&mut conn, &args.user)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no user {}", args.user))?;
        let now = Utc::now().naive_utc();
        sessions::insert(
            &mut conn,
            &sessions::NewSession {
                id: &session_id,
                user_id: user.id,
                created_at: now,
                expires_at: now + chrono::Duration::hours(1),
            },
        )
        .map_err(|e| e.to_string())?;
        user.id
    };
    let threads = args.threads.unwrap_or(args.pool_size as usize).max(1);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let args = Arc::new(args);
    let session = Arc::new(session_id);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (pool, stop, done, failed) =
                (pool.clone(), stop.clone(), done.clone(), failed.clone());
            let (args, session) = (args.clone(), session.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match one(&pool, &args, &session, user_id) {
                        Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(args.seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let statements = match args.what {
        What::Stats => 9,
        _ => 3,
    };
    let ops = done.load(Ordering::Relaxed) as f64 / elapsed;
    if let Ok(mut conn) = pool.get() {
        let _ = sessions::delete(&mut conn, &session);
    }
    println!(
        "{{\"what\":\"{:?}\",\"user\":\"{}\",\"threads\":{threads},\"pool_size\":{},\"seconds\":{elapsed:.2},\"ops_per_second\":{ops:.1},\"statements_per_second\":{:.1},\"errors\":{}}}",
        args.what,
        args.user,
        args.pool_size,
        ops * f64::from(statements),
        failed.load(Ordering::Relaxed)
    );
    if failed.load(Ordering::Relaxed) > 0 {
        return Err("some iterations failed".into());
    }
    Ok(())
}

/// One endpoint's worth of statements, on one pooled connection as the handler holds it.
fn one(pool: &DbPool, args: &Args, session: &str, user_id: i64) -> Result<(), String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let conn: &mut DbConnection = &mut conn;
    let now = Utc::now().naive_utc();
    match args.what {
        What::Dashboard => {
            // The session check reads the counters too, as the dashboard's does.
            sessions::find_live_user_with_totals(conn, session, &args.user, now)
                .map_err(|e| e.to_string())?
                .ok_or("session not found")?;
            let filter = RequestFilter {
                requester_id: Some(user_id),
                ..RequestFilter::default()
            };
            let rows =
                req_db::page(conn, &filter, now, 0, args.per_page).map_err(|e| e.to_string())?;
            req_db::safe_and_account_names(
                conn,
                &rows.iter().map(|r| &r.request).collect::<Vec<_>>(),
            )
            .map_err(|e| e.to_string())?;
            let certificates = CertificateFilter {
                owner_id: Some(user_id),
                ..CertificateFilter::default()
            };
            cert_db::page(conn, &certificates, now, 0, args.per_page).map_err(|e| e.to_string())?;
        }
        What::Stats => {
            sessions::find_live_user(conn, session, &args.user, now)
                .map_err(|e| e.to_string())?
                .ok_or("session not found")?;
            req_db::has_timed_out_pending(conn, user_id, now).map_err(|e| e.to_string())?;
            req_db::shown_totals(conn, user_id, now).map_err(|e| e.to_string())?;
            let since = now - chrono::Duration::days(30);
            let rows = req_db::recent(conn, user_id, since, 10).map_err(|e| e.to_string())?;
            req_db::safe_and_account_names(conn, &rows.iter().collect::<Vec<_>>())
                .map_err(|e| e.to_string())?;
            cert_db::recent(conn, user_id, since, 10).map_err(|e| e.to_string())?;
            cert_db::count_active(conn, user_id, now).map_err(|e| e.to_string())?;
        }
        What::PasswordVerify | What::SubmitCancel | What::Csrs => {}
    }
    Ok(())
}

/// Runs `one` on `threads` threads for `seconds`; returns (done, failed, elapsed seconds, the
/// first error).
fn run_loop<F>(threads: usize, seconds: f64, one: F) -> (u64, u64, f64, Option<String>)
where
    F: Fn(usize, u64) -> Result<(), String> + Send + Sync + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let one = Arc::new(one);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let (stop, done, failed) = (stop.clone(), done.clone(), failed.clone());
            let (one, first_error) = (one.clone(), first_error.clone());
            std::thread::spawn(move || {
                let mut iteration = 0;
                while !stop.load(Ordering::Relaxed) {
                    match one(thread, iteration) {
                        Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            if let Ok(mut first) = first_error.lock() {
                                first.get_or_insert(e);
                            }
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    iteration += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    let error = first_error.lock().ok().and_then(|mut e| e.take());
    (
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        error,
    )
}

/// The S4 ceiling: bcrypt verifications of the user's own stored hash, one thread per core.
fn password_verify(args: &Args, database_url: &str) -> Result<(), String> {
    let pool = db::connect(
        database_url,
        PoolOptions {
            max_size: 1,
            connection_timeout: Duration::from_secs(3),
            database_timeout: Duration::from_secs(3),
        },
    )
    .map_err(|e| e.to_string())?;
    let hash = {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        users::find_by_username(&mut conn, &args.user)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no user {}", args.user))?
            .password_hash
    };
    // A wrong password shows as failed iterations (no match).
    let cost = hash.split('$').nth(2).unwrap_or("?").to_owned();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let password = args.password.clone();
    let (done, failed, elapsed, error) = run_loop(threads, args.seconds, move |_, _| {
        match bcrypt::verify(&password, &hash) {
            Ok(true) => Ok(()),
            Ok(false) => Err("no match".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    });
    println!(
        "{{\"what\":\"PasswordVerify\",\"user\":\"{}\",\"cost\":\"{cost}\",\"threads\":{threads},\"seconds\":{elapsed:.2},\"ops_per_second\":{:.2},\"verifies\":{done},\"errors\":{failed}}}",
        args.user,
        done as f64 / elapsed
    );
    match error {
        Some(e) => Err(format!("{failed} verifications failed: {e}")),
        None => Ok(()),
    }
}

/// `count` CSRs for fresh ECDSA P-256 keys, each for its own name.
fn make_csrs(count: usize, tag: &str) -> Result<Vec<String>, String> {
    (0..count)
        .map(|i| {
            let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
            rcgen::CertificateParams::new(vec![format!("s5-{tag}-{i}.bench.example.com")])
                .and_then(|params| params.serialize_request(&key))
                .and_then(|csr| csr.pem())
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn print_csrs(count: usize) -> Result<(), String> {
    use std::io::Write;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for csr in make_csrs(count, &tag[..8])? {
        let line = serde_json::to_string(&csr).map_err(|e| e.to_string())?;
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// The S5 ceiling: the service's submit and cancel, through a Context built as `serve` builds it
/// (same pool settings, same CA and policy), each thread cycling over its own share of the keys.
fn submit_cancel(args: &Args, database_url: &str) -> Result<(), String> {
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => PathBuf::from(
            database_url
                .strip_prefix("sqlite://")
                .unwrap_or(database_url),
        )
        .parent()
        .map(PathBuf::from)
        .ok_or("--data-dir is required")?,
    };
    let cli = requestdesk::config::Cli::try_parse_from([
        "requestdesk".to_owned(),
        "--data-dir".to_owned(),
        data_dir.display().to_string(),
        "--database-url".to_owned(),
        database_url.to_owned(),
        "--pool-size".to_owned(),
        args.pool_size.to_string(),
    ])
    .map_err(|e| e.to_string())?;
    let ctx = requestdesk::startup::build_context(&cli.settings).map_err(|e| e.to_string())?;
    let token = open_session(&ctx, &args.user)?;
    let threads = args.threads.unwrap_or(args.pool_size as usize).max(1);
    let per_thread = (args.count / threads).max(1);
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let csrs: Vec<Vec<String>> = (0..threads)
        .map(|thread| make_csrs(per_thread, &format!("{}-{thread}", &tag[..8])))
        .collect::<Result<_, _>>()?;
    let (ctx, token, csrs) = (Arc::new(ctx), Arc::new(token), Arc::new(csrs));
    let (done, failed, elapsed, error) =
        run_loop(threads, args.seconds, move |thread, iteration| {
            let mine = &csrs[thread];
            let csr = mine[(iteration as usize) % mine.len()].clone();
            let submitted = requests::submit(
                &ctx,
                &token,
                requests::NewRequest::Certificate {
                    csr,
                    reason: "bench S5 submit".to_owned(),
                    validity_days: None,
                },
            )
            .map_err(|e| format!("submit: {e}"))?;
            requests::cancel(&ctx, &token, submitted.summary.id)
                .map_err(|e| format!("cancel: {e}"))?;
            Ok(())
        });
    println!(
        "{{\"what\":\"SubmitCancel\",\"user\":\"{}\",\"threads\":{threads},\"pool_size\":{},\"seconds\":{elapsed:.2},\"ops_per_second\":{:.1},\"transactions_per_second\":{:.1},\"errors\":{failed}}}",
        args.user,
        args.pool_size,
        done as f64 / elapsed,
        2.0 * done as f64 / elapsed
    );
    match error {
        Some(e) => Err(format!("{failed} iterations failed: {e}")),
        None => Ok(()),
    }
}

/// A verified token for a new session of `username` (no password check: the loop measures the
/// writes, not log-in).
fn open_session(ctx: &Context, username: &str) -> Result<VerifiedToken, String> {
    let mut conn = ctx.conn().map_err(|e| e.to_string())?;
    let user = users::find_by_username(&mut conn, username)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user {username}"))?;
    let now = Utc::now();
    let session_id = uuid::Uuid::new_v4().to_string();
    let (token, expires_at) = ctx
        .tokens
        .issue(username, &session_id, now)
        .map_err(|e| e.to_string())?;
    sessions::insert(
        &mut conn,
        &sessions::NewSession {
            id: &session_id,
            user_id: user.id,
            created_at: now.naive_utc(),
            expires_at: expires_at.naive_utc(),
        },
    )
    .map_err(|e| e.to_string())?;
    ctx.tokens.verify(&token).map_err(|e| e.to_string())
}
