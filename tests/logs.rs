//! Every line a request causes carries its HTTP request id, the service's own events included:
//! the request's span is entered inside the blocking work. A test binary of its own, because it
//! installs the process's one global log subscriber.

use std::io;
use std::sync::{Arc, Mutex};

use requestdesk::config::{Secret, Settings};
use requestdesk::startup::Application;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_event_carries_the_http_request_id() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("info,requestdesk=debug")
        .with_writer(captured.clone())
        .init();
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut settings = Settings::defaults();
    settings.bind = "127.0.0.1:0".parse().expect("address");
    settings.data_dir = dir.path().join("data");
    settings.bcrypt_cost = 4;
    settings.workers = Some(1);
    settings.admin_password = Some(Secret::new("admin-password-for-tests"));
    let app = Application::build(&settings).expect("the application starts");
    let base = format!("http://127.0.0.1:{}/api/v3", app.port());
    tokio::spawn(app.run_until_stopped());

    let response = reqwest::Client::new()
        .post(format!("{base}/users/sessions"))
        .header("x-request-id", "log-test-0001")
        .json(&serde_json::json!({"username": "admin", "password": "admin-password-for-tests"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-request-id"], "log-test-0001");
    let token = response.json::<Value>().await.expect("a body")["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    set_a_secret(&base, &token).await;

    let lines = captured.lines();
    let logged_in = lines
        .iter()
        .find(|line| line["fields"]["message"] == "logged in")
        .unwrap_or_else(|| panic!("the service logged the log-in: {lines:?}"));
    assert!(
        in_a_span_holding(logged_in, "log-test-0001"),
        "the service's event carries the HTTP request id: {logged_in}"
    );
    let handled = lines
        .iter()
        .find(|line| line["fields"]["message"] == "handled")
        .expect("the access log line");
    assert!(in_a_span_holding(handled, "log-test-0001"), "{handled}");

    let set = lines
        .iter()
        .find(|line| line["fields"]["message"] == "account secret set")
        .unwrap_or_else(|| panic!("the service logged the secret's change: {lines:?}"));
    assert_eq!(set["fields"]["account.id"], 1, "{set}");
    let everything = String::from_utf8_lossy(&captured.0.lock().expect("log buffer")).into_owned();
    assert!(
        !everything.contains(ACCOUNT_SECRET) && !everything.contains("s3cr3t-in-logs"),
        "a log line holds the secret"
    );
    assert!(
        !everything.contains(&hex_key(&settings.data_dir)),
        "a log line holds the master key"
    );
}

const ACCOUNT_SECRET: &str = "s3cr3t-in-logs-never";

/// Creates a safe and an account, and sets the account's secret, twice (set, then replace).
async fn set_a_secret(base: &str, token: &str) {
    let client = reqwest::Client::new();
    for (path, body) in [
        ("/safes", serde_json::json!({"name": "Linux"})),
        (
            "/safes/Linux/accounts",
            serde_json::json!({"name": "root", "address": "db01.example.com", "user_name": "root"}),
        ),
    ] {
        let response = client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 201, "{path}");
    }
    for secret in [ACCOUNT_SECRET, "s3cr3t-in-logs-replaced"] {
        let response = client
            .put(format!("{base}/safes/Linux/accounts/1/secret"))
            .bearer_auth(token)
            .json(&serde_json::json!({"secret": secret}))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 204);
    }
}

/// The master key generated into the data directory.
fn hex_key(data_dir: &std::path::Path) -> String {
    std::fs::read_to_string(data_dir.join(requestdesk::secrets::SECRETS_KEY_FILE))
        .expect("the generated key")
        .trim()
        .to_owned()
}
