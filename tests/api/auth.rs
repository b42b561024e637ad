//! Authentication on every protected endpoint: missing, malformed, forged and expired tokens, and
//! sessions shared by several instances of the service.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use crate::helpers::{
    Backend, JWT_SECRET, PASSWORD, TestApp, TestDatabase, spawn_app_on, start_instance,
    test_settings,
};
use crate::on_both_backends;

on_both_backends!(
    every_protected_endpoint_answers_401_with_a_bearer_challenge,
    malformed_forged_and_foreign_tokens_are_refused,
    a_session_ends_when_its_lifetime_runs_out,
    an_invalid_token_on_sign_up_is_refused_rather_than_ignored,
    a_token_is_refused_before_its_not_before_time,
);

const PROTECTED: [(&str, &str); 8] = [
    ("GET", "/api/v3/users"),
    ("PATCH", "/api/v3/users"),
    ("DELETE", "/api/v3/users"),
    ("GET", "/api/v3/users/amy"),
    ("PATCH", "/api/v3/users/amy"),
    ("DELETE", "/api/v3/users/amy"),
    ("DELETE", "/api/v3/users/sessions"),
    ("GET", "/api/v3/users?page=1"),
];

async fn every_protected_endpoint_answers_401_with_a_bearer_challenge(app: TestApp) {
    for (method, path) in PROTECTED {
        let request = app
            .request(method.parse().expect("method"), path, None)
            .json(&json!({"name": "x"}));
        let reply = app.send(request).await;
        assert_eq!(reply.status, 401, "{method} {path}: {reply:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer"),
            "{method} {path}"
        );
        assert_eq!(reply.problem_code(), "unauthorized", "{method} {path}");
    }
}

fn forge(secret: &str, claims: serde_json::Value, alg: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

async fn malformed_forged_and_foreign_tokens_are_refused(app: TestApp) {
    let token = app.developer("amy").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |sid: &str| json!({"sub": "amy", "sid": sid, "iat": now, "exp": now + 600, "iss": "requestdesk", "aud": "requestdesk-api"});
    let cases = [
        ("garbage".to_owned(), "not a JWT"),
        (format!("{token}x"), "bad signature"),
        (
            forge(
                "another-secret-that-is-long-enough!!",
                claims("s"),
                jsonwebtoken::Algorithm::HS256,
            ),
            "wrong key",
        ),
        (
            forge(
                JWT_SECRET,
                claims("no-such-session"),
                jsonwebtoken::Algorithm::HS256,
            ),
            "unknown session",
        ),
        (
            forge(JWT_SECRET, claims("s"), jsonwebtoken::Algorithm::HS512),
            "another algorithm",
        ),
        (
            forge(
                JWT_SECRET,
                json!({"sub": "amy", "sid": "s", "iat": now, "exp": now + 600}),
                jsonwebtoken::Algorithm::HS256,
            ),
            "no issuer or audience",
        ),
        (
            forge(
                JWT_SECRET,
                json!({"sub": "amy", "sid": "s", "iat": now, "exp": now - 1, "iss": "requestdesk", "aud": "requestdesk-api"}),
                jsonwebtoken::Algorithm::HS256,
            ),
            "expired",
        ),
    ];
    for (bad, case) in cases {
        let reply = app.get("/api/v3/users/amy", Some(&bad)).await;
        assert_eq!(reply.status, 401, "{case}: {reply:?}");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{case}");
    }
    let basic = app
        .send(
            app.client
                .get(app.url("/api/v3/users/amy"))
                .basic_auth("amy", Some(PASSWORD)),
        )
        .await;
    assert_eq!(basic.status, 401, "Basic is not Bearer: {basic:?}");
    assert_eq!(
        app.get("/api/v3/users/amy", Some(&token)).await.status,
        200,
        "the real token works"
    );
}

async fn a_session_ends_when_its_lifetime_runs_out(app: TestApp) {
    let token = app.developer("amy").await;
    app.clock.advance(chrono::Duration::minutes(61));
    let reply = app.get("/api/v3/users/amy", Some(&token)).await;
    assert_eq!(reply.status, 401, "{reply:?}");
}

/// The service issues no `nbf`, but a token carrying one (re-signed here with the real secret and
/// a live session) is refused until that time: the claim is validated when present.
async fn a_token_is_refused_before_its_not_before_time(app: TestApp) {
    let token = app.developer("amy").await;
    let claims = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&token)
        .expect("the service's own token decodes")
        .claims;
    let with_nbf = |nbf: i64| {
        let mut claims = claims.clone();
        claims["nbf"] = json!(nbf);
        forge(JWT_SECRET, claims, jsonwebtoken::Algorithm::HS256)
    };
    let now = chrono::Utc::now().timestamp();
    let early = app
        .get("/api/v3/users/amy", Some(&with_nbf(now + 600)))
        .await;
    assert_eq!(early.status, 401, "nbf in 10 minutes: {early:?}");
    assert_eq!(early.problem_code(), "unauthorized");
    assert_eq!(early.header("www-authenticate"), Some("Bearer"));
    let due = app
        .get("/api/v3/users/amy", Some(&with_nbf(now - 60)))
        .await;
    assert_eq!(due.status, 200, "nbf a minute ago: {due:?}");
}

async fn an_invalid_token_on_sign_up_is_refused_rather_than_ignored(app: TestApp) {
    let reply = app
        .post(
            "/api/v3/users",
            Some("garbage"),
            &crate::helpers::new_user("amy", None),
        )
        .await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(
        app.log_in("amy", PASSWORD).await.status,
        401,
        "nothing was created"
    );
}

/// Two instances on one PostgreSQL database: a token from one works on the other, and a log-out
/// on one is refused on the other at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_database_share_sessions() {
    if crate::helpers::postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let database = TestDatabase::new(Backend::Postgres);
    let second_settings = test_settings(&database);
    let first = spawn_app_on(database).await;
    let (second_address, _) = start_instance(&second_settings).await;

    let token = first.developer("amy").await;
    let on_second = first
        .client
        .get(format!("{second_address}/api/v3/users/amy"))
        .bearer_auth(&token);
    let reply = first.send(on_second).await;
    assert_eq!(
        (reply.status, reply.body["username"].clone()),
        (200, json!("amy")),
        "{reply:?}"
    );

    assert_eq!(
        first
            .delete("/api/v3/users/sessions", Some(&token))
            .await
            .status,
        204
    );
    let after = first
        .send(
            first
                .client
                .get(format!("{second_address}/api/v3/users/amy"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(after.status, 401, "{after:?}");
}
