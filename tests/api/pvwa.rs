//! The PVWA compatibility API under `/PasswordVault/API`: set up through the native API, then
//! driven as a PVWA script would (mixed-case paths, bare tokens, PascalCase, Unix seconds).

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::pki::{KeyType, certificate_request, csr_for};
use crate::helpers::pvwa::{logon, pvwa, pvwa_error};
use crate::on_both_backends;

on_both_backends!(
    logon_answers_a_json_string_token_usable_bare_and_as_bearer,
    a_request_made_through_pvwa_answers_every_field_of_the_details_object,
    confirmations_move_the_request_through_both_levels_to_confirmed,
    a_rejection_makes_the_request_invalid_with_reason_128,
    delete_cancels_a_waiting_request_with_204,
    errors_are_pvwa_error_bodies_with_the_right_status,
    a_404_reads_the_same_for_another_users_request_and_for_none,
    after_logoff_the_token_is_refused_in_pvwa_format,
    onlywaiting_and_expired_filter_the_lists,
    float_dates_as_powershell_7_writes_them_are_whole_seconds,
);

const SAFE: &str = "Fin_Ops";

/// The cast: an admin who set everything up, a requester, a level-1 user confirmer and an
/// approver confirming at level 2 through the `approver` group.
struct Setup {
    account_id: i64,
    requester: String,
    confirmer: String,
    approver: String,
    outsider: String,
}

/// A safe needing one confirmation at each level, an account in it, and its members, all made
/// through the native API as the admin.
async fn set_up(app: &TestApp) -> Setup {
    let admin = app.admin_token().await;
    let reply = app
        .post(
            "/api/v3/safes",
            Some(&admin),
            &json!({"name": SAFE, "level1_confirmations": 1, "level2_confirmations": 1}),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let reply = app
        .post(
            &format!("/api/v3/safes/{SAFE}/accounts"),
            Some(&admin),
            &json!({"name": "root-db01", "folder": "Root", "address": "db01.example.com", "user_name": "root"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let account_id = reply.body["id"].as_i64().expect("account id");
    let requester = app.developer("dave").await;
    let confirmer = app.developer("carol").await;
    let outsider = app.developer("olga").await;
    let approver = app.user_with_role("alice", "approver").await;
    for (path, body) in [
        (
            "members/dave",
            json!({"can_request": true, "confirm_level": null}),
        ),
        (
            "members/carol",
            json!({"can_request": false, "confirm_level": 1}),
        ),
        (
            "groups/approver",
            json!({"can_request": false, "confirm_level": 2}),
        ),
    ] {
        let reply = app
            .send(
                app.request(
                    Method::PUT,
                    &format!("/api/v3/safes/{SAFE}/{path}"),
                    Some(&admin),
                )
                .json(&body),
            )
            .await;
        assert!(
            reply.status == 200 || reply.status == 201,
            "{path}: {reply:?}"
        );
    }
    Setup {
        account_id,
        requester,
        confirmer,
        approver,
        outsider,
    }
}

/// Asks for the account for a window starting in an hour, and returns the details object.
async fn request_access(app: &TestApp, token: &str, setup: &Setup, from: i64, to: i64) -> Value {
    let reply = pvwa(
        app,
        Method::POST,
        "/PasswordVault/API/MyRequests",
        Some(token),
        Some(json!({
            "AccountId": setup.account_id.to_string(),
            "Reason": "Patch the database server tonight",
            "TicketingSystemName": "ServiceNow",
            "TicketId": "CHG0012345",
            "MultipleAccessRequired": true,
            "FromDate": from,
            "ToDate": to,
            "AdditionalInfo": {"Reference No": "CHG-2026-118", "EmergencyIndication": true}
        })),
    )
    .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.body
}

fn window() -> (i64, i64) {
    let from = (Utc::now() + Duration::hours(1)).timestamp();
    (from, from + 2 * 3600)
}

fn native_id(details: &Value) -> i64 {
    let id = details["RequestID"].as_str().expect("RequestID");
    id.rsplit_once('_')
        .expect("SafeName_N")
        .1
        .parse()
        .expect("N")
}

fn unix(value: &Value) -> i64 {
    DateTime::parse_from_rfc3339(value.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
        .timestamp()
}

async fn logon_answers_a_json_string_token_usable_bare_and_as_bearer(app: TestApp) {
    app.developer("dave").await;
    let token = logon(&app, "dave").await;
    let bare = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/MyRequests",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(bare.status, 200, "{bare:?}");
    assert_eq!(bare.body, json!({"MyRequests": []}));
    let bearer = pvwa(
        &app,
        Method::GET,
        "/passwordvault/api/myrequests",
        Some(&format!("Bearer {token}")),
        None,
    )
    .await;
    assert_eq!(bearer.status, 200, "{bearer:?}");
    assert_eq!(bearer.body, json!({"MyRequests": []}));
    let wrong = pvwa(
        &app,
        Method::POST,
        "/PASSWORDVAULT/api/Auth/CyberArk/logon",
        None,
        Some(json!({"UserName": "dave", "Password": "not the password"})),
    )
    .await;
    assert_eq!(pvwa_error(&wrong, 401), "RQDWS004E");
}

async fn a_request_made_through_pvwa_answers_every_field_of_the_details_object(app: TestApp) {
    let setup = set_up(&app).await;
    let (from, to) = window();
    let created = request_access(&app, &setup.requester, &setup, from, to).await;
    let id = native_id(&created);
    let native = app
        .get(&format!("/api/v3/myrequests/{id}"), Some(&setup.requester))
        .await;
    assert_eq!(native.status, 200, "{native:?}");
    let d = &created;
    let documented =
        crate::openapi::committed()["components"]["schemas"]["PvwaRequest"]["properties"]
            .as_object()
            .expect("PvwaRequest's properties")
            .keys()
            .cloned()
            .collect::<Vec<_>>();
    let answered = d
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(answered, documented, "every documented field, and no other");
    assert_eq!(d["RequestID"], format!("{SAFE}_{id}"));
    assert_eq!(d["SafeName"], SAFE);
    assert_eq!(d["RequestorUserName"], "dave");
    assert_eq!(d["RequestorFullName"], "dave Example");
    assert_eq!(d["RequestorReason"], "Patch the database server tonight");
    assert_eq!(d["UserReason"], "Patch the database server tonight");
    assert_eq!(d["CreationDate"], unix(&native.body["requested_at"]));
    assert_eq!(d["ExpirationDate"], unix(&native.body["expires_at"]));
    assert_eq!(d["Operation"], "Use account root-db01 in safe Fin_Ops");
    assert_eq!(d["OperationType"], 7);
    assert_eq!(d["AccessType"], "Multiple");
    assert_eq!(d["ConfirmationsLeft"], 1);
    assert_eq!(d["AccessFrom"], from);
    assert_eq!(d["AccessTo"], to);
    assert_eq!(d["AccessFrom"], unix(&native.body["access"]["access_from"]));
    assert_eq!(d["AccessTo"], unix(&native.body["access"]["access_to"]));
    assert_eq!(d["Status"], 1);
    assert_eq!(d["StatusTitle"], "Waiting");
    assert_eq!(d["InvalidRequestReason"], 0);
    assert_eq!(d["CurrentConfirmationLevel"], 1);
    assert_eq!(d["RequiredConfirmersCountLevel2"], 1);
    assert_eq!(
        d["TicketingSystemProperties"],
        json!({"Name": "ServiceNow", "Number": "CHG0012345", "Status": 2})
    );
    assert_eq!(
        d["AdditionalInfo"],
        json!({"Reference No": "CHG-2026-118", "EmergencyIndication": true})
    );
    assert_eq!(
        d["AccountDetails"],
        json!({
            // `<safe id>_<account id>`: the safe is the first one made.
            "AccountID": format!("1_{}", setup.account_id),
            "Properties": {
                "Name": "root-db01", "Folder": "Root", "Safe": SAFE,
                "Address": "db01.example.com", "UserName": "root", "LastUsedDate": 0
            }
        })
    );
    let confirmers = d["Confirmers"].as_array().expect("Confirmers");
    assert_eq!(confirmers.len(), 2, "{confirmers:?}");
    let user = confirmers
        .iter()
        .find(|c| c["Type"] == 1)
        .expect("a user confirmer");
    assert_eq!(user["Name"], "carol");
    assert!(user["ID"].is_i64(), "{user}");
    assert_eq!(user["Action"], 2);
    assert_eq!(user["Reason"], "");
    assert_eq!(user["ActionDate"], 0);
    assert_eq!(
        user["AdditionalDetails"],
        json!({"fullname": "carol Example", "email": "carol@example.com", "phone": ""})
    );
    assert_eq!(user["Members"][0]["UserName"], "carol");
    let group = confirmers
        .iter()
        .find(|c| c["Type"] == 2)
        .expect("a group confirmer");
    assert_eq!(group["Name"], "approver");
    assert!(group["ID"].is_i64(), "{group}");
    assert_eq!(group["Action"], 2);
    let group_members: Vec<&str> = group["Members"]
        .as_array()
        .expect("Members")
        .iter()
        .map(|m| m["UserName"].as_str().expect("UserName"))
        .collect();
    assert_eq!(group_members, ["alice"]);
    let members = d["Members"].as_array().expect("Members");
    let mut names: Vec<&str> = members
        .iter()
        .map(|m| m["UserName"].as_str().expect("UserName"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alice", "carol"]);
    for member in members {
        assert!(member["UserID"].is_i64(), "{member}");
        assert!(
            member["AdditionalDetails"]["fullname"].is_string(),
            "{member}"
        );
    }

    // The same object from the list and from the id, whatever the case of the path and safe.
    let list = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/MyRequests",
        Some(&setup.requester),
        None,
    )
    .await;
    assert_eq!(list.status, 200, "{list:?}");
    assert_eq!(list.body, json!({"MyRequests": [created.clone()]}));
    let one = pvwa(
        &app,
        Method::GET,
        &format!("/passwordvault/API/myRequests/fin_ops_{id}"),
        Some(&setup.requester),
        None,
    )
    .await;
    assert_eq!(one.status, 200, "{one:?}");
    assert_eq!(one.body, created);
}

async fn confirmations_move_the_request_through_both_levels_to_confirmed(app: TestApp) {
    let setup = set_up(&app).await;
    let (from, to) = window();
    let created = request_access(&app, &setup.requester, &setup, from, to).await;
    let request_id = created["RequestID"].as_str().expect("RequestID").to_owned();

    let incoming = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/IncomingRequests?onlywaiting=true",
        Some(&setup.confirmer),
        None,
    )
    .await;
    assert_eq!(incoming.status, 200, "{incoming:?}");
    assert_eq!(
        incoming.body["IncomingRequests"][0]["RequestID"],
        request_id.as_str()
    );
    let shown = pvwa(
        &app,
        Method::GET,
        &format!("/PasswordVault/API/IncomingRequests/{request_id}"),
        Some(&setup.confirmer),
        None,
    )
    .await;
    assert_eq!(shown.status, 200, "{shown:?}");
    assert_eq!(shown.body, created);

    let confirmed = pvwa(
        &app,
        Method::POST,
        &format!("/PasswordVault/API/IncomingRequests/{request_id}/Confirm"),
        Some(&setup.confirmer),
        Some(json!({"Reason": "Checked with the owner"})),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    assert_eq!(confirmed.body["Status"], 1);
    assert_eq!(confirmed.body["CurrentConfirmationLevel"], 2);
    assert_eq!(confirmed.body["ConfirmationsLeft"], 1);
    assert_eq!(confirmed.body["RequiredConfirmersCountLevel2"], 1);
    let carol = confirmed.body["Confirmers"]
        .as_array()
        .expect("Confirmers")
        .iter()
        .find(|c| c["Type"] == 1)
        .expect("carol")
        .clone();
    assert_eq!(carol["Action"], 1);
    assert_eq!(carol["Reason"], "Checked with the owner");
    assert!(
        carol["ActionDate"].as_i64().is_some_and(|t| t > 0),
        "{carol}"
    );

    // The level-2 group member confirms, with a lowercase id and no body at all.
    let approved = pvwa(
        &app,
        Method::POST,
        &format!(
            "/passwordvault/api/incomingrequests/{}/confirm",
            request_id.to_lowercase()
        ),
        Some(&format!("Bearer {}", setup.approver)),
        None,
    )
    .await;
    assert_eq!(approved.status, 200, "{approved:?}");
    assert_eq!(approved.body["Status"], 2);
    assert_eq!(approved.body["StatusTitle"], "Confirmed");
    assert_eq!(approved.body["ConfirmationsLeft"], 0);
    assert_eq!(approved.body["RequiredConfirmersCountLevel2"], 0);
    assert_eq!(approved.body["InvalidRequestReason"], 0);
    let group = approved.body["Confirmers"]
        .as_array()
        .expect("Confirmers")
        .iter()
        .find(|c| c["Type"] == 2)
        .expect("the group")
        .clone();
    assert_eq!(group["Action"], 1);
    let mine = pvwa(
        &app,
        Method::GET,
        &format!("/PasswordVault/API/MyRequests/{request_id}"),
        Some(&setup.requester),
        None,
    )
    .await;
    assert_eq!(mine.status, 200, "{mine:?}");
    assert_eq!(mine.body["Status"], 2);
}

async fn a_rejection_makes_the_request_invalid_with_reason_128(app: TestApp) {
    let setup = set_up(&app).await;
    let (from, to) = window();
    let created = request_access(&app, &setup.requester, &setup, from, to).await;
    let request_id = created["RequestID"].as_str().expect("RequestID").to_owned();
    let path = format!("/PasswordVault/API/IncomingRequests/{request_id}/Reject");

    let no_reason = pvwa(
        &app,
        Method::POST,
        &path,
        Some(&setup.confirmer),
        Some(json!({})),
    )
    .await;
    assert_eq!(pvwa_error(&no_reason, 400), "RQDWS001E");
    assert!(
        no_reason.body["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("Reason:")),
        "{no_reason:?}"
    );

    let rejected = pvwa(
        &app,
        Method::POST,
        &path,
        Some(&setup.confirmer),
        Some(json!({"reason": "Not during the freeze"})),
    )
    .await;
    assert_eq!(rejected.status, 200, "{rejected:?}");
    assert_eq!(rejected.body["Status"], 7);
    assert_eq!(rejected.body["StatusTitle"], "Invalid");
    assert_eq!(rejected.body["InvalidRequestReason"], 128);
    assert_eq!(rejected.body["ConfirmationsLeft"], 0);
    let carol = rejected.body["Confirmers"]
        .as_array()
        .expect("Confirmers")
        .iter()
        .find(|c| c["Type"] == 1)
        .expect("carol")
        .clone();
    assert_eq!(carol["Action"], 0);
    assert_eq!(carol["Reason"], "Not during the freeze");

    let again = pvwa(
        &app,
        Method::POST,
        &format!("/PasswordVault/API/IncomingRequests/{request_id}/Confirm"),
        Some(&setup.approver),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&again, 409), "RQDWS012E");
}

async fn delete_cancels_a_waiting_request_with_204(app: TestApp) {
    let setup = set_up(&app).await;
    let (from, to) = window();
    let created = request_access(&app, &setup.requester, &setup, from, to).await;
    let request_id = created["RequestID"].as_str().expect("RequestID").to_owned();
    let path = format!("/PasswordVault/API/MyRequests/{request_id}");

    let foreign = pvwa(&app, Method::DELETE, &path, Some(&setup.outsider), None).await;
    assert_eq!(pvwa_error(&foreign, 404), "RQDWS010E");

    let cancelled = pvwa(&app, Method::DELETE, &path, Some(&setup.requester), None).await;
    assert_eq!(cancelled.status, 204, "{cancelled:?}");
    assert_eq!(cancelled.body, Value::Null);
    let shown = pvwa(&app, Method::GET, &path, Some(&setup.requester), None).await;
    assert_eq!(shown.status, 200, "{shown:?}");
    assert_eq!(shown.body["Status"], 7);
    assert_eq!(shown.body["InvalidRequestReason"], 0);

    let again = pvwa(&app, Method::DELETE, &path, Some(&setup.requester), None).await;
    assert_eq!(pvwa_error(&again, 409), "RQDWS012E");
}

/// Another user's request and one that does not exist get the same 404, word for word but for
/// the id as the caller wrote it: the message tells an outsider nothing about which ids exist.
async fn a_404_reads_the_same_for_another_users_request_and_for_none(app: TestApp) {
    let setup = set_up(&app).await;
    let (from, to) = window();
    let created = request_access(&app, &setup.requester, &setup, from, to).await;
    let existing = created["RequestID"].as_str().expect("RequestID").to_owned();
    let id = native_id(&created);
    let cases = [
        (existing.clone(), "another user's"),
        (
            format!("{}_{id}", SAFE.to_lowercase()),
            "another user's, safe in lower case",
        ),
        (format!("{SAFE}_999999"), "none"),
        (format!("{SAFE}_{id}x"), "malformed"),
    ];
    let mine = |request_id: &str| {
        let path = format!("/PasswordVault/API/MyRequests/{request_id}");
        [
            (Method::GET, path.clone(), &setup.outsider),
            (Method::DELETE, path, &setup.outsider),
        ]
    };
    // A confirmer of the safe, asking for ids that name none of its requests.
    let incoming = |request_id: &str| {
        let path = format!("/PasswordVault/API/IncomingRequests/{request_id}");
        [
            (Method::GET, path.clone(), &setup.confirmer),
            (Method::POST, format!("{path}/Confirm"), &setup.confirmer),
        ]
    };
    let calls = cases
        .iter()
        .flat_map(|(request_id, case)| {
            mine(request_id).map(|call| (request_id.clone(), *case, call))
        })
        .chain(
            [
                (format!("{SAFE}_999999"), "none"),
                (format!("Other_{id}"), "an existing number in another safe"),
            ]
            .into_iter()
            .flat_map(|(request_id, case)| {
                incoming(&request_id).map(|call| (request_id.clone(), case, call))
            }),
        )
        .collect::<Vec<_>>();
    for (request_id, case, (method, path, token)) in calls {
        let body = (method == Method::POST).then(|| json!({}));
        let reply = pvwa(&app, method.clone(), &path, Some(token), body).await;
        assert_eq!(
            pvwa_error(&reply, 404),
            "RQDWS010E",
            "{case}: {method} {path}"
        );
        assert_eq!(
            reply.body["ErrorMessage"],
            format!("no request {request_id}"),
            "{case}: {method} {path}"
        );
    }
    let own = pvwa(
        &app,
        Method::GET,
        &format!("/PasswordVault/API/MyRequests/{existing}"),
        Some(&setup.requester),
        None,
    )
    .await;
    assert_eq!(own.status, 200, "the owner still sees it: {own:?}");
}

async fn errors_are_pvwa_error_bodies_with_the_right_status(app: TestApp) {
    let setup = set_up(&app).await;
    let (from, to) = window();
    let created = request_access(&app, &setup.requester, &setup, from, to).await;
    let request_id = created["RequestID"].as_str().expect("RequestID").to_owned();
    let id = native_id(&created);

    // No token, a garbage token.
    let none = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/MyRequests",
        None,
        None,
    )
    .await;
    assert_eq!(pvwa_error(&none, 401), "RQDWS003E");
    let garbage = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/MyRequests",
        Some("not-a-token"),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&garbage, 401), "RQDWS003E");

    // Ids that name nothing: unknown, malformed, another safe, a certificate request.
    let certificate = app
        .post(
            "/api/v3/myrequests",
            Some(&setup.requester),
            &certificate_request(&csr_for(KeyType::P256, "build.example.com"), 30),
        )
        .await;
    assert_eq!(certificate.status, 201, "{certificate:?}");
    let certificate_id = certificate.body["id"].as_i64().expect("id");
    for bad in [
        format!("{SAFE}_999999"),
        format!("{id}"),
        format!("{SAFE}_{id}x"),
        format!("Other_{id}"),
        format!("{SAFE}_{certificate_id}"),
    ] {
        let reply = pvwa(
            &app,
            Method::GET,
            &format!("/PasswordVault/API/MyRequests/{bad}"),
            Some(&setup.requester),
            None,
        )
        .await;
        assert_eq!(pvwa_error(&reply, 404), "RQDWS010E", "{bad}");
        let reply = pvwa(
            &app,
            Method::POST,
            &format!("/PasswordVault/API/IncomingRequests/{bad}/Confirm"),
            Some(&setup.approver),
            Some(json!({})),
        )
        .await;
        assert_eq!(pvwa_error(&reply, 404), "RQDWS010E", "{bad}");
    }

    // Not a confirmer of this safe; one's own request; a level-2 group before level 1.
    let outsider = pvwa(
        &app,
        Method::POST,
        &format!("/PasswordVault/API/IncomingRequests/{request_id}/Confirm"),
        Some(&setup.outsider),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&outsider, 403), "RQDWS006E", "reviews nothing");
    let early = pvwa(
        &app,
        Method::POST,
        &format!("/PasswordVault/API/IncomingRequests/{request_id}/Confirm"),
        Some(&setup.approver),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&early, 403), "RQDWS007E");
    let own = pvwa(
        &app,
        Method::POST,
        &format!("/PasswordVault/API/IncomingRequests/{request_id}/Confirm"),
        Some(&setup.requester),
        None,
    )
    .await;
    // The requester reviews nothing: refused as a non-reviewer before their request is read.
    assert_eq!(pvwa_error(&own, 403), "RQDWS006E");
    let queue = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/IncomingRequests",
        Some(&setup.outsider),
        None,
    )
    .await;
    assert_eq!(
        queue.status, 200,
        "PVWA answers an ordinary user an empty queue: {queue:?}"
    );
    assert_eq!(queue.body, json!({"IncomingRequests": []}));

    // Invalid input names the PVWA field; an unknown path or method stays in PVWA's format.
    let invalid = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/MyRequests",
        Some(&setup.requester),
        Some(json!({"AccountId": setup.account_id, "Reason": "short", "MultipleAccessRequired": true})),
    )
    .await;
    assert_eq!(pvwa_error(&invalid, 400), "RQDWS001E");
    let message = invalid.body["ErrorMessage"].as_str().expect("message");
    for field in ["Reason:", "FromDate:", "ToDate:"] {
        assert!(message.contains(field), "{field} in {message}");
    }
    let filter = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/MyRequests?onlywaiting=maybe",
        Some(&setup.requester),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&filter, 400), "RQDWS001E");
    let unknown = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/Nothing",
        Some(&setup.requester),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&unknown, 404), "RQDWS010E");
    let method = pvwa(
        &app,
        Method::PUT,
        "/PasswordVault/API/MyRequests",
        Some(&setup.requester),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&method, 405), "RQDWS011E");
    assert_eq!(method.header("allow"), Some("GET, POST"));
}

async fn after_logoff_the_token_is_refused_in_pvwa_format(app: TestApp) {
    app.developer("dave").await;
    let token = logon(&app, "dave").await;
    let logoff = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/Auth/Logoff",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(logoff.status, 200, "{logoff:?}");
    let after = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/MyRequests",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&after, 401), "RQDWS003E");
    let again = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/Auth/Logoff",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&again, 401), "RQDWS003E");
}

async fn onlywaiting_and_expired_filter_the_lists(app: TestApp) {
    let setup = set_up(&app).await;
    let (from, to) = window();
    let rejected = request_access(&app, &setup.requester, &setup, from, to).await;
    let rejected_id = rejected["RequestID"]
        .as_str()
        .expect("RequestID")
        .to_owned();
    let reply = pvwa(
        &app,
        Method::POST,
        &format!("/PasswordVault/API/IncomingRequests/{rejected_id}/Reject"),
        Some(&setup.confirmer),
        Some(json!({"Reason": "Not now"})),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let waiting = request_access(&app, &setup.requester, &setup, from, to).await;
    let waiting_id = waiting["RequestID"].as_str().expect("RequestID").to_owned();

    let mine = |query: &str| format!("/PasswordVault/API/MyRequests{query}");
    let requester = &setup.requester;
    let all = [waiting_id.clone(), rejected_id.clone()];
    let only_waiting = [waiting_id.clone()];
    assert_eq!(ids(&app, requester, &mine(""), "MyRequests").await, all);
    assert_eq!(
        ids(&app, requester, &mine("?onlywaiting=true"), "MyRequests").await,
        only_waiting
    );
    assert_eq!(
        ids(
            &app,
            requester,
            &mine("?OnlyWaiting=1&Expired=FALSE"),
            "MyRequests"
        )
        .await,
        only_waiting
    );
    assert_eq!(
        ids(
            &app,
            requester,
            &mine("?onlywaiting=false&expired=false"),
            "MyRequests"
        )
        .await,
        only_waiting
    );
    assert_eq!(
        ids(
            &app,
            requester,
            &mine("?onlywaiting=0&expired=true"),
            "MyRequests"
        )
        .await,
        all
    );

    // Carol decided one and can act on the other; once she confirms, it waits for the group.
    let incoming = |query: &str| format!("/PasswordVault/API/IncomingRequests{query}");
    let (carol, alice) = (&setup.confirmer, &setup.approver);
    let none: [String; 0] = [];
    assert_eq!(
        ids(&app, carol, &incoming(""), "IncomingRequests").await,
        all
    );
    assert_eq!(
        ids(
            &app,
            carol,
            &incoming("?onlywaiting=true"),
            "IncomingRequests"
        )
        .await,
        only_waiting
    );
    assert_eq!(
        ids(
            &app,
            alice,
            &incoming("?onlywaiting=true"),
            "IncomingRequests"
        )
        .await,
        none
    );
    let reply = pvwa(
        &app,
        Method::POST,
        &format!("/PasswordVault/API/IncomingRequests/{waiting_id}/Confirm"),
        Some(carol),
        Some(json!({})),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        ids(
            &app,
            carol,
            &incoming("?onlywaiting=true"),
            "IncomingRequests"
        )
        .await,
        none
    );
    assert_eq!(
        ids(
            &app,
            alice,
            &incoming("?onlywaiting=true"),
            "IncomingRequests"
        )
        .await,
        only_waiting
    );
    assert_eq!(
        ids(&app, alice, &incoming("?expired=false"), "IncomingRequests").await,
        only_waiting
    );
}

/// The `RequestID`s of a PVWA list, in order.
async fn ids(app: &TestApp, token: &str, path: &str, key: &str) -> Vec<String> {
    let reply = pvwa(app, Method::GET, path, Some(token), None).await;
    assert_eq!(reply.status, 200, "{path}: {reply:?}");
    reply.body[key]
        .as_array()
        .unwrap_or_else(|| panic!("a list under {key}: {reply:?}"))
        .iter()
        .map(|r| r["RequestID"].as_str().expect("RequestID").to_owned())
        .collect()
}

/// psPAS on PowerShell 7 sends `FromDate`/`ToDate` as `1796139298.0`: a float with no fraction
/// is those seconds; one with a fraction is refused, naming the field.
async fn float_dates_as_powershell_7_writes_them_are_whole_seconds(app: TestApp) {
    let setup = set_up(&app).await;
    let (from, to) = window();
    let body = |from: f64, to: f64| {
        json!({
            "AccountId": setup.account_id.to_string(),
            "Reason": "Patch the database server tonight",
            "MultipleAccessRequired": true,
            "FromDate": from,
            "ToDate": to,
        })
    };
    assert!(
        body(from as f64, to as f64)
            .to_string()
            .contains(&format!("{from}.0")),
        "serde_json writes the float as PowerShell 7 does"
    );
    let path = "/PasswordVault/API/MyRequests";
    let token = Some(setup.requester.as_str());
    let created = pvwa(
        &app,
        Method::POST,
        path,
        token,
        Some(body(from as f64, to as f64)),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["AccessFrom"], from);
    assert_eq!(created.body["AccessTo"], to);

    let fraction = body(from as f64 + 0.5, to as f64 + 3600.0);
    let refused = pvwa(&app, Method::POST, path, token, Some(fraction)).await;
    assert_eq!(pvwa_error(&refused, 400), "RQDWS001E");
    let message = refused.body["ErrorMessage"].as_str().expect("a message");
    assert!(message.contains("FromDate"), "{message}");
    assert!(!message.contains("ToDate"), "{message}");
}
