//! Start-up as an operator meets it: empty variables, refused settings named in the error, a
//! database that is not up yet, and the `healthcheck` subcommand a container image runs.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::CommandFactory;
use requestdesk::config::{Cli, Secret, Settings};
use requestdesk::startup::Application;
use serde_json::json;

use crate::helpers::{
    ADMIN_PASSWORD, Backend, TestApp, TestDatabase, postgres_url, start_instance, test_settings,
};

const BINARY: &str = env!("CARGO_BIN_EXE_requestdesk");

/// Runs the binary with only these environment variables.
async fn run_binary(args: &[&str], env: &[(String, String)]) -> Output {
    tokio::process::Command::new(BINARY)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn start_up_error(settings: &Settings) -> String {
    match Application::build(settings) {
        Ok(_) => panic!("the service started with {settings:?}"),
        Err(error) => error.to_string(),
    }
}

/// `docker compose` passes `${VAR:-}` as an empty value: every setting left empty takes its
/// default, so the administrator's password is generated and the database is the data dir's file.
#[tokio::test]
async fn every_setting_set_to_an_empty_value_counts_as_unset() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("data");
    let mut env: Vec<(String, String)> = Cli::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| (name.to_string_lossy().into_owned(), String::new()))
        .collect();
    assert!(
        env.iter()
            .any(|(name, _)| name == "REQUESTDESK_ADMIN_PASSWORD"),
        "the settings' variables are listed: {env:?}"
    );
    env.retain(|(name, _)| name != "REQUESTDESK_DATA_DIR" && name != "REQUESTDESK_BCRYPT_COST");
    env.push((
        "REQUESTDESK_DATA_DIR".into(),
        data_dir.display().to_string(),
    ));
    env.push(("REQUESTDESK_BCRYPT_COST".into(), "4".into()));

    let output = run_binary(&["create-admin"], &env).await;

    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let password = stdout
        .trim()
        .strip_prefix("administrator admin is ready; password: ")
        .unwrap_or_else(|| panic!("a generated password: {stdout}"));
    assert_eq!(password.len(), 24, "{stdout}");
    assert!(
        data_dir.join("requestdesk.db").exists(),
        "the default database"
    );
}

/// `create-admin` is how an operator gets back in: it ends a lock-out of the name it resets,
/// which anyone can keep up by failing five log-ins as `admin`.
#[tokio::test]
async fn create_admin_ends_a_lock_out_of_its_name() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    for _ in 0..5 {
        assert_eq!(app.log_in("admin", "wrong password").await.status, 401);
    }
    assert_eq!(app.log_in("admin", ADMIN_PASSWORD).await.status, 429);
    let dir = tempfile::tempdir().expect("temporary directory");
    let env = [
        ("DATABASE_URL", app.database.url.clone()),
        (
            "REQUESTDESK_ADMIN_PASSWORD",
            "another password 3".to_owned(),
        ),
        ("REQUESTDESK_BCRYPT_COST", "4".to_owned()),
        ("REQUESTDESK_DATA_DIR", dir.path().display().to_string()),
    ]
    .map(|(name, value)| (name.to_owned(), value));
    let output = run_binary(&["create-admin", "--username", "admin"], &env).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        app.log_in("admin", "another password 3").await.status,
        201,
        "the lock-out ended with the reset"
    );
}

/// A change to the test settings that should make start-up fail.
type Breakage = Box<dyn Fn(&mut Settings)>;

/// Each refused setting is named in the error, with the file or value at fault.
#[tokio::test]
async fn a_start_up_error_names_the_setting_at_fault() {
    let database = TestDatabase::new(Backend::Sqlite);
    let dir = tempfile::tempdir().expect("temporary directory");
    let not_a_directory = dir.path().join("file");
    std::fs::write(&not_a_directory, "").expect("a file");
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let taken_address = taken.local_addr().expect("address");
    let cases: Vec<(&str, Breakage, Vec<String>)> = vec![
        (
            "admin password too short",
            Box::new(|s| s.admin_password = Some(Secret::new("short"))),
            vec!["REQUESTDESK_ADMIN_PASSWORD: must be 8 to 72 bytes long".into()],
        ),
        (
            "JWT secret too short",
            Box::new(|s| s.jwt_secret = Some(Secret::new("short"))),
            vec!["REQUESTDESK_JWT_SECRET: must be at least 32 bytes long".into()],
        ),
        (
            "unknown database scheme",
            Box::new(|s| s.database_url = Some(Secret::new("mysql://db/requestdesk"))),
            vec!["DATABASE_URL: unsupported database URL scheme `mysql`".into()],
        ),
        (
            "data directory under a file",
            Box::new({
                let path = not_a_directory.join("data");
                move |s| s.data_dir = path.clone()
            }),
            vec![
                format!("{}/data", not_a_directory.display()),
                "(from REQUESTDESK_DATA_DIR)".into(),
            ],
        ),
        (
            "CA certificate missing",
            Box::new(|s| {
                s.ca_cert = Some("/nonexistent/ca.pem".into());
                s.ca_key = Some("/nonexistent/ca-key.pem".into());
            }),
            vec!["/nonexistent/ca.pem: No such file or directory (os error 2) (from REQUESTDESK_CA_CERT)".into()],
        ),
        (
            "address in use",
            Box::new(move |s| s.bind = taken_address),
            vec![format!("REQUESTDESK_BIND: {taken_address}: Address")],
        ),
    ];
    for (case, change, expected) in cases {
        let mut settings = test_settings(&database);
        change(&mut settings);
        let error = start_up_error(&settings);
        for part in expected {
            assert!(error.contains(&part), "{case}: {error:?} lacks {part:?}");
        }
    }
}

/// The database's address is named, its password is not.
#[tokio::test]
async fn an_unreachable_database_is_named_without_its_credentials() {
    let database = TestDatabase::new(Backend::Sqlite);
    let mut settings = test_settings(&database);
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    settings.database_url = Some(Secret::new(format!(
        "postgres://requestdesk:hunter2-secret@{closed}/requestdesk?password=hunter3-secret"
    )));
    settings.db_startup_timeout_secs = 0;

    let error = start_up_error(&settings);

    let expected = format!("the database postgres://{closed}/requestdesk (from DATABASE_URL)");
    assert!(error.starts_with(&expected), "{error}");
    assert!(!error.contains("secret"), "credentials leaked: {error}");
}

/// A TCP relay to the test PostgreSQL server that hangs up on the first connections, as a
/// server that is still starting does.
struct StartingServer {
    address: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl StartingServer {
    fn relay_to(target: SocketAddr, refused: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let address = listener.local_addr().expect("address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if counter.fetch_add(1, Ordering::SeqCst) >= refused
                    && let Ok(server) = TcpStream::connect(target)
                {
                    relay(client, server);
                }
            }
        });
        Self { address, accepted }
    }
}

fn relay(client: TcpStream, server: TcpStream) {
    for (mut from, mut to) in [
        (client.try_clone(), server.try_clone()),
        (server.try_clone(), client.try_clone()),
    ]
    .into_iter()
    .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
    {
        std::thread::spawn(move || {
            let _ = io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    }
}

/// `url` with its host and port replaced by `address`.
fn through(url: &str, address: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (user, rest) = rest.rsplit_once('@').map_or(("", rest), |(u, r)| (u, r));
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("{scheme}://{user}{address}{path}")
}

fn server_address(url: &str) -> SocketAddr {
    let rest = url.split_once("://").expect("a URL").1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let host_port = rest.split(['/', '?']).next().expect("a host");
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    host_port
        .to_socket_addrs()
        .expect("a resolvable host")
        .next()
        .expect("an address")
}

/// In a compose file the service may start before PostgreSQL accepts connections: it retries
/// for `REQUESTDESK_DB_STARTUP_TIMEOUT_SECS`, and without that time it fails on the first try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_waits_for_a_database_that_is_still_starting() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let database = TestDatabase::new(Backend::Postgres);
    let target = server_address(&database.url);

    let mut impatient = test_settings(&database);
    let refusing = StartingServer::relay_to(target, 1);
    impatient.database_url = Some(Secret::new(through(&database.url, refusing.address)));
    impatient.db_startup_timeout_secs = 0;
    let error = start_up_error(&impatient);
    assert!(error.contains("(from DATABASE_URL)"), "{error}");

    let mut patient = test_settings(&database);
    let starting = StartingServer::relay_to(target, 2);
    patient.database_url = Some(Secret::new(through(&database.url, starting.address)));
    let (address, clock) = start_instance(&patient).await;
    assert!(
        starting.accepted.load(Ordering::SeqCst) > 2,
        "connected after two refusals"
    );
    let app = TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        database,
    };
    let login = app.log_in("admin", ADMIN_PASSWORD).await;
    assert_eq!(login.status, 201, "{login:?}");
    assert_eq!(login.body["user"]["username"], json!("admin"));
}

fn bind_env(address: &str) -> Vec<(String, String)> {
    vec![(
        "REQUESTDESK_BIND".into(),
        address.trim_start_matches("http://").into(),
    )]
}

/// The container image's HEALTHCHECK: exit 0 while `/readyz` answers 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_succeeds_while_the_service_is_ready() {
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;

    let output = run_binary(&["healthcheck"], &bind_env(&app.address)).await;

    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_fails_when_nothing_listens() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");

    let output = run_binary(&["healthcheck"], &bind_env(&closed.to_string())).await;

    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("nothing answers on {closed} (REQUESTDESK_BIND)")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_fails_when_the_database_is_gone() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let app = crate::helpers::spawn_app(Backend::Postgres).await;
    app.database.drop_now();

    let output = run_binary(&["healthcheck"], &bind_env(&app.address)).await;

    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("/readyz on"), "{stderr}");
    assert!(stderr.contains("answered 503: not ready"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_speaks_tls_when_the_service_does() {
    let database = TestDatabase::new(Backend::Sqlite);
    let dir = tempfile::tempdir().expect("temporary directory");
    let certified = rcgen::generate_simple_self_signed(vec!["service.example.com".to_owned()])
        .expect("a self-signed certificate");
    let cert = dir.path().join("tls.pem");
    let key = dir.path().join("tls-key.pem");
    std::fs::write(&cert, certified.cert.pem()).expect("write certificate");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");
    let mut settings = test_settings(&database);
    settings.tls_cert = Some(cert.clone());
    settings.tls_key = Some(key.clone());
    let (address, _) = start_instance(&settings).await;
    let mut env = bind_env(&address);
    env.push(("REQUESTDESK_TLS_CERT".into(), cert.display().to_string()));
    env.push(("REQUESTDESK_TLS_KEY".into(), key.display().to_string()));

    let output = run_binary(&["healthcheck"], &env).await;

    assert!(output.status.success(), "{}", text(&output.stderr));
}
