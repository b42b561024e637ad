//! The PVWA calls around a request (issue 11, section 3): the version probes, the account list,
//! search and get by id, with who sees what. psPAS's own requests are replayed in `pspas.rs`;
//! these tests pin the rules.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::pvwa::{pvwa, pvwa_error};
use crate::helpers::safes::{create_account, create_safe, put_group, put_member};
use crate::on_both_backends;

on_both_backends!(
    the_server_probe_is_public_and_answers_version_14_6,
    the_user_probe_answers_the_caller_and_needs_a_session,
    members_see_the_accounts_of_their_safes_and_admins_all,
    search_matches_every_word_and_search_type_startswith_anchors,
    the_safe_filter_and_sort_choose_and_order_accounts,
    next_link_pages_through_the_list_relative_to_password_vault,
    an_account_by_id_is_found_only_where_it_is_visible,
    a_request_takes_and_shows_the_pvwa_account_id,
    bad_parameters_are_400_naming_the_parameter,
    safes_list_only_the_callers_with_their_number_and_page_by_next_link,
    a_safe_by_name_keeps_its_case_and_hides_from_outsiders,
    safe_members_have_pvwa_permissions_a_count_and_pages,
    add_account_creates_it_with_its_platform_and_sealed_secret_admin_only,
    bulk_decisions_decide_each_item_and_keep_the_outcome_for_their_author,
    new_password_at_logon_changes_it_under_the_native_rules,
    additional_info_keys_and_connection_fields_are_kept_and_shown_back,
    a_bulk_confirm_racing_a_bulk_reject_has_one_winner_per_item,
);

/// Two safes: `Linux` (dave requests there, carol confirms, directly) with two accounts, `Windows` (the
/// `approver` group confirms there) with one. Returns the admin's token, dave's, an approver's
/// and an outsider's.
async fn set_up(app: &TestApp) -> (String, String, String, String) {
    let admin = app.admin_token().await;
    create_safe(app, &admin, json!({"name": "Linux"})).await;
    create_safe(app, &admin, json!({"name": "Windows"})).await;
    create_account(app, &admin, "Linux", "root-db01").await;
    create_account(app, &admin, "Linux", "oracle-db02").await;
    create_account(app, &admin, "Windows", "admin-dc01").await;
    let dave = app.developer("dave").await;
    let alice = app.user_with_role("alice", "approver").await;
    let olga = app.developer("olga").await;
    app.developer("carol").await;
    put_member(app, &admin, "Linux", "dave", true, None).await;
    put_member(app, &admin, "Linux", "carol", false, Some(1)).await;
    put_group(app, &admin, "Windows", "approver", false, Some(1)).await;
    (admin, dave, alice, olga)
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let reply = pvwa(
        app,
        Method::GET,
        &format!("/PasswordVault/api/Accounts{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{query}: {reply:?}");
    reply.body
}

fn names(list: &Value) -> Vec<&str> {
    list["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|account| account["name"].as_str().expect("name"))
        .collect()
}

async fn the_server_probe_is_public_and_answers_version_14_6(app: TestApp) {
    let reply = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/WebServices/PIMServices.svc/Server",
        None,
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["ExternalVersion"], "14.6.0", "{reply:?}");
    assert_eq!(reply.body["ServerName"], "requestdesk");
    assert_eq!(
        reply.body["AuthenticationMethods"],
        json!([{"Id": "cyberark", "Enabled": true}])
    );
    let lower = pvwa(
        &app,
        Method::GET,
        "/passwordvault/webservices/pimservices.svc/server/",
        None,
        None,
    )
    .await;
    assert_eq!(lower.body, reply.body, "paths in any case: {lower:?}");
}

async fn the_user_probe_answers_the_caller_and_needs_a_session(app: TestApp) {
    let dave = app.developer("dave").await;
    let reply = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/WebServices/PIMServices.svc/User",
        Some(&dave),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["UserName"], "dave");
    assert_eq!(reply.body["Suspended"], false);
    assert_eq!(reply.body["UserTypeName"], "EPVUser");
    let anonymous = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/WebServices/PIMServices.svc/User",
        None,
        None,
    )
    .await;
    assert_eq!(pvwa_error(&anonymous, 401), "RQDWS003E");
}

async fn members_see_the_accounts_of_their_safes_and_admins_all(app: TestApp) {
    let (admin, dave, alice, olga) = set_up(&app).await;
    let all = list(&app, &admin, "").await;
    assert_eq!(names(&all), ["admin-dc01", "oracle-db02", "root-db01"]);
    assert_eq!(all["count"], 3);
    assert!(all.get("nextLink").is_none(), "one page: {all}");
    let first = &all["value"][0];
    assert_eq!(first["id"], "2_3", "<safe id>_<account id>: {first}");
    assert_eq!(first["safeName"], "Windows");
    assert_eq!(first["address"], "admin-dc01.example.com");
    assert_eq!(first["userName"], "root");
    assert_eq!(first["platformId"], "");
    assert_eq!(first["secretType"], "password");
    assert_eq!(first["platformAccountProperties"], json!({}));
    assert_eq!(
        first["secretManagement"]["automaticManagementEnabled"],
        false
    );
    let created = first["createdTime"].as_i64().expect("unix seconds");
    assert!(
        (created - chrono::Utc::now().timestamp()).abs() < 60,
        "{first}"
    );
    assert_eq!(
        names(&list(&app, &dave, "").await),
        ["oracle-db02", "root-db01"]
    );
    assert_eq!(
        names(&list(&app, &alice, "").await),
        ["admin-dc01"],
        "through the approver group"
    );
    let none = list(&app, &olga, "").await;
    assert_eq!(none, json!({"value": [], "count": 0}));
}

async fn search_matches_every_word_and_search_type_startswith_anchors(app: TestApp) {
    let (admin, ..) = set_up(&app).await;
    assert_eq!(
        names(&list(&app, &admin, "?search=DB0").await),
        ["oracle-db02", "root-db01"],
        "regardless of case"
    );
    assert_eq!(
        names(&list(&app, &admin, "?search=db0%20oracle").await),
        ["oracle-db02"],
        "every word"
    );
    assert_eq!(
        names(&list(&app, &admin, "?search=windows").await),
        ["admin-dc01"],
        "the safe's name"
    );
    assert_eq!(
        names(&list(&app, &admin, "?search=db&searchType=startswith").await),
        Vec::<&str>::new()
    );
    assert_eq!(
        names(&list(&app, &admin, "?SEARCH=ora&SearchType=StartsWith").await),
        ["oracle-db02"]
    );
    assert_eq!(
        names(&list(&app, &admin, "?search=%25").await),
        Vec::<&str>::new(),
        "% is a character, not a wildcard"
    );
}

async fn the_safe_filter_and_sort_choose_and_order_accounts(app: TestApp) {
    let (admin, dave, ..) = set_up(&app).await;
    assert_eq!(
        names(&list(&app, &admin, "?filter=safeName%20eq%20linux").await),
        ["oracle-db02", "root-db01"]
    );
    assert_eq!(
        names(
            &list(
                &app,
                &admin,
                "?filter=SafeName%20eq%20%22Linux%22&sort=name%20desc"
            )
            .await
        ),
        ["root-db01", "oracle-db02"]
    );
    assert_eq!(
        names(&list(&app, &dave, "?filter=safeName%20eq%20Windows").await),
        Vec::<&str>::new(),
        "a safe one does not belong to shows nothing"
    );
    assert_eq!(
        names(&list(&app, &admin, "?sort=safeName%20desc").await)[0],
        "admin-dc01"
    );
}

async fn next_link_pages_through_the_list_relative_to_password_vault(app: TestApp) {
    let (admin, ..) = set_up(&app).await;
    let mut seen = Vec::new();
    let mut page = list(&app, &admin, "?search=o&limit=1").await;
    loop {
        assert_eq!(page["count"], 3, "{page}");
        seen.extend(names(&page).into_iter().map(str::to_owned));
        let Some(link) = page["nextLink"].as_str() else {
            break;
        };
        assert!(link.starts_with("api/Accounts?"), "no leading /: {link}");
        let reply = pvwa(
            &app,
            Method::GET,
            &format!("/PasswordVault/{link}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(reply.status, 200, "{link}: {reply:?}");
        page = reply.body;
    }
    assert_eq!(seen, ["admin-dc01", "oracle-db02", "root-db01"]);
}

async fn an_account_by_id_is_found_only_where_it_is_visible(app: TestApp) {
    let (admin, dave, ..) = set_up(&app).await;
    let get = |token: String, id: &'static str| {
        let app = &app;
        async move {
            pvwa(
                app,
                Method::GET,
                &format!("/PasswordVault/API/Accounts/{id}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let reply = get(dave.clone(), "1_1").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["name"], "root-db01");
    assert_eq!(reply.body["id"], "1_1");
    let bare = get(dave.clone(), "1").await;
    assert_eq!(bare.body, reply.body, "a bare id is read too");
    for (token, id) in [
        (dave.clone(), "2_3"),
        (dave.clone(), "3"),
        (admin.clone(), "2_1"),
        (admin.clone(), "1_99"),
        (admin.clone(), "x"),
    ] {
        let reply = get(token, id).await;
        assert_eq!(pvwa_error(&reply, 404), "RQDWS010E", "{id}");
        assert_eq!(reply.body["ErrorMessage"], format!("no account {id}"));
    }
}

async fn a_request_takes_and_shows_the_pvwa_account_id(app: TestApp) {
    let (_, dave, ..) = set_up(&app).await;
    let body = |id: &str| json!({"AccountId": id, "Reason": "Patch the database server tonight"});
    let reply = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/MyRequests",
        Some(&dave),
        Some(body("1_2")),
    )
    .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["AccountDetails"]["AccountID"], "1_2");
    assert_eq!(
        reply.body["AccountDetails"]["Properties"]["Name"],
        "oracle-db02"
    );
    let elsewhere = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/MyRequests",
        Some(&dave),
        Some(body("2_1")),
    )
    .await;
    assert_eq!(pvwa_error(&elsewhere, 400), "RQDWS001E");
    assert!(
        elsewhere.body["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("AccountId:")),
        "{elsewhere:?}"
    );
}

async fn bad_parameters_are_400_naming_the_parameter(app: TestApp) {
    let (admin, ..) = set_up(&app).await;
    let many_words = format!("search={}", "a+".repeat(11));
    let long_word = format!("search={}", "a".repeat(101));
    for (list, query, field) in [
        ("Accounts", "searchType=fuzzy", "searchType"),
        ("Accounts", "filter=modificationTime%20gte%201", "filter"),
        ("Accounts", "limit=0", "limit"),
        ("Accounts", "offset=-3", "offset"),
        ("Accounts", "sort=password", "sort"),
        ("Accounts", &many_words, "search"),
        ("Accounts", &long_word, "search"),
        ("Safes", &many_words, "search"),
        ("Safes", &long_word, "search"),
        ("Safes/Linux/Members", &many_words, "search"),
        ("Accounts", "search=a%00", "search"),
        ("Safes", "filter=x%00", "filter"),
    ] {
        let reply = pvwa(
            &app,
            Method::GET,
            &format!("/PasswordVault/API/{list}?{query}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(pvwa_error(&reply, 400), "RQDWS001E", "{list}?{query}");
        assert!(
            reply.body["ErrorMessage"]
                .as_str()
                .is_some_and(|m| m.starts_with(&format!("{field}:"))),
            "{list}?{query}: {reply:?}"
        );
    }
    let most = format!("search={}", ["a"; 10].join("+"));
    for list in ["Accounts", "Safes", "Safes/Linux/Members"] {
        let reply = pvwa(
            &app,
            Method::GET,
            &format!("/PasswordVault/API/{list}?{most}"),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(
            reply.status, 200,
            "{list}: ten words are allowed: {reply:?}"
        );
    }
}

async fn safes_list_only_the_callers_with_their_number_and_page_by_next_link(app: TestApp) {
    let (admin, dave, _, olga) = set_up(&app).await;
    let get = |token: String, query: &'static str| {
        let app = &app;
        async move {
            let reply = pvwa(
                app,
                Method::GET,
                &format!("/PasswordVault/API/Safes{query}"),
                Some(&token),
                None,
            )
            .await;
            assert_eq!(reply.status, 200, "{query}: {reply:?}");
            reply.body
        }
    };
    let all = get(admin.clone(), "").await;
    assert_eq!(all["count"], 2, "{all}");
    let linux = &all["value"][0];
    assert_eq!(linux["safeName"], "Linux");
    assert_eq!(linux["safeUrlId"], "Linux");
    assert_eq!(linux["safeNumber"], 1);
    assert_eq!(linux["location"], "\\");
    assert_eq!(linux["olacEnabled"], false);
    assert_eq!(linux["managingCPM"], "");
    assert!(linux["creationTime"].as_i64().is_some(), "{linux}");
    assert_eq!(all["value"][1]["safeNumber"], 2);
    let mine = get(dave, "").await;
    assert_eq!(mine["count"], 1);
    assert_eq!(mine["value"][0]["safeName"], "Linux");
    assert_eq!(get(olga, "").await, json!({"value": [], "count": 0}));
    assert_eq!(
        get(admin.clone(), "?search=WIN").await["value"][0]["safeName"],
        "Windows"
    );
    let first = get(admin.clone(), "?limit=1").await;
    assert_eq!(first["value"].as_array().map(Vec::len), Some(1));
    let link = first["nextLink"].as_str().expect("nextLink");
    assert_eq!(link, "api/Safes?offset=1&limit=1");
    let second = pvwa(
        &app,
        Method::GET,
        &format!("/PasswordVault/{link}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(second.body["value"][0]["safeName"], "Windows", "{second:?}");
    assert!(second.body.get("nextLink").is_none(), "{second:?}");
}

async fn a_safe_by_name_keeps_its_case_and_hides_from_outsiders(app: TestApp) {
    let (_, dave, _, olga) = set_up(&app).await;
    let reply = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/Safes/lInUx",
        Some(&dave),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["safeName"], "Linux");
    assert_eq!(reply.body["safeNumber"], 1);
    for (token, name) in [(&olga, "Linux"), (&dave, "Windows"), (&dave, "Nowhere")] {
        let reply = pvwa(
            &app,
            Method::GET,
            &format!("/PasswordVault/API/Safes/{name}"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(pvwa_error(&reply, 404), "RQDWS010E", "{name}");
        assert_eq!(reply.body["ErrorMessage"], format!("no safe named {name}"));
    }
}

async fn safe_members_have_pvwa_permissions_a_count_and_pages(app: TestApp) {
    let (admin, dave, _, olga) = set_up(&app).await;
    let reply = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/api/Safes/Linux/Members",
        Some(&dave),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["count"], 2, "{reply:?}");
    let members = reply.body["value"].as_array().expect("value");
    let by_name = |name: &str| {
        members
            .iter()
            .find(|m| m["memberName"] == name)
            .unwrap_or_else(|| panic!("{name} in {members:?}"))
    };
    let requester = by_name("dave");
    assert_eq!(requester["memberType"], "User");
    assert_eq!(requester["safeName"], "Linux");
    assert_eq!(requester["safeNumber"], 1);
    assert_eq!(requester["permissions"]["useAccounts"], true);
    assert_eq!(requester["permissions"]["retrieveAccounts"], true);
    assert_eq!(requester["permissions"]["listAccounts"], true);
    assert_eq!(
        requester["permissions"]["requestsAuthorizationLevel1"],
        false
    );
    let confirmer = by_name("carol");
    assert_eq!(confirmer["permissions"]["useAccounts"], false);
    assert_eq!(
        confirmer["permissions"]["requestsAuthorizationLevel1"],
        true
    );
    assert_eq!(
        confirmer["permissions"]["requestsAuthorizationLevel2"],
        false
    );
    let group = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/api/Safes/Windows/Members",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(group.body["value"][0]["memberType"], "Group", "{group:?}");
    assert_eq!(group.body["value"][0]["memberName"], "approver");
    let paged = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/api/Safes/Linux/Members?limit=1&OffSet=1",
        Some(&dave),
        None,
    )
    .await;
    assert_eq!(paged.body["count"], 2, "{paged:?}");
    assert_eq!(paged.body["value"].as_array().map(Vec::len), Some(1));
    assert_ne!(paged.body["value"][0], members[0], "the second page");
    let hidden = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/api/Safes/Linux/Members",
        Some(&olga),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&hidden, 404), "RQDWS010E");
}

async fn add_account_creates_it_with_its_platform_and_sealed_secret_admin_only(app: TestApp) {
    let (admin, dave, ..) = set_up(&app).await;
    let body = json!({
        "name": "sa-sql03",
        "address": "SQL03.example.com",
        "userName": "sa",
        "platformID": "MSSql",
        "SafeName": "linux",
        "secretType": "password",
        "secret": "Correct-Horse-9",
        "platformAccountProperties": {"Port": "1433"},
        "secretManagement": {"automaticManagementEnabled": false, "manualManagementReason": "x"}
    });
    let reply = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/Accounts",
        Some(&admin),
        Some(body.clone()),
    )
    .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["id"], "1_4");
    assert_eq!(reply.body["name"], "sa-sql03");
    assert_eq!(reply.body["address"], "sql03.example.com");
    assert_eq!(reply.body["userName"], "sa");
    assert_eq!(reply.body["platformId"], "MSSql");
    assert_eq!(reply.body["safeName"], "Linux");
    assert_eq!(reply.body["secretType"], "password");
    assert!(reply.body.get("secret").is_none(), "never shown: {reply:?}");
    let shown = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/Accounts/1_4",
        Some(&dave),
        None,
    )
    .await;
    assert_eq!(shown.body, reply.body, "{shown:?}");
    let stored = app
        .get("/api/v3/safes/Linux/accounts/4", Some(&admin))
        .await;
    assert_eq!(stored.status, 200, "{stored:?}");
    assert!(!stored.body.to_string().contains("Correct-Horse-9"));
    let unnamed = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/Accounts",
        Some(&admin),
        Some(json!({"address": "h1.example.com", "userName": "svc", "platformID": "UnixSSH", "SafeName": "Linux"})),
    )
    .await;
    assert_eq!(unnamed.status, 201, "{unnamed:?}");
    assert_eq!(unnamed.body["name"], "UnixSSH-h1.example.com-svc");
    let refused = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/Accounts",
        Some(&dave),
        Some(body.clone()),
    )
    .await;
    assert_eq!(pvwa_error(&refused, 403), "RQDWS006E");
    let mut elsewhere = body.clone();
    elsewhere["SafeName"] = json!("Nowhere");
    let missing = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/Accounts",
        Some(&admin),
        Some(elsewhere),
    )
    .await;
    assert_eq!(pvwa_error(&missing, 404), "RQDWS010E");
    let mut bad = body;
    bad["secretType"] = json!("certificate");
    bad["address"] = json!("not a host");
    let invalid = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/Accounts",
        Some(&admin),
        Some(bad),
    )
    .await;
    assert_eq!(pvwa_error(&invalid, 400), "RQDWS001E");
    assert!(
        invalid.body["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("secretType:")),
        "{invalid:?}"
    );
}

async fn request(app: &TestApp, token: &str, account: &str) -> String {
    let reply = pvwa(
        app,
        Method::POST,
        "/PasswordVault/API/MyRequests",
        Some(token),
        Some(json!({"AccountId": account, "Reason": "Patch the database server tonight"})),
    )
    .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.body["RequestID"]
        .as_str()
        .expect("RequestID")
        .to_owned()
}

async fn bulk_decisions_decide_each_item_and_keep_the_outcome_for_their_author(app: TestApp) {
    let (admin, dave, ..) = set_up(&app).await;
    create_account(&app, &admin, "Linux", "web-03").await;
    let carol = app.token_for("carol", crate::helpers::PASSWORD).await;
    let first = request(&app, &dave, "1_1").await;
    let second = request(&app, &dave, "1_2").await;
    let third = request(&app, &dave, "1_4").await;
    let reply = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/IncomingRequests/Confirm/Bulk",
        Some(&carol),
        Some(json!({"BulkItems": [
            {"RequestId": first, "Reason": "ok"},
            {"RequestId": "Linux_99", "Reason": "ok"},
            // What Approve-PASRequest sends without -Reason: an unbound [string] is "".
            {"RequestId": second, "Reason": ""}
        ]})),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let id = reply.body.as_i64().expect("a bare number");
    let status = pvwa(
        &app,
        Method::GET,
        &format!("/PasswordVault/API/bulkactions/{id}"),
        Some(&carol),
        None,
    )
    .await;
    assert_eq!(status.status, 200, "{status:?}");
    let action = &status.body;
    assert_eq!(action["Id"], id);
    assert_eq!(action["Source"], "IncomingRequests");
    assert_eq!(action["Action"], "Confirm");
    assert_eq!(action["Status"], "CompletedWithErrors");
    assert_eq!(
        action["Result"],
        json!({"Total": 3, "Succeeded": 2, "Failed": 1})
    );
    assert_eq!(
        action["SucceededItems"],
        json!({"Total": 2, "Items": [{"Index": 0, "RequestId": first}, {"Index": 2, "RequestId": second}]})
    );
    assert_eq!(
        action["FailedItems"],
        json!({"Total": 1, "Items": [{"Index": 1, "RequestId": "Linux_99",
            "Error": {"ErrorCode": "RQDWS010E", "ErrorMessage": "no request Linux_99"}}]})
    );
    for confirmed in [&first, &second] {
        let detail = pvwa(
            &app,
            Method::GET,
            &format!("/PasswordVault/API/MyRequests/{confirmed}"),
            Some(&dave),
            None,
        )
        .await;
        assert_eq!(detail.body["Status"], 2, "{detail:?}");
    }
    let foreign = pvwa(
        &app,
        Method::GET,
        &format!("/PasswordVault/API/BulkActions/{id}"),
        Some(&dave),
        None,
    )
    .await;
    assert_eq!(pvwa_error(&foreign, 404), "RQDWS010E");
    let rejected = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/incomingrequests/reject/bulk",
        Some(&carol),
        Some(json!({"bulkitems": [{"requestid": third}, {"RequestId": third, "Reason": "Not tonight"},
            {"RequestId": first, "Reason": "Too late"}]})),
    )
    .await;
    assert_eq!(rejected.status, 200, "{rejected:?}");
    let rejected_id = rejected.body.as_i64().expect("id");
    assert_ne!(rejected_id, id);
    let status = pvwa(
        &app,
        Method::GET,
        &format!("/PasswordVault/API/bulkactions/{rejected_id}"),
        Some(&carol),
        None,
    )
    .await;
    let failed = &status.body["FailedItems"]["Items"];
    assert_eq!(status.body["Action"], "Reject", "{status:?}");
    assert_eq!(
        status.body["Result"],
        json!({"Total": 3, "Succeeded": 1, "Failed": 2})
    );
    assert_eq!(failed[0]["Index"], 0);
    assert_eq!(
        failed[0]["Error"]["ErrorCode"], "RQDWS001E",
        "a reason is required"
    );
    assert_eq!(failed[1]["Index"], 2);
    assert_eq!(
        failed[1]["Error"]["ErrorCode"], "RQDWS012E",
        "no longer waiting"
    );
    let detail = pvwa(
        &app,
        Method::GET,
        &format!("/PasswordVault/API/MyRequests/{third}"),
        Some(&dave),
        None,
    )
    .await;
    assert_eq!(detail.body["Status"], 7, "{detail:?}");
    assert_eq!(detail.body["InvalidRequestReason"], 128);
    for body in [json!({"BulkItems": []}), json!({})] {
        let empty = pvwa(
            &app,
            Method::POST,
            "/PasswordVault/API/IncomingRequests/Confirm/Bulk",
            Some(&carol),
            Some(body.clone()),
        )
        .await;
        assert_eq!(pvwa_error(&empty, 400), "RQDWS001E", "{body}");
    }
}

async fn logon_with(app: &TestApp, body: Value) -> crate::helpers::Reply {
    pvwa(
        app,
        Method::POST,
        "/PasswordVault/API/auth/Cyberark/Logon",
        None,
        Some(body),
    )
    .await
}

async fn new_password_at_logon_changes_it_under_the_native_rules(app: TestApp) {
    let old_session = app.developer("dave").await;
    let refused = logon_with(
        &app,
        json!({"username": "dave", "password": crate::helpers::PASSWORD, "newPassword": "short"}),
    )
    .await;
    assert_eq!(pvwa_error(&refused, 400), "RQDWS001E");
    assert!(
        refused.body["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("newPassword:")),
        "{refused:?}"
    );
    let still = app.get("/api/v3/users/dave", Some(&old_session)).await;
    assert_eq!(still.status, 200, "nothing changed: {still:?}");
    let changed = logon_with(
        &app,
        json!({"username": "dave", "password": crate::helpers::PASSWORD, "newPassword": "a much better passphrase"}),
    )
    .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let token = changed.body.as_str().expect("a token");
    let works = pvwa(
        &app,
        Method::GET,
        "/PasswordVault/API/MyRequests",
        Some(token),
        None,
    )
    .await;
    assert_eq!(works.status, 200, "the new session stays: {works:?}");
    let ended = app.get("/api/v3/users/dave", Some(&old_session)).await;
    assert_eq!(
        ended.status, 401,
        "other sessions end, as with PATCH: {ended:?}"
    );
    let old = logon_with(
        &app,
        json!({"username": "dave", "password": crate::helpers::PASSWORD}),
    )
    .await;
    assert_eq!(pvwa_error(&old, 401), "RQDWS004E");
    let new = logon_with(
        &app,
        json!({"username": "dave", "password": "a much better passphrase"}),
    )
    .await;
    assert_eq!(new.status, 200, "{new:?}");
}

async fn additional_info_keys_and_connection_fields_are_kept_and_shown_back(app: TestApp) {
    let (_, dave, ..) = set_up(&app).await;
    let reply = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/MyRequests",
        Some(&dave),
        Some(json!({
            "AccountId": "1_1",
            "Reason": "Patch the database server tonight",
            "AdditionalInfo": {"Reference No": "CHG-1", "EmergencyIndication": "true",
                "Change Window": "Saturday 22:00", "Approver Group": "DBA"},
            "UseConnect": true,
            "ConnectionComponent": "PSM-SSH",
            "ConnectionParams": {"AllowMappingLocalDrives": {"value": "No", "ShouldSave": false}}
        })),
    )
    .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let id = reply.body["RequestID"].as_str().expect("id").to_owned();
    let detail = pvwa(
        &app,
        Method::GET,
        &format!("/PasswordVault/API/MyRequests/{id}"),
        Some(&dave),
        None,
    )
    .await;
    for shown in [&reply.body, &detail.body] {
        assert_eq!(
            shown["AdditionalInfo"],
            json!({"Reference No": "CHG-1", "EmergencyIndication": true,
                "Change Window": "Saturday 22:00", "Approver Group": "DBA"}),
            "{shown}"
        );
        assert_eq!(shown["UseConnect"], true);
        assert_eq!(shown["ConnectionComponent"], "PSM-SSH");
        assert_eq!(
            shown["ConnectionParams"],
            json!({"AllowMappingLocalDrives": {"value": "No", "ShouldSave": false}})
        );
    }
    let plain = pvwa(
        &app,
        Method::POST,
        "/PasswordVault/API/MyRequests",
        Some(&dave),
        Some(json!({"AccountId": "1_2", "Reason": "Patch the database server tonight"})),
    )
    .await;
    assert_eq!(plain.body["UseConnect"], false, "{plain:?}");
    assert_eq!(plain.body["ConnectionComponent"], "");
    assert_eq!(plain.body["ConnectionParams"], json!({}));
    for (body, field) in [
        (
            json!({"AdditionalInfo": {"Count": 3}}),
            "AdditionalInfo.Count",
        ),
        (json!({"ConnectionParams": "x"}), "ConnectionParams"),
    ] {
        let mut request =
            json!({"AccountId": "1_2", "Reason": "Patch the database server tonight"});
        for (key, value) in body.as_object().expect("object") {
            request[key] = value.clone();
        }
        let refused = pvwa(
            &app,
            Method::POST,
            "/PasswordVault/API/MyRequests",
            Some(&dave),
            Some(request),
        )
        .await;
        assert_eq!(pvwa_error(&refused, 400), "RQDWS001E", "{field}");
        assert!(
            refused.body["ErrorMessage"]
                .as_str()
                .is_some_and(|m| m.starts_with(&format!("{field}:"))),
            "{field}: {refused:?}"
        );
    }
}

async fn a_bulk_confirm_racing_a_bulk_reject_has_one_winner_per_item(app: TestApp) {
    let (admin, dave, ..) = set_up(&app).await;
    app.developer("erin").await;
    put_member(&app, &admin, "Linux", "erin", false, Some(1)).await;
    let carol = app.token_for("carol", crate::helpers::PASSWORD).await;
    let erin = app.token_for("erin", crate::helpers::PASSWORD).await;
    for round in 0..4 {
        let account = create_account(&app, &admin, "Linux", &format!("race-{round}")).await;
        let id = request(&app, &dave, &format!("1_{account}")).await;
        let body = json!({"BulkItems": [{"RequestId": id, "Reason": "Raced on purpose"}]});
        let (confirmed, rejected) = tokio::join!(
            pvwa(
                &app,
                Method::POST,
                "/PasswordVault/API/IncomingRequests/Confirm/Bulk",
                Some(&carol),
                Some(body.clone()),
            ),
            pvwa(
                &app,
                Method::POST,
                "/PasswordVault/API/IncomingRequests/Reject/Bulk",
                Some(&erin),
                Some(body.clone()),
            ),
        );
        let mut succeeded = 0;
        let mut final_status = None;
        for (reply, token, status) in [(&confirmed, &carol, 2), (&rejected, &erin, 7)] {
            assert_eq!(reply.status, 200, "round {round}: {reply:?}");
            let outcome = pvwa(
                &app,
                Method::GET,
                &format!("/PasswordVault/API/bulkactions/{}", reply.body),
                Some(token),
                None,
            )
            .await;
            match outcome.body["Status"].as_str() {
                Some("Completed") => {
                    succeeded += 1;
                    final_status = Some(status);
                }
                Some("Failed") => assert_eq!(
                    outcome.body["FailedItems"]["Items"][0]["Error"]["ErrorCode"], "RQDWS012E",
                    "round {round}: the loser finds it decided: {outcome:?}"
                ),
                other => panic!("round {round}: {other:?} in {outcome:?}"),
            }
        }
        assert_eq!(succeeded, 1, "round {round}: exactly one winner");
        let detail = pvwa(
            &app,
            Method::GET,
            &format!("/PasswordVault/API/MyRequests/{id}"),
            Some(&dave),
            None,
        )
        .await;
        assert_eq!(
            Some(detail.body["Status"].clone()),
            final_status.map(Value::from),
            "round {round}"
        );
    }
}
