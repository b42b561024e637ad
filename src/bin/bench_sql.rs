//! `bench_sql`: the ceiling of the read scenarios. Runs, in process, the very statements an
//! endpoint runs (the library's own `db` functions, so the same SQL, the same row decoding) through
//! a pool built by `db::connect` with the service's settings, on `--threads` threads for
//! `--seconds`, and prints one JSON line: operations (whole endpoint's worth of statements) and
//! statements per second.
//!
//! `bench_sql --database-url data/requestdesk.db --user heavy --what dashboard --seconds 5`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::{Parser, ValueEnum};
use requestdesk::db::certificates::{self as cert_db, CertificateFilter};
use requestdesk::db::requests::{self as req_db, RequestFilter};
use requestdesk::db::{self, DbConnection, DbPool, PoolOptions, sessions, users};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum What {
    /// `GET /api/v3/myrequests`: session check, requests total (counters) and page, certificates
    /// total (counter) and page (5 statements; the safe and account names need none for
    /// certificate requests).
    Dashboard,
    /// `GET /api/v3/myrequests/stats`: session check, the timed-out check, the counters and 3
    /// counts, recent requests and certificates, active certificates (9 statements).
    Stats,
}

#[derive(Debug, Parser)]
#[command(about = "The in-process ceiling: an endpoint's SQL in a loop through the service's pool")]
struct Args {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
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
}

fn main() {
    if let Err(message) = run(Args::parse()) {
        eprintln!("bench_sql: {message}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    let pool = db::connect(
        &args.database_url,
        PoolOptions {
            max_size: args.pool_size,
            connection_timeout: Duration::from_secs(3),
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
        What::Dashboard => 5,
        What::Stats => 9,
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
    sessions::find_live_user(conn, session, &args.user, now)
        .map_err(|e| e.to_string())?
        .ok_or("session not found")?;
    match args.what {
        What::Dashboard => {
            let filter = RequestFilter {
                requester_id: Some(user_id),
                ..RequestFilter::default()
            };
            req_db::stored_totals(conn, user_id).map_err(|e| e.to_string())?;
            let rows =
                req_db::page(conn, &filter, now, 0, args.per_page).map_err(|e| e.to_string())?;
            req_db::safe_and_account_names(conn, &rows.iter().map(|(r, _)| r).collect::<Vec<_>>())
                .map_err(|e| e.to_string())?;
            let certificates = CertificateFilter {
                owner_id: Some(user_id),
                ..CertificateFilter::default()
            };
            cert_db::owned_total(conn, user_id).map_err(|e| e.to_string())?;
            cert_db::page(conn, &certificates, now, 0, args.per_page).map_err(|e| e.to_string())?;
        }
        What::Stats => {
            req_db::has_timed_out_pending(conn, user_id, now).map_err(|e| e.to_string())?;
            req_db::count_by_status(conn, user_id, now).map_err(|e| e.to_string())?;
            let since = now - chrono::Duration::days(30);
            let rows = req_db::recent(conn, user_id, since, 10).map_err(|e| e.to_string())?;
            req_db::safe_and_account_names(conn, &rows.iter().collect::<Vec<_>>())
                .map_err(|e| e.to_string())?;
            cert_db::recent(conn, user_id, since, 10).map_err(|e| e.to_string())?;
            cert_db::count_active(conn, user_id, now).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
