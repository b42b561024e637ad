//! Retrieval is what dual control guards: the native `use` hands the account's secret to the
//! requester of an approved access whose window covers now and whose operation type allows it,
//! and PVWA's `Accounts/{id}/Password/Retrieve` does the same as psPAS reads it. Each refusal
//! has its code; a one-time request gives its secret once, also to 8 concurrent retrievals; each
//! use is an event with the client's address and sets the account's last-used date.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::pvwa::{logon, pvwa, pvwa_error};
use crate::helpers::safes::{create_account, create_safe, put_member};
use crate::helpers::{PASSWORD, Reply, TestApp};
use crate::on_both_backends;

on_both_backends!(
    use_returns_the_secret_to_the_requester_and_records_where_from,
    another_users_request_is_not_found_and_shows_no_secret,
    each_reason_a_use_is_refused_has_its_code,
    a_connect_only_request_is_used_without_the_secret_and_pvwa_refuses_it,
    an_account_without_a_secret_is_used_without_one_and_pvwa_refuses_it,
    concurrent_retrievals_of_a_one_time_request_give_the_secret_once,
    pvwa_retrieve_answers_the_password_as_a_json_string_pspas_decodes,
    pvwa_retrieve_names_the_account_and_uses_the_newest_usable_request,
    pvwa_refusals_are_pvwa_error_bodies_with_a_code_for_each_reason,
    pvwa_retrieve_finds_an_approved_request_behind_many_newer_ended_ones,
);

const SECRET: &str = "Tr0ub4dor&3 \"quoted\" \\ é";

/// A safe `Vault` (id 1: the first of a fresh database) with the account `root-db01` holding
/// [`SECRET`], a requester `req` who may request, and `lead`, who confirms at level 1.
struct Setup {
    admin: String,
    requester: String,
    lead: String,
    account: i64,
}

async fn setup(app: &TestApp) -> Setup {
    let admin = app.admin_token().await;
    let requester = app.developer("req").await;
    let lead = app.developer("lead").await;
    create_safe(
        app,
        &admin,
        json!({"name": "Vault", "level1_confirmations": 1, "max_access_hours": 8}),
    )
    .await;
    let account = create_account(app, &admin, "Vault", "root-db01").await;
    let reply = app
        .put(
            &format!("/api/v3/safes/Vault/accounts/{account}/secret"),
            Some(&admin),
            &json!({"secret": SECRET}),
        )
        .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    put_member(app, &admin, "Vault", "req", true, None).await;
    put_member(app, &admin, "Vault", "lead", false, Some(1)).await;
    Setup {
        admin,
        requester,
        lead,
        account,
    }
}

/// An access request body; `window` in minutes from the service's now.
fn access(
    app: &TestApp,
    account: i64,
    access_type: &str,
    operation: &str,
    window: Option<(i64, i64)>,
) -> Value {
    let mut body = json!({
        "type": "access",
        "account_id": account,
        "reason": "Patching the database server tonight",
        "access_type": access_type,
        "operation_type": operation,
    });
    if let Some((from, to)) = window {
        let base = app.clock.now();
        body["access_from"] = json!((base + Duration::minutes(from)).to_rfc3339());
        body["access_to"] = json!((base + Duration::minutes(to)).to_rfc3339());
    }
    body
}

/// Submits `body` as the requester and has `lead` approve it: the request's id.
async fn approved(app: &TestApp, s: &Setup, body: &Value) -> i64 {
    let id = app.submitted(&s.requester, body).await;
    let reply = app.confirm(&s.lead, id).await;
    assert_eq!(reply.body["status"], "approved", "{reply:?}");
    id
}

fn retrieve_path(id: &str) -> String {
    format!("/PasswordVault/API/Accounts/{id}/Password/Retrieve")
}

/// `POST .../Password/Retrieve` as psPAS sends it: its bound parameters, pretty-printed.
async fn retrieve(app: &TestApp, token: &str, id: &str, body: Value) -> Reply {
    pvwa(
        app,
        Method::POST,
        &retrieve_path(id),
        Some(token),
        Some(body),
    )
    .await
}

/// The `used` events of a request's detail.
fn used_events(detail: &Value) -> Vec<Value> {
    detail["events"]
        .as_array()
        .unwrap_or_else(|| panic!("events: {detail}"))
        .iter()
        .filter(|e| e["event"] == "used")
        .cloned()
        .collect()
}

async fn use_returns_the_secret_to_the_requester_and_records_where_from(app: TestApp) {
    let s = setup(&app).await;
    let id = approved(
        &app,
        &s,
        &access(&app, s.account, "one_time", "get_password", None),
    )
    .await;
    let reply = app.use_request(&s.requester, id).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["secret"], SECRET, "{reply:?}");
    assert_eq!(reply.body["secret_type"], "password");
    assert_eq!(reply.body["address"], "root-db01.example.com");
    assert_eq!(reply.body["user_name"], "root");
    assert_eq!(reply.body["operation_type"], "get_password");
    assert_eq!(reply.body["spent"], true);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.header("content-type"), Some("application/json"));

    let detail = app.request_detail(&s.requester, id).await;
    let used = used_events(&detail);
    assert_eq!(used.len(), 1, "{detail}");
    assert_eq!(used[0]["actor"], "req", "{detail}");
    assert_eq!(used[0]["address"], "127.0.0.1", "{detail}");
    assert_eq!(used[0]["detail"], "secret retrieved", "{detail}");
    assert!(used[0]["at"].is_string(), "{detail}");
    assert!(
        !detail.to_string().contains("Tr0ub4dor"),
        "the detail shows no secret: {detail}"
    );
    let submitted = &detail["events"][0];
    assert!(
        submitted.get("address").is_none(),
        "entries that record no address have none: {detail}"
    );
    let account = app
        .get(
            &format!("/api/v3/safes/Vault/accounts/{}", s.account),
            Some(&s.admin),
        )
        .await;
    assert!(
        account.body["last_used_at"].is_string(),
        "the account records its last use: {account:?}"
    );
    assert!(!account.body.to_string().contains("Tr0ub4dor"));
}

async fn another_users_request_is_not_found_and_shows_no_secret(app: TestApp) {
    let s = setup(&app).await;
    let id = approved(
        &app,
        &s,
        &access(&app, s.account, "multiple", "all", Some((0, 60))),
    )
    .await;
    for (who, token) in [("lead", &s.lead), ("admin", &s.admin)] {
        let reply = app.use_request(token, id).await;
        assert_eq!(reply.status, 404, "{who}: {reply:?}");
        assert_eq!(reply.problem_code(), "not_found", "{who}");
        assert!(!reply.body.to_string().contains("Tr0ub4dor"), "{who}");
    }
    app.developer("stranger").await;
    let stranger = logon(&app, "stranger").await;
    let reply = retrieve(&app, &stranger, &s.account.to_string(), json!({})).await;
    assert_eq!(
        pvwa_error(&reply, 404),
        "RQDWS010E",
        "not a member: {reply:?}"
    );
    let lead = logon(&app, "lead").await;
    let reply = retrieve(&app, &lead, &s.account.to_string(), json!({})).await;
    assert_eq!(
        pvwa_error(&reply, 403),
        "RQDWS030E",
        "a confirmer, not the requester: {reply:?}"
    );
    // A token from /api/v3 works under /PasswordVault too.
    let reply = retrieve(&app, &s.admin, &s.account.to_string(), json!({})).await;
    assert_eq!(
        pvwa_error(&reply, 403),
        "RQDWS030E",
        "an administrator sees the account, but has no request for it: {reply:?}"
    );
    let detail = app.request_detail(&s.requester, id).await;
    assert_eq!(
        detail["access"]["use_count"], 0,
        "nothing was used: {detail}"
    );
}

async fn each_reason_a_use_is_refused_has_its_code(app: TestApp) {
    let s = setup(&app).await;
    let pending = app
        .submitted(
            &s.requester,
            &access(&app, s.account, "one_time", "all", Some((0, 30))),
        )
        .await;
    let later = approved(
        &app,
        &s,
        &access(&app, s.account, "multiple", "all", Some((60, 90))),
    )
    .await;
    let spent = approved(
        &app,
        &s,
        &access(
            &app,
            s.account,
            "one_time",
            "get_password",
            Some((200, 230)),
        ),
    )
    .await;
    let cases = [
        (
            pending,
            "access_not_approved",
            "waiting for its confirmation",
        ),
        (later, "access_not_started", "its window opens in an hour"),
    ];
    for (id, code, case) in cases {
        let reply = app.use_request(&s.requester, id).await;
        assert_eq!(reply.status, 403, "{case}: {reply:?}");
        assert_eq!(reply.problem_code(), code, "{case}");
        assert!(reply.body.get("secret").is_none(), "{case}");
    }
    app.clock.advance(Duration::minutes(61));
    let requester = app.token_for("req", PASSWORD).await;
    assert_eq!(app.use_request(&requester, later).await.status, 200);
    app.clock.advance(Duration::minutes(30));
    let requester = app.token_for("req", PASSWORD).await;
    let over = app.use_request(&requester, later).await;
    assert_eq!(over.status, 403, "{over:?}");
    assert_eq!(over.problem_code(), "access_window_over");
    app.clock.advance(Duration::minutes(110));
    let requester = app.token_for("req", PASSWORD).await;
    assert_eq!(
        app.use_request(&requester, spent).await.body["secret"],
        SECRET
    );
    let again = app.use_request(&requester, spent).await;
    assert_eq!(again.status, 403, "{again:?}");
    assert_eq!(again.problem_code(), "access_already_used");
    assert!(again.body.get("secret").is_none());
}

async fn a_connect_only_request_is_used_without_the_secret_and_pvwa_refuses_it(app: TestApp) {
    let s = setup(&app).await;
    for operation in ["open", "get_file"] {
        let id = approved(
            &app,
            &s,
            &access(&app, s.account, "one_time", operation, None),
        )
        .await;
        let pvwa_token = logon(&app, "req").await;
        let refused = retrieve(&app, &pvwa_token, &s.account.to_string(), json!({})).await;
        assert_eq!(
            pvwa_error(&refused, 403),
            "RQDWS034E",
            "{operation}: {refused:?}"
        );
        let detail = app.request_detail(&s.requester, id).await;
        assert_eq!(
            (
                detail["status"].clone(),
                detail["access"]["use_count"].clone()
            ),
            (json!("approved"), json!(0)),
            "{operation}: the refusal spends nothing: {detail}"
        );
        let reply = app.use_request(&s.requester, id).await;
        assert_eq!(reply.status, 200, "{operation}: {reply:?}");
        let object = reply.body.as_object().expect("an object");
        assert!(
            !object.contains_key("secret") && !object.contains_key("secret_type"),
            "{operation}: omitted, not null: {reply:?}"
        );
        assert_eq!(reply.body["address"], "root-db01.example.com");
        assert_eq!(reply.body["spent"], true);
        let used = used_events(&app.request_detail(&s.requester, id).await);
        assert_eq!(used.len(), 1, "{operation}");
        assert_eq!(used[0]["address"], "127.0.0.1", "{operation}");
        assert!(
            used[0]["detail"].is_null(),
            "{operation}: no secret was handed over"
        );
    }
}

async fn an_account_without_a_secret_is_used_without_one_and_pvwa_refuses_it(app: TestApp) {
    let s = setup(&app).await;
    let bare = create_account(&app, &s.admin, "Vault", "root-db02").await;
    let id = approved(
        &app,
        &s,
        &access(&app, bare, "one_time", "get_password", None),
    )
    .await;
    let pvwa_token = logon(&app, "req").await;
    let refused = retrieve(&app, &pvwa_token, &format!("1_{bare}"), json!({})).await;
    assert_eq!(pvwa_error(&refused, 409), "RQDWS035E", "{refused:?}");
    assert_eq!(
        app.request_detail(&s.requester, id).await["access"]["use_count"],
        0,
        "the refusal spends nothing"
    );
    let reply = app.use_request(&s.requester, id).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.get("secret").is_none(), "{reply:?}");
    assert!(reply.body.get("secret_type").is_none(), "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

/// 8 retrievals of one one-time request at once, half native and half PVWA: exactly one gets
/// the secret, the others are told it was used; the request was used once.
async fn concurrent_retrievals_of_a_one_time_request_give_the_secret_once(app: TestApp) {
    let s = setup(&app).await;
    let id = approved(&app, &s, &access(&app, s.account, "one_time", "all", None)).await;
    let pvwa_token = logon(&app, "req").await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..8 {
        let client = app.client.clone();
        let (url, token, native) = if n % 2 == 0 {
            (
                app.url(&format!("/api/v3/myrequests/{id}/use")),
                format!("Bearer {}", s.requester),
                true,
            )
        } else {
            (
                app.url(&retrieve_path(&format!("1_{}", s.account))),
                pvwa_token.clone(),
                false,
            )
        };
        tasks.spawn(async move {
            let response = client
                .post(url)
                .header("Authorization", token)
                .json(&json!({}))
                .send()
                .await
                .expect("an answer");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("a JSON body");
            (native, status, body)
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (native, status, body) = joined.expect("the task");
        match (status, native) {
            (200, true) => {
                assert_eq!(body["secret"], SECRET, "{body}");
                winners.push(body);
            }
            (200, false) => {
                assert_eq!(body, json!(SECRET), "{body}");
                winners.push(body);
            }
            (403, true) => assert_eq!(body["code"], "access_already_used", "{body}"),
            (403, false) => assert_eq!(body["ErrorCode"], "RQDWS033E", "{body}"),
            other => panic!("unexpected {other:?}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one retrieval wins: {winners:?}");
    let detail = app.request_detail(&s.requester, id).await;
    assert_eq!(detail["access"]["use_count"], 1, "{detail}");
    assert_eq!(used_events(&detail).len(), 1, "{detail}");
    assert_eq!(
        detail["invalid_reasons"],
        json!(["already_used"]),
        "{detail}"
    );
}

/// What Get-PASAccountPassword sends and reads: the body of its bound parameters, then
/// `ConvertFrom-Json` on the answer's text, which psPAS has left undecoded because it is not
/// `application/json`.
async fn pvwa_retrieve_answers_the_password_as_a_json_string_pspas_decodes(app: TestApp) {
    let s = setup(&app).await;
    let id = approved(
        &app,
        &s,
        &access(&app, s.account, "multiple", "get_password", Some((0, 60))),
    )
    .await;
    let token = logon(&app, "req").await;
    let pretty = "{\r\n    \"Reason\":  \"Monthly patching\",\r\n    \"ActionType\":  \"show\",\r\n    \"isUse\":  false,\r\n    \"Machine\":  \"jump01\",\r\n    \"Version\":  1,\r\n    \"TicketingSystem\":  \"ServiceNow\",\r\n    \"TicketId\":  \"INC1\",\r\n    \"SomethingNew\":  \"tolerated\"\r\n}";
    for (path, body) in [
        (
            retrieve_path(&format!("1_{}", s.account)),
            pretty.to_owned(),
        ),
        (
            format!(
                "/passwordvault/api/accounts/{}/password/retrieve",
                s.account
            ),
            "{}".to_owned(),
        ),
        (
            format!(
                "/PASSWORDVAULT/API/ACCOUNTS/1_{}/PASSWORD/RETRIEVE/",
                s.account
            ),
            String::new(),
        ),
    ] {
        let response = app
            .client
            .post(app.url(&path))
            .header("Authorization", &token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(content_type, "text/plain; charset=utf-8", "{path}");
        assert!(
            !content_type.contains("application/json"),
            "psPAS would decode it twice: {path}"
        );
        assert_eq!(
            headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{path}"
        );
        let text = response.text().await.expect("a body");
        let password: Value = serde_json::from_str(&text).expect("the answer is JSON");
        assert_eq!(password, json!(SECRET), "{path}: {text}");
    }
    let detail = app.request_detail(&s.requester, id).await;
    let used = used_events(&detail);
    assert_eq!(used.len(), 3, "{detail}");
    assert_eq!(
        used[0]["detail"], "secret retrieved: Monthly patching",
        "{detail}"
    );
    assert_eq!(used[0]["address"], "127.0.0.1", "{detail}");
    assert_eq!(used[1]["detail"], "secret retrieved", "{detail}");
}

async fn pvwa_retrieve_names_the_account_and_uses_the_newest_usable_request(app: TestApp) {
    let s = setup(&app).await;
    let first = approved(
        &app,
        &s,
        &access(&app, s.account, "one_time", "all", Some((0, 60))),
    )
    .await;
    let token = logon(&app, "req").await;
    let account = s.account.to_string();
    for (id, case) in [
        (format!("2_{account}"), "another safe's id"),
        (format!("{}", s.account + 100), "no such account"),
        ("1_x".to_owned(), "not an account id"),
        ("0".to_owned(), "not an account id"),
    ] {
        let reply = retrieve(&app, &token, &id, json!({})).await;
        assert_eq!(pvwa_error(&reply, 404), "RQDWS010E", "{case}: {reply:?}");
        assert_eq!(
            reply.body["ErrorMessage"],
            format!("no account {id}"),
            "{case}: the id as sent"
        );
    }
    let reply = retrieve(&app, &token, &account, json!({})).await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (200, json!(SECRET)),
        "{reply:?}"
    );
    // The spent request is no longer open, so another may take its window.
    let second = approved(
        &app,
        &s,
        &access(&app, s.account, "one_time", "get_password", Some((0, 60))),
    )
    .await;
    let reply = retrieve(&app, &token, &account, json!({})).await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (200, json!(SECRET)),
        "{reply:?}"
    );
    for id in [first, second] {
        let detail = app.request_detail(&s.requester, id).await;
        assert_eq!(
            (
                detail["access"]["use_count"].clone(),
                detail["invalid_reasons"].clone()
            ),
            (json!(1), json!(["already_used"])),
            "request {id}: {detail}"
        );
    }
    let reply = retrieve(&app, &token, &account, json!({})).await;
    assert_eq!(
        pvwa_error(&reply, 403),
        "RQDWS033E",
        "both spent: {reply:?}"
    );
}

async fn pvwa_refusals_are_pvwa_error_bodies_with_a_code_for_each_reason(app: TestApp) {
    let s = setup(&app).await;
    let token = logon(&app, "req").await;
    let account = format!("1_{}", s.account);
    let none = retrieve(&app, &token, &account, json!({})).await;
    assert_eq!(
        pvwa_error(&none, 403),
        "RQDWS030E",
        "no request at all: {none:?}"
    );
    let not_json = app
        .send(
            app.client
                .post(app.url(&retrieve_path(&account)))
                .header("Authorization", &token)
                .header("Content-Type", "text/plain")
                .body("reason=x"),
        )
        .await;
    assert_eq!(pvwa_error(&not_json, 415), "RQDWS018E", "{not_json:?}");
    let pending = app
        .submitted(
            &s.requester,
            &access(&app, s.account, "one_time", "all", Some((0, 20))),
        )
        .await;
    let reply = retrieve(&app, &token, &account, json!({})).await;
    assert_eq!(
        pvwa_error(&reply, 403),
        "RQDWS030E",
        "only a waiting one: {reply:?}"
    );
    assert_eq!(app.cancel(&s.requester, pending).await.status, 200);
    let later = approved(
        &app,
        &s,
        &access(&app, s.account, "one_time", "all", Some((30, 60))),
    )
    .await;
    let reply = retrieve(&app, &token, &account, json!({})).await;
    assert_eq!(
        pvwa_error(&reply, 403),
        "RQDWS031E",
        "not started: {reply:?}"
    );
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "every PVWA answer"
    );
    app.clock.advance(Duration::minutes(31));
    let token = logon(&app, "req").await;
    assert_eq!(
        retrieve(&app, &token, &account, json!({})).await.status,
        200
    );
    let reply = retrieve(&app, &token, &account, json!({})).await;
    assert_eq!(pvwa_error(&reply, 403), "RQDWS033E", "spent: {reply:?}");
    let multiple = approved(
        &app,
        &s,
        &access(&app, s.account, "multiple", "all", Some((0, 10))),
    )
    .await;
    app.clock.advance(Duration::minutes(40));
    let token = logon(&app, "req").await;
    let reply = retrieve(&app, &token, &account, json!({})).await;
    assert_eq!(pvwa_error(&reply, 403), "RQDWS032E", "over: {reply:?}");
    let _ = (later, multiple);
    let admin = app.admin_token().await;
    assert_eq!(
        app.delete("/api/v3/safes/Vault/members/req", Some(&admin))
            .await
            .status,
        204
    );
    let reply = retrieve(&app, &token, &account, json!({})).await;
    assert_eq!(
        pvwa_error(&reply, 404),
        "RQDWS010E",
        "no longer a member: {reply:?}"
    );
}

/// Retrieval looks among the approved requests, so ended ones made since (cancelled here, after
/// the approved window) do not hide it: with only the 50 newest of all read, this was a 403.
async fn pvwa_retrieve_finds_an_approved_request_behind_many_newer_ended_ones(app: TestApp) {
    let s = setup(&app).await;
    approved(
        &app,
        &s,
        &access(&app, s.account, "multiple", "all", Some((0, 60))),
    )
    .await;
    for _ in 0..55 {
        let later = access(&app, s.account, "one_time", "all", Some((120, 180)));
        let id = app.submitted(&s.requester, &later).await;
        let cancelled = app.cancel(&s.requester, id).await;
        assert_eq!(cancelled.status, 200, "{cancelled:?}");
    }
    let token = logon(&app, "req").await;
    let reply = retrieve(&app, &token, &s.account.to_string(), json!({})).await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (200, json!(SECRET)),
        "{reply:?}"
    );
}
