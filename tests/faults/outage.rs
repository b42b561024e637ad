//! A PostgreSQL restart under load, five times in a row: while the cluster is down every answer
//! is a prompt 503 and `/readyz` says so; once it is back the service recovers by itself.

use std::time::{Duration, Instant};

use requestdesk::config::{Secret, Settings};

use crate::cluster::Cluster;
use crate::helpers::{Backend, TestApp, TestDatabase, start_instance, test_settings};
use crate::load::{Call, Caller, Load, Outcome};

const RESTARTS: usize = 5;
const DOWN_FOR: Duration = Duration::from_secs(10);
/// How long after the cluster is back the service may take to recover.
const RECOVERY: Duration = Duration::from_secs(5);
/// How long, after that, the answers are watched.
const WATCHED: Duration = Duration::from_secs(5);
/// The configured database timeout.
const DB_TIMEOUT_SECS: u64 = 1;
/// What an answer during the outage may take beyond the database timeout: scheduling on a
/// loaded 2-core machine, not a speed target.
const MARGIN: Duration = Duration::from_millis(750);
const CALLS_PER_SECOND: u32 = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_is_503_while_down_and_recovered_from_within_5_s_every_time() {
    let Some(cluster) = Cluster::start_new() else {
        return;
    };
    let app = start_on(&cluster.create_database("requestdesk"), DB_TIMEOUT_SECS).await;
    let caller = Caller {
        address: app.address.clone(),
        username: "loader".to_owned(),
        token: app.developer("loader").await,
    };
    let load = Load::start(caller, CALLS_PER_SECOND);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut cycles = Vec::new();
    for restart in 1..=RESTARTS {
        cycles.push(restart_once(&app, &cluster, restart).await);
    }
    for cycle in &cycles {
        let outage = load.sent_between(cycle.down_from, cycle.down_to).await;
        let watched_from = cycle.back_at + RECOVERY;
        let recovering = load.sent_between(cycle.back_at, watched_from).await;
        let recovered = load
            .sent_between(watched_from, watched_from + WATCHED)
            .await;
        report(cycle, &outage, &recovering);
        assert_outage_answers(cycle.restart, &outage);
        assert_recovered(cycle.restart, &recovered);
    }
    load.stop();
}

/// When one restart's outage began and ended, and when the cluster was back.
struct Cycle {
    restart: usize,
    down_from: Instant,
    down_to: Instant,
    back_at: Instant,
}

async fn restart_once(app: &TestApp, cluster: &Cluster, restart: usize) -> Cycle {
    let cluster_stop = || cluster.stop();
    tokio::task::block_in_place(cluster_stop);
    let down_from = Instant::now();
    let ready = app.get("/readyz", None).await;
    assert_eq!(
        (ready.status, ready.problem_code()),
        (503, "service_unavailable"),
        "restart {restart}: /readyz while PostgreSQL is down: {ready:?}"
    );
    tokio::time::sleep(DOWN_FOR).await;
    let down_to = Instant::now();
    tokio::task::block_in_place(|| cluster.start());
    let back_at = Instant::now();
    tokio::time::sleep(RECOVERY + WATCHED).await;
    let ready = app.get("/readyz", None).await;
    assert_eq!(
        ready.status, 200,
        "restart {restart}: /readyz once back: {ready:?}"
    );
    Cycle {
        restart,
        down_from,
        down_to,
        back_at,
    }
}

fn assert_outage_answers(restart: usize, outage: &[Outcome]) {
    assert!(
        outage.len() as u32 >= CALLS_PER_SECOND * 5,
        "restart {restart}: only {} calls during the outage",
        outage.len()
    );
    let limit = Duration::from_secs(DB_TIMEOUT_SECS) + MARGIN;
    for call in [Call::Read, Call::Submit, Call::LogIn, Call::PvwaList] {
        let wrong: Vec<_> = outage
            .iter()
            .filter(|o| o.call == call && (!o.is_unavailable() || o.latency > limit))
            .collect();
        assert!(
            wrong.is_empty(),
            "restart {restart}: {} of {} {call:?} calls during the outage were not a 503 \
             within {limit:?}, e.g. {:?}",
            wrong.len(),
            outage.iter().filter(|o| o.call == call).count(),
            wrong.first()
        );
    }
}

fn assert_recovered(restart: usize, recovered: &[Outcome]) {
    let succeeded = recovered.iter().filter(|o| o.succeeded()).count();
    assert!(
        !recovered.is_empty() && succeeded * 100 >= recovered.len() * 99,
        "restart {restart}: {succeeded} of {} calls succeeded from {RECOVERY:?} after \
         PostgreSQL was back, e.g. {:?}",
        recovered.len(),
        recovered.iter().find(|o| !o.succeeded())
    );
}

/// What the test saw, for whoever tunes the pool: the slowest 503 and how long recovery took.
fn report(cycle: &Cycle, outage: &[Outcome], after: &[Outcome]) {
    let slowest = outage.iter().map(|o| o.latency).max().unwrap_or_default();
    let first_success = after
        .iter()
        .filter(|o| o.succeeded())
        .map(|o| o.sent.duration_since(cycle.back_at))
        .min();
    let failing_after = after
        .iter()
        .filter(|o| !o.succeeded() && Some(o.sent.duration_since(cycle.back_at)) > first_success)
        .count();
    eprintln!(
        "restart {}: {} calls while down, slowest 503 {slowest:?}; first success {first_success:?} \
         after the cluster was back, {failing_after} failures after it",
        cycle.restart,
        outage.len(),
    );
}

/// An instance on `url` with a short database timeout. The SQLite test database only lends its
/// temporary data directory.
pub async fn start_on(url: &str, db_timeout_secs: u64) -> TestApp {
    let database = TestDatabase::new(Backend::Sqlite);
    let settings = Settings {
        database_url: Some(Secret::new(url)),
        db_timeout_secs,
        ..test_settings(&database)
    };
    let (address, clock) = start_instance(&settings).await;
    TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        database,
    }
}
