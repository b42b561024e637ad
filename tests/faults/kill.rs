//! kill -9 of the service under 16 connections of submit-then-cancel and submit-then-confirm
//! load (cancels and confirmations share SQLite transactions through group commit), then a
//! restart on the same database: every write whose 2xx reached the client is there in the state
//! it was acknowledged in, every approved request has its certificate and no certificate lacks
//! its approval, nothing is half-written, and SQLite's file is intact.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use requestdesk::clock::Clock;
use serde_json::Value;

use crate::helpers::{
    ADMIN_PASSWORD, Backend, JWT_SECRET, SECRETS_KEY, TestApp, TestDatabase, postgres_url,
};
use crate::load::certificate_request;

const CONNECTIONS: usize = 16;
/// Acknowledged submissions to wait for before the kill.
const ACKNOWLEDGED_BEFORE_KILL: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_on_sqlite() {
    acknowledged_writes_survive_kill_9(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_on_postgres() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    acknowledged_writes_survive_kill_9(Backend::Postgres).await;
}

async fn acknowledged_writes_survive_kill_9(backend: Backend) {
    let database = TestDatabase::new(backend);
    let mut service = Service::start(&database).await;
    let app = TestApp {
        address: service.address.clone(),
        client: reqwest::Client::new(),
        clock: Clock::default(),
        database,
    };
    let mut tokens = Vec::new();
    for writer in 0..CONNECTIONS {
        tokens.push(app.developer(&format!("writer{writer}")).await);
    }
    let approver = app.user_with_role("approver", "approver").await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(writer, token)| {
            let writer = Writer {
                address: app.address.clone(),
                index: writer,
                token: token.clone(),
                // Half the writers have their requests confirmed, half cancel them.
                approver: (writer % 2 == 1).then(|| approver.clone()),
            };
            tokio::spawn(writer.write_until_stopped(Arc::clone(&ledger), Arc::clone(&stop)))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ledger.lock().expect("ledger").submitted.len() < ACKNOWLEDGED_BEFORE_KILL
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    service.kill();
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.expect("a writer");
    }

    if backend == Backend::Sqlite {
        assert_eq!(integrity_check(&app.database.url), "ok");
    }
    let service = Service::start(&app.database).await;
    let app = TestApp {
        address: service.address.clone(),
        ..app
    };
    let ledger = ledger.lock().expect("ledger").clone();
    assert!(
        ledger.submitted.len() >= ACKNOWLEDGED_BEFORE_KILL,
        "only {} submissions before the kill",
        ledger.submitted.len()
    );
    for (id, token) in &ledger.submitted {
        let detail = app
            .get(&format!("/api/v3/myrequests/{id}"), Some(&tokens[*token]))
            .await;
        assert_eq!(
            detail.status, 200,
            "acknowledged request {id} is gone: {detail:?}"
        );
        let events = event_names(&detail.body);
        assert!(
            events.contains(&"submitted".to_owned()),
            "request {id}: {events:?}"
        );
        if ledger.approved.contains(id) {
            assert_eq!(
                detail.body["status"].as_str(),
                Some("approved"),
                "acknowledged confirmation of {id} is lost: {}",
                detail.body
            );
            assert!(
                detail.body["certificate_id"].is_i64(),
                "approved {id} without its certificate: {}",
                detail.body
            );
            for event in ["confirmed", "approved", "issued"] {
                assert!(
                    events.contains(&event.to_owned()),
                    "request {id}: {events:?}"
                );
            }
        }
        if ledger.cancelled.contains(id) {
            assert_eq!(
                (
                    detail.body["status"].as_str(),
                    detail.body["rejection_reason"].as_str()
                ),
                (Some("rejected"), Some("Cancelled by requester")),
                "acknowledged cancel of {id} is lost: {}",
                detail.body
            );
            assert!(
                events.contains(&"cancelled".to_owned()),
                "request {id}: {events:?}"
            );
        }
    }
    assert_nothing_half_written(backend, &app.database.url);
    assert!(
        !ledger.approved.is_empty() && !ledger.cancelled.is_empty(),
        "both kinds of grouped write before the kill: {} approved, {} cancelled",
        ledger.approved.len(),
        ledger.cancelled.len()
    );
    eprintln!(
        "{backend:?}: killed after {} acknowledged submissions, {} acknowledged cancels and {} \
         acknowledged confirmations; {} requests stored",
        ledger.submitted.len(),
        ledger.cancelled.len(),
        ledger.approved.len(),
        count(
            backend,
            &app.database.url,
            "SELECT count(*) AS n FROM requests"
        )
    );
    let after = app
        .post(
            "/api/v3/myrequests",
            Some(&tokens[0]),
            &certificate_request(),
        )
        .await;
    assert_eq!(after.status, 201, "a write after the restart: {after:?}");
}

/// What the clients were told: each acknowledged submission (and whose it is), each
/// acknowledged cancel and confirmation.
#[derive(Debug, Default, Clone)]
struct Ledger {
    submitted: HashMap<i64, usize>,
    cancelled: Vec<i64>,
    approved: Vec<i64>,
}

/// One of the connections: which user it writes as, and the approver who confirms what it
/// submits (else it cancels it).
struct Writer {
    address: String,
    index: usize,
    token: String,
    approver: Option<String>,
}

impl Writer {
    /// Submit, then cancel what was submitted, until told to stop; each 2xx goes in the ledger.
    async fn write_until_stopped(self, ledger: Arc<Mutex<Ledger>>, stop: Arc<AtomicBool>) {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a client");
        while !stop.load(Ordering::SeqCst) {
            let submitted = client
                .post(format!("{}/api/v3/myrequests", self.address))
                .bearer_auth(&self.token)
                .json(&certificate_request())
                .send()
                .await;
            let Some(id) = acknowledged_id(submitted, 201).await else {
                continue;
            };
            ledger
                .lock()
                .expect("ledger")
                .submitted
                .insert(id, self.index);
            if let Some(approver) = &self.approver {
                let confirmed = client
                    .post(format!(
                        "{}/api/v3/incoming-requests/{id}/confirm",
                        self.address
                    ))
                    .bearer_auth(approver)
                    .json(&serde_json::json!({}))
                    .send()
                    .await;
                if acknowledged_id(confirmed, 200).await.is_some() {
                    ledger.lock().expect("ledger").approved.push(id);
                }
                continue;
            }
            let cancelled = client
                .post(format!("{}/api/v3/myrequests/{id}/cancel", self.address))
                .bearer_auth(&self.token)
                .send()
                .await;
            if acknowledged_id(cancelled, 200).await.is_some() {
                ledger.lock().expect("ledger").cancelled.push(id);
            }
        }
    }
}

/// The request id of a response with the expected status whose body was read in full.
async fn acknowledged_id(
    response: reqwest::Result<reqwest::Response>,
    expected: u16,
) -> Option<i64> {
    let response = response.ok()?;
    if response.status().as_u16() != expected {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    body["id"].as_i64()
}

fn event_names(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["event"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

fn integrity_check(url: &str) -> String {
    let mut conn = SqliteConnection::establish(url).expect("open the SQLite file");
    diesel::sql_query("SELECT integrity_check FROM pragma_integrity_check")
        .get_result::<Check>(&mut conn)
        .expect("PRAGMA integrity_check")
        .integrity_check
}

/// Rows that only a torn write could leave: a request without its `submitted` event, a
/// cancelled status without its `cancelled` event or the other way round, an approved request
/// without its certificate or its `approved` event, a certificate whose request is not
/// approved, a per-user counter that disagrees with the rows it counts.
const HALF_WRITTEN: &[(&str, &str)] = &[
    (
        "requests without a submitted event",
        "SELECT count(*) AS n FROM requests r WHERE NOT EXISTS \
         (SELECT 1 FROM request_events e WHERE e.request_id = r.id AND e.event = 'submitted')",
    ),
    (
        "cancelled status and cancelled event disagreeing",
        "SELECT count(*) AS n FROM requests r WHERE \
         (r.status = 'rejected' AND COALESCE(r.rejection_reason, '') = 'Cancelled by requester') <> \
         EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = r.id AND e.event = 'cancelled')",
    ),
    (
        "approved certificate requests without their certificate",
        "SELECT count(*) AS n FROM requests r WHERE r.request_type = 'certificate' \
         AND r.status = 'approved' AND NOT EXISTS \
         (SELECT 1 FROM certificates c WHERE c.id = r.certificate_id AND c.request_id = r.id)",
    ),
    (
        "approved status and approved event disagreeing",
        "SELECT count(*) AS n FROM requests r WHERE (r.status = 'approved') <> \
         EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = r.id AND e.event = 'approved')",
    ),
    (
        "certificates issued for requests that are not approved",
        "SELECT count(*) AS n FROM certificates c WHERE c.request_id IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM requests r WHERE r.id = c.request_id AND r.status = 'approved')",
    ),
    (
        "request counters disagreeing with the rows",
        "SELECT count(*) AS n FROM (SELECT requester_id, request_type, status, count(*) AS n \
         FROM requests GROUP BY requester_id, request_type, status) actual \
         LEFT JOIN request_counts c ON c.requester_id = actual.requester_id \
         AND c.request_type = actual.request_type AND c.status = actual.status \
         WHERE c.n IS NULL OR c.n <> actual.n",
    ),
    (
        "request counters counting rows that are not there",
        "SELECT count(*) AS n FROM request_counts c WHERE c.n <> (SELECT count(*) FROM requests r \
         WHERE r.requester_id = c.requester_id AND r.request_type = c.request_type \
         AND r.status = c.status)",
    ),
];

fn assert_nothing_half_written(backend: Backend, url: &str) {
    for (what, sql) in HALF_WRITTEN {
        let found = count(backend, url, sql);
        assert_eq!(found, 0, "{what}: {found}");
    }
}

fn count(backend: Backend, url: &str, sql: &str) -> i64 {
    let query = diesel::sql_query(sql);
    let counted = match backend {
        Backend::Sqlite => {
            query.get_result::<Count>(&mut SqliteConnection::establish(url).expect("connect"))
        }
        Backend::Postgres => {
            query.get_result::<Count>(&mut PgConnection::establish(url).expect("connect"))
        }
    };
    counted.unwrap_or_else(|e| panic!("{sql}: {e}")).n
}

/// The real binary, as a child process on a database of its own.
struct Service {
    child: Child,
    address: String,
    log: tempfile::NamedTempFile,
}

impl Service {
    async fn start(database: &TestDatabase) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_requestdesk"))
            .arg("serve")
            .env("REQUESTDESK_BIND", format!("127.0.0.1:{port}"))
            .env("REQUESTDESK_DATA_DIR", database.data_dir())
            .env("DATABASE_URL", &database.url)
            .env("REQUESTDESK_JWT_SECRET", JWT_SECRET)
            .env("REQUESTDESK_SECRETS_KEY", SECRETS_KEY)
            .env("REQUESTDESK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("REQUESTDESK_BCRYPT_COST", "4")
            .env("REQUESTDESK_POOL_SIZE", "8")
            .env("REQUESTDESK_WORKERS", "2")
            .env("REQUESTDESK_LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("the log file"))
            .spawn()
            .expect("start the service");
        let mut service = Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        };
        service.wait_until_ready().await;
        service
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the service exited with {status}: {}", self.log_text());
            }
            let ready = client.get(format!("{}/readyz", self.address)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the service did not become ready: {}", self.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, no flush, no rollback.
    fn kill(&mut self) {
        self.child.kill().expect("kill -9 the service");
        self.child.wait().expect("reap the service");
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
