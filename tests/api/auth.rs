//! Authentication on every protected endpoint: missing, malformed, forged and expired tokens,
//! ended sessions answered 401 before anything about the input they sent, and sessions shared by
//! several instances of the service.

use jsonwebtoken::{EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::pvwa::pvwa_error;
use crate::helpers::{
    Backend, JWT_SECRET, PASSWORD, Reply, TestApp, TestDatabase, spawn_app_on, start_instance,
    test_settings,
};
use crate::on_both_backends;

on_both_backends!(
    every_protected_endpoint_answers_401_with_a_bearer_challenge,
    every_protected_endpoint_answers_a_dead_session_401_whatever_it_sent,
    a_live_session_is_told_which_field_is_invalid_and_a_dead_one_only_401,
    an_input_refused_before_the_service_checks_the_session_once_and_the_happy_path_never_twice,
    malformed_forged_and_foreign_tokens_are_refused,
    a_session_ends_when_its_lifetime_runs_out,
    an_invalid_token_on_sign_up_is_refused_rather_than_ignored,
    a_token_is_refused_before_its_not_before_time,
);

/// A secured operation of the document, ready to call.
struct Secured {
    method: reqwest::Method,
    /// The path with sample parameters.
    path: String,
    /// `bearer` or `pvwa`.
    scheme: String,
    /// A body the operation accepts, from the document's examples.
    body: Value,
    /// The names of its documented query parameters.
    query: Vec<String>,
    /// The path with each integer path parameter written as a word, if it has one.
    bad_path: Option<String>,
}

/// Every operation the committed OpenAPI document marks as secured.
fn secured_operations() -> Vec<Secured> {
    let doc = crate::openapi::committed();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let scheme = operation["security"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|requirement| requirement.as_object())
                .and_then(|requirement| requirement.keys().next().cloned());
            if let Some(scheme) = scheme {
                let parameters = operation["parameters"].as_array().cloned();
                let parameters = parameters.unwrap_or_default();
                let named_in = |place: &str| {
                    parameters
                        .iter()
                        .filter(|p| p["in"] == place)
                        .map(|p| (p["name"].as_str().expect("a name"), &p["schema"]["type"]))
                        .collect::<Vec<_>>()
                };
                let integers: Vec<&str> = named_in("path")
                    .into_iter()
                    .filter(|(_, kind)| *kind == "integer")
                    .map(|(name, _)| name)
                    .collect();
                let bad_path = (!integers.is_empty()).then(|| {
                    let path = integers.iter().fold(path.clone(), |path, name| {
                        path.replace(&format!("{{{name}}}"), "not-a-number")
                    });
                    with_samples(&path)
                });
                let path = with_samples(path);
                assert!(
                    !path.contains('{'),
                    "a sample for every parameter of {path}"
                );
                operations.push(Secured {
                    method: method.to_uppercase().parse().expect("method"),
                    path,
                    scheme,
                    body: documented_body(&doc, operation),
                    query: named_in("query")
                        .into_iter()
                        .map(|(name, _)| name.to_owned())
                        .collect(),
                    bad_path,
                });
            }
        }
    }
    operations
}

/// `path` with a sample for each parameter.
fn with_samples(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{request_id}", "Vault_1")
        .replace("{account_id}", "1_1")
        .replace("{safe_name}", "Vault")
        .replace("{bulk_action_id}", "1")
        .replace("{safe}", "Vault")
        .replace("{username}", "amy")
        .replace("{role}", "developer")
}

/// A body that the operation's documented schema accepts: its example, or one built from the
/// required properties' examples (or the first value of an enum), so that the service call is
/// what refuses a dead session. Invalid bodies are
/// [`every_protected_endpoint_answers_a_dead_session_401_whatever_it_sent`]'s.
fn documented_body(doc: &Value, operation: &Value) -> Value {
    let resolve = |schema: &Value| match schema["$ref"].as_str() {
        Some(reference) => doc
            .pointer(reference.trim_start_matches('#'))
            .cloned()
            .unwrap_or(Value::Null),
        None => schema.clone(),
    };
    let content = &operation["requestBody"]["content"]["application/json"];
    if content.is_null() {
        return json!({});
    }
    if !content["example"].is_null() {
        return content["example"].clone();
    }
    if let Some(example) = content["examples"]
        .as_object()
        .and_then(|examples| examples.values().next())
    {
        return example["value"].clone();
    }
    let schema = resolve(&content["schema"]);
    if !schema["example"].is_null() {
        return schema["example"].clone();
    }
    let mut body = serde_json::Map::new();
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().expect("a property name");
        let property = &schema["properties"][name];
        let value = match (&property["example"], resolve(property)) {
            (example, _) if !example.is_null() => example.clone(),
            (_, target) if target["enum"].is_array() => target["enum"][0].clone(),
            _ => json!("x"),
        };
        body.insert(name.to_owned(), value);
    }
    Value::Object(body)
}

/// Driven from the document, so an operation added later is covered without being listed here:
/// with no token, and with the token of a session that has been logged out, each answers 401:
/// problem+json `unauthorized` with a Bearer challenge on the native API, PVWA's own error body
/// (`RQDWS003E`) on the PVWA one.
async fn every_protected_endpoint_answers_401_with_a_bearer_challenge(app: TestApp) {
    let revoked = app.developer("amy").await;
    let logged_out = app.delete("/api/v3/users/sessions", Some(&revoked)).await;
    assert_eq!(logged_out.status, 204, "{logged_out:?}");
    let operations = secured_operations();
    assert!(operations.len() > 40, "only {} secured", operations.len());
    for Secured {
        method,
        path,
        scheme,
        body,
        ..
    } in operations
    {
        for (token, case) in [
            (None, "no token"),
            (Some(revoked.as_str()), "a revoked token"),
        ] {
            let mut request = app.client.request(method.clone(), app.url(&path));
            if let Some(token) = token {
                request = match scheme.as_str() {
                    "pvwa" => request.header("Authorization", token),
                    _ => request.bearer_auth(token),
                };
            }
            let reply = app.send(request.json(&body)).await;
            let what = format!("{method} {path} with {case}");
            match scheme.as_str() {
                "bearer" => {
                    assert_eq!(reply.status, 401, "{what}: {reply:?}");
                    assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{what}");
                    assert_eq!(reply.problem_code(), "unauthorized", "{what}");
                }
                "pvwa" => assert_eq!(pvwa_error(&reply, 401), "RQDWS003E", "{what}"),
                other => panic!("{what}: unknown security scheme {other}"),
            }
        }
    }
}

/// Asserts the 401 a dead session or a missing token gets: problem+json `unauthorized` with a
/// Bearer challenge natively, `RQDWS003E` under PVWA.
fn assert_refused_as_unauthorized(reply: &Reply, scheme: &str, what: &str) {
    match scheme {
        "bearer" => {
            assert_eq!(reply.status, 401, "{what}: {reply:?}");
            assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{what}");
            assert_eq!(reply.problem_code(), "unauthorized", "{what}");
        }
        "pvwa" => assert_eq!(pvwa_error(reply, 401), "RQDWS003E", "{what}: {reply:?}"),
        other => panic!("{what}: unknown security scheme {other}"),
    }
}

/// A request carrying `token` as its security scheme sends it.
fn with_token(
    request: reqwest::RequestBuilder,
    scheme: &str,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    match (token, scheme) {
        (None, _) => request,
        (Some(token), "pvwa") => request.header("Authorization", token),
        (Some(token), _) => request.bearer_auth(token),
    }
}

/// Driven from the document, like the test above, but with input each operation would refuse:
/// a body of the wrong type, malformed JSON, a body that is not JSON (415), one over 64 KiB
/// (413), every query parameter invalid, an integer path parameter that is a word. With no
/// token, a logged-out session's or a suspended user's, every one is 401: a caller without a
/// live session learns nothing about what it sent.
async fn every_protected_endpoint_answers_a_dead_session_401_whatever_it_sent(app: TestApp) {
    let admin = app.admin_token().await;
    let logged_out = app.developer("amy").await;
    let ended = app
        .delete("/api/v3/users/sessions", Some(&logged_out))
        .await;
    assert_eq!(ended.status, 204, "{ended:?}");
    let suspended = app.developer("bob").await;
    let suspension = app
        .patch(
            "/api/v3/users/bob",
            Some(&admin),
            &json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(suspension.status, 200, "{suspension:?}");
    let oversized = json!({"padding": "x".repeat(70 * 1024)});
    for operation in secured_operations() {
        let Secured {
            method,
            path,
            scheme,
            body,
            query,
            bad_path,
        } = &operation;
        let invalid_query = query
            .iter()
            .map(|name| format!("{name}=not-valid"))
            .collect::<Vec<_>>()
            .join("&");
        let request = |path: &str| app.client.request(method.clone(), app.url(path));
        let mut cases = vec![
            ("a body of the wrong type", request(path).json(&json!("x"))),
            (
                "malformed JSON",
                request(path)
                    .header("content-type", "application/json")
                    .body("{"),
            ),
            (
                "a body that is not JSON",
                request(path).header("content-type", "text/plain").body("x"),
            ),
            ("a body over 64 KiB", request(path).json(&oversized)),
        ];
        if !query.is_empty() {
            cases.push((
                "invalid query parameters",
                request(&format!("{path}?{invalid_query}")).json(body),
            ));
        }
        if let Some(bad_path) = bad_path {
            cases.push(("a path id that is a word", request(bad_path).json(body)));
        }
        for (input, request) in cases {
            for (token, who) in [
                (None, "no token"),
                (Some(logged_out.as_str()), "a logged-out session"),
                (Some(suspended.as_str()), "a suspended user's session"),
            ] {
                let request = request.try_clone().expect("a body in memory");
                let reply = app.send(with_token(request, scheme, token)).await;
                let what = format!("{method} {path} with {input} and {who}");
                assert_refused_as_unauthorized(&reply, scheme, &what);
            }
        }
    }
}

/// One native body, one native query, one PVWA body and one PVWA query (checked by the handler
/// before its service call), each invalid: a live session is told the field at fault (400); the
/// same input with no token, a logged-out session, a deleted user's or a suspended user's is 401.
async fn a_live_session_is_told_which_field_is_invalid_and_a_dead_one_only_401(app: TestApp) {
    let admin = app.admin_token().await;
    let live = app.developer("amy").await;
    let logged_out = app.token_for("amy", PASSWORD).await;
    assert_eq!(
        app.delete("/api/v3/users/sessions", Some(&logged_out))
            .await
            .status,
        204
    );
    let deleted = app.developer("dan").await;
    assert_eq!(
        app.delete("/api/v3/users/dan", Some(&admin)).await.status,
        204
    );
    let suspended = app.developer("sue").await;
    assert_eq!(
        app.patch(
            "/api/v3/users/sue",
            Some(&admin),
            &json!({"status": "suspended"})
        )
        .await
        .status,
        200
    );
    let cases = [
        (
            "bearer",
            Method::PATCH,
            "/api/v3/users",
            Some(json!({"email": 5})),
            "email",
        ),
        (
            "bearer",
            Method::GET,
            "/api/v3/users?per_page=abc",
            None,
            "per_page",
        ),
        (
            "pvwa",
            Method::POST,
            "/PasswordVault/API/MyRequests",
            Some(json!({"AccountId": "1_1", "Reason": 5})),
            "Reason",
        ),
        (
            "pvwa",
            Method::GET,
            "/PasswordVault/API/Accounts?limit=0",
            None,
            "limit",
        ),
    ];
    for (scheme, method, path, body, field) in cases {
        let request = || {
            let request = app.client.request(method.clone(), app.url(path));
            match &body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        let what = format!("{method} {path}");
        let reply = app.send(with_token(request(), scheme, Some(&live))).await;
        match scheme {
            "bearer" => {
                assert_eq!(reply.status, 400, "{what} with a live session: {reply:?}");
                assert_eq!(reply.problem_code(), "validation_failed", "{what}");
                assert_eq!(reply.error_fields(), [field], "{what}");
            }
            _ => {
                assert_eq!(pvwa_error(&reply, 400), "RQDWS001E", "{what}");
                let message = reply.body["ErrorMessage"].as_str().unwrap_or_default();
                assert!(
                    message.starts_with(&format!("{field}: ")),
                    "{what}: {message}"
                );
            }
        }
        for (token, who) in [
            (None, "no token"),
            (Some(logged_out.as_str()), "a logged-out session"),
            (Some(deleted.as_str()), "a deleted user's session"),
            (Some(suspended.as_str()), "a suspended user's session"),
        ] {
            let reply = app.send(with_token(request(), scheme, token)).await;
            assert_refused_as_unauthorized(&reply, scheme, &format!("{what} with {who}"));
        }
    }
}

/// How many blocking calls and pool checkouts the instance has made, from its metrics.
async fn database_calls(app: &TestApp) -> (f64, f64) {
    let text = crate::metrics::scrape(app).await;
    let count = |name| crate::metrics::sample(&text, name, &[]).unwrap_or(0.0);
    (
        count("requestdesk_blocking_wait_seconds_count"),
        count("requestdesk_db_pool_wait_seconds_count"),
    )
}

/// The session is checked once per request, never twice. A call the service answers (a success,
/// or a field the service itself refuses after finding the session live) makes one blocking
/// call and one pool checkout, the service's own; so does an input refused before the service
/// (by the body's extractor, the query's, or the handler): the session check alone. With no
/// token, nothing reaches the database.
async fn an_input_refused_before_the_service_checks_the_session_once_and_the_happy_path_never_twice(
    app: TestApp,
) {
    let token = app.developer("amy").await;
    let cases = [
        (Method::GET, "/api/v3/users/amy", None, 200, "a success"),
        (Method::GET, "/api/v3/users?per_page=5", None, 200, "a list"),
        (
            Method::PATCH,
            "/api/v3/users",
            Some(json!({"email": "not-an-address"})),
            400,
            "an address the service refuses",
        ),
        (
            Method::PATCH,
            "/api/v3/users",
            Some(json!({"email": 5})),
            400,
            "a body the extractor refuses",
        ),
        (
            Method::GET,
            "/api/v3/users?per_page=abc",
            None,
            400,
            "a query the extractor refuses",
        ),
        (
            Method::GET,
            "/api/v3/users?per_page=0",
            None,
            400,
            "a page size the handler refuses",
        ),
    ];
    for (method, path, body, status, case) in cases {
        for (token, status) in [(Some(token.as_str()), status), (None, 401)] {
            let mut request = app.request(method.clone(), path, token);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let before = database_calls(&app).await;
            let reply = app.send(request).await;
            let after = database_calls(&app).await;
            let case = format!(
                "{case} with {}",
                if token.is_some() {
                    "a live session"
                } else {
                    "no token"
                }
            );
            assert_eq!(reply.status, status, "{case}: {reply:?}");
            let made = (after.0 - before.0, after.1 - before.1);
            let expected = if token.is_some() {
                (1.0, 1.0)
            } else {
                (0.0, 0.0)
            };
            assert_eq!(made, expected, "{case}: (blocking calls, pool checkouts)");
        }
    }
}

/// PostgreSQL only: with the database gone, the session of a request refused for its body cannot
/// be checked, and the answer is the usual 503 (PVWA: `RQDWS020E`), not the 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_lost_during_the_session_check_is_503() {
    if crate::helpers::postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let app = crate::helpers::spawn_app(Backend::Postgres).await;
    let token = app.developer("amy").await;
    app.database.drop_now();
    let native = app
        .patch("/api/v3/users", Some(&token), &json!({"email": 5}))
        .await;
    assert_eq!(native.status, 503, "{native:?}");
    assert_eq!(native.problem_code(), "service_unavailable");
    let pvwa = app
        .send(
            app.client
                .post(app.url("/PasswordVault/API/MyRequests"))
                .header("Authorization", &token)
                .json(&json!({"AccountId": "1_1", "Reason": 5})),
        )
        .await;
    assert_eq!(pvwa_error(&pvwa, 503), "RQDWS020E", "{pvwa:?}");
    assert_eq!(pvwa.header("retry-after"), Some("1"));
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
    // Used once first, so that the service knows it when a copy changed by a byte arrives.
    assert_eq!(app.get("/api/v3/users/amy", Some(&token)).await.status, 200);
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
