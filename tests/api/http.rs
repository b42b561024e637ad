//! HTTP behaviour shared by every endpoint: the problem format, content types, body limits,
//! unknown paths and methods, pagination bounds, request ids, health and an unreachable database.

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    malformed_json_is_400_in_the_problem_format,
    a_body_that_is_not_json_is_415,
    a_body_over_64_kib_is_413,
    an_unknown_path_is_404,
    a_known_path_with_the_wrong_method_is_405_with_allow,
    pagination_parameters_out_of_range_are_400_naming_the_parameter,
    every_response_carries_a_request_id,
    health_and_readiness_answer_without_a_token,
    a_refused_cors_preflight_is_403_in_the_problem_format_without_allow_origin,
);

async fn malformed_json_is_400_in_the_problem_format(app: TestApp) {
    let request = app
        .request(reqwest::Method::POST, "/api/v3/users", None)
        .header("content-type", "application/json")
        .body("{\"username\": ");
    let reply = app.send(request).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.problem_code(), "malformed_json");
    assert_eq!(reply.body["type"], "urn:requestdesk:problem:malformed_json");
    assert_eq!(reply.body["title"], "Bad Request");
    assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

async fn a_body_that_is_not_json_is_415(app: TestApp) {
    let request = app
        .request(reqwest::Method::POST, "/api/v3/users", None)
        .header("content-type", "text/plain")
        .body("username=amy");
    let reply = app.send(request).await;
    assert_eq!(reply.status, 415, "{reply:?}");
    assert_eq!(reply.problem_code(), "unsupported_media_type");
    let no_type = app
        .send(
            app.request(reqwest::Method::POST, "/api/v3/users/sessions", None)
                .body("{}"),
        )
        .await;
    assert_eq!(no_type.status, 415, "no content type at all: {no_type:?}");
}

async fn a_body_over_64_kib_is_413(app: TestApp) {
    let body = json!({"username": "amy", "password": "x".repeat(70 * 1024), "name": "a", "email": "a@example.com"});
    let reply = app.post("/api/v3/users", None, &body).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.problem_code(), "payload_too_large");
}

async fn an_unknown_path_is_404(app: TestApp) {
    for path in ["/nothing", "/api/v3/nothing", "/api/v3/users/amy/extra"] {
        let reply = app.get(path, None).await;
        assert_eq!(reply.status, 404, "{path}: {reply:?}");
        assert_eq!(reply.problem_code(), "not_found");
    }
}

async fn a_known_path_with_the_wrong_method_is_405_with_allow(app: TestApp) {
    let cases = [
        (
            reqwest::Method::PUT,
            "/api/v3/users",
            "DELETE, GET, PATCH, POST",
        ),
        (reqwest::Method::POST, "/api/v3/users/roles", "GET"),
        (
            reqwest::Method::GET,
            "/api/v3/users/sessions",
            "DELETE, POST",
        ),
        (
            reqwest::Method::POST,
            "/api/v3/users/amy",
            "DELETE, GET, PATCH",
        ),
        (reqwest::Method::POST, "/healthz", "GET"),
    ];
    for (method, path, allow) in cases {
        let reply = app.send(app.request(method.clone(), path, None)).await;
        assert_eq!(reply.status, 405, "{method} {path}: {reply:?}");
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
        assert_eq!(reply.problem_code(), "method_not_allowed");
    }
}

async fn pagination_parameters_out_of_range_are_400_naming_the_parameter(app: TestApp) {
    let admin = app.admin_token().await;
    let cases = [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=1000000", "per_page"),
        ("per_page=abc", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=99999999999999999999", "page"),
    ];
    for (query, field) in cases {
        let reply = app
            .get(&format!("/api/v3/users?{query}"), Some(&admin))
            .await;
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        assert_eq!(reply.error_fields(), [field], "{query}");
    }
    let fine = app
        .get("/api/v3/users?per_page=100&page=2", Some(&admin))
        .await;
    assert_eq!(
        (fine.status, fine.body["items"].clone()),
        (200, json!([])),
        "{fine:?}"
    );
}

async fn every_response_carries_a_request_id(app: TestApp) {
    // Answers of every kind: success, 404 and 405 from the fallback, 401 from the extractor,
    // 400 and 415 from the body, and PVWA's own error body.
    let cases = [
        ("GET", "/healthz", None, 200),
        ("GET", "/nothing", None, 404),
        ("DELETE", "/healthz", None, 405),
        ("GET", "/api/v3/users", None, 401),
        ("POST", "/api/v3/users", Some("{"), 400),
        ("POST", "/api/v3/users/sessions", Some("username=x"), 415),
        ("GET", "/PasswordVault/API/MyRequests", None, 401),
    ];
    for (method, path, body, status) in cases {
        let mut request = app.request(method.parse().expect("method"), path, None);
        if let Some(body) = body {
            let content_type = if body.starts_with('{') {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            };
            request = request
                .header("content-type", content_type)
                .body(body.to_owned());
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, status, "{method} {path}: {reply:?}");
        let id = reply.header("x-request-id").unwrap_or_default();
        assert_eq!(
            id.len(),
            36,
            "{method} {path}: a generated UUID, got {id:?}"
        );
    }
    let given = app
        .send(
            app.request(reqwest::Method::GET, "/healthz", None)
                .header("x-request-id", "trace-42"),
        )
        .await;
    assert_eq!(
        given.header("x-request-id"),
        Some("trace-42"),
        "a sensible incoming id is kept"
    );
    let odd = app
        .send(
            app.request(reqwest::Method::GET, "/healthz", None)
                .header("x-request-id", "a b\"c"),
        )
        .await;
    assert_ne!(
        odd.header("x-request-id"),
        Some("a b\"c"),
        "an odd one is replaced"
    );
}

async fn health_and_readiness_answer_without_a_token(app: TestApp) {
    let health = app.get("/healthz", None).await;
    assert_eq!(
        (health.status, health.body.clone()),
        (200, json!({"status": "ok"}))
    );
    let ready = app.get("/readyz", None).await;
    assert_eq!(
        (ready.status, ready.body.clone()),
        (200, json!({"status": "ready"}))
    );
}

/// PostgreSQL only: an open SQLite file cannot be taken away from a running process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_503_quickly() {
    if crate::helpers::postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let app = crate::helpers::spawn_app(Backend::Postgres).await;
    let token = app.developer("amy").await;
    app.database.drop_now();
    let started = std::time::Instant::now();
    for path in ["/readyz", "/api/v3/users/amy"] {
        let reply = app.get(path, Some(&token)).await;
        assert_eq!(reply.status, 503, "{path}: {reply:?}");
        assert_eq!(reply.problem_code(), "service_unavailable");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "no hang: {:?}",
        started.elapsed()
    );
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200, "liveness does not touch the database");
}

/// With a certificate and key configured, the service speaks HTTPS itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_tls_certificate_the_service_serves_https() {
    let tls = TlsInstance::start().await;
    let port = &tls.port;
    let client = tls.client().build().expect("client");
    let reply = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .expect("an HTTPS answer");
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.text().await.expect("body"), r#"{"status":"ok"}"#);
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(
        plain.is_err() || plain.is_ok_and(|r| r.status() != 200),
        "plain HTTP is not served"
    );
}

/// Over TLS, ALPN offers `h2` and `http/1.1`: a client that speaks HTTP/2 gets it, one that
/// speaks only HTTP/1.1 still gets an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_http2_is_negotiated() {
    let tls = TlsInstance::start().await;
    let url = format!("https://localhost:{}/healthz", tls.port);

    let h2 = tls
        .client()
        .build()
        .expect("client")
        .get(&url)
        .send()
        .await
        .expect("an answer");
    assert_eq!(h2.version(), reqwest::Version::HTTP_2, "ALPN chose h2");
    assert_eq!(h2.status(), 200);
    assert_eq!(h2.text().await.expect("body"), r#"{"status":"ok"}"#);

    let h1 = tls
        .client()
        .http1_only()
        .build()
        .expect("client")
        .get(&url)
        .send()
        .await;
    let h1 = h1.expect("an HTTP/1.1 answer");
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    assert_eq!(h1.status(), 200);
}

/// An instance serving HTTPS with a self-signed certificate for `localhost`.
struct TlsInstance {
    port: String,
    certificate_pem: String,
    _database: crate::helpers::TestDatabase,
    _dir: tempfile::TempDir,
}

impl TlsInstance {
    async fn start() -> Self {
        let database = crate::helpers::TestDatabase::new(Backend::Sqlite);
        let dir = tempfile::tempdir().expect("temporary directory");
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a self-signed certificate");
        let (cert_path, key_path) = (dir.path().join("tls.pem"), dir.path().join("tls-key.pem"));
        std::fs::write(&cert_path, certified.cert.pem()).expect("write certificate");
        std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write key");
        let mut settings = crate::helpers::test_settings(&database);
        settings.tls_cert = Some(cert_path);
        settings.tls_key = Some(key_path);
        let (address, _) = crate::helpers::start_instance(&settings).await;
        Self {
            port: address.rsplit(':').next().expect("port").to_owned(),
            certificate_pem: certified.cert.pem(),
            _database: database,
            _dir: dir,
        }
    }

    /// A client that trusts the instance's certificate.
    fn client(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder().add_root_certificate(
            reqwest::Certificate::from_pem(self.certificate_pem.as_bytes()).expect("certificate"),
        )
    }
}

/// A browser's preflight from an origin the service does not list, or asking for a header the
/// API does not take, is refused in the problem format (it used to be a plain-text 400) and
/// grants nothing; a listed origin still gets its grant.
async fn a_refused_cors_preflight_is_403_in_the_problem_format_without_allow_origin(app: TestApp) {
    let app = app
        .restarted_with(|settings| settings.cors_origins = vec!["https://desk.example".into()])
        .await;
    let preflight = |origin: &str, headers: &str| {
        app.request(reqwest::Method::OPTIONS, "/api/v3/myrequests", None)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", headers)
    };
    for (origin, headers, case) in [
        (
            "https://evil.example",
            "authorization",
            "an unlisted origin",
        ),
        (
            "https://desk.example",
            "x-not-taken",
            "a header the API does not take",
        ),
    ] {
        let reply = app.send(preflight(origin, headers)).await;
        assert_eq!(reply.status, 403, "{case}: {reply:?}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{case}"
        );
        assert_eq!(reply.problem_code(), "cors_refused", "{case}");
        assert_eq!(reply.body["status"], 403, "{case}");
        assert_eq!(reply.header("access-control-allow-origin"), None, "{case}");
        assert!(reply.header("x-request-id").is_some(), "{case}");
    }
    let granted = app
        .send(preflight(
            "https://desk.example",
            "authorization, content-type",
        ))
        .await;
    assert_eq!(granted.status, 200, "{granted:?}");
    assert_eq!(
        granted.header("access-control-allow-origin"),
        Some("https://desk.example")
    );
}
