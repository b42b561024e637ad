//! The data-access layer: the only place that builds SQL. One connection type covers SQLite and
//! PostgreSQL; the backend is chosen from the URL scheme, never guessed.

/// The first row of `$query`, or none, locked until the transaction ends with `$lock`
/// (`for_update` or `for_share`) on PostgreSQL. diesel's `MultiBackend` has no locking clause,
/// and SQLite needs none (its write transactions run one at a time), so there it only reads.
/// The query is written once and built for each backend.
macro_rules! first_locked {
    ($conn:expr, $query:expr, $lock:ident) => {
        match $conn {
            $crate::db::DbConnection::Postgres(pg) => $query.$lock().first(pg).optional(),
            conn @ $crate::db::DbConnection::Sqlite(_) => $query.first(conn).optional(),
        }
    };
}

pub mod account_secrets;
pub mod bulk_actions;
mod cached;
pub mod certificates;
mod checkpoint;
mod group_commit;
pub mod login_attempts;
mod pool;
pub mod requests;
pub mod safes;
pub mod schema;
pub mod sessions;
#[cfg(test)]
mod testing;
mod timestamps;
pub mod users;
pub mod values;
pub mod vault_search;

pub(crate) use cached::cached_update;
pub use group_commit::{GROUPED_WRITES, WRITE_BATCH_DURATION, WRITE_BATCHES, WriteGroup};
pub use pool::{
    DbConnectionManager, DbPool, POOL_TIMEOUTS, POOL_WAIT, PoolOptions, PooledDb, connect,
    connect_one, is_unavailable, with_network_timeouts,
};

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend the service runs on.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` and `postgresql://` name PostgreSQL; `sqlite://` or a plain file path names SQLite.
    /// Any other scheme is refused rather than guessed.
    pub fn from_url(url: &str) -> Result<Self, String> {
        match url.split_once("://") {
            Some(("postgres" | "postgresql", _)) => Ok(Self::Postgres),
            Some(("sqlite", _)) | None => Ok(Self::Sqlite),
            Some((scheme, _)) => Err(format!(
                "unsupported database URL scheme `{scheme}`: use postgres://, postgresql://, sqlite:// or a file path"
            )),
        }
    }
}

/// Strips `sqlite://` so diesel receives a plain path.
fn connection_string(url: &str) -> &str {
    url.strip_prefix("sqlite://").unwrap_or(url)
}

/// Errors raised while opening the database at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Url(String),
    #[error("could not connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("could not build the connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("could not apply migrations: {0}")]
    Migrate(String),
}

/// Applies every pending migration of the URL's backend.
pub fn run_migrations(url: &str) -> Result<Vec<String>, SetupError> {
    let backend = Backend::from_url(url).map_err(SetupError::Url)?;
    let target = connection_string(url);
    let applied = match backend {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(target)?;
            conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")
                .map_err(|e| SetupError::Migrate(e.to_string()))?;
            conn.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| SetupError::Migrate(e.to_string()))?
                .iter()
                .map(ToString::to_string)
                .collect()
        }
        Backend::Postgres => {
            let mut conn = PgConnection::establish(target)?;
            // Several instances may start at once against one database: serialise their migrations.
            conn.batch_execute("SELECT pg_advisory_lock(727274)")
                .map_err(|e| SetupError::Migrate(e.to_string()))?;
            let result = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(|e| SetupError::Migrate(e.to_string()));
            let _unlock = conn.batch_execute("SELECT pg_advisory_unlock(727274)");
            result?
        }
    };
    Ok(applied)
}

/// Runs `work` in a transaction that may write. On SQLite it starts with `BEGIN IMMEDIATE`, so the
/// write lock is taken up front and waits on `busy_timeout`, instead of failing with "database is
/// locked" when a read later turns into a write. PostgreSQL uses its ordinary transaction.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    match conn {
        DbConnection::Postgres(_) => conn.transaction(work),
        DbConnection::Sqlite(sqlite) => {
            let _turn = WriterTurn::wait()?;
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
            match work(conn) {
                Ok(value) => {
                    <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
                    Ok(value)
                }
                Err(error) => {
                    <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
                    Err(error)
                }
            }
        }
    }
}

/// The SQLite writers of this process wait for their turn here, before `BEGIN IMMEDIATE`,
/// instead of in SQLite's busy handler. That handler polls: it sleeps 1, 2, 5, 10, ... up to 100
/// ms between tries, so under many concurrent writers the write lock sat free while waiters
/// slept, and S9's p99 was ten times its p50 (issue 13). A mutex hands the turn over as soon as
/// the writer before commits. A writer waits for its turn at most the database timeout (then it
/// is "database is locked", a 503, as from SQLite's own wait); `busy_timeout` still covers
/// other processes and the autocommit writes outside a transaction. One turn for the whole
/// process (several SQLite files share it, which only orders their writers); a thread already
/// holding it (a nested call) does not wait for itself.
struct WriterTurn(Option<parking_lot::MutexGuard<'static, ()>>);

static SQLITE_WRITER: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// How long a writer waits for its turn, in milliseconds: the database timeout the SQLite
/// connections were given (`set_writer_wait`).
static WRITER_WAIT_MS: AtomicU64 = AtomicU64::new(5_000);

/// Sets how long a SQLite writer of this process waits for its turn.
fn set_writer_wait(wait: std::time::Duration) {
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    WRITER_WAIT_MS.store(millis, Ordering::Relaxed);
}

thread_local! {
    static HOLDS_TURN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl WriterTurn {
    fn wait() -> Result<Self, DieselError> {
        let wait = std::time::Duration::from_millis(WRITER_WAIT_MS.load(Ordering::Relaxed));
        Self::take(&SQLITE_WRITER, wait)
    }

    /// Whether this thread holds the turn (it is inside a SQLite write transaction).
    fn is_held() -> bool {
        HOLDS_TURN.with(std::cell::Cell::get)
    }

    fn take(
        turn: &'static parking_lot::Mutex<()>,
        wait: std::time::Duration,
    ) -> Result<Self, DieselError> {
        if HOLDS_TURN.with(std::cell::Cell::get) {
            return Ok(Self(None));
        }
        let guard = turn.try_lock_for(wait).ok_or_else(|| {
            DieselError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(format!(
                    "database is locked: no write turn within {} ms",
                    wait.as_millis()
                )),
            )
        })?;
        HOLDS_TURN.with(|held| held.set(true));
        Ok(Self(Some(guard)))
    }
}

impl Drop for WriterTurn {
    fn drop(&mut self) {
        if self.0.is_some() {
            HOLDS_TURN.with(|held| held.set(false));
        }
    }
}

/// Whether `error` is a unique-constraint violation, and on which named constraint or column.
pub fn unique_violation(error: &DieselError) -> Option<String> {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => Some(
            info.constraint_name()
                .unwrap_or_else(|| info.message())
                .to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 000110: the developer and customer groups, which anyone can join by signing
    /// up, stop confirming; other groups and users keep their levels, and nothing else changes.
    #[test]
    fn self_service_groups_lose_their_confirm_level_and_nothing_else() {
        use diesel::RunQueryDsl;
        use diesel::sql_types::{Bool, Integer, Nullable, Text};

        #[derive(diesel::QueryableByName, Debug, PartialEq)]
        struct Member {
            #[diesel(sql_type = Text)]
            who: String,
            #[diesel(sql_type = Bool)]
            can_request: bool,
            #[diesel(sql_type = Nullable<Integer>)]
            confirm_level: Option<i32>,
        }
        let mut conn = SqliteConnection::establish(":memory:").expect("a database");
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .expect("migrations");
        let reverted = conn
            .revert_last_migration(SQLITE_MIGRATIONS)
            .expect("revert the last");
        assert!(reverted.to_string().ends_with("000110"), "{reverted}");
        conn.batch_execute(
            "INSERT INTO users (id, username, name, email, password_hash, role, status,
                 created_at, updated_at)
             VALUES (7, 'lead', 'Lead', 'lead@example.com', 'x', 'developer', 'active',
                 '2026-12-03 00:00:00', '2026-12-03 00:00:00');
             INSERT INTO safes (id, name, name_key, description, level1_confirmations,
                 level2_confirmations, request_expiry_hours, max_access_hours, ticket_required,
                 policy_version, created_at, updated_at)
             VALUES (1, 'Vault', 'vault', '', 1, 1, 24, 8, 0, 1, '2026-12-03 00:00:00',
                 '2026-12-03 00:00:00');
             INSERT INTO safe_members (safe_id, user_id, group_role, can_request, confirm_level,
                 created_at)
             VALUES (1, NULL, 'developer', 1, 1, '2026-12-03 00:00:00'),
                    (1, NULL, 'customer', 0, 2, '2026-12-03 00:00:00'),
                    (1, NULL, 'approver', 0, 2, '2026-12-03 00:00:00'),
                    (1, 7, NULL, 0, 1, '2026-12-03 00:00:00');",
        )
        .expect("members set before the migration");
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .expect("the migration");
        let members: Vec<Member> = diesel::sql_query(
            "SELECT coalesce(group_role, 'user ' || user_id) AS who, can_request, confirm_level
             FROM safe_members ORDER BY id",
        )
        .load(&mut conn)
        .expect("members");
        let member = |who: &str, can_request, confirm_level| Member {
            who: who.to_owned(),
            can_request,
            confirm_level,
        };
        assert_eq!(
            members,
            [
                member("developer", true, None),
                member("customer", false, None),
                member("approver", false, Some(2)),
                member("user 7", false, Some(1)),
            ]
        );
    }

    #[test]
    fn a_writer_waits_for_its_turn_at_most_the_database_timeout() {
        static TURN: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
        let held = TURN.lock();
        let waiter = std::thread::spawn(|| {
            let started = std::time::Instant::now();
            let outcome = WriterTurn::take(&TURN, std::time::Duration::from_millis(50));
            (outcome.map(drop), started.elapsed())
        });
        let (outcome, waited) = waiter.join().expect("the waiter ran");
        let error = outcome.expect_err("no turn while another writer holds it");
        assert!(is_unavailable(&error), "a 503: {error}");
        assert!(waited >= std::time::Duration::from_millis(50), "{waited:?}");
        drop(held);
        let next = std::thread::spawn(|| {
            WriterTurn::take(&TURN, std::time::Duration::from_millis(50)).map(drop)
        });
        assert!(next.join().expect("ran").is_ok(), "the turn once freed");
    }
}
