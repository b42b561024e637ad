//! `/api/v3/users/sessions`: log-in, log-out and the brute-force lock-out.

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    log_in_returns_a_bearer_token_its_expiry_and_the_user,
    a_wrong_password_and_an_unknown_user_get_the_same_401,
    log_out_revokes_the_token_at_once,
    five_failures_lock_the_username_for_fifteen_minutes,
    a_success_resets_the_failure_count,
    failures_far_apart_never_lock_and_an_admins_reset_ends_a_lock_out,
);

async fn log_in_returns_a_bearer_token_its_expiry_and_the_user(app: TestApp) {
    app.sign_up("amy", None).await;
    let reply = app.log_in("amy", PASSWORD).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(
        reply.body["token"].as_str().map(|t| t.split('.').count()),
        Some(3),
        "a JWT"
    );
    assert_eq!(reply.body["user"]["username"], "amy");
    let expires = chrono::DateTime::parse_from_rfc3339(
        reply.body["expires_at"].as_str().expect("expires_at"),
    )
    .expect("RFC 3339");
    let in_an_hour = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(
        (expires.timestamp() - in_an_hour.timestamp()).abs() < 60,
        "default lifetime is 1 h: {expires}"
    );
    assert!(!reply.body.to_string().contains("$2b$"));
}

async fn a_wrong_password_and_an_unknown_user_get_the_same_401(app: TestApp) {
    app.sign_up("amy", None).await;
    let wrong = app.log_in("amy", "not the password").await;
    let unknown = app.log_in("nobody", PASSWORD).await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert_eq!(wrong.problem_code(), "invalid_credentials");
    assert_eq!(
        wrong.body, unknown.body,
        "the two failures are indistinguishable"
    );
    let too_long = app
        .log_in("amy", &format!("{PASSWORD}{}", "x".repeat(80)))
        .await;
    assert_eq!(
        too_long.status, 401,
        "over 72 bytes never matches: {too_long:?}"
    );
    // No user can have it; on PostgreSQL, counting it for lock-out was a 500 (an index key
    // over 2,704 bytes: random characters, so it does not compress below that).
    let long_name = app.log_in(&random_name(4_000), PASSWORD).await;
    assert_eq!(
        (long_name.status, &long_name.body),
        (401, &unknown.body),
        "a name no user can have is an unknown user"
    );
}

/// `length` characters of `[a-z0-9]` that no compressor shortens much.
fn random_name(length: usize) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(state % 36) as usize])
        })
        .collect()
}

async fn log_out_revokes_the_token_at_once(app: TestApp) {
    let token = app.developer("amy").await;
    let other = app.token_for("amy", PASSWORD).await;
    let reply = app.delete("/api/v3/users/sessions", Some(&token)).await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (204, serde_json::Value::Null),
        "{reply:?}"
    );
    let after = app.get("/api/v3/users/amy", Some(&token)).await;
    assert_eq!(after.status, 401, "{after:?}");
    assert_eq!(after.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        app.delete("/api/v3/users/sessions", Some(&token))
            .await
            .status,
        401,
        "a second log-out"
    );
    assert_eq!(
        app.get("/api/v3/users/amy", Some(&other)).await.status,
        200,
        "other sessions live on"
    );
}

async fn five_failures_lock_the_username_for_fifteen_minutes(app: TestApp) {
    app.sign_up("amy", None).await;
    for attempt in 1..=5 {
        let reply = app.log_in("amy", "wrong password").await;
        assert_eq!(reply.status, 401, "attempt {attempt}: {reply:?}");
    }
    let locked = app.log_in("amy", PASSWORD).await;
    assert_eq!(
        locked.status, 429,
        "even the right password waits: {locked:?}"
    );
    assert_eq!(locked.problem_code(), "too_many_requests");
    let retry: i64 = locked
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((850..=900).contains(&retry), "about 15 minutes: {retry}");
    let unknown = (1..=6).map(|_| "nobody");
    let mut last = 0;
    for name in unknown {
        last = app.log_in(name, "whatever1").await.status;
    }
    assert_eq!(last, 429, "unknown usernames lock the same way");

    app.clock
        .advance(chrono::Duration::minutes(15) + chrono::Duration::seconds(1));
    assert_eq!(
        app.log_in("amy", PASSWORD).await.status,
        201,
        "the lock runs out"
    );
}

async fn a_success_resets_the_failure_count(app: TestApp) {
    app.sign_up("amy", None).await;
    for _ in 0..4 {
        app.log_in("amy", "wrong password").await;
    }
    assert_eq!(app.log_in("amy", PASSWORD).await.status, 201);
    for attempt in 1..=4 {
        let reply = app.log_in("amy", "wrong password").await;
        assert_eq!(
            reply.status, 401,
            "count restarted, attempt {attempt}: {reply:?}"
        );
    }
    assert_eq!(
        app.log_in("amy", PASSWORD).await.status,
        201,
        "not locked after 4 new failures"
    );
    let body = json!({"username": "amy"});
    let missing = app.post("/api/v3/users/sessions", None, &body).await;
    assert_eq!(
        (missing.status, missing.error_fields()),
        (400, vec!["password".to_owned()])
    );
}

async fn failures_far_apart_never_lock_and_an_admins_reset_ends_a_lock_out(app: TestApp) {
    app.sign_up("amy", None).await;
    for attempt in 1..=8 {
        let reply = app.log_in("amy", "wrong password").await;
        assert_eq!(
            reply.status, 401,
            "attempt {attempt}, each 16 minutes apart: {reply:?}"
        );
        app.clock.advance(chrono::Duration::minutes(16));
    }
    assert_eq!(
        app.log_in("amy", PASSWORD).await.status,
        201,
        "never locked"
    );
    for _ in 1..=4 {
        app.log_in("amy", "wrong password").await;
        app.clock.advance(chrono::Duration::minutes(14));
    }
    assert_eq!(
        app.log_in("amy", "wrong password").await.status,
        401,
        "the fifth failure, each within 15 minutes of the last"
    );
    assert_eq!(app.log_in("amy", PASSWORD).await.status, 429, "locked");
    let admin = app.admin_token().await;
    let reset = app
        .patch(
            "/api/v3/users/amy",
            Some(&admin),
            &json!({"password": "a new password 2"}),
        )
        .await;
    assert_eq!(reset.status, 200, "{reset:?}");
    assert_eq!(
        app.log_in("amy", "a new password 2").await.status,
        201,
        "an administrator's reset ends the lock-out"
    );
}
