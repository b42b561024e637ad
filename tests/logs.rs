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
        .with_env_filter("info")
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
    let url = format!("http://127.0.0.1:{}/api/v3/users/sessions", app.port());
    tokio::spawn(app.run_until_stopped());

    let response = reqwest::Client::new()
        .post(url)
        .header("x-request-id", "log-test-0001")
        .json(&serde_json::json!({"username": "admin", "password": "admin-password-for-tests"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-request-id"], "log-test-0001");

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
}
