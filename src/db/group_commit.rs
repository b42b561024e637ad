//! Group commit on SQLite: writes that wait for the write turn at the same time run in one
//! transaction, each inside its own savepoint, and are answered after its one `COMMIT`.
//!
//! Why (issue 13, S9): a SQLite write transaction has a fixed cost that dwarfs a confirmation's
//! statements. `BEGIN`/`COMMIT` was 22.5% of the service's time in the profile (the WAL frames
//! of every page touched, the share of auto-checkpoints), all of it inside the one write lock,
//! so 16 concurrent confirmations queued behind it. In a batch the shared pages (the right edge
//! of the event and certificate indexes, the counter rows) are written once per batch.
//!
//! How: a writer queues its work in its database's [`WriteGroup`], then waits for the process's
//! write turn (`WriterTurn`). When it gets the turn, either a writer before it already ran its
//! work (it takes its answer and goes), or it leads: it takes what is queued, runs each work on
//! its own connection inside `BEGIN IMMEDIATE`, each in a savepoint (one that fails is rolled
//! back alone and answers its own error), commits, and hands every writer its answer. A failed
//! `COMMIT` fails every work of the batch: none of it was written. A writer that found no turn
//! within the database timeout takes its work back if no leader took it yet (a 503, nothing
//! written), else waits for the leader's answer.
//!
//! Batches run on the group's own writer connection when it has one (the pool gives SQLite's
//! one, `WriteGroup::with_writer`), not on the leader's: SQLite empties a connection's page cache
//! whenever another connection has committed since it last read, so a batch led on each writer's
//! own connection read every page it touched again (`pread`, 4.5% of S9's profile, and as much
//! again refilling the cache), all of it while holding the write turn. Kept from batch to batch,
//! the one connection that commits finds its cache still valid. Until it can be opened, and
//! after a batch failed on it, batches run on the leader's connection.
//!
//! On PostgreSQL a grouped write is its ordinary transaction: row locks already let writers
//! overlap, and one transaction per request keeps their failures apart.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use parking_lot::{Condvar, Mutex};

use super::{DbConnection, WriterTurn};

/// The most works one transaction runs: bounds how long the first of them waits for its answer.
const MAX_BATCH: usize = 32;

/// Counts grouped writes and the transactions that ran them, for `/metrics` (their ratio is
/// the mean batch size).
pub const GROUPED_WRITES: &str = "requestdesk_db_grouped_writes_total";
pub const WRITE_BATCHES: &str = "requestdesk_db_write_batches_total";
/// How long each batch held the write turn, `BEGIN IMMEDIATE` to `COMMIT`: its sum over a
/// period is the share of that period in which SQLite's one writer was busy with grouped writes
/// (other writes and the checkpoints take the same turn, untimed here).
pub const WRITE_BATCH_DURATION: &str = "requestdesk_db_write_batch_seconds";

/// Opens the writer connection of a [`WriteGroup`]; `None` when it cannot (it logs why).
pub type OpenWriter = Box<dyn Fn() -> Option<DbConnection> + Send + Sync>;

/// The queue of one database's grouped writes (one per pool).
#[derive(Default)]
pub struct WriteGroup {
    queue: Mutex<VecDeque<Queued>>,
    tickets: AtomicU64,
    /// Transactions led so far (the tests read it; `/metrics` has the same count).
    batches: AtomicU64,
    /// The connection batches run on, used only by the holder of the write turn.
    writer: Mutex<Option<DbConnection>>,
    open_writer: Option<OpenWriter>,
}

struct Queued {
    ticket: u64,
    job: Box<dyn Job>,
}

/// A queued work with the place its answer goes, its types erased.
trait Job: Send {
    /// Runs the work in a savepoint and keeps its answer. `Err` when the connection can no
    /// longer be trusted (the work panicked): the batch is abandoned.
    fn run(&mut self, conn: &mut DbConnection) -> Result<(), DieselError>;
    /// Hands the writer its answer: its own if the batch committed, or if its work failed
    /// anyway; else the batch's error.
    fn settle(self: Box<Self>, batch_error: Option<&DieselError>);
}

impl WriteGroup {
    /// A group whose batches run on a connection of its own, opened by `open` when first needed
    /// and again after a batch failed on it.
    pub fn with_writer(open: OpenWriter) -> Self {
        Self {
            open_writer: Some(open),
            ..Self::default()
        }
    }

    /// Runs `work` in a write transaction shared with the writes queued beside it (see the
    /// module's comment): it is all or nothing, as in `write_transaction`, and it has been
    /// committed when this returns `Ok`. The work owns what it uses (`'static`), because
    /// another writer's thread may run it. On PostgreSQL, and inside a write already holding the
    /// turn, it is `write_transaction`.
    pub fn write<T, E, F>(&self, conn: &mut DbConnection, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DieselError> + Send + 'static,
    {
        if !matches!(conn, DbConnection::Sqlite(_)) {
            return super::write_transaction(conn, work);
        }
        if WriterTurn::is_held() {
            // Already inside this thread's write transaction: a savepoint of it.
            return conn.transaction(work);
        }
        let slot = Arc::new(Slot::default());
        let ticket = self.enqueue(Box::new(Work {
            work: Some(work),
            answer: None,
            slot: Arc::clone(&slot),
            span: tracing::Span::current(),
        }));
        let turn = match WriterTurn::wait() {
            Ok(turn) => turn,
            Err(error) if self.withdraw(ticket) => return Err(error.into()),
            Err(_) => return slot.wait(),
        };
        // Either a leader before this one ran the work, or it is still queued: lead until it
        // has run (a batch takes the oldest works first, at most `MAX_BATCH`).
        let answer = loop {
            if let Some(answer) = slot.take() {
                break answer;
            }
            self.lead(conn);
        };
        drop(turn);
        answer
    }

    fn enqueue(&self, job: Box<dyn Job>) -> u64 {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        self.queue.lock().push_back(Queued { ticket, job });
        ticket
    }

    /// Takes a queued job back; false when a leader already took it.
    fn withdraw(&self, ticket: u64) -> bool {
        let mut queue = self.queue.lock();
        let Some(index) = queue.iter().position(|queued| queued.ticket == ticket) else {
            return false;
        };
        drop(queue.remove(index));
        true
    }

    /// As the holder of the write turn: runs what is queued in one transaction (on the writer
    /// connection, else on the leader's `conn`) and settles it.
    fn lead(&self, conn: &mut DbConnection) {
        let mut jobs: Vec<Box<dyn Job>> = {
            let mut queue = self.queue.lock();
            let n = queue.len().min(MAX_BATCH);
            queue.drain(..n).map(|queued| queued.job).collect()
        };
        self.batches.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(WRITE_BATCHES).increment(1);
        metrics::counter!(GROUPED_WRITES).increment(jobs.len() as u64);
        let mut writer = self.writer.lock();
        if writer.is_none()
            && let Some(open) = &self.open_writer
        {
            *writer = open();
        }
        let started = std::time::Instant::now();
        let outcome = run_batch(writer.as_mut().unwrap_or(conn), &mut jobs);
        metrics::histogram!(WRITE_BATCH_DURATION).record(started.elapsed());
        if outcome.is_err() {
            // Whatever failed, the next batch starts on a connection opened afresh.
            *writer = None;
        }
        drop(writer);
        for job in jobs {
            job.settle(outcome.as_ref().err());
        }
    }
}

/// `BEGIN IMMEDIATE`, every job in its savepoint, `COMMIT`; on any failure of the transaction
/// itself, everything is rolled back.
fn run_batch(conn: &mut DbConnection, jobs: &mut [Box<dyn Job>]) -> Result<(), DieselError> {
    let DbConnection::Sqlite(sqlite) = conn else {
        unreachable!("grouped writes are batched on SQLite only");
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let ran = jobs.iter_mut().try_for_each(|job| {
        job.run(conn)?;
        still_in_the_batch(conn)
    });
    match ran {
        Ok(()) => <DbConnection as Connection>::TransactionManager::commit_transaction(conn),
        Err(error) => {
            roll_back_everything(conn);
            Err(error)
        }
    }
}

/// Whether the batch's transaction is still open after a work. SQLite ends a transaction by
/// itself after some failures (a full disk, an I/O error): the works before went with it, and
/// the next would run, and commit, in a transaction of its own.
fn still_in_the_batch(conn: &mut DbConnection) -> Result<(), DieselError> {
    type Manager = <DbConnection as Connection>::TransactionManager;
    match Manager::transaction_manager_status_mut(conn).transaction_depth() {
        Ok(Some(depth)) if depth.get() == 1 => Ok(()),
        _ => {
            tracing::error!("a grouped write's transaction ended under it: its batch failed");
            Err(DieselError::BrokenTransactionManager)
        }
    }
}

/// Leaves no transaction or savepoint open on `conn`, whatever a panicking work left.
fn roll_back_everything(conn: &mut DbConnection) {
    type Manager = <DbConnection as Connection>::TransactionManager;
    while let Ok(Some(_)) = Manager::transaction_manager_status_mut(conn).transaction_depth() {
        if Manager::rollback_transaction(conn).is_err() {
            break;
        }
    }
}

struct Work<F, T, E> {
    work: Option<F>,
    answer: Option<Result<T, E>>,
    slot: Arc<Slot<Result<T, E>>>,
    /// The writer's span, so the work's log lines carry its request's fields on the leader's
    /// thread.
    span: tracing::Span,
}

impl<F, T, E> Job for Work<F, T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DieselError> + Send + 'static,
{
    fn run(&mut self, conn: &mut DbConnection) -> Result<(), DieselError> {
        let work = self.work.take().expect("a job runs once");
        let ran = self
            .span
            .in_scope(|| std::panic::catch_unwind(AssertUnwindSafe(|| conn.transaction(work))));
        match ran {
            Ok(answer) => {
                self.answer = Some(answer);
                Ok(())
            }
            Err(_) => {
                tracing::error!("a grouped write panicked: its batch is rolled back");
                Err(DieselError::RollbackTransaction)
            }
        }
    }

    fn settle(self: Box<Self>, batch_error: Option<&DieselError>) {
        let Work {
            work, answer, slot, ..
        } = *self;
        drop(work);
        let answer = match (answer, batch_error) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), None) => Ok(value),
            (_, Some(error)) => Err(copy_of(error).into()),
            (None, None) => Err(DieselError::RollbackTransaction.into()),
        };
        slot.fill(answer);
    }
}

/// A batch's failure, for each of its writers (diesel's errors are not `Clone`). What
/// `is_unavailable` reads (the kind and the message) is kept, so a lost or locked database is
/// still a 503 for each.
fn copy_of(error: &DieselError) -> DieselError {
    match error {
        DieselError::DatabaseError(kind, info) => {
            let kind = match kind {
                DatabaseErrorKind::ClosedConnection => DatabaseErrorKind::ClosedConnection,
                DatabaseErrorKind::UnableToSendCommand => DatabaseErrorKind::UnableToSendCommand,
                _ => DatabaseErrorKind::Unknown,
            };
            DieselError::DatabaseError(kind, Box::new(info.message().to_owned()))
        }
        DieselError::RollbackTransaction => DieselError::RollbackTransaction,
        _ => DieselError::BrokenTransactionManager,
    }
}

/// Where a writer's answer waits for it.
struct Slot<R> {
    answer: Mutex<Option<R>>,
    ready: Condvar,
}

impl<R> Default for Slot<R> {
    fn default() -> Self {
        Self {
            answer: Mutex::new(None),
            ready: Condvar::new(),
        }
    }
}

impl<R> Slot<R> {
    fn fill(&self, answer: R) {
        *self.answer.lock() = Some(answer);
        self.ready.notify_all();
    }

    fn take(&self) -> Option<R> {
        self.answer.lock().take()
    }

    fn wait(&self) -> R {
        let mut answer = self.answer.lock();
        loop {
            if let Some(answer) = answer.take() {
                return answer;
            }
            self.ready.wait(&mut answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::db::{DbPool, PoolOptions, SQLITE_WRITER, connect};

    fn pool(dir: &tempfile::TempDir) -> DbPool {
        let url = format!("sqlite://{}", dir.path().join("group.db").display());
        let options = PoolOptions {
            max_size: 10,
            connection_timeout: Duration::from_secs(5),
            database_timeout: Duration::from_secs(5),
        };
        let pool = connect(&url, options).expect("pool");
        pool.get()
            .expect("conn")
            .batch_execute("CREATE TABLE t (x INTEGER NOT NULL UNIQUE)")
            .expect("table");
        pool
    }

    fn insert(conn: &mut DbConnection, x: i64) -> QueryResult<usize> {
        diesel::sql_query("INSERT INTO t (x) VALUES (?)")
            .bind::<BigInt, _>(x)
            .execute(conn)
    }

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        x: i64,
    }

    fn stored(pool: &DbPool) -> Vec<i64> {
        let mut conn = pool.get().expect("conn");
        let rows: Vec<Row> = diesel::sql_query("SELECT x FROM t ORDER BY x")
            .load(&mut *conn)
            .expect("select");
        rows.into_iter().map(|row| row.x).collect()
    }

    /// Holds the process's write turn while `writers` threads queue their writes, so they
    /// all wait together, then lets them go; returns each writer's answer.
    fn queued_together(
        pool: &DbPool,
        writers: i64,
        work: impl Fn(&mut DbConnection, i64) -> QueryResult<i64> + Send + Sync + Copy + 'static,
    ) -> Vec<QueryResult<i64>> {
        let turn = SQLITE_WRITER.lock();
        let threads: Vec<_> = (0..writers)
            .map(|x| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut conn = pool.get().expect("conn");
                    pool.grouped_write(&mut conn, move |conn| work(conn, x))
                })
            })
            .collect();
        while pool.writes().queue.lock().len() < writers as usize {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(turn);
        threads
            .into_iter()
            .map(|t| t.join().expect("writer"))
            .collect()
    }

    /// Batches led by writers on two different pool connections run on one connection: a
    /// temporary table (each connection has its own) created by the first is there for the
    /// second. On the leaders' own connections the second finds no such table.
    #[test]
    fn batches_run_on_the_groups_one_writer_connection() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = pool(&dir);
        let (mut first, mut second) = (pool.get().expect("conn"), pool.get().expect("conn"));
        pool.grouped_write(&mut first, |conn| {
            conn.batch_execute("CREATE TEMP TABLE on_the_writer (x INTEGER)")
        })
        .expect("first batch");
        let seen: QueryResult<usize> = pool.grouped_write(&mut second, |conn| {
            diesel::sql_query("INSERT INTO temp.on_the_writer (x) VALUES (1)").execute(conn)
        });
        assert_eq!(seen.expect("second batch, on the same connection"), 1);
        assert_eq!(pool.writes().batches.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn writers_queued_together_commit_once_and_a_failed_one_is_rolled_back_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = pool(&dir);
        let answers = queued_together(&pool, 8, |conn, x| {
            insert(conn, x)?;
            if x == 3 {
                // Written, then refused: its savepoint is rolled back, the others stay.
                return Err(diesel::result::Error::RollbackTransaction);
            }
            Ok(x)
        });
        for (x, answer) in answers.iter().enumerate() {
            match x {
                3 => assert!(answer.is_err(), "the failed work answers its error"),
                _ => assert_eq!(answer.as_ref().ok(), Some(&(x as i64))),
            }
        }
        assert_eq!(stored(&pool), vec![0, 1, 2, 4, 5, 6, 7]);
        assert_eq!(
            pool.writes().batches.load(Ordering::Relaxed),
            1,
            "eight writes queued together are one transaction"
        );
    }

    /// A writer that found no turn in time takes its work back while it is still queued (its
    /// 503): no later leader runs it, and it cannot be taken back twice.
    #[test]
    fn a_withdrawn_work_is_never_run() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = pool(&dir);
        let group = WriteGroup::default();
        let slot = Arc::new(Slot::default());
        let ticket = group.enqueue(Box::new(Work {
            work: Some(|conn: &mut DbConnection| insert(conn, 1)),
            answer: None,
            slot: Arc::clone(&slot),
            span: tracing::Span::none(),
        }));
        assert!(group.withdraw(ticket), "still queued");
        assert!(!group.withdraw(ticket), "already taken back");
        let mut conn = pool.get().expect("conn");
        let _turn = WriterTurn::wait().expect("turn");
        group.lead(&mut conn);
        assert!(slot.take().is_none(), "no answer: it never ran");
        assert_eq!(stored(&pool), Vec::<i64>::new());
    }

    /// SQLite may end a transaction by itself when a statement fails (a full disk, an I/O error:
    /// its "automatic rollback"), here a work's own `ROLLBACK`. The works before it went with
    /// the transaction, so the batch fails: the one after it is not run (it would have run in a
    /// transaction of its own, committed, and been told that it failed), and nothing is stored.
    #[test]
    fn a_batch_that_sqlite_rolled_back_runs_nothing_more_and_fails_every_work() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = pool(&dir);
        let group = WriteGroup::default();
        let queue = |work: fn(&mut DbConnection) -> QueryResult<usize>| {
            let slot = Arc::new(Slot::default());
            group.enqueue(Box::new(Work {
                work: Some(work),
                answer: None,
                slot: Arc::clone(&slot),
                span: tracing::Span::none(),
            }));
            slot
        };
        let before = queue(|conn| insert(conn, 1));
        let rolled_back = queue(|conn| {
            conn.batch_execute("ROLLBACK")?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        let after = queue(|conn| insert(conn, 3));
        let mut conn = pool.get().expect("conn");
        let turn = WriterTurn::wait().expect("turn");
        group.lead(&mut conn);
        drop(turn);
        let rolled_back = rolled_back.take().expect("answered");
        assert!(rolled_back.is_err(), "its own error: {rolled_back:?}");
        for (name, slot) in [("before", before), ("after", after)] {
            let answer = slot.take().expect("every work is answered");
            let unavailable = answer.as_ref().is_err_and(crate::db::is_unavailable);
            assert!(unavailable, "{name} is a 503: {answer:?}");
        }
        assert_eq!(stored(&pool), Vec::<i64>::new(), "nothing of the batch");
        let again = pool.grouped_write(&mut conn, |conn| insert(conn, 9));
        assert_eq!(again.ok(), Some(1), "the connection goes on");
    }

    #[test]
    fn a_panicking_work_fails_its_whole_batch_and_the_connection_goes_on() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = pool(&dir);
        let answers = queued_together(&pool, 4, |conn, x| {
            insert(conn, x)?;
            assert_ne!(x, 2, "a bug in one work");
            Ok(x)
        });
        assert!(answers.iter().all(Result::is_err), "{answers:?}");
        assert_eq!(stored(&pool), Vec::<i64>::new(), "nothing of the batch");
        let mut conn = pool.get().expect("conn");
        let after = pool.grouped_write(&mut conn, |conn| insert(conn, 9));
        assert_eq!(after.ok(), Some(1));
        assert_eq!(stored(&pool), vec![9]);
    }

    #[test]
    fn a_unique_violation_is_the_writer_s_own_error() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = pool(&dir);
        let answers = queued_together(&pool, 6, |conn, x| {
            insert(conn, x % 3)?;
            Ok(x)
        });
        let won = answers.iter().filter(|a| a.is_ok()).count();
        assert_eq!(won, 3, "one winner per value: {answers:?}");
        for answer in answers.iter().filter_map(|a| a.as_ref().err()) {
            assert!(crate::db::unique_violation(answer).is_some(), "{answer}");
        }
        assert_eq!(stored(&pool), vec![0, 1, 2]);
    }
}
