//! The safe endpoints (`/api/v3/safes`, its accounts, members and groups), as the admin.

use serde_json::{Value, json};

use super::TestApp;

pub async fn create_safe(app: &TestApp, admin: &str, body: Value) -> Value {
    let reply = app.post("/api/v3/safes", Some(admin), &body).await;
    assert_eq!(reply.status, 201, "create safe {body}: {reply:?}");
    reply.body
}

pub fn account_body(name: &str) -> Value {
    json!({"name": name, "address": format!("{name}.example.com"), "user_name": "root"})
}

pub async fn create_account(app: &TestApp, admin: &str, safe: &str, name: &str) -> i64 {
    let reply = app
        .post(
            &format!("/api/v3/safes/{safe}/accounts"),
            Some(admin),
            &account_body(name),
        )
        .await;
    assert_eq!(reply.status, 201, "create account {name}: {reply:?}");
    reply.body["id"].as_i64().expect("account id")
}

async fn put(
    app: &TestApp,
    admin: &str,
    path: String,
    can_request: bool,
    confirm_level: Option<i32>,
) -> Value {
    let reply = app
        .send(
            app.request(reqwest::Method::PUT, &path, Some(admin))
                .json(&json!({"can_request": can_request, "confirm_level": confirm_level})),
        )
        .await;
    assert_eq!(reply.status, 200, "PUT {path}: {reply:?}");
    reply.body
}

pub async fn put_member(
    app: &TestApp,
    admin: &str,
    safe: &str,
    username: &str,
    can_request: bool,
    level: Option<i32>,
) -> Value {
    put(
        app,
        admin,
        format!("/api/v3/safes/{safe}/members/{username}"),
        can_request,
        level,
    )
    .await
}

pub async fn put_group(
    app: &TestApp,
    admin: &str,
    safe: &str,
    role: &str,
    can_request: bool,
    level: Option<i32>,
) -> Value {
    put(
        app,
        admin,
        format!("/api/v3/safes/{safe}/groups/{role}"),
        can_request,
        level,
    )
    .await
}
