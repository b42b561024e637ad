//! `spawn_app` and `TestApp`: one helper per endpoint, so tests read as specifications. This file
//! holds the instance, the HTTP verbs and the user and session endpoints; the other areas have a
//! file each below. Test files add fixtures of their own, never another endpoint helper.

pub mod certificates;
pub mod pki;
pub mod pvwa;
pub mod requests;
pub mod safes;

use std::sync::LazyLock;

use diesel::{Connection, PgConnection, RunQueryDsl};
use requestdesk::clock::Clock;
use requestdesk::config::{Secret, Settings};
use requestdesk::startup::Application;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const PASSWORD: &str = "correct horse battery";
pub const JWT_SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";
/// The master key of test instances: PostgreSQL requires one.
pub const SECRETS_KEY: &str = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7";

/// Runs each named `async fn(TestApp)` as a test on SQLite, and again on PostgreSQL when
/// `TEST_DATABASE_URL` is set. A test written but not listed here fails the build as dead code.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match $crate::helpers::postgres_url() {
                        Some(_) => super::$name($crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await).await,
                        None => eprintln!("skipped: TEST_DATABASE_URL is not set"),
                    }
                }
            )*
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server to create test databases on, if any. In CI it must be set, so the
/// PostgreSQL half of the suite can never pass by being skipped.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty());
    assert!(
        url.is_some() || std::env::var("CI").is_err(),
        "CI is set but TEST_DATABASE_URL is not: the PostgreSQL tests would be skipped"
    );
    url
}

/// A database of its own for one test; a PostgreSQL one is dropped when the test ends.
pub struct TestDatabase {
    pub url: String,
    postgres_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => Self {
                url: dir.path().join("test.db").to_string_lossy().into_owned(),
                postgres_name: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let server = postgres_url().expect("TEST_DATABASE_URL");
                let name = format!("requestdesk_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin =
                    PgConnection::establish(&server).expect("connect to TEST_DATABASE_URL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                Self {
                    url: replace_database(&server, &name),
                    postgres_name: Some(name),
                    _dir: dir,
                }
            }
        }
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }

    /// Drops a PostgreSQL test database now, cutting its connections: the database is gone.
    pub fn drop_now(&self) {
        if let (Some(name), Some(server)) = (&self.postgres_name, postgres_url())
            && let Ok(mut admin) = PgConnection::establish(&server)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.drop_now();
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let without_db = match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{without_db}/{name}?{query}"),
        None => format!("{without_db}/{name}"),
    }
}

/// Settings for a test instance: a random port, fast hashing, a known admin password.
pub fn test_settings(database: &TestDatabase) -> Settings {
    let mut settings = Settings::defaults();
    settings.bind = "127.0.0.1:0".parse().expect("address");
    settings.data_dir = database.data_dir();
    settings.database_url = Some(Secret::new(database.url.clone()));
    settings.pool_size = 4;
    settings.db_timeout_secs = 1;
    settings.jwt_secret = Some(Secret::new(JWT_SECRET));
    settings.secrets_key = Some(Secret::new(SECRETS_KEY));
    settings.bcrypt_cost = 4;
    settings.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    settings.workers = Some(1);
    settings.cors_origins = vec![];
    settings
}

static LOGGING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        requestdesk::telemetry::init("debug", requestdesk::config::LogFormat::Text);
    }
});

/// A running instance and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    pub database: TestDatabase,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_on(TestDatabase::new(backend)).await
}

/// Starts an instance on an existing test database.
pub async fn spawn_app_on(database: TestDatabase) -> TestApp {
    let (address, clock) = start_instance(&test_settings(&database)).await;
    TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        database,
    }
}

/// Builds and starts an instance with these settings; returns its base address and clock.
pub async fn start_instance(settings: &Settings) -> (String, Clock) {
    LazyLock::force(&LOGGING);
    let app = Application::build(settings).expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let clock = app.clock();
    tokio::spawn(app.run_until_stopped());
    (address, clock)
}

/// A response reduced to what tests assert on.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the problem+json envelope and returns its `code`.
    pub fn problem_code(&self) -> &str {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not a problem response: {self:?}"
        );
        assert_eq!(
            self.body["status"], self.status,
            "problem status mismatch: {self:?}"
        );
        self.body["code"].as_str().expect("problem code")
    }

    /// The fields named by a validation problem.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the request is answered");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(reqwest::Method::GET, path, token))
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(reqwest::Method::POST, path, token).json(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(reqwest::Method::PATCH, path, token).json(body))
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(self.request(reqwest::Method::PUT, path, token).json(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(reqwest::Method::DELETE, path, token))
            .await
    }

    /// `POST /api/v3/users` as an anonymous caller.
    pub async fn sign_up(&self, username: &str, role: Option<&str>) -> Reply {
        self.post("/api/v3/users", None, &new_user(username, role))
            .await
    }

    /// `POST /api/v3/users/sessions`.
    pub async fn log_in(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/api/v3/users/sessions",
            None,
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Logs in and returns the token, asserting success.
    pub async fn token_for(&self, username: &str, password: &str) -> String {
        let reply = self.log_in(username, password).await;
        assert_eq!(reply.status, 201, "log-in of {username} failed: {reply:?}");
        reply.body["token"].as_str().expect("token").to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token_for("admin", ADMIN_PASSWORD).await
    }

    /// Signs up a developer and returns their token.
    pub async fn developer(&self, username: &str) -> String {
        let reply = self.sign_up(username, None).await;
        assert_eq!(reply.status, 201, "sign-up of {username} failed: {reply:?}");
        self.token_for(username, PASSWORD).await
    }

    /// Creates a user with any role as the admin and returns their token.
    pub async fn user_with_role(&self, username: &str, role: &str) -> String {
        let admin = self.admin_token().await;
        let reply = self
            .post(
                "/api/v3/users",
                Some(&admin),
                &new_user(username, Some(role)),
            )
            .await;
        assert_eq!(
            reply.status, 201,
            "creating {username} as {role} failed: {reply:?}"
        );
        self.token_for(username, PASSWORD).await
    }
}

/// A raw response: status, content type and bytes.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl TestApp {
    /// Starts another instance on this test's database with changed settings, and returns a
    /// `TestApp` talking to it (the first instance keeps running; both share the data dir).
    pub async fn restarted_with(
        self,
        change: impl FnOnce(&mut requestdesk::config::Settings),
    ) -> TestApp {
        let mut settings = test_settings(&self.database);
        change(&mut settings);
        let (address, clock) = start_instance(&settings).await;
        TestApp {
            address,
            client: reqwest::Client::new(),
            clock,
            database: self.database,
        }
    }

    pub async fn get_raw(&self, path: &str, token: Option<&str>) -> RawReply {
        let response = self
            .request(reqwest::Method::GET, path, token)
            .send()
            .await
            .expect("the request is answered");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.expect("a body").to_vec();
        RawReply {
            status,
            content_type,
            bytes,
        }
    }
}

/// A valid sign-up body.
pub fn new_user(username: &str, role: Option<&str>) -> Value {
    let mut body = json!({
        "username": username,
        "password": PASSWORD,
        "name": format!("{username} Example"),
        "email": format!("{username}@example.com"),
    });
    if let Some(role) = role {
        body["role"] = json!(role);
    }
    body
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        replace_database("postgres://u@h:5432/test", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        replace_database("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
}
