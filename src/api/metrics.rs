//! `GET /metrics`: the instance's metrics in the Prometheus text format, through the `metrics`
//! facade and `metrics-exporter-prometheus`. Each instance keeps its own registry (several run in
//! one test process), and [`Metrics::in_scope`] makes it the recorder of the code it runs, so the
//! `metrics` macros anywhere below a handler, the services included, record into it.
//!
//! Requests are counted by route template (`/api/v3/myrequests/{id}`), never by raw path, so
//! the series stay few and no username or id reaches them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use super::AppState;
use super::caching;
use crate::db::{GROUPED_WRITES, POOL_TIMEOUTS, POOL_WAIT, WRITE_BATCH_DURATION, WRITE_BATCHES};
use crate::domain::request::RequestType;
use crate::error::{AppError, ErrorCode};

/// What an approver did to a request, for [`Metrics::request_decided`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Confirmed,
    Rejected,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
        }
    }
}

/// The `reason` label of a refused log-in.
const LOGIN_FAILURE_REASONS: [&str; 3] = ["invalid_credentials", "user_suspended", "locked_out"];

const REQUESTS: &str = "http_server_requests_total";
const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
const POOL_CONNECTIONS: &str = "requestdesk_db_pool_connections";
const POOL_IDLE: &str = "requestdesk_db_pool_idle_connections";
const POOL_MAX: &str = "requestdesk_db_pool_max_connections";
const BLOCKING_WAITING: &str = "requestdesk_blocking_calls_waiting";
const BLOCKING_WAIT: &str = "requestdesk_blocking_wait_seconds";
const HASHING_SLOTS: &str = "requestdesk_hashing_slots";
const HASHING_IN_USE: &str = "requestdesk_hashing_slots_in_use";
const HASHING_REFUSED: &str = "requestdesk_hashing_refused_total";
const LOGIN_FAILURES: &str = "requestdesk_login_failures_total";
const REQUESTS_SUBMITTED: &str = "requestdesk_requests_submitted_total";
const REQUESTS_DECIDED: &str = "requestdesk_requests_decided_total";

/// The route label of a request no route took (404s, 405s): one series, whatever the path.
const UNMATCHED_ROUTE: &str = "unmatched";

/// Latency buckets, in seconds: from a cached read (~1 ms) to the 3 s database timeout and past.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0,
];

/// A group-commit batch's buckets, in seconds: a batch of a few confirmations holds the write
/// turn for well under a millisecond (188 us each in issue 13's S9), so the latency buckets
/// would put nearly all of them in their first.
const WRITE_BATCH_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 3.0,
];

/// Histogram samples are kept until drained; draining every this many requests bounds them even
/// when nobody scrapes.
const UPKEEP_EVERY: u64 = 1024;

/// One instance's registry, and the figures read when it is scraped.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    requests_since_upkeep: AtomicU64,
    blocking_waiting: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        // Every histogram here is a latency; the setters refuse only an empty list.
        let builder = PrometheusBuilder::new()
            .set_buckets(&LATENCY_BUCKETS)
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full(WRITE_BATCH_DURATION.to_owned()),
                    &WRITE_BATCH_BUCKETS,
                )
            })
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let metrics = Self {
            handle: recorder.handle(),
            recorder,
            requests_since_upkeep: AtomicU64::new(0),
            blocking_waiting: AtomicI64::new(0),
        };
        metrics.in_scope(describe_all);
        metrics
    }

    /// Runs `work` with this instance as the recorder of every `metrics` macro it calls.
    pub fn in_scope<T>(&self, work: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, work)
    }

    /// A call is queued for a blocking thread: returns when, for [`Metrics::blocking_started`].
    pub fn blocking_queued(&self) -> Instant {
        self.blocking_waiting.fetch_add(1, Ordering::Relaxed);
        Instant::now()
    }

    /// The queued call has a thread now; call inside [`Metrics::in_scope`].
    pub fn blocking_started(&self, queued: Instant) {
        self.blocking_waiting.fetch_sub(1, Ordering::Relaxed);
        histogram!(BLOCKING_WAIT).record(queued.elapsed());
    }

    /// A log-in or sign-up found no hashing slot in time and was answered 503.
    pub fn hashing_refused(&self) {
        self.in_scope(|| counter!(HASHING_REFUSED).increment(1));
    }

    /// Counts a refused log-in by why: `invalid_credentials`, `user_suspended`, or
    /// `locked_out` (refused without checking the password, during a lock-out). Other outcomes
    /// (a success, a 503) count nothing here.
    pub fn log_in_answered<T>(&self, outcome: &Result<T, AppError>) {
        let reason = match outcome {
            Err(error) => match error.code() {
                ErrorCode::InvalidCredentials | ErrorCode::UserSuspended => error.code().as_str(),
                ErrorCode::TooManyRequests => "locked_out",
                _ => return,
            },
            Ok(_) => return,
        };
        self.in_scope(|| counter!(LOGIN_FAILURES, "reason" => reason).increment(1));
    }

    /// A request of this type was submitted.
    pub fn request_submitted(&self, request_type: RequestType) {
        self.in_scope(|| {
            counter!(REQUESTS_SUBMITTED, "type" => request_type.as_str()).increment(1);
        });
    }

    /// A request of this type was confirmed (one decision; it may need more) or rejected.
    pub fn request_decided(&self, request_type: RequestType, decision: Decision) {
        self.in_scope(|| {
            counter!(REQUESTS_DECIDED, "type" => request_type.as_str(), "decision" => decision.as_str())
                .increment(1);
        });
    }

    fn record_request(&self, method: &Method, route: String, status: u16, took: Duration) {
        let labels = [
            ("method", method_label(method).to_owned()),
            ("route", route),
            ("status", status.to_string()),
        ];
        self.in_scope(|| {
            counter!(REQUESTS, &labels).increment(1);
            histogram!(REQUEST_DURATION, &labels).record(took);
        });
        if self.requests_since_upkeep.fetch_add(1, Ordering::Relaxed) + 1 >= UPKEEP_EVERY {
            self.requests_since_upkeep.store(0, Ordering::Relaxed);
            self.handle.run_upkeep();
        }
    }

    /// The text a scrape gets, with the pool and hashing gauges read now.
    fn render(&self, state: &AppState) -> String {
        let pool = state.ctx.pool.state();
        let hashing_free = state.hashing_slots.available_permits();
        self.in_scope(|| {
            gauge!(POOL_CONNECTIONS).set(f64::from(pool.connections));
            gauge!(POOL_IDLE).set(f64::from(pool.idle_connections));
            gauge!(POOL_MAX).set(f64::from(state.ctx.pool.max_size()));
            gauge!(BLOCKING_WAITING).set(self.blocking_waiting.load(Ordering::Relaxed) as f64);
            gauge!(HASHING_SLOTS).set(state.hashing_capacity as f64);
            gauge!(HASHING_IN_USE).set(state.hashing_capacity.saturating_sub(hashing_free) as f64);
        });
        self.handle.render()
    }
}

fn describe_all() {
    let counters = [
        (
            REQUESTS,
            "HTTP requests answered, by method, route template and status",
        ),
        (
            HASHING_REFUSED,
            "Log-ins and sign-ups answered 503 for want of a hashing slot",
        ),
        (
            POOL_TIMEOUTS,
            "Service calls answered 503 for want of a database connection in time",
        ),
        (
            LOGIN_FAILURES,
            "Refused log-ins (native and PVWA), by reason: invalid_credentials, user_suspended, \
             locked_out",
        ),
        (
            GROUPED_WRITES,
            "Writes run in a shared SQLite transaction (group commit); divided by \
             requestdesk_db_write_batches_total, the mean batch",
        ),
        (
            WRITE_BATCHES,
            "SQLite transactions that ran grouped writes (one COMMIT each)",
        ),
        (REQUESTS_SUBMITTED, "Requests submitted, by type"),
        (
            REQUESTS_DECIDED,
            "Decisions on requests, by type and decision (confirmed, rejected)",
        ),
    ];
    let latencies = [
        (
            REQUEST_DURATION,
            "Time to answer an HTTP request, by method, route template and status",
        ),
        (
            BLOCKING_WAIT,
            "Time a service call waited for a blocking thread",
        ),
        (
            POOL_WAIT,
            "Time a service call waited for a database connection",
        ),
        (
            WRITE_BATCH_DURATION,
            "Time each SQLite group-commit transaction held the write turn, BEGIN to COMMIT",
        ),
    ];
    let gauges = [
        (POOL_CONNECTIONS, "Database connections open in the pool"),
        (POOL_IDLE, "Open database connections not checked out"),
        (POOL_MAX, "Most database connections the pool opens"),
        (
            BLOCKING_WAITING,
            "Service calls waiting for a blocking thread (each holds a connection's share)",
        ),
        (HASHING_SLOTS, "Password hashes that may run at once"),
        (HASHING_IN_USE, "Password hashes running now"),
    ];
    for (name, help) in counters {
        describe_counter!(name, help);
    }
    // Every counter series that can exist without a route is there from the start, at 0, so a
    // scrape shows the family and `rate()` has a first sample before the first event.
    for name in [
        HASHING_REFUSED,
        POOL_TIMEOUTS,
        GROUPED_WRITES,
        WRITE_BATCHES,
    ] {
        counter!(name).absolute(0);
    }
    for reason in LOGIN_FAILURE_REASONS {
        counter!(LOGIN_FAILURES, "reason" => reason).absolute(0);
    }
    for request_type in [RequestType::Certificate, RequestType::Access] {
        counter!(REQUESTS_SUBMITTED, "type" => request_type.as_str()).absolute(0);
        for decision in [Decision::Confirmed, Decision::Rejected] {
            counter!(REQUESTS_DECIDED, "type" => request_type.as_str(), "decision" => decision.as_str())
                .absolute(0);
        }
    }
    for (name, help) in latencies {
        describe_histogram!(name, Unit::Seconds, help);
    }
    for (name, help) in gauges {
        describe_gauge!(name, help);
    }
}

/// Standard methods by name; any other (a client may invent one) as `other`, so a scanner cannot
/// create series at will.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::TRACE, "TRACE"),
        (Method::CONNECT, "CONNECT"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, name)| name)
}

/// Counts every answer and its latency by method, route template and status.
pub async fn record_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| Arc::clone(&state.metrics));
    let method = req.method().clone();
    let started = Instant::now();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
        let status = response.status().as_u16();
        metrics.record_request(&method, route, status, started.elapsed());
    }
    Ok(response)
}

/// `GET /metrics`, for Prometheus. Not in the OpenAPI document: it is an operator's endpoint,
/// and may be served on its own listener (`REQUESTDESK_METRICS_BIND`).
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(caching::NO_STORE)
        .body(state.metrics.render(&state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let invented = Method::from_bytes(b"BREW").expect("a valid extension method");
        assert_eq!(method_label(&invented), "other");
    }
}
