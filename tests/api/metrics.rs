//! `GET /metrics`: Prometheus text through metrics-exporter-prometheus, by route template.

use serde_json::json;

use crate::helpers::pki::{KeyType, csr_for};
use crate::helpers::{Backend, PASSWORD, TestApp, TestDatabase, test_settings};
use crate::on_both_backends;

on_both_backends!(
    requests_are_counted_by_route_template_method_and_status,
    the_pool_and_the_hashing_slots_are_reported,
    log_ins_and_requests_are_counted_by_outcome_and_type,
    concurrent_confirmations_each_issue_and_sqlite_counts_their_shared_commits,
);

/// `GET /metrics`, asserting it answers.
pub async fn scrape(app: &TestApp) -> String {
    let reply = app.send(app.client.get(app.url("/metrics"))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    reply.body.as_str().expect("text").to_owned()
}

/// The value of the one sample whose name is `name` and whose labels include every `labels` pair.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| {
            labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn requests_are_counted_by_route_template_method_and_status(app: TestApp) {
    let token = app.developer("jdoe").await;
    for id in [101, 102, 103] {
        let reply = app
            .get(&format!("/api/v3/myrequests/{id}"), Some(&token))
            .await;
        assert_eq!(reply.status, 404);
    }
    assert_eq!(app.get("/no/such/path/jdoe", None).await.status, 404);
    let text = scrape(&app).await;

    let route = [
        ("method", "GET"),
        ("route", "/api/v3/myrequests/{id}"),
        ("status", "404"),
    ];
    assert_eq!(
        sample(&text, "http_server_requests_total", &route),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "http_server_request_duration_seconds_count", &route),
        Some(3.0),
        "a latency histogram: {text}"
    );
    assert!(
        text.contains("http_server_request_duration_seconds_bucket{"),
        "buckets, not a summary: {text}"
    );
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert_eq!(
        sample(&text, "http_server_requests_total", &unmatched),
        Some(1.0)
    );
    assert!(
        !text.contains("/101") && !text.contains("jdoe"),
        "no raw path: {text}"
    );
}

async fn the_pool_and_the_hashing_slots_are_reported(app: TestApp) {
    app.developer("jdoe").await;
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "requestdesk_db_pool_max_connections", &[]),
        Some(4.0),
        "{text}"
    );
    let open = sample(&text, "requestdesk_db_pool_connections", &[]).expect("connections");
    let idle = sample(&text, "requestdesk_db_pool_idle_connections", &[]).expect("idle");
    assert!(open >= 1.0 && idle <= open, "{text}");
    assert_eq!(
        sample(&text, "requestdesk_hashing_slots", &[]),
        Some(1.0),
        "one per worker"
    );
    assert_eq!(
        sample(&text, "requestdesk_hashing_slots_in_use", &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "requestdesk_blocking_calls_waiting", &[]),
        Some(0.0)
    );
    assert!(
        sample(&text, "requestdesk_blocking_wait_seconds_count", &[]).is_some_and(|n| n >= 2.0),
        "the sign-up and the log-in waited for a thread: {text}"
    );
    assert!(
        sample(&text, "requestdesk_db_pool_wait_seconds_count", &[]).is_some_and(|n| n >= 2.0),
        "the sign-up and the log-in waited for a connection: {text}"
    );
    assert!(
        text.contains("requestdesk_db_pool_wait_seconds_bucket{"),
        "a histogram: {text}"
    );
    assert!(
        text.contains("# TYPE requestdesk_db_pool_timeouts_total counter"),
        "described before any timeout: {text}"
    );
}

/// After a flow: refused log-ins by reason (a wrong password, a suspended user, a lock-out),
/// requests submitted and decided by type and decision, and the hashing refusals' counter.
async fn log_ins_and_requests_are_counted_by_outcome_and_type(app: TestApp) {
    let developer = app.developer("jdoe").await;
    let approver = app.user_with_role("apollo", "approver").await;
    app.issued_certificate(&developer, &approver, "confirmed.example.com")
        .await;
    let submitted = app
        .submit_csr(&developer, &csr_for(KeyType::P256, "rejected.example.com"))
        .await;
    assert_eq!(submitted.status, 201, "{submitted:?}");
    let id = submitted.body["id"].as_i64().expect("id");
    assert_eq!(app.reject(&approver, id, "not needed").await.status, 200);

    for attempt in 1..=5 {
        let refused = app.log_in("jdoe", "not-the-password").await;
        assert_eq!(refused.status, 401, "attempt {attempt}: {refused:?}");
    }
    assert_eq!(app.log_in("jdoe", PASSWORD).await.status, 429, "locked out");
    let admin = app.admin_token().await;
    let suspend = json!({"status": "suspended"});
    let reply = app
        .patch("/api/v3/users/apollo", Some(&admin), &suspend)
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(app.log_in("apollo", PASSWORD).await.status, 403);

    let text = scrape(&app).await;
    let failures = "requestdesk_login_failures_total";
    for (reason, count) in [
        ("invalid_credentials", 5.0),
        ("locked_out", 1.0),
        ("user_suspended", 1.0),
    ] {
        assert_eq!(
            sample(&text, failures, &[("reason", reason)]),
            Some(count),
            "{reason}: {text}"
        );
    }
    assert_eq!(
        sample(
            &text,
            "requestdesk_requests_submitted_total",
            &[("type", "certificate")]
        ),
        Some(2.0),
        "{text}"
    );
    for decision in ["confirmed", "rejected"] {
        assert_eq!(
            sample(
                &text,
                "requestdesk_requests_decided_total",
                &[("type", "certificate"), ("decision", decision)]
            ),
            Some(1.0),
            "{decision}: {text}"
        );
    }
    assert!(
        text.contains("# TYPE requestdesk_hashing_refused_total counter"),
        "{text}"
    );
    assert!(
        !text.contains("jdoe") && !text.contains("apollo"),
        "no username: {text}"
    );
}

/// Confirmations sent at once each approve and issue (group commit keeps each all or nothing),
/// and `/metrics` counts them as grouped writes on SQLite, in at most as many transactions;
/// PostgreSQL runs one transaction per request and counts none. Each batch's hold of the write
/// turn is timed.
async fn concurrent_confirmations_each_issue_and_sqlite_counts_their_shared_commits(app: TestApp) {
    let developer = app.developer("jdoe").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let mut ids = Vec::new();
    for n in 0..8 {
        let csr = csr_for(KeyType::P256, &format!("host{n}.example.com"));
        let submitted = app.submit_csr(&developer, &csr).await;
        assert_eq!(submitted.status, 201, "{submitted:?}");
        ids.push(submitted.body["id"].as_i64().expect("id"));
    }
    let confirmations = ids.iter().map(|&id| app.confirm(&approver, id));
    for reply in futures_util::future::join_all(confirmations).await {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.body["status"], "approved", "{reply:?}");
        assert!(reply.body["certificate_id"].is_i64(), "{reply:?}");
    }
    let text = scrape(&app).await;
    let grouped = sample(&text, "requestdesk_db_grouped_writes_total", &[]);
    let batches = sample(&text, "requestdesk_db_write_batches_total", &[]);
    if app.database.url.starts_with("postgres") {
        assert_eq!((grouped, batches), (Some(0.0), Some(0.0)), "{text}");
    } else {
        assert_eq!(grouped, Some(8.0), "{text}");
        let batches = batches.expect("batches");
        assert!((1.0..=8.0).contains(&batches), "{batches} batches");
        // Each batch is timed: as many samples as batches, and some time spent in them.
        let timed = sample(&text, "requestdesk_db_write_batch_seconds_count", &[]);
        assert_eq!(timed, Some(batches), "{text}");
        let held = sample(&text, "requestdesk_db_write_batch_seconds_sum", &[]);
        assert!(held.is_some_and(|s| s > 0.0), "{text}");
        // Its buckets start below a millisecond (a batch is a fraction of one), and end with
        // every batch.
        let finest = sample(
            &text,
            "requestdesk_db_write_batch_seconds_bucket",
            &[("le", "0.0001")],
        );
        assert!(finest.is_some(), "{text}");
        let all = sample(
            &text,
            "requestdesk_db_write_batch_seconds_bucket",
            &[("le", "+Inf")],
        );
        assert_eq!(all, Some(batches), "{text}");
    }
}

/// With `metrics_bind`, `/metrics` is served there and not on the API's port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_have_a_listener_of_their_own() {
    let database = TestDatabase::new(Backend::Sqlite);
    let mut settings = test_settings(&database);
    settings.metrics_bind = Some("127.0.0.1:0".parse().expect("address"));
    let app = requestdesk::startup::Application::build(&settings).expect("starts");
    let (port, metrics_port) = (app.port(), app.metrics_port().expect("a metrics port"));
    assert_ne!(port, metrics_port);
    tokio::spawn(app.run_until_stopped());

    let main = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("an answer");
    assert_eq!(main.status(), 404, "not on the API's port");
    let own = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .expect("an answer");
    assert_eq!(own.status(), 200);
    let text = own.text().await.expect("text");
    assert!(
        sample(
            &text,
            "http_server_requests_total",
            &[("route", "unmatched")]
        ) == Some(1.0),
        "the API port's 404 is counted: {text}"
    );
}
