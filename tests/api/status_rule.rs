//! "What status a request shows" is written once in Rust (`db::requests::shown`) and once in SQL
//! (the list filter by status, and the statistics' counters corrected by each `Shift`). These
//! tests store a grid of requests — every stored status, timed out or not, with no access window
//! or one that is over or not, each at and around the boundaries — and check that the three
//! agree, on each database.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDateTime, SubsecRound};
use requestdesk::db::requests::{self as req_db, NewRequestRow, RequestFilter, RequestRow};
use requestdesk::db::{self, PoolOptions, users};
use requestdesk::domain::request::{RequestStatus, RequestType};

use crate::helpers::TestApp;

const STORED: [RequestStatus; 5] = [
    RequestStatus::Pending,
    RequestStatus::Approved,
    RequestStatus::Rejected,
    RequestStatus::Expired,
    RequestStatus::Invalid,
];

/// Stores one request per case of the grid and returns them as read back, with `now`.
fn store_grid(app: &TestApp) -> (db::DbPool, i64, Vec<RequestRow>, NaiveDateTime) {
    let options = PoolOptions {
        max_size: 1,
        connection_timeout: StdDuration::from_secs(5),
        database_timeout: StdDuration::from_secs(5),
    };
    let pool = db::connect(&app.database.url, options).expect("a pool");
    let mut conn = pool.get().expect("a connection");
    let requester = users::find_by_username(&mut conn, "admin")
        .expect("a query")
        .expect("the bootstrap administrator");
    // Whole seconds, so each backend stores the boundaries exactly.
    let now = app.clock.now().trunc_subsecs(0).naive_utc();
    let around = [now - Duration::hours(1), now, now + Duration::hours(1)];
    let mut ids = Vec::new();
    for status in STORED {
        for expires_at in around {
            for access_to in [None, Some(around[0]), Some(around[1]), Some(around[2])] {
                let id = req_db::insert(
                    &mut conn,
                    &NewRequestRow {
                        request_type: if access_to.is_some() {
                            RequestType::Access
                        } else {
                            RequestType::Certificate
                        },
                        status,
                        requester_id: requester.id,
                        reason: "a case of the status grid",
                        created_at: now - Duration::days(1),
                        updated_at: now - Duration::days(1),
                        expires_at,
                        confirmations_required: 1,
                        requester_email: &requester.email,
                        certificate: Default::default(),
                        access: req_db::NewAccessColumns {
                            access_from: access_to.map(|to| to - Duration::hours(2)),
                            access_to,
                            ..Default::default()
                        },
                    },
                )
                .expect("insert a case");
                ids.push(id);
            }
        }
    }
    let rows = ids
        .into_iter()
        .map(|id| {
            req_db::find(&mut conn, id, None)
                .expect("a query")
                .expect("the case")
                .request
        })
        .collect();
    drop(conn);
    (pool, requester.id, rows, now)
}

async fn the_list_filter_by_status_agrees_with_the_rust_rule(app: TestApp) {
    let (pool, requester_id, rows, now) = store_grid(&app);
    let mut conn = pool.get().expect("a connection");
    for status in STORED {
        let filter = RequestFilter {
            requester_id: Some(requester_id),
            status: Some(status),
            ..RequestFilter::default()
        };
        let (listed, total) = req_db::list(&mut conn, &filter, now, 0, 1000).expect("a list");
        let mut listed: Vec<i64> = listed.into_iter().map(|r| r.request.id).collect();
        listed.sort_unstable();
        let expected: Vec<i64> = rows
            .iter()
            .filter(|row| req_db::shown(row, now).status == status)
            .map(|row| row.id)
            .collect();
        assert_eq!(listed, expected, "the requests SQL shows as {status:?}");
        assert_eq!(
            total,
            i64::try_from(expected.len()).unwrap_or(-1),
            "{status:?}"
        );
    }
}

async fn the_statistics_agree_with_the_rust_rule(app: TestApp) {
    let (pool, requester_id, rows, now) = store_grid(&app);
    let mut conn = pool.get().expect("a connection");
    let mut expected: HashMap<RequestStatus, i64> = HashMap::new();
    for row in &rows {
        *expected.entry(req_db::shown(row, now).status).or_default() += 1;
    }
    let totals = req_db::shown_totals(&mut conn, requester_id, now).expect("the totals");
    for status in STORED {
        assert_eq!(
            totals.get(&status).copied().unwrap_or(0),
            expected.get(&status).copied().unwrap_or(0),
            "how many show as {status:?}"
        );
    }
}

crate::on_both_backends!(
    the_list_filter_by_status_agrees_with_the_rust_rule,
    the_statistics_agree_with_the_rust_rule,
);
