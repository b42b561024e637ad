//! Account secrets: administrators set and replace them; the stored row is ciphertext only; no
//! answer ever shows a secret; a rotation keeps every one readable; PostgreSQL refuses to start
//! without a master key.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use requestdesk::config::Secret;
use requestdesk::db::account_secrets::{self, SecretRow};
use requestdesk::db::{self, DbPool, PoolOptions};
use requestdesk::secrets::{KeyRing, MasterKey};
use requestdesk::service::secrets::{open_secret, rotate};
use requestdesk::startup::{Application, secrets_store};
use serde_json::{Value, json};

use crate::helpers::safes::{create_account, create_safe, put_member};
use crate::helpers::{
    Backend, SECRETS_KEY, TestApp, TestDatabase, postgres_url, start_instance, test_settings,
};
use crate::on_both_backends;

on_both_backends!(
    an_administrator_sets_and_replaces_a_secret_stored_as_ciphertext_only,
    only_administrators_set_secrets,
    an_unknown_or_deleted_account_is_404_and_its_secret_is_erased,
    an_empty_oversized_or_mistyped_secret_is_400_naming_the_field,
    no_answer_shows_the_secret,
    a_rotation_rewraps_every_secret_and_keeps_it_readable,
    concurrent_writes_of_one_secret_leave_one_whole_row,
    a_rotation_leaves_a_secret_replaced_since_it_was_read,
    an_account_created_with_a_secret_stores_both_or_neither,
    the_rotate_command_rewraps_while_the_service_serves_and_says_what_next,
);

const PLAINTEXT: &str = "Tr0ub4dor&3-the-root-password";

fn secret_path(safe: &str, id: i64) -> String {
    format!("/api/v3/safes/{safe}/accounts/{id}/secret")
}

/// A safe `Linux` with an account; the admin's token and the account id.
async fn an_account(app: &TestApp) -> (String, i64) {
    let admin = app.admin_token().await;
    create_safe(app, &admin, json!({"name": "Linux"})).await;
    let id = create_account(app, &admin, "Linux", "root-db01").await;
    (admin, id)
}

fn pool(app: &TestApp) -> DbPool {
    db::connect(
        &app.database.url,
        PoolOptions {
            max_size: 2,
            connection_timeout: Duration::from_secs(5),
            database_timeout: Duration::from_secs(5),
        },
    )
    .expect("the test database")
}

fn stored(pool: &DbPool, account_id: i64) -> Option<SecretRow> {
    let mut conn = pool.get().expect("a connection");
    account_secrets::find(&mut conn, account_id).expect("the query")
}

fn ring(key: &str) -> KeyRing {
    KeyRing::new(MasterKey::parse(key).expect("a key"), [])
}

fn opened(pool: &DbPool, ring: &KeyRing, account_id: i64) -> Option<String> {
    let mut conn = pool.get().expect("a connection");
    open_secret(ring, &mut conn, account_id)
        .expect("the secret opens")
        .map(|secret| secret.expose().to_owned())
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn an_administrator_sets_and_replaces_a_secret_stored_as_ciphertext_only(app: TestApp) {
    let (admin, id) = an_account(&app).await;
    let reply = app
        .put(
            &secret_path("Linux", id),
            Some(&admin),
            &json!({"secret": PLAINTEXT}),
        )
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(reply.body, Value::Null);

    let pool = pool(&app);
    let row = stored(&pool, id).expect("a stored row");
    for (column, bytes) in [
        ("ciphertext", &row.ciphertext),
        ("wrapped_key", &row.wrapped_key),
        ("key_nonce", &row.key_nonce),
        ("secret_nonce", &row.secret_nonce),
    ] {
        assert!(!contains(bytes, PLAINTEXT), "{column} holds the plaintext");
        assert!(!contains(bytes, "Tr0ub4dor"), "{column} holds part of it");
    }
    assert_eq!(row.secret_type, "password");
    let ring = ring(SECRETS_KEY);
    assert_eq!(row.key_id, ring.current().id().as_str());
    assert_eq!(opened(&pool, &ring, id).as_deref(), Some(PLAINTEXT));

    // The safe's name is matched without regard to case, as everywhere else.
    let replaced = app
        .put(
            &secret_path("linux", id),
            Some(&admin),
            &json!({"secret": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", "secret_type": "key"}),
        )
        .await;
    assert_eq!(replaced.status, 204, "{replaced:?}");
    let row = stored(&pool, id).expect("a stored row");
    assert_eq!(row.secret_type, "key");
    assert_eq!(
        opened(&pool, &ring, id).as_deref(),
        Some("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n")
    );
    let mut conn = pool.get().expect("a connection");
    assert_eq!(
        account_secrets::count_by_key(&mut conn).expect("the query"),
        vec![(ring.current().id().to_string(), 1)],
        "one row per account: replacing overwrites it"
    );
}

async fn only_administrators_set_secrets(app: TestApp) {
    let (admin, id) = an_account(&app).await;
    let approver = app.user_with_role("alice", "approver").await;
    let developer = app.developer("bob").await;
    put_member(&app, &admin, "Linux", "bob", true, None).await;
    for (who, token) in [
        ("an approver", &approver),
        ("a member developer", &developer),
    ] {
        let reply = app
            .put(
                &secret_path("Linux", id),
                Some(token),
                &json!({"secret": PLAINTEXT}),
            )
            .await;
        assert_eq!(reply.status, 403, "{who}: {reply:?}");
        assert_eq!(reply.problem_code(), "forbidden", "{who}");
    }
    let anonymous = app
        .put(
            &secret_path("Linux", id),
            None,
            &json!({"secret": PLAINTEXT}),
        )
        .await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert!(stored(&pool(&app), id).is_none(), "nothing was stored");
}

async fn an_unknown_or_deleted_account_is_404_and_its_secret_is_erased(app: TestApp) {
    let (admin, id) = an_account(&app).await;
    create_safe(&app, &admin, json!({"name": "Windows"})).await;
    let deleted = create_account(&app, &admin, "Linux", "gone").await;
    let reply = app
        .put(
            &secret_path("Linux", deleted),
            Some(&admin),
            &json!({"secret": PLAINTEXT}),
        )
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(stored(&pool(&app), deleted).is_some());
    let reply = app
        .delete(
            &format!("/api/v3/safes/Linux/accounts/{deleted}"),
            Some(&admin),
        )
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    for (case, path) in [
        ("unknown safe", secret_path("Nowhere", id)),
        ("unknown account", secret_path("Linux", id + 100)),
        ("account of another safe", secret_path("Windows", id)),
        ("deleted account", secret_path("Linux", deleted)),
    ] {
        let reply = app
            .put(&path, Some(&admin), &json!({"secret": PLAINTEXT}))
            .await;
        assert_eq!(reply.status, 404, "{case}: {reply:?}");
        assert_eq!(reply.problem_code(), "not_found", "{case}");
    }
    let pool = pool(&app);
    assert!(stored(&pool, id).is_none());
    assert!(
        stored(&pool, deleted).is_none(),
        "a deleted account's secret is erased with it"
    );
}

async fn an_empty_oversized_or_mistyped_secret_is_400_naming_the_field(app: TestApp) {
    let (admin, id) = an_account(&app).await;
    let cases = [
        ("empty", json!({"secret": ""}), "secret"),
        (
            "over 8 KiB",
            json!({"secret": "x".repeat(8 * 1024 + 1)}),
            "secret",
        ),
        ("with NUL", json!({"secret": "a\u{0}b"}), "secret"),
        ("missing", json!({"secret_type": "password"}), "secret"),
        ("not a string", json!({"secret": 12345}), "secret"),
        (
            "unknown type",
            json!({"secret": PLAINTEXT, "secret_type": "token"}),
            "secret_type",
        ),
        (
            "unknown field",
            json!({"secret": PLAINTEXT, "password": "x"}),
            "password",
        ),
    ];
    for (case, body, field) in cases {
        let reply = app
            .put(&secret_path("Linux", id), Some(&admin), &body)
            .await;
        assert_eq!(reply.status, 400, "{case}: {reply:?}");
        assert!(
            reply.error_fields().iter().any(|f| f == field),
            "{case}: names {field}: {reply:?}"
        );
        assert!(
            !reply.body.to_string().contains(PLAINTEXT),
            "{case}: the error echoes the secret: {reply:?}"
        );
    }
    assert!(stored(&pool(&app), id).is_none());
    let largest = app
        .put(
            &secret_path("Linux", id),
            Some(&admin),
            &json!({"secret": "x".repeat(8 * 1024)}),
        )
        .await;
    assert_eq!(largest.status, 204, "exactly 8 KiB is allowed: {largest:?}");
}

async fn no_answer_shows_the_secret(app: TestApp) {
    let (admin, id) = an_account(&app).await;
    let reply = app
        .put(
            &secret_path("Linux", id),
            Some(&admin),
            &json!({"secret": PLAINTEXT}),
        )
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    for path in [
        format!("/api/v3/safes/Linux/accounts/{id}"),
        "/api/v3/safes/Linux/accounts".to_owned(),
        "/api/v3/safes/Linux".to_owned(),
        "/passwordvault/api/myrequests".to_owned(),
    ] {
        let reply = app.get(&path, Some(&admin)).await;
        let shown = reply.body.to_string();
        assert!(
            !shown.contains(PLAINTEXT),
            "GET {path} shows the secret: {shown}"
        );
        assert!(!shown.contains("\"secret\""), "GET {path}: {shown}");
    }
    let account = app
        .get(&format!("/api/v3/safes/Linux/accounts/{id}"), Some(&admin))
        .await;
    assert_eq!(account.status, 200, "{account:?}");
    let doc = app.get("/api/v3/openapi.json", None).await.body;
    assert_eq!(
        doc["components"]["schemas"]["PutSecret"]["properties"]["secret"]["writeOnly"], true,
        "the document marks the secret write-only"
    );
}

async fn a_rotation_rewraps_every_secret_and_keeps_it_readable(app: TestApp) {
    let (admin, first) = an_account(&app).await;
    let mut ids = vec![first];
    for name in ["root-db02", "root-db03"] {
        ids.push(create_account(&app, &admin, "Linux", name).await);
    }
    for id in &ids {
        let reply = app
            .put(
                &secret_path("Linux", *id),
                Some(&admin),
                &json!({"secret": format!("{PLAINTEXT}-{id}")}),
            )
            .await;
        assert_eq!(reply.status, 204, "{reply:?}");
    }
    let pool = pool(&app);
    let old = ring(SECRETS_KEY);
    let (new_key, _) = MasterKey::generate().expect("a key");
    let before: Vec<_> = ids.iter().map(|id| stored(&pool, *id)).collect();

    // A batch of one: three transactions, each conditional on the row read.
    let rotation =
        rotate(&mut pool.get().expect("a connection"), &old, &new_key, 1).expect("the rotation");
    assert_eq!(rotation.rewrapped, 3, "{rotation:?}");
    assert_eq!(rotation.remaining, 0, "{rotation:?}");
    assert!(rotation.failed.is_empty(), "{rotation:?}");

    let new = KeyRing::new(new_key.clone(), []);
    for (id, before) in ids.iter().zip(before) {
        let before = before.expect("a row");
        let after = stored(&pool, *id).expect("a row");
        assert_eq!(after.key_id, new_key.id().as_str());
        assert_eq!(
            after.ciphertext, before.ciphertext,
            "only the data key is re-wrapped"
        );
        assert_ne!(after.wrapped_key, before.wrapped_key);
        assert_eq!(
            opened(&pool, &new, *id),
            Some(format!("{PLAINTEXT}-{id}")),
            "readable under the new key alone"
        );
        let mut conn = pool.get().expect("a connection");
        let error = open_secret(&old, &mut conn, *id).expect_err("the old key alone");
        assert!(error.to_string().contains(new_key.id().as_str()), "{error}");
    }
    let again = rotate(&mut pool.get().expect("a connection"), &old, &new_key, 10)
        .expect("a second rotation");
    assert_eq!(
        (again.rewrapped, again.remaining),
        (0, 0),
        "nothing left to do"
    );

    // A ring without the key the rows are under fails them by name and leaves them.
    let (third, _) = MasterKey::generate().expect("a key");
    let refused = rotate(&mut pool.get().expect("a connection"), &old, &third, 10)
        .expect("the rotation runs");
    assert_eq!(refused.rewrapped, 0);
    assert_eq!(refused.failed.len(), 3, "{refused:?}");
    assert_eq!(refused.remaining, 3);
    assert!(
        refused.failed[0].1.contains(new_key.id().as_str()),
        "{refused:?}"
    );
}

/// PostgreSQL needs the master key: instances sharing the database must share it.
#[tokio::test]
async fn start_up_on_postgresql_without_a_secrets_key_fails_naming_the_setting() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let database = TestDatabase::new(Backend::Postgres);
    let mut settings = test_settings(&database);
    settings.secrets_key = None;
    let error = match Application::build(&settings) {
        Ok(_) => panic!("the service started without a secrets key on PostgreSQL"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.starts_with("REQUESTDESK_SECRETS_KEY: required on PostgreSQL"),
        "{error}"
    );
    settings.secrets_key = Some(Secret::new("not-a-key"));
    let error = Application::build(&settings)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.starts_with("REQUESTDESK_SECRETS_KEY: a secrets key must be 64 hexadecimal digits"),
        "{error}"
    );
    assert!(
        !error.contains("not-a-key"),
        "the error shows the value: {error}"
    );
}

/// On the embedded database the key is generated once into the data directory, mode 0600, and
/// read back on the next start; the service seals with it.
#[tokio::test]
async fn on_sqlite_a_generated_key_is_kept_in_the_data_directory() {
    let database = TestDatabase::new(Backend::Sqlite);
    let path = database
        .data_dir()
        .join(requestdesk::secrets::SECRETS_KEY_FILE);
    let mut settings = test_settings(&database);
    settings.secrets_key = None;
    let (address, clock) = start_instance(&settings).await;
    let mode = std::fs::metadata(&path)
        .expect("the key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{path:?}");
    let key = std::fs::read_to_string(&path).expect("the key file");
    let (_, again) = secrets_store(&settings).expect("a second start reads the key");
    assert_eq!(
        again.current().id(),
        ring(&key).current().id(),
        "the key is kept"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("the key file"), key);

    let app = TestApp {
        address,
        client: reqwest::Client::new(),
        clock,
        database,
    };
    let (admin, id) = an_account(&app).await;
    let reply = app
        .put(
            &secret_path("Linux", id),
            Some(&admin),
            &json!({"secret": PLAINTEXT}),
        )
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    let pool = pool(&app);
    assert_eq!(opened(&pool, &ring(&key), id).as_deref(), Some(PLAINTEXT));
}

async fn concurrent_writes_of_one_secret_leave_one_whole_row(app: TestApp) {
    let (admin, id) = an_account(&app).await;
    let path = secret_path("Linux", id);
    let writes = (0..8).map(|n| {
        let (app, path, admin) = (&app, &path, &admin);
        async move {
            let body = json!({"secret": format!("{PLAINTEXT}-{n}")});
            app.put(path, Some(admin), &body).await
        }
    });
    for reply in futures_util::future::join_all(writes).await {
        assert_eq!(reply.status, 204, "{reply:?}");
    }
    let pool = pool(&app);
    let secret = opened(&pool, &ring(SECRETS_KEY), id).expect("a secret");
    assert!(
        (0..8).any(|n| secret == format!("{PLAINTEXT}-{n}")),
        "one of the writes, whole: {secret}"
    );
    let mut conn = pool.get().expect("a connection");
    let counts = account_secrets::count_by_key(&mut conn).expect("the query");
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 1, "{counts:?}");
}

async fn a_rotation_leaves_a_secret_replaced_since_it_was_read(app: TestApp) {
    let (admin, id) = an_account(&app).await;
    let path = secret_path("Linux", id);
    let reply = app
        .put(&path, Some(&admin), &json!({"secret": PLAINTEXT}))
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    let pool = pool(&app);
    let read = stored(&pool, id).expect("a row");
    let reply = app
        .put(&path, Some(&admin), &json!({"secret": "replaced"}))
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");

    // The rotation's update of the row it read finds it changed, and writes nothing.
    let stale = SecretRow {
        key_id: "0000000000000000".to_owned(),
        ..read.clone()
    };
    let mut conn = pool.get().expect("a connection");
    assert!(!account_secrets::rewrap(&mut conn, &read, &stale).expect("the update"));
    drop(conn);
    assert_eq!(
        opened(&pool, &ring(SECRETS_KEY), id).as_deref(),
        Some("replaced"),
        "the writer's secret stands"
    );
}

async fn an_account_created_with_a_secret_stores_both_or_neither(app: TestApp) {
    let admin = app.admin_token().await;
    create_safe(&app, &admin, json!({"name": "Linux"})).await;
    let account =
        |name: &str| json!({"name": name, "address": "db01.example.com", "user_name": "root"});
    let mut body = account("with-secret");
    body["secret"] = json!(PLAINTEXT);
    body["secret_type"] = json!("key");
    let created = app
        .post("/api/v3/safes/Linux/accounts", Some(&admin), &body)
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert!(!created.body.to_string().contains(PLAINTEXT), "{created:?}");
    let id = created.body["id"].as_i64().expect("account id");
    let pool = pool(&app);
    assert_eq!(stored(&pool, id).expect("a row").secret_type, "key");
    assert_eq!(
        opened(&pool, &ring(SECRETS_KEY), id).as_deref(),
        Some(PLAINTEXT)
    );

    for (case, extra, field) in [
        ("empty secret", json!({"secret": ""}), "secret"),
        (
            "type without a secret",
            json!({"secret_type": "password"}),
            "secret_type",
        ),
        (
            "unknown type",
            json!({"secret": PLAINTEXT, "secret_type": "pin"}),
            "secret_type",
        ),
    ] {
        let mut body = account("refused");
        for (key, value) in extra.as_object().expect("an object") {
            body[key] = value.clone();
        }
        let reply = app
            .post("/api/v3/safes/Linux/accounts", Some(&admin), &body)
            .await;
        assert_eq!(reply.status, 400, "{case}: {reply:?}");
        assert!(
            reply.error_fields().iter().any(|f| f == field),
            "{case}: {reply:?}"
        );
    }
    let list = app.get("/api/v3/safes/Linux/accounts", Some(&admin)).await;
    assert_eq!(
        list.body["total"], 1,
        "no account was created by a refused body: {list:?}"
    );
    let plain = app
        .post(
            "/api/v3/safes/Linux/accounts",
            Some(&admin),
            &account("no-secret"),
        )
        .await;
    assert_eq!(plain.status, 201, "the secret stays optional: {plain:?}");
    let plain_id = plain.body["id"].as_i64().expect("account id");
    assert!(stored(&pool, plain_id).is_none());
}

/// Runs the binary's `rotate-secrets-key` on the test database, with only these variables.
async fn rotate_command(app: &TestApp, env: &[(&str, &str)]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_requestdesk"))
        .arg("rotate-secrets-key")
        .env_clear()
        .env("DATABASE_URL", &app.database.url)
        .env("REQUESTDESK_DATA_DIR", app.database.data_dir())
        .env("REQUESTDESK_LOG_LEVEL", "warn")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("the binary runs")
}

async fn the_rotate_command_rewraps_while_the_service_serves_and_says_what_next(app: TestApp) {
    let (admin, first) = an_account(&app).await;
    let second = create_account(&app, &admin, "Linux", "root-db02").await;
    for id in [first, second] {
        let reply = app
            .put(
                &secret_path("Linux", id),
                Some(&admin),
                &json!({"secret": PLAINTEXT}),
            )
            .await;
        assert_eq!(reply.status, 204, "{reply:?}");
    }
    let (new_key, new_text) = MasterKey::generate().expect("a key");
    let output = rotate_command(
        &app,
        &[
            ("REQUESTDESK_SECRETS_KEY", SECRETS_KEY),
            ("REQUESTDESK_NEW_SECRETS_KEY", new_text.as_str()),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains(&format!(
            "re-wrapped 2 data key(s) under master key {}",
            new_key.id()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("next: set REQUESTDESK_SECRETS_KEY"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(new_text.as_str()) && !stdout.contains(SECRETS_KEY),
        "{stdout}"
    );
    let pool = pool(&app);
    let new = KeyRing::new(new_key.clone(), []);
    for id in [first, second] {
        assert_eq!(opened(&pool, &new, id).as_deref(), Some(PLAINTEXT));
    }
    // The service kept serving: it still writes, under its own current key.
    let reply = app
        .put(
            &secret_path("Linux", first),
            Some(&admin),
            &json!({"secret": "after"}),
        )
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");

    // Now the old key alone cannot open the other row: the command fails, naming it.
    let (other, other_text) = MasterKey::generate().expect("a key");
    let output = rotate_command(
        &app,
        &[
            ("REQUESTDESK_SECRETS_KEY", SECRETS_KEY),
            ("REQUESTDESK_NEW_SECRETS_KEY", other_text.as_str()),
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        stderr.contains(&format!(
            "account {second}: the data key is wrapped by master key {}",
            new_key.id()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("not under master key {}", other.id())),
        "{stderr}"
    );

    // It did re-wrap the row it could open (the one written after the first run) under `other`.
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("re-wrapped 1 data key(s)"),
        "{output:?}"
    );

    // Finishing the switch: the new key current, the two others in the old keys.
    let old_keys = format!("{SECRETS_KEY},{}", other_text.as_str());
    let output = rotate_command(
        &app,
        &[
            ("REQUESTDESK_SECRETS_KEY", new_text.as_str()),
            ("REQUESTDESK_SECRETS_OLD_KEYS", &old_keys),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout.contains("re-wrapped 1 data key(s)"),
        "the row written after: {stdout}"
    );
    assert!(
        stdout.contains("REQUESTDESK_SECRETS_OLD_KEYS may now be emptied"),
        "{stdout}"
    );
    assert_eq!(opened(&pool, &new, first).as_deref(), Some("after"));
}
