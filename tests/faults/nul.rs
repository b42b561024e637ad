//! U+0000 in text input gets the same answer on both databases (PostgreSQL cannot store it):
//! 400 naming the JSON path or the query parameter, 404 for a path segment, and PVWA's error
//! body under `/PasswordVault`.

use serde_json::{Value, json};

use crate::fixture::SafeWithRequester;
use crate::helpers::{PASSWORD, Reply, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_nul_in_a_json_field_is_400_naming_its_path,
    a_nul_in_a_query_parameter_is_400_naming_it,
    a_nul_in_a_path_segment_is_404,
    under_passwordvault_a_nul_gets_pvwa_error_bodies,
);

const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

fn assert_invalid_field(reply: &Reply, field: &str) {
    assert_eq!(
        (reply.status, reply.problem_code()),
        (400, "validation_failed"),
        "{reply:?}"
    );
    assert_eq!(
        reply.body["errors"],
        json!([{"field": field, "message": NUL_MESSAGE}])
    );
}

fn assert_not_found(reply: &Reply) {
    assert_eq!(
        (reply.status, reply.problem_code()),
        (404, "not_found"),
        "{reply:?}"
    );
}

fn assert_pvwa_error(reply: &Reply, status: u16, code: &str, message_part: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.body["ErrorCode"], code, "{reply:?}");
    let message = reply.body["ErrorMessage"].as_str().expect("a message");
    assert!(message.contains(message_part), "{reply:?}");
}

fn access_request(account_id: i64, reason: &str, ticket: &str) -> Value {
    json!({
        "type": "access",
        "account_id": account_id,
        "reason": reason,
        "access_type": "one_time",
        "operation_type": "open",
        "ticketing_system": {"name": "ServiceNow", "number": ticket},
    })
}

async fn a_nul_in_a_json_field_is_400_naming_its_path(app: TestApp) {
    let log_in = app.log_in("ali\u{0}ce", PASSWORD).await;
    assert_invalid_field(&log_in, "username");

    let mut sign_up = crate::helpers::new_user("carol", None);
    sign_up["name"] = json!("Carol\u{0}");
    assert_invalid_field(&app.post("/api/v3/users", None, &sign_up).await, "name");

    let SafeWithRequester {
        developer,
        account_id: account,
        ..
    } = SafeWithRequester::set_up(&app).await;
    let reason = access_request(account, "Patching the\u{0} database", "INC1");
    let reply = app
        .post("/api/v3/myrequests", Some(&developer), &reason)
        .await;
    assert_invalid_field(&reply, "reason");
    let ticket = access_request(account, "Patching the database", "INC\u{0}1");
    let reply = app
        .post("/api/v3/myrequests", Some(&developer), &ticket)
        .await;
    assert_invalid_field(&reply, "ticketing_system.number");

    let valid = access_request(account, "Patching the database", "INC1");
    let reply = app
        .post("/api/v3/myrequests", Some(&developer), &valid)
        .await;
    assert_eq!(reply.status, 201, "nothing was stored before: {reply:?}");
}

async fn a_nul_in_a_query_parameter_is_400_naming_it(app: TestApp) {
    let admin = app.admin_token().await;
    let search = app.get("/api/v3/users?q=ali%00ce", Some(&admin)).await;
    assert_invalid_field(&search, "q");
    let filter = app
        .get("/api/v3/certificates?owner=%00", Some(&admin))
        .await;
    assert_invalid_field(&filter, "owner");
}

async fn a_nul_in_a_path_segment_is_404(app: TestApp) {
    let SafeWithRequester {
        admin, developer, ..
    } = SafeWithRequester::set_up(&app).await;
    assert_not_found(&app.get("/api/v3/users/ali%00ce", Some(&admin)).await);
    assert_not_found(&app.get("/api/v3/users/dev%00", Some(&admin)).await);
    assert_not_found(&app.get("/api/v3/safes/Se%00c25", Some(&admin)).await);
    assert_not_found(&app.get("/api/v3/myrequests/1%00", Some(&developer)).await);
    assert_eq!(
        app.get("/api/v3/safes/Sec25", Some(&admin)).await.status,
        200
    );
}

async fn under_passwordvault_a_nul_gets_pvwa_error_bodies(app: TestApp) {
    let SafeWithRequester {
        developer,
        account_id: account,
        ..
    } = SafeWithRequester::set_up(&app).await;
    let logon = app
        .post(
            "/PasswordVault/API/auth/Cyberark/Logon",
            None,
            &json!({"username": "ali\u{0}ce", "password": PASSWORD}),
        )
        .await;
    assert_pvwa_error(&logon, 400, "RQDWS001E", NUL_MESSAGE);
    let pvwa = |path: &str| {
        app.client
            .get(app.url(path))
            .header("Authorization", developer.as_str())
    };
    let submit = app
        .send(
            app.client
                .post(app.url("/PasswordVault/API/MyRequests"))
                .header("Authorization", developer.as_str())
                .json(&json!({"AccountId": account, "Reason": "Patching\u{0} the database"})),
        )
        .await;
    assert_pvwa_error(&submit, 400, "RQDWS001E", "Reason");
    let one = app
        .send(pvwa("/PasswordVault/API/MyRequests/Sec25_1%00"))
        .await;
    assert_pvwa_error(&one, 404, "RQDWS010E", "no resource");
}
