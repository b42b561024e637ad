//! Generated hostile input on the whole input surface of a representative set of endpoints:
//! arbitrary unicode, NUL, lone surrogates (only JSON can spell them: `\ud800`), very long
//! strings, 10,000-deep nesting and numbers beyond i64, in every JSON field, query parameter
//! and path segment. Whatever comes in, the answer is never a 5xx, and every error is
//! problem+json, or PVWA's error body under `/PasswordVault`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::fixture::{SAFE, SafeWithRequester};
use crate::helpers::{Backend, TestApp, postgres_url, spawn_app};
use crate::load::fresh_csr;

#[test]
fn no_hostile_input_gets_a_5xx_or_an_error_outside_the_error_format_on_sqlite() {
    survive_hostile_input(Backend::Sqlite);
}

#[test]
fn no_hostile_input_gets_a_5xx_or_an_error_outside_the_error_format_on_postgres() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    survive_hostile_input(Backend::Postgres);
}

fn survive_hostile_input(backend: Backend) {
    let runtime = Runtime::new().expect("a runtime");
    let app = runtime.block_on(spawn_app(backend));
    let fixture = runtime.block_on(Fixture::set_up(&app));
    let check = |request: HostileRequest| -> Result<(), TestCaseError> {
        runtime.block_on(answer_is_well_formed(&app, &fixture, &request))
    };
    run(256, body_cases(&fixture), &check);
    run(128, query_cases(), &check);
    run(128, path_cases(), &check);
}

fn run(
    cases: u32,
    strategy: impl Strategy<Value = HostileRequest>,
    check: &impl Fn(HostileRequest) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    if let Err(failure) = TestRunner::new(config).run(&strategy, check) {
        panic!("{failure}");
    }
}

/// One request as sent: the body is raw JSON text, since a lone surrogate or a number beyond
/// any Rust type cannot go through `serde_json::Value`.
#[derive(Debug, Clone)]
struct HostileRequest {
    method: Method,
    path: String,
    body: Option<String>,
}

/// Who acts, and what exists: a safe with an account, a developer who may request in it and
/// has one waiting request, and the admin confirming at level 1.
struct Fixture {
    admin: String,
    account_id: i64,
    request_id: i64,
    csr: String,
}

impl Fixture {
    async fn set_up(app: &TestApp) -> Self {
        let safe = SafeWithRequester::set_up(app).await;
        let submitted = app
            .post(
                "/api/v3/myrequests",
                Some(&safe.developer),
                &json!({"type": "access", "account_id": safe.account_id, "reason": "Patching the database tonight", "access_type": "one_time", "operation_type": "open"}),
            )
            .await;
        assert_eq!(submitted.status, 201, "{submitted:?}");
        Self {
            admin: safe.admin,
            account_id: safe.account_id,
            request_id: submitted.body["id"].as_i64().expect("request id"),
            csr: fresh_csr("hostile.example.com"),
        }
    }

    /// Every endpoint taking a JSON body, with a valid body to start from.
    fn bodies(&self) -> Vec<(Method, String, Value)> {
        let request = self.request_id;
        let pvwa_id = format!("{SAFE}_{request}");
        vec![
            (
                Method::POST,
                "/api/v3/users".into(),
                json!({"username": "hostile", "password": "correct horse battery", "name": "H", "email": "h@example.com", "role": "developer"}),
            ),
            (
                Method::POST,
                "/api/v3/users/sessions".into(),
                json!({"username": "dev", "password": "correct horse battery"}),
            ),
            (
                Method::PATCH,
                "/api/v3/users/dev".into(),
                json!({"name": "Dev", "email": "dev@example.com", "role": "developer", "status": "active"}),
            ),
            (
                Method::PATCH,
                "/api/v3/users".into(),
                json!({"name": "Admin", "password": "another horse battery", "current_password": "wrong"}),
            ),
            (
                Method::POST,
                "/api/v3/myrequests".into(),
                json!({"type": "certificate", "csr": self.csr, "reason": "TLS for the build server", "validity_days": 30}),
            ),
            (
                Method::POST,
                "/api/v3/myrequests".into(),
                json!({"type": "access", "account_id": self.account_id, "reason": "Patching the database tonight", "access_type": "multiple", "access_from": "2030-01-01T00:00:00Z", "access_to": "2030-01-01T04:00:00Z", "operation_type": "open", "ticketing_system": {"name": "ServiceNow", "number": "INC0012345"}, "additional_info": {"reference_no": "R1", "emergency": false}}),
            ),
            (
                Method::POST,
                format!("/api/v3/incoming-requests/{request}/reject"),
                json!({"reason": "Not tonight"}),
            ),
            (
                Method::POST,
                format!("/api/v3/incoming-requests/{request}/confirm"),
                json!({"reason": "Fine"}),
            ),
            (
                Method::POST,
                "/api/v3/certificates".into(),
                json!({"pem": "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n"}),
            ),
            (
                Method::POST,
                "/api/v3/certificates/1/revoke".into(),
                json!({"reason": "superseded"}),
            ),
            (
                Method::POST,
                "/api/v3/safes".into(),
                json!({"name": "Other", "description": "d", "level1_confirmations": 1, "level2_confirmations": 0, "request_expiry_hours": 72, "max_access_hours": 8, "ticket_required": false}),
            ),
            (
                Method::PATCH,
                format!("/api/v3/safes/{SAFE}"),
                json!({"description": "d", "max_access_hours": 8}),
            ),
            (
                Method::POST,
                format!("/api/v3/safes/{SAFE}/accounts"),
                json!({"name": "web01", "folder": "Root", "address": "web01.example.com", "user_name": "root"}),
            ),
            (
                Method::PUT,
                format!("/api/v3/safes/{SAFE}/members/dev"),
                json!({"can_request": true, "confirm_level": null}),
            ),
            (
                Method::POST,
                "/PasswordVault/API/auth/Cyberark/Logon".into(),
                json!({"username": "dev", "password": "correct horse battery", "concurrentSession": true}),
            ),
            (
                Method::POST,
                "/PasswordVault/API/MyRequests".into(),
                json!({"AccountId": self.account_id.to_string(), "Reason": "Patching the database tonight", "TicketingSystemName": "ServiceNow", "TicketId": "INC1", "MultipleAccessRequired": true, "FromDate": 1_893_456_000, "ToDate": 1_893_470_400, "AdditionalInfo": {"Reference No": "R1", "EmergencyIndication": false}, "OperationType": 7}),
            ),
            (
                Method::POST,
                format!("/PasswordVault/API/IncomingRequests/{pvwa_id}/Reject"),
                json!({"Reason": "Not tonight"}),
            ),
        ]
    }
}

async fn answer_is_well_formed(
    app: &TestApp,
    fixture: &Fixture,
    request: &HostileRequest,
) -> Result<(), TestCaseError> {
    let mut builder = app.request(request.method.clone(), &request.path, Some(&fixture.admin));
    if let Some(body) = &request.body {
        builder = builder
            .header("content-type", "application/json")
            .body(body.clone());
    }
    let reply = app.send(builder).await;
    prop_assert!(reply.status < 500, "{request:?} got {reply:?}");
    if reply.status < 400 {
        return Ok(());
    }
    if request
        .path
        .to_ascii_lowercase()
        .starts_with("/passwordvault")
    {
        prop_assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "{:?}: {:?}",
            request,
            reply
        );
        let code = reply.body["ErrorCode"].as_str().unwrap_or_default();
        prop_assert!(
            code.starts_with("RQDWS") && reply.body["ErrorMessage"].is_string(),
            "{request:?}: {reply:?}"
        );
    } else {
        prop_assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{:?}: {:?}",
            request,
            reply
        );
        prop_assert!(
            reply.body["code"].is_string() && reply.body["status"] == reply.status,
            "{request:?}: {reply:?}"
        );
    }
    Ok(())
}

// ---- what a hostile client sends ----

/// Text, as a Rust string: arbitrary unicode, with NUL, or very long.
fn hostile_text(longest: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        (any::<String>(), any::<String>()).prop_map(|(a, b)| format!("{a}\0{b}")),
        (1..=longest).prop_map(|n| "é".repeat(n)),
        Just(String::new()),
        Just("99999999999999999999999".to_owned()),
        Just("-9223372036854775809".to_owned()),
    ]
}

/// A JSON value, as raw text: any hostile text as a string, a lone surrogate, deep nesting,
/// numbers beyond i64 and f64, and every other kind of value.
fn hostile_json() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => hostile_text(40_000).prop_map(|text| Value::String(text).to_string()),
        1 => any::<String>().prop_map(|text| with_lone_surrogate(&text)),
        1 => Just(r#""\udc00\ud800 and \u0000""#.to_owned()),
        1 => Just(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))),
        1 => Just(format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000))),
        1 => Just("x".repeat(70_000)).prop_map(|text| Value::String(text).to_string()),
        1 => prop::sample::select(vec!["99999999999999999999999", "-9223372036854775809", "9223372036854775808", "1e400", "-1e400", "-0", "0.5", "1E2", "null", "true", "false", "[]", "{}", "[1,2]", "{\"a\":\"\\u0000\"}"]).prop_map(str::to_owned),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ]
}

/// `text` as a JSON string with a lone leading surrogate after it.
fn with_lone_surrogate(text: &str) -> String {
    let quoted = Value::String(text.to_owned()).to_string();
    format!("{}\\ud800\"", &quoted[..quoted.len() - 1])
}

fn body_cases(fixture: &Fixture) -> impl Strategy<Value = HostileRequest> {
    let templates = fixture.bodies();
    (
        0..templates.len(),
        any::<prop::sample::Index>(),
        hostile_json(),
    )
        .prop_map(move |(which, slot, value)| {
            let (method, path, body) = &templates[which];
            let slots = slots(body);
            let slot = &slots[slot.index(slots.len())];
            HostileRequest {
                method: method.clone(),
                path: path.clone(),
                body: Some(with_value_at(body, slot, &value)),
            }
        })
}

/// Every place a value sits in `body`, as a list of keys from the root (the root itself too).
fn slots(body: &Value) -> Vec<Vec<String>> {
    let mut found = vec![Vec::new()];
    if let Value::Object(fields) = body {
        for (key, value) in fields {
            for mut inner in slots(value) {
                inner.insert(0, key.clone());
                found.push(inner);
            }
        }
    }
    found
}

/// `body` as JSON text with `raw` in place of the value at `slot`.
fn with_value_at(body: &Value, slot: &[String], raw: &str) -> String {
    const MARKER: &str = "\u{1}hostile\u{1}";
    let mut body = body.clone();
    let mut place = &mut body;
    for key in slot {
        place = &mut place[key.as_str()];
    }
    *place = Value::String(MARKER.to_owned());
    body.to_string()
        .replace(&Value::String(MARKER.to_owned()).to_string(), raw)
}

/// A query parameter's value, percent-encoded, or malformed encodings as they are.
fn hostile_query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => hostile_text(300).prop_map(|text| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()),
        1 => prop::sample::select(vec!["%00", "a%00b", "%FF%FE", "%", "%zz", "%C0%80", "+", "", "-1", "0", "99999999999999999999"]).prop_map(str::to_owned),
        1 => (1..8_000usize).prop_map(|words| "a+".repeat(words)),
        1 => (1..60_000usize).prop_map(|length| "a".repeat(length)),
    ]
}

fn query_cases() -> impl Strategy<Value = HostileRequest> {
    const QUERIES: &[(&str, &[&str])] = &[
        (
            "/api/v3/users",
            &["page", "per_page", "role", "status", "q"],
        ),
        (
            "/api/v3/myrequests",
            &[
                "status",
                "type",
                "requests_page",
                "certificates_page",
                "per_page",
            ],
        ),
        (
            "/api/v3/incoming-requests",
            &["page", "per_page", "status", "type"],
        ),
        ("/api/v3/requests", &["page", "per_page", "status", "type"]),
        (
            "/api/v3/certificates",
            &["status", "expires_within_days", "owner", "page", "per_page"],
        ),
        ("/api/v3/certificates/1/pem", &["format"]),
        ("/api/v3/safes", &["page", "per_page"]),
        ("/api/v3/safes/Sec25/accounts", &["page", "per_page"]),
        (
            "/PasswordVault/API/MyRequests",
            &["onlywaiting", "expired", "OnlyWaiting"],
        ),
        (
            "/PasswordVault/API/IncomingRequests",
            &["onlywaiting", "expired"],
        ),
        (
            "/PasswordVault/API/Accounts",
            &["search", "searchType", "filter", "offset", "limit", "sort"],
        ),
        ("/PasswordVault/API/Safes", &["search", "offset", "limit"]),
        (
            "/PasswordVault/API/Safes/Sec25/Members",
            &["search", "filter", "offset", "limit"],
        ),
    ];
    (
        0..QUERIES.len(),
        any::<prop::sample::Index>(),
        hostile_query_value(),
    )
        .prop_map(|(which, name, value)| {
            let (path, names) = QUERIES[which];
            let name = names[name.index(names.len())];
            HostileRequest {
                method: Method::GET,
                path: format!("{path}?{name}={value}"),
                body: None,
            }
        })
}

/// A path segment: hostile text with every byte but the unreserved ones percent-encoded, or
/// malformed encodings as they are.
fn hostile_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => hostile_text(300).prop_map(|text| text.bytes().map(|byte| if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) { char::from(byte).to_string() } else { format!("%{byte:02X}") }).collect::<String>()),
        1 => prop::sample::select(vec!["%00", "Sec25%00", "Se%00c25", "ali%00ce", "Sec25_1%00", "%FF", "%zz", "%C0%80", "99999999999999999999", "-1", "0", "Sec25_99999999999999999999"]).prop_map(str::to_owned),
    ]
}

fn path_cases() -> impl Strategy<Value = HostileRequest> {
    const PATHS: &[(&str, &str)] = &[
        ("GET", "/api/v3/users/{}"),
        ("GET", "/api/v3/myrequests/{}"),
        ("POST", "/api/v3/myrequests/{}/cancel"),
        ("GET", "/api/v3/incoming-requests/{}"),
        ("GET", "/api/v3/certificates/{}"),
        ("GET", "/api/v3/certificates/{}/pem"),
        ("GET", "/api/v3/safes/{}"),
        ("GET", "/api/v3/safes/{}/accounts"),
        ("GET", "/api/v3/safes/Sec25/accounts/{}"),
        ("GET", "/api/v3/safes/{}/members"),
        ("GET", "/PasswordVault/API/MyRequests/{}"),
        ("GET", "/PasswordVault/API/IncomingRequests/{}"),
        ("POST", "/PasswordVault/API/IncomingRequests/{}/Confirm"),
        ("DELETE", "/PasswordVault/API/MyRequests/{}"),
    ];
    (0..PATHS.len(), hostile_segment()).prop_map(|(which, segment)| {
        let (method, path) = PATHS[which];
        HostileRequest {
            method: method.parse().expect("a method"),
            path: path.replace("{}", &segment),
            body: None,
        }
    })
}
