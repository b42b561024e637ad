//! The PVWA compatibility endpoints under `/PasswordVault/API`, called as a PVWA script would:
//! the token sent bare in `Authorization`, errors as PVWA's own body.

use reqwest::Method;
use serde_json::{Value, json};

use super::{PASSWORD, Reply, TestApp};

/// A call with the token sent bare, as PVWA clients do.
pub async fn pvwa(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

/// Asserts PVWA's error body and status, and returns the `ErrorCode`.
pub fn pvwa_error(reply: &Reply, status: u16) -> String {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{reply:?}"
    );
    let object = reply.body.as_object().expect("an error object");
    assert_eq!(
        object.len(),
        2,
        "only ErrorCode and ErrorMessage: {reply:?}"
    );
    assert!(
        reply.body["ErrorMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{reply:?}"
    );
    reply.body["ErrorCode"]
        .as_str()
        .expect("ErrorCode")
        .to_owned()
}

/// Logs on through the PVWA path and returns the bare token.
pub async fn logon(app: &TestApp, username: &str) -> String {
    let reply = pvwa(
        app,
        Method::POST,
        "/PasswordVault/API/auth/Cyberark/Logon",
        None,
        Some(json!({"username": username, "password": PASSWORD})),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply
        .body
        .as_str()
        .expect("the token as a JSON string")
        .to_owned()
}
