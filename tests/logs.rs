//! What the service logs: every line a request causes carries its HTTP request id, the service's
//! own events included (the request's span is entered inside the blocking work), and a 503 from
//! an unreachable database is one WARN line, and a client's malformed HTTP is no ERROR. A test binary of its own, because it installs the
//! process's one global log subscriber; its tests share it and tell their lines apart by request
//! id.

use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use requestdesk::config::{LogFormat, Secret, Settings};
use requestdesk::startup::Application;
use requestdesk::telemetry;
use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;

/// JSON log lines written into memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// Whether any field of any span the line was written in holds `value`, whatever its name.
fn in_a_span_holding(line: &Value, value: &str) -> bool {
    line["spans"].as_array().is_some_and(|spans| {
        spans
            .iter()
            .filter_map(Value::as_object)
            .any(|span| span.values().any(|field| field == value))
    })
}

/// The process's log capture, installed by the first test that asks for it: the service's own
/// subscriber (`telemetry`), in JSON, writing into memory.
fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        // debug for the service's own lines, so the secret checks read them too
        let subscriber = telemetry::subscriber(
            "info,requestdesk=debug",
            LogFormat::Json,
            captured.clone(),
            false,
        );
        tracing::subscriber::set_global_default(subscriber).expect("the one log subscriber");
        captured
    })
}

const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// An instance on a fresh SQLite database: its base URL, and the settings it runs with.
async fn start(change: impl FnOnce(&mut Settings)) -> (String, Settings, tempfile::TempDir) {
    captured();
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut settings = Settings::defaults();
    settings.bind = "127.0.0.1:0".parse().expect("address");
    settings.data_dir = dir.path().join("data");
    settings.bcrypt_cost = 4;
    settings.workers = Some(1);
    settings.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    change(&mut settings);
    let app = Application::build(&settings).expect("the application starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    (base, settings, dir)
}

/// The lines written in the span of the HTTP request `id`.
fn lines_of(id: &str) -> Vec<Value> {
    captured()
        .lines()
        .into_iter()
        .filter(|line| in_a_span_holding(line, id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_event_carries_the_http_request_id() {
    let (base, _settings, _dir) = start(|_| {}).await;
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v3/users/sessions"))
        .header("x-request-id", "log-test-0001")
        .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-request-id"], "log-test-0001");

    let lines = lines_of("log-test-0001");
    let logged_in = lines
        .iter()
        .find(|line| line["fields"]["message"] == "logged in")
        .unwrap_or_else(|| panic!("the service logged the log-in: {lines:?}"));
    assert!(
        in_a_span_holding(logged_in, "log-test-0001"),
        "the service's event carries the HTTP request id: {logged_in}"
    );
    // One name per thing: `http.request_id` for the HTTP request (on the span), `user.name` for
    // the acting user, `request.id` for a domain request (see README, "Logs").
    let span = logged_in["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|span| span["name"] == "request"))
        .unwrap_or_else(|| panic!("the request span: {logged_in}"));
    assert_eq!(span["http.request_id"], "log-test-0001", "{span}");
    assert_eq!(span["http.method"], "POST", "{span}");
    assert_eq!(span["http.path"], "/api/v3/users/sessions", "{span}");
    assert_eq!(logged_in["fields"]["user.name"], "admin", "{logged_in}");
    let every_line = captured().lines();
    for old_name in ["request_id", "username", "by"] {
        assert!(
            every_line
                .iter()
                .all(|line| line["fields"].get(old_name).is_none()
                    && line["spans"].as_array().is_none_or(|spans| {
                        spans.iter().all(|span| span.get(old_name).is_none())
                    })),
            "no line uses the old field name {old_name}"
        );
    }
    let handled = lines
        .iter()
        .find(|line| line["fields"]["message"] == "handled")
        .expect("the access log line");
    assert!(in_a_span_holding(handled, "log-test-0001"), "{handled}");
}

/// A failed log-in names a known user, never an unknown name: that is often a password typed
/// into the name's field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_log_in_under_an_unknown_name_does_not_log_the_name() {
    let (base, _settings, _dir) = start(|_| {}).await;
    let client = reqwest::Client::new();
    for (request_id, username) in [
        ("log-test-0101", "admin"),
        ("log-test-0102", "hunter2-typed-here"),
    ] {
        let response = client
            .post(format!("{base}/api/v3/users/sessions"))
            .header("x-request-id", request_id)
            .json(&serde_json::json!({"username": username, "password": "not the password"}))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 401);
    }
    let known = lines_of("log-test-0101");
    assert!(
        known
            .iter()
            .any(|line| line["fields"]["message"] == "failed log-in"
                && line["fields"]["user.name"] == "admin"),
        "a known user's failure names them: {known:?}"
    );
    let unknown = lines_of("log-test-0102");
    assert!(
        unknown
            .iter()
            .any(|line| line["fields"]["message"] == "failed log-in under an unknown name"),
        "the failure is logged: {unknown:?}"
    );
    assert!(
        captured()
            .lines()
            .iter()
            .all(|line| !line.to_string().contains("hunter2-typed-here")),
        "the unknown name is in no line"
    );
}

/// A write kept waiting past the database timeout by another connection's lock is 503, and the
/// log says so once, at WARN, with the cause: not again at ERROR when the answer is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_from_the_database_is_logged_once_at_warn() {
    let (base, settings, _dir) = start(|settings| settings.db_timeout_secs = 1).await;
    let url = settings.database_url();
    let mut lock = SqliteConnection::establish(url.trim_start_matches("sqlite://"))
        .expect("a second connection");
    lock.batch_execute("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v3/users"))
        .header("x-request-id", "log-test-0503")
        .json(&serde_json::json!({
            "username": "bob", "name": "Bob", "email": "bob@example.com",
            "password": "a-long-password-1"
        }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 503);
    lock.batch_execute("ROLLBACK").expect("release the lock");

    let lines = lines_of("log-test-0503");
    let loud: Vec<&Value> = lines
        .iter()
        .filter(|line| line["level"] != "INFO" && line["level"] != "DEBUG")
        .collect();
    assert_eq!(loud.len(), 1, "one line above INFO: {loud:?}");
    assert_eq!(loud[0]["level"], "WARN", "{}", loud[0]);
    let text = loud[0].to_string();
    assert!(text.contains("database is locked"), "the cause: {text}");
    assert!(
        !text.contains("a-long-password-1") && !text.contains(ADMIN_PASSWORD),
        "no secret: {text}"
    );
}

/// HTTP/2 with prior knowledge on the plain HTTP/1.1 port, and a request line that is not HTTP:
/// the client's fault, logged at INFO, never at ERROR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_malformed_http_is_logged_below_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (base, _settings, _dir) = start(|_| {}).await;
    let address = base.trim_start_matches("http://").to_owned();
    for garbage in [
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..],
        &b"\x16\x03\x01\x00\xa5 not HTTP at all\r\n\r\n"[..],
    ] {
        let mut stream = tokio::net::TcpStream::connect(&address)
            .await
            .expect("connect");
        stream.write_all(garbage).await.expect("send");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_end(&mut answer),
        )
        .await;
        assert!(
            String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 400"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let lines = captured().lines();
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|line| line["level"] == "ERROR")
        .collect();
    assert!(errors.is_empty(), "no ERROR line: {errors:?}");
    let told = lines
        .iter()
        .filter(|line| line["target"] == "requestdesk::http" && line["level"] == "INFO")
        .count();
    assert!(
        told >= 2,
        "each bad connection is logged at INFO: {lines:?}"
    );
}

const ACCOUNT_SECRET: &str = "s3cr3t-in-logs-never";

/// Setting, replacing and retrieving an account's secret is logged, and no line holds the secret
/// or the master key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_holds_an_account_secret_or_the_master_key() {
    let (base, settings, _dir) = start(|_| {}).await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/api/v3/users/sessions"))
        .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 201);
    let token = response.json::<Value>().await.expect("a body")["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    for (path, body) in [
        ("/safes", serde_json::json!({"name": "Linux"})),
        (
            "/safes/Linux/accounts",
            serde_json::json!({"name": "root", "address": "db01.example.com", "user_name": "root"}),
        ),
    ] {
        let response = client
            .post(format!("{base}/api/v3{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 201, "{path}");
    }
    for (request_id, secret) in [
        ("log-test-secret-1", ACCOUNT_SECRET),
        ("log-test-secret-2", "s3cr3t-in-logs-replaced"),
    ] {
        let response = client
            .put(format!("{base}/api/v3/safes/Linux/accounts/1/secret"))
            .header("x-request-id", request_id)
            .bearer_auth(&token)
            .json(&serde_json::json!({"secret": secret}))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 204);
    }

    // The requester of an approved access retrieves it, natively and through PVWA.
    let retrieved = retrieve_as_a_requester(&client, &base, &token).await;
    assert_eq!(
        retrieved,
        ["s3cr3t-in-logs-replaced", "s3cr3t-in-logs-replaced"],
        "both retrievals answered the secret"
    );
    let used = lines_of("log-test-retrieve-native");
    let line = used
        .iter()
        .find(|line| line["fields"]["message"] == "access used")
        .unwrap_or_else(|| panic!("the use is logged: {used:?}"));
    assert_eq!(line["fields"]["secret_retrieved"], true, "{line}");
    assert_eq!(line["fields"]["account.id"], 1, "{line}");

    let lines = lines_of("log-test-secret-1");
    let set = lines
        .iter()
        .find(|line| line["fields"]["message"] == "account secret set")
        .unwrap_or_else(|| panic!("the service logged the secret's change: {lines:?}"));
    assert_eq!(set["fields"]["account.id"], 1, "{set}");
    let everything =
        String::from_utf8_lossy(&captured().0.lock().expect("log buffer")).into_owned();
    assert!(
        !everything.contains(ACCOUNT_SECRET) && !everything.contains("s3cr3t-in-logs"),
        "a log line holds the secret"
    );
    let key = std::fs::read_to_string(
        settings
            .data_dir
            .join(requestdesk::secrets::SECRETS_KEY_FILE),
    )
    .expect("the generated key");
    assert!(
        !everything.contains(key.trim()),
        "a log line holds the master key"
    );
}

/// Signs up `dev`, lets them request in `Linux` and the admin confirm there, approves a multiple
/// access to account 1 for the next hour, and retrieves its secret with `use` and with PVWA's
/// Retrieve: the two secrets answered.
async fn retrieve_as_a_requester(client: &reqwest::Client, base: &str, admin: &str) -> Vec<String> {
    let call = |method: reqwest::Method, path: &str, token: &str, body: Value| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let signed_up = client
        .post(format!("{base}/api/v3/users"))
        .json(
            &serde_json::json!({"username": "dev", "password": "correct horse battery",
            "name": "Dev", "email": "dev@example.com"}),
        )
        .send()
        .await
        .expect("an answer");
    assert_eq!(signed_up.status(), 201);
    for (who, can_request, level) in [("dev", true, None), ("admin", false, Some(1))] {
        let response = call(
            reqwest::Method::PUT,
            &format!("/api/v3/safes/Linux/members/{who}"),
            admin,
            serde_json::json!({"can_request": can_request, "confirm_level": level}),
        )
        .await
        .expect("an answer");
        assert_eq!(response.status(), 200, "{who}");
    }
    let logged_in = client
        .post(format!("{base}/api/v3/users/sessions"))
        .json(&serde_json::json!({"username": "dev", "password": "correct horse battery"}))
        .send()
        .await
        .expect("an answer");
    let dev = logged_in.json::<Value>().await.expect("a body")["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let now = chrono::Utc::now();
    let submitted = call(
        reqwest::Method::POST,
        "/api/v3/myrequests",
        &dev,
        serde_json::json!({"type": "access", "account_id": 1, "reason": "Patch the server tonight",
            "access_type": "multiple", "operation_type": "get_password",
            "access_from": now.to_rfc3339(),
            "access_to": (now + chrono::Duration::minutes(60)).to_rfc3339()}),
    )
    .await
    .expect("an answer");
    assert_eq!(submitted.status(), 201);
    let id = submitted.json::<Value>().await.expect("a body")["id"]
        .as_i64()
        .expect("an id");
    let confirmed = call(
        reqwest::Method::POST,
        &format!("/api/v3/incoming-requests/{id}/confirm"),
        admin,
        serde_json::json!({}),
    )
    .await
    .expect("an answer");
    assert_eq!(confirmed.status(), 200);
    let native = client
        .post(format!("{base}/api/v3/myrequests/{id}/use"))
        .header("x-request-id", "log-test-retrieve-native")
        .bearer_auth(&dev)
        .send()
        .await
        .expect("an answer");
    assert_eq!(native.status(), 200);
    let native = native.json::<Value>().await.expect("a body")["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let pvwa = client
        .post(format!(
            "{base}/PasswordVault/API/Accounts/1/Password/Retrieve"
        ))
        .header("x-request-id", "log-test-retrieve-pvwa")
        .header("Authorization", &dev)
        .json(&serde_json::json!({"reason": "s3cr3t-in-logs is not a reason either"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(pvwa.status(), 200);
    let pvwa: String =
        serde_json::from_str(&pvwa.text().await.expect("a body")).expect("a JSON string");
    vec![native, pvwa]
}
