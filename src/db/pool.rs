//! The connection pool and the health of its connections: how a connection is opened (on the
//! backend the URL names, never by trying each in turn), when it is thrown away instead of going
//! back to the pool, and which database errors mean "the database cannot be reached, or this
//! connection is gone" (answered 503, never 500).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::{
    CustomizeConnection, Error as PoolConnectionError, HandleError, ManageConnection, Pool,
    PoolError, PooledConnection, R2D2Connection,
};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, SqliteConnection};

use super::group_commit::OpenWriter;
use super::{
    Backend, DbConnection, SetupError, WriteGroup, checkpoint, connection_string, run_migrations,
};

pub type PooledDb = PooledConnection<DbConnectionManager>;

/// The metrics [`DbPool::get`] records: how long each checkout waited, and how many found no
/// connection in time.
pub const POOL_WAIT: &str = "requestdesk_db_pool_wait_seconds";
pub const POOL_TIMEOUTS: &str = "requestdesk_db_pool_timeouts_total";

/// The pool of database connections. While the database cannot be reached, a caller is
/// answered at once rather than after the whole timeout: callers queued behind the pool's
/// blocking threads would otherwise wait a timeout each in turn, far longer than the timeout.
#[derive(Clone)]
pub struct DbPool {
    pool: Pool<DbConnectionManager>,
    /// This database's grouped writes (`DbPool::grouped_write`).
    writes: Arc<WriteGroup>,
    reachability: Arc<Reachability>,
    connection_timeout: Duration,
}

impl DbPool {
    /// A connection: an idle one, or one opened within the connection timeout. While the last
    /// attempt to open one failed (r2d2 keeps retrying in the background), only an idle one.
    ///
    /// Records the wait and any timeout in the caller's metrics recorder (`api::metrics`), when
    /// it has one.
    pub fn get(&self) -> Result<PooledDb, PoolError> {
        let wait = if self.reachability.is_unreachable() {
            Duration::ZERO
        } else {
            self.connection_timeout
        };
        let started = Instant::now();
        let connection = self.pool.get_timeout(wait);
        metrics::histogram!(POOL_WAIT).record(started.elapsed());
        if connection.is_err() {
            metrics::counter!(POOL_TIMEOUTS).increment(1);
        }
        connection
    }

    /// Runs `work` as one write transaction on `conn` (a connection of this pool), grouped with
    /// the writes of this database queued beside it on SQLite (`group_commit`). For the writes
    /// many callers make at once; `Ok` means committed.
    pub fn grouped_write<T, E, F>(&self, conn: &mut DbConnection, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DieselError> + Send + 'static,
    {
        self.writes.write(conn, work)
    }

    #[cfg(test)]
    pub(super) fn writes(&self) -> &WriteGroup {
        &self.writes
    }

    /// How many connections are open and idle now, for the metrics.
    pub fn state(&self) -> diesel::r2d2::State {
        self.pool.state()
    }

    /// The most connections this pool opens.
    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
    }
}

/// Whether the last attempt to open a connection failed, shared by the manager and the pool.
#[derive(Debug, Default)]
struct Reachability {
    unreachable: AtomicBool,
}

impl Reachability {
    fn is_unreachable(&self) -> bool {
        self.unreachable.load(Ordering::Relaxed)
    }

    fn record<T, E>(&self, attempt: &Result<T, E>) {
        self.unreachable.store(attempt.is_err(), Ordering::Relaxed);
    }
}

/// Options for the connection pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_size: u32,
    /// How long a caller waits for a free connection before it is answered 503.
    pub connection_timeout: Duration,
    /// How long the database itself may keep a caller waiting: SQLite's wait for a lock
    /// (`busy_timeout`) and PostgreSQL's connection establishment (`connect_timeout`, unless the
    /// URL sets one).
    pub database_timeout: Duration,
}

/// Applies pending migrations on one dedicated connection, then builds the pool. Both open
/// their connections with the same network timeouts.
pub fn connect(url: &str, options: PoolOptions) -> Result<DbPool, SetupError> {
    let manager = DbConnectionManager::new(url, options.database_timeout)?;
    run_migrations(&manager.target)?;
    let reachability = Arc::clone(&manager.reachability);
    let (backend, target) = (manager.backend, manager.target.clone());
    let pool = Pool::builder()
        .max_size(options.max_size)
        .min_idle(Some(1))
        .connection_timeout(options.connection_timeout)
        // A ping at checkout costs a round trip per request (measured: 120-200 us on loopback,
        // about what an indexed lookup costs); `has_broken` checks the socket instead as
        // each connection comes back (4 us), so a dead one is never handed out twice.
        .test_on_check_out(false)
        .error_handler(Box::new(LogConnectionErrors))
        .connection_customizer(Box::new(ConnectionCustomizer {
            busy_timeout: options.database_timeout,
            background_checkpoints: true,
        }))
        .build(manager)?;
    let writes = Arc::new(match backend {
        Backend::Sqlite => WriteGroup::with_writer(writer_opener(url, options.database_timeout)?),
        Backend::Postgres => WriteGroup::default(),
    });
    if backend == Backend::Sqlite {
        checkpoint::spawn(target, options.database_timeout, Arc::downgrade(&writes));
    }
    Ok(DbPool {
        pool,
        writes,
        reachability,
        connection_timeout: options.connection_timeout,
    })
}

/// Opens the SQLite writer connection of a pool's grouped writes (`group_commit`), set up as
/// the pool's own connections are.
fn writer_opener(url: &str, database_timeout: Duration) -> Result<OpenWriter, SetupError> {
    let manager = DbConnectionManager::new(url, database_timeout)?;
    let customizer = ConnectionCustomizer {
        busy_timeout: database_timeout,
        background_checkpoints: true,
    };
    Ok(Box::new(move || {
        let opened = manager.connect().and_then(|mut conn| {
            customizer.on_acquire(&mut conn)?;
            Ok(conn)
        });
        opened
            .map_err(|error| tracing::warn!(%error, "could not open the writer connection"))
            .ok()
    }))
}

/// One connection, with no pool: for one-shot commands such as `rotate-secrets-key`. A pool's
/// background threads may still be opening a connection when such a command exits, and libpq's
/// clean-up at exit then crashed the process on PostgreSQL (signal 11, about one run in six).
/// Migrations are applied first, as `connect` does.
pub fn connect_one(url: &str, database_timeout: Duration) -> Result<DbConnection, SetupError> {
    let manager = DbConnectionManager::new(url, database_timeout)?;
    run_migrations(&manager.target)?;
    let mut conn = manager.connect().map_err(setup_error)?;
    ConnectionCustomizer {
        busy_timeout: database_timeout,
        background_checkpoints: false,
    }
    .on_acquire(&mut conn)
    .map_err(setup_error)?;
    Ok(conn)
}

fn setup_error(error: PoolConnectionError) -> SetupError {
    match error {
        PoolConnectionError::ConnectionError(error) => SetupError::Connect(error),
        PoolConnectionError::QueryError(error) => SetupError::Migrate(error.to_string()),
    }
}

/// Opens connections on the backend the URL names. diesel's own manager goes through the
/// `MultiConnection`'s `establish`, which tries SQLite first on a PostgreSQL URL and reports
/// that attempt's error instead of PostgreSQL's refusal.
#[derive(Debug)]
pub struct DbConnectionManager {
    backend: Backend,
    target: String,
    reachability: Arc<Reachability>,
}

impl DbConnectionManager {
    fn new(url: &str, database_timeout: Duration) -> Result<Self, SetupError> {
        let backend = Backend::from_url(url).map_err(SetupError::Url)?;
        let target = match backend {
            Backend::Sqlite => connection_string(url).to_owned(),
            Backend::Postgres => with_network_timeouts(url, database_timeout),
        };
        Ok(Self {
            backend,
            target,
            reachability: Arc::default(),
        })
    }
}

impl ManageConnection for DbConnectionManager {
    type Connection = DbConnection;
    type Error = PoolConnectionError;

    fn connect(&self) -> Result<DbConnection, PoolConnectionError> {
        let connection = match self.backend {
            Backend::Sqlite => SqliteConnection::establish(&self.target).map(DbConnection::Sqlite),
            Backend::Postgres => PgConnection::establish(&self.target).map(DbConnection::Postgres),
        };
        self.reachability.record(&connection);
        connection.map_err(PoolConnectionError::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), PoolConnectionError> {
        conn.ping().map_err(PoolConnectionError::QueryError)
    }

    /// Called as each connection comes back to the pool; a broken one is dropped, and the pool
    /// opens a new one in the background. diesel marks a connection broken when a transaction
    /// could not be closed, or when a statement it had prepared before finds the server gone;
    /// but a statement it has to prepare first fails without marking it, so a connection whose
    /// server went away before it prepared anything would come back to the pool for ever.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken() || lost_its_server(conn)
    }
}

/// Whether libpq finds the connection's socket closed: `PQconsumeInput` (under diesel's
/// notification reader) reads what the server sent without waiting, and fails once the server
/// has hung up. No round trip, unlike a ping. The service never `LISTEN`s, so no notification
/// is lost by reading it here.
fn lost_its_server(conn: &mut DbConnection) -> bool {
    match conn {
        DbConnection::Postgres(pg) => pg
            .notifications_iter()
            .next()
            .is_some_and(|notification| notification.is_err()),
        DbConnection::Sqlite(_) => false,
    }
}

/// The URL a PostgreSQL connection is opened with: the given one, plus each of libpq's network
/// timeouts it does not set itself, so a server that stops answering (down, or behind a firewall
/// that drops every packet) cannot hold a pool thread past the database timeout:
/// - `connect_timeout` (whole seconds, at least 2: libpq reads 1 as 2) bounds opening one;
/// - `tcp_user_timeout` (milliseconds) bounds how long what was sent may stay unacknowledged on an
///   open connection: a query sent to a blackholed server fails after it instead of waiting
///   for ever (TCP would retransmit for about 15 minutes). A slow query is not cut short: the
///   server's kernel acknowledges it at once;
/// - `keepalives` with `keepalives_idle`, `keepalives_interval` and `keepalives_count` find an
///   idle connection's server gone within about twice the timeout.
///
/// A URL that is not PostgreSQL's is returned as it is.
pub fn with_network_timeouts(url: &str, timeout: Duration) -> String {
    if Backend::from_url(url) != Ok(Backend::Postgres) {
        return url.to_owned();
    }
    let seconds = timeout.as_secs().max(2).to_string();
    let defaults = [
        ("connect_timeout", seconds.clone()),
        ("tcp_user_timeout", timeout.as_millis().max(1).to_string()),
        ("keepalives", "1".to_owned()),
        ("keepalives_idle", seconds.clone()),
        ("keepalives_interval", "1".to_owned()),
        ("keepalives_count", seconds),
    ];
    let given: Vec<&str> = url
        .split_once('?')
        .map(|(_, query)| {
            query
                .split('&')
                .filter_map(|pair| pair.split('=').next())
                .collect()
        })
        .unwrap_or_default();
    let mut target = url.to_owned();
    for (name, value) in defaults {
        if !given.contains(&name) {
            target.push(if target.contains('?') { '&' } else { '?' });
            target.push_str(&format!("{name}={value}"));
        }
    }
    target
}

/// Logs why a connection could not be opened, through `tracing` like every other log line
/// (r2d2's default handler writes to the `log` crate).
#[derive(Debug)]
struct LogConnectionErrors;

impl HandleError<PoolConnectionError> for LogConnectionErrors {
    fn handle_error(&self, error: PoolConnectionError) {
        tracing::warn!(%error, "could not open a database connection");
    }
}

/// Sets per-connection pragmas on SQLite: wait for locks instead of failing, write-ahead logging so
/// readers never block the writer, and enforced foreign keys. `busy_timeout` must come first.
/// A pool's connections leave checkpoints to its checkpointer thread (`checkpoint`).
/// Temporary files live in memory: the sub-journal, where SQLite copies every page a savepoint
/// changes (each grouped write runs in one), went to a temporary file past 64 KiB, a `pwrite`
/// per page (issue 13's S9 profile: 7% of the time, in `subjournalPageIfRequired`).
#[derive(Debug, Clone, Copy)]
struct ConnectionCustomizer {
    busy_timeout: Duration,
    background_checkpoints: bool,
}

impl CustomizeConnection<DbConnection, PoolConnectionError> for ConnectionCustomizer {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), PoolConnectionError> {
        if let DbConnection::Sqlite(sqlite) = conn {
            super::set_writer_wait(self.busy_timeout);
            let pragmas = format!(
                "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; \
                 PRAGMA wal_autocheckpoint = {};",
                self.busy_timeout.as_millis(),
                if self.background_checkpoints { 0 } else { 1000 }
            );
            sqlite
                .batch_execute(&pragmas)
                .map_err(PoolConnectionError::QueryError)?;
        }
        Ok(())
    }
}

/// Whether `error` means the database cannot be reached, is shutting down or starting up, is
/// busy past its lock timeout, or that this connection is gone: a 503 and a retry, not a bug.
/// So is a PostgreSQL transaction chosen to end a deadlock or a serialization conflict: it was
/// rolled back whole, and the same call again succeeds (the writes that meet take their locks in
/// one order, so this is a safety net, not a path).
pub fn is_unavailable(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        )
        | DieselError::BrokenTransactionManager
        | DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(_, info) => is_unavailable_message(info.message()),
        DieselError::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => is_unavailable(rollback_error) || is_unavailable(commit_error),
        _ => false,
    }
}

/// What PostgreSQL, libpq and SQLite say when the server or the file cannot serve (diesel keeps
/// no SQLSTATE, so the message is all there is). A `pg_ctl stop -m fast` under load gives
/// "terminating connection due to administrator command" and "server closed the connection
/// unexpectedly" (see the fault tests); the others are libpq's and PostgreSQL's own wordings of
/// the same conditions.
const UNAVAILABLE_MESSAGES: &[&str] = &[
    // PostgreSQL shutting down (57P01 admin_shutdown, 57P02 crash_shutdown) or not yet ready
    // (57P03 cannot_connect_now).
    "terminating connection",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    // libpq after the socket closed.
    "server closed the connection",
    "no connection to the server",
    "could not connect",
    "could not receive data from server",
    "could not send data to server",
    "lost synchronization with server",
    "connection to server was lost",
    // SQLite past busy_timeout.
    "database is locked",
    "database table is locked",
    // PostgreSQL's deadlock victim (40P01), rolled back.
    "deadlock detected",
];

fn is_unavailable_message(message: &str) -> bool {
    UNAVAILABLE_MESSAGES
        .iter()
        .any(|known| message.contains(known))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn connection_level_errors_are_unavailable() {
        let unavailable = [
            database_error(DatabaseErrorKind::ClosedConnection, "anything"),
            database_error(DatabaseErrorKind::UnableToSendCommand, "no connection"),
            database_error(
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            database_error(DatabaseErrorKind::Unknown, "database is locked"),
            database_error(DatabaseErrorKind::Unknown, "deadlock detected"),
            database_error(
                DatabaseErrorKind::SerializationFailure,
                "could not serialize access due to concurrent update",
            ),
            DieselError::BrokenTransactionManager,
            DieselError::RollbackErrorOnCommit {
                rollback_error: Box::new(DieselError::BrokenTransactionManager),
                commit_error: Box::new(DieselError::NotFound),
            },
        ];
        for error in &unavailable {
            assert!(is_unavailable(error), "{error:?} should be unavailable");
        }
    }

    #[test]
    fn other_errors_are_not_unavailable() {
        let others = [
            DieselError::NotFound,
            database_error(DatabaseErrorKind::UniqueViolation, "duplicate key value"),
            database_error(
                DatabaseErrorKind::Unknown,
                "invalid byte sequence for encoding \"UTF8\": 0x00",
            ),
        ];
        for error in &others {
            assert!(
                !is_unavailable(error),
                "{error:?} should not be unavailable"
            );
        }
    }

    #[test]
    fn network_timeouts_are_added_unless_the_url_sets_them() {
        let all = "connect_timeout=3&tcp_user_timeout=3000&keepalives=1&keepalives_idle=3\
                   &keepalives_interval=1&keepalives_count=3";
        assert_eq!(
            with_network_timeouts("postgres://u@h/db", Duration::from_secs(3)),
            format!("postgres://u@h/db?{all}")
        );
        assert_eq!(
            with_network_timeouts("postgres://u@h/db?sslmode=disable", Duration::from_secs(3)),
            format!("postgres://u@h/db?sslmode=disable&{all}")
        );
        assert_eq!(
            with_network_timeouts(
                "postgresql://u@h/db?connect_timeout=9&tcp_user_timeout=0&keepalives_idle=60",
                Duration::from_millis(1500)
            ),
            "postgresql://u@h/db?connect_timeout=9&tcp_user_timeout=0&keepalives_idle=60\
             &keepalives=1&keepalives_interval=1&keepalives_count=2",
            "what the URL sets is kept; libpq reads a connect_timeout of 1 as 2"
        );
        assert_eq!(
            with_network_timeouts("sqlite:///tmp/x.db", Duration::from_secs(3)),
            "sqlite:///tmp/x.db"
        );
    }

    /// SQLite's temporary files still open in this process (unlinked as soon as opened, so only
    /// their descriptors name them).
    fn open_temporary_files() -> usize {
        std::fs::read_dir("/proc/self/fd")
            .expect("fds")
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().contains("etilqs_"))
            .count()
    }

    /// Changes 4 MiB of pages inside a savepoint and reports the temporary files open then: a
    /// sub-journal on disk shows as one.
    fn temporary_files_of_a_large_savepoint(conn: &mut DbConnection) -> usize {
        conn.batch_execute("CREATE TABLE IF NOT EXISTS filler (x BLOB NOT NULL)")
            .expect("table");
        conn.batch_execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
             INSERT INTO filler SELECT randomblob(4000) FROM n",
        )
        .expect("filler");
        conn.batch_execute("BEGIN IMMEDIATE; SAVEPOINT s; UPDATE filler SET x = randomblob(4000);")
            .expect("savepoint");
        let open = open_temporary_files();
        conn.batch_execute("RELEASE s; ROLLBACK").expect("rollback");
        open
    }

    #[test]
    fn savepoints_journal_in_memory_on_pool_connections() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("subjournal.db").display());
        let options = PoolOptions {
            max_size: 2,
            connection_timeout: Duration::from_secs(5),
            database_timeout: Duration::from_secs(5),
        };
        let pool = connect(&url, options).expect("pool");
        let mut pooled = pool.get().expect("connection");
        assert_eq!(temporary_files_of_a_large_savepoint(&mut pooled), 0);
        // The same on a connection with SQLite's default temp_store, where it does open one.
        let mut plain = connect_one(&url, Duration::from_secs(5)).expect("connection");
        plain
            .batch_execute("PRAGMA temp_store = DEFAULT")
            .expect("pragma");
        assert!(temporary_files_of_a_large_savepoint(&mut plain) >= 1);
    }

    #[derive(diesel::QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// `.cargo/config.toml` compiles the bundled SQLite with the planner stability guarantee;
    /// without it every list page is compiled on every call (BENCHMARKS.md, issue 13 phase 6).
    #[test]
    fn sqlite_plans_a_statement_once_whatever_is_bound() {
        use diesel::RunQueryDsl;
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("options.db").display());
        let mut conn = connect_one(&url, Duration::from_secs(5)).expect("connection");
        let options = diesel::sql_query("PRAGMA compile_options")
            .load::<CompileOption>(&mut conn)
            .expect("compile options");
        assert!(
            options.iter().any(|o| o.compile_options == "ENABLE_QPSG"),
            "{:?}",
            options
                .iter()
                .map(|o| &o.compile_options)
                .collect::<Vec<_>>()
        );
    }
}
