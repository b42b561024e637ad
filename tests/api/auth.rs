//! Authentication on every protected endpoint: missing, malformed, forged and expired tokens, and
//! sessions shared by several instances of the service.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::pvwa::pvwa_error;
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

/// A secured operation of the document, ready to call.
struct Secured {
    method: reqwest::Method,
    /// The path with sample parameters.
    path: String,
    /// `bearer` or `pvwa`.
    scheme: String,
    /// A body the operation accepts, from the document's examples.
    body: Value,
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
                let path = path
                    .replace("{id}", "1")
                    .replace("{request_id}", "Vault_1")
                    .replace("{account_id}", "1_1")
                    .replace("{safe_name}", "Vault")
                    .replace("{bulk_action_id}", "1")
                    .replace("{safe}", "Vault")
                    .replace("{username}", "amy")
                    .replace("{role}", "developer");
                assert!(
                    !path.contains('{'),
                    "a sample for every parameter of {path}"
                );
                operations.push(Secured {
                    method: method.to_uppercase().parse().expect("method"),
                    path,
                    scheme,
                    body: documented_body(&doc, operation),
                });
            }
        }
    }
    operations
}

/// A body that the operation's documented schema accepts: its example, or one built from the
/// required properties' examples (or the first value of an enum). A logged-out session is
/// refused by the service, after the body is read: a body it would refuse as invalid would be
/// answered 400 first.
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
