//! psPAS, replayed: each request built as psPAS's source builds it (github.com/pspete/psPAS,
//! `psPAS/Functions/...` and `Private/Invoke-PASRestMethod.ps1`), and every property psPAS reads
//! from the answer asserted. What psPAS does, and so what this does:
//! - `$BaseURI` is `https://host/PasswordVault`; paths are written as each function writes them
//!   (`/API/Safes`, `/api/Accounts`, `/api/Auth/CyberArk/Logon`, `/WebServices/...`).
//! - `Invoke-PASRestMethod` always sends `Content-Type: application/json`, on GET and DELETE too,
//!   with no body; the session's `Authorization` header holds the bare token.
//! - Bodies are `ConvertTo-Json` output, pretty-printed (Windows PowerShell 5.1's layout for the
//!   logon, PowerShell 7's elsewhere); PowerShell 7 writes `ConvertTo-UnixTime` as `1796139298.0`.
//! - Query strings come from `ConvertTo-QueryString` (`EscapeDataString`, so spaces are `%20`),
//!   booleans as `True`/`False`; `Get-PASAccount` at version 14.6 quotes a filter value holding
//!   a space (`safeName eq "Fin Ops"`) and first asks `Accounts/AdvancedSearchProperties`.
//! - Lists are followed by `Get-NextLink`: `$BaseURI/$nextLink` until `nextLink` is absent;
//!   `Get-PASSafeMember` keeps members only when `count` is there, and pages with
//!   `limit=25&OffSet=25`.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, PASSWORD, Reply, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_pspas_session_finds_an_account_requests_it_and_sees_it_decided,
    pspas_bulk_approve_and_deny_and_the_bulk_status,
);

/// psPAS's module-scope session: the base URI and the token `New-PASSession` stored.
struct PsPas<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl<'a> PsPas<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self { app, token: None }
    }

    /// `Invoke-PASRestMethod -Uri "$BaseURI$path" -Method $method [-Body $body]`.
    async fn invoke(&self, method: Method, path: &str, body: Option<String>) -> Reply {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(&format!("/PasswordVault{path}")))
            .header("Content-Type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("Authorization", token);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        self.app.send(request).await
    }

    async fn get(&self, path: &str) -> Value {
        let reply = self.invoke(Method::GET, path, None).await;
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        reply.body
    }

    async fn post(&self, path: &str, body: Option<String>) -> Reply {
        self.invoke(Method::POST, path, body).await
    }

    /// `New-PASSession -Credential ... -concurrentSession $true`, then the version and user
    /// probes it makes.
    async fn new_session(app: &'a TestApp, username: &str) -> Self {
        let mut session = Self::new(app);
        let password = if username == "admin" {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        };
        // Windows PowerShell 5.1's ConvertTo-Json layout.
        let body = format!(
            "{{\r\n    \"username\":  \"{username}\",\r\n    \"password\":  \"{password}\",\r\n    \"concurrentSession\":  true\r\n}}"
        );
        let reply = session.post("/api/Auth/CyberArk/Logon", Some(body)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let token = reply.body.as_str().expect("the answer is a JSON string");
        assert!(
            token.len() >= 180,
            "psPAS takes it as a token only from 180 characters: {}",
            token.len()
        );
        session.token = Some(token.to_owned());
        let server = session.get("/WebServices/PIMServices.svc/Server").await;
        let version = server["ExternalVersion"].as_str().expect("ExternalVersion");
        let parts: Vec<u32> = version
            .split('.')
            .map(|p| p.parse().expect("[System.Version]"))
            .collect();
        assert!(parts >= vec![14, 6], "bulk decisions need 14.6: {version}");
        let user = session.get("/WebServices/PIMServices.svc/User").await;
        assert_eq!(user["UserName"], username, "{user}");
        session
    }

    /// `Get-NextLink`: the first page's `value`, then `$BaseURI/$nextLink` until none.
    async fn follow(&self, path: &str) -> Vec<Value> {
        let mut page = self.get(path).await;
        let mut items: Vec<Value> = page["value"].as_array().cloned().unwrap_or_default();
        while let Some(link) = page["nextLink"].as_str().map(str::to_owned) {
            assert!(!link.starts_with('/'), "relative to $BaseURI: {link}");
            page = self.get(&format!("/{link}")).await;
            items.extend(page["value"].as_array().cloned().unwrap_or_default());
        }
        items
    }

    /// `Close-PASSession`: POST with no body; the token is refused afterwards.
    async fn close(self) {
        let reply = self.post("/API/Auth/Logoff", None).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let after = self.invoke(Method::GET, "/API/MyRequests", None).await;
        assert_eq!(after.status, 401, "{after:?}");
        assert_eq!(after.body["ErrorCode"], "RQDWS003E");
    }
}

/// `ConvertTo-Json` as PowerShell 7 writes it (two-space indent).
fn ps7(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("json")
}

/// The properties psPAS's request formats show (`psPAS.CyberArk.Vault.Request`), each present
/// with its type.
fn assert_request_shape(request: &Value) {
    for key in [
        "RequestID",
        "SafeName",
        "RequestorUserName",
        "RequestorFullName",
        "RequestorReason",
        "UserReason",
        "Operation",
        "AccessType",
        "StatusTitle",
    ] {
        assert!(request[key].is_string(), "{key}: {request}");
    }
    for key in [
        "OperationType",
        "ConfirmationsLeft",
        "Status",
        "InvalidRequestReason",
        "CurrentConfirmationLevel",
        "RequiredConfirmersCountLevel2",
        "CreationDate",
        "ExpirationDate",
        "AccessFrom",
        "AccessTo",
    ] {
        assert!(request[key].is_i64(), "{key}: {request}");
    }
    for key in [
        "TicketingSystemProperties",
        "AdditionalInfo",
        "AccountDetails",
    ] {
        assert!(request[key].is_object(), "{key}: {request}");
    }
    assert!(
        request["AccountDetails"]["Properties"].is_object(),
        "{request}"
    );
    assert!(request["Confirmers"].is_array(), "{request}");
    assert!(request["Members"].is_array(), "{request}");
}

/// The safe `Fin Ops` (a space, as psPAS escapes it) needing one confirmation: dave requests
/// there, carol confirms. Made through the native API by the admin.
async fn set_up(app: &TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .post(
            "/api/v3/safes",
            Some(&admin),
            &json!({"name": "Fin Ops", "description": "Finance operations"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    app.developer("dave").await;
    app.developer("carol").await;
    for (who, can_request, level) in [("dave", true, None), ("carol", false, Some(1))] {
        let reply = app
            .put(
                &format!("/api/v3/safes/Fin%20Ops/members/{who}"),
                Some(&admin),
                &json!({"can_request": can_request, "confirm_level": level}),
            )
            .await;
        assert!(reply.status == 200 || reply.status == 201, "{reply:?}");
    }
}

/// `Add-PASAccount -name ... -address ... -userName ... -platformID UnixSSH -SafeName "Fin Ops"
/// -secretType Password -secret (ConvertTo-SecureString ...)`: returns the account's id.
async fn add_account(admin: &PsPas<'_>, name: &str) -> String {
    let body = ps7(&json!({
        "name": name,
        "address": format!("{name}.example.com"),
        "userName": "root",
        "platformID": "UnixSSH",
        "SafeName": "Fin Ops",
        "secretType": "password",
        "secret": "S3cret-for-the-vault"
    }));
    let reply = admin.post("/api/Accounts", Some(body)).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let account = &reply.body;
    assert_eq!(account["name"], name);
    assert_eq!(account["userName"], "root");
    assert_eq!(account["platformId"], "UnixSSH");
    assert_eq!(account["safeName"], "Fin Ops");
    assert_eq!(account["secretType"], "password");
    assert!(account.get("secret").is_none(), "{account}");
    account["id"].as_str().expect("id").to_owned()
}

/// `New-PASRequest -AccountId $id -Reason ... -MultipleAccessRequired $true -FromDate ... -ToDate
/// ...` on PowerShell 7: the dates as floats with no fraction.
async fn new_request(session: &PsPas<'_>, account_id: &str, hours_from_now: i64) -> Value {
    let from = (Utc::now() + Duration::hours(hours_from_now)).timestamp();
    let body = format!(
        "{{\n  \"AccountId\": \"{account_id}\",\n  \"Reason\": \"Patch the database server tonight\",\n  \"TicketingSystemName\": \"ServiceNow\",\n  \"TicketID\": \"CHG0012345\",\n  \"MultipleAccessRequired\": true,\n  \"FromDate\": {from}.0,\n  \"ToDate\": {}.0,\n  \"UseConnect\": true,\n  \"ConnectionComponent\": \"PSM-SSH\",\n  \"ConnectionParams\": {{\n    \"AllowMappingLocalDrives\": {{\n      \"value\": \"No\",\n      \"ShouldSave\": false\n    }}\n  }},\n  \"AdditionalInfo\": {{\n    \"Reference No\": \"CHG-2026-118\",\n    \"Change Window\": \"Saturday\"\n  }}\n}}",
        from + 3600
    );
    let reply = session.post("/API/MyRequests", Some(body)).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_request_shape(&reply.body);
    assert_eq!(reply.body["AccountDetails"]["AccountID"], account_id);
    assert_eq!(reply.body["AccessFrom"], from);
    assert_eq!(reply.body["AccessTo"], from + 3600);
    reply.body
}

async fn a_pspas_session_finds_an_account_requests_it_and_sees_it_decided(app: TestApp) {
    set_up(&app).await;
    let admin = PsPas::new_session(&app, "admin").await;
    let mut ids = Vec::new();
    for name in ["root-db01", "oracle-db02", "web-03"] {
        ids.push(add_account(&admin, name).await);
    }
    admin.close().await;

    let dave = PsPas::new_session(&app, "dave").await;
    // Get-PASSafe (Gen2, all), Get-PASSafe -search Fin, Get-PASSafe -SafeName "Fin Ops" (12.2).
    let safes = dave.follow("/API/Safes").await;
    assert_eq!(safes.len(), 1, "{safes:?}");
    assert_eq!(dave.follow("/API/Safes?search=Fin").await, safes);
    let safe = dave.get("/API/Safes/Fin%20Ops").await;
    assert_eq!(safes[0], safe);
    assert_eq!(safe["safeName"], "Fin Ops");
    assert_eq!(safe["safeUrlId"], "Fin Ops");
    assert_eq!(safe["description"], "Finance operations");
    assert_eq!(safe["location"], "\\");
    assert_eq!(safe["olacEnabled"], false);
    assert_eq!(safe["managingCPM"], "");
    assert_eq!(safe["autoPurgeEnabled"], false);
    assert_eq!(safe["isExpiredMember"], false);
    assert!(
        safe["safeNumber"].is_i64() && safe["creationTime"].is_i64(),
        "{safe}"
    );
    assert!(safe["creator"].is_object(), "{safe}");
    // Get-PASSafeMember -SafeName "Fin Ops": members only when `count` is present.
    let members = dave.get("/api/Safes/Fin%20Ops/Members").await;
    assert_eq!(members["count"], 2, "{members}");
    let value = members["value"].as_array().expect("value");
    for member in value {
        for key in [
            "memberName",
            "memberType",
            "safeName",
            "safeUrlId",
            "memberId",
        ] {
            assert!(member[key].is_string(), "{key}: {member}");
        }
        assert!(member["safeNumber"].is_i64(), "{member}");
        assert!(member["permissions"].is_object(), "{member}");
        assert!(member["isExpiredMembershipEnable"].is_boolean(), "{member}");
        assert!(member["isPredefinedUser"].is_boolean(), "{member}");
    }
    let carol = value
        .iter()
        .find(|m| m["memberName"] == "carol")
        .expect("carol");
    assert_eq!(carol["permissions"]["requestsAuthorizationLevel1"], true);
    let page2 = dave
        .get("/api/Safes/Fin%20Ops/Members?limit=25&OffSet=25")
        .await;
    assert_eq!(page2["value"], json!([]), "psPAS's second page: {page2}");
    // Get-PASSafeMember -SafeName "Fin Ops" -memberType User -membershipExpired $false
    // -search car (12.1+): below 14.6 ConvertTo-FilterString joins the clauses with " AND ";
    // from 14.6 (the version answered here) with " $LogicalOperator ", which Get-PASSafeMember
    // leaves empty: two spaces.
    for filter in [
        "memberType%20eq%20User%20AND%20membershipExpired%20eq%20False",
        "memberType%20eq%20User%20%20membershipExpired%20eq%20False",
    ] {
        let users = dave
            .get(&format!(
                "/api/Safes/Fin%20Ops/Members?search=car&filter={filter}"
            ))
            .await;
        assert_eq!(users["count"], 1, "{filter}: {users}");
        assert_eq!(users["value"][0]["memberName"], "carol", "{users}");
        assert_eq!(users["value"][0]["memberType"], "User", "{users}");
    }
    let groups = dave
        .get("/api/Safes/Fin%20Ops/Members?filter=memberType%20eq%20Group")
        .await;
    assert_eq!(groups["count"], 0, "no group is a member: {groups}");

    // Get-PASAccount -search db -safeName "Fin Ops" -limit 1 at 14.6: the search properties
    // first, then the list, followed by nextLink.
    let properties = dave.get("/API/Accounts/AdvancedSearchProperties").await;
    let safe_name = &properties["advancedSearchProperties"]["safeName"];
    assert_eq!(
        safe_name["supportedOperators"],
        json!(["eq"]),
        "{properties}"
    );
    assert!(safe_name["validValues"].is_array());
    assert!(safe_name["supportedLogicalOperators"].is_array());
    let found = dave
        .follow("/api/Accounts?search=db&filter=safeName%20eq%20%22Fin%20Ops%22&limit=1")
        .await;
    let names: Vec<&str> = found.iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["oracle-db02", "root-db01"]);
    for account in &found {
        for key in [
            "id",
            "name",
            "address",
            "userName",
            "platformId",
            "safeName",
            "secretType",
        ] {
            assert!(account[key].is_string(), "{key}: {account}");
        }
        assert!(account["createdTime"].is_i64(), "{account}");
        assert!(
            account["platformAccountProperties"].is_object(),
            "{account}"
        );
        assert!(account["secretManagement"].is_object(), "{account}");
    }
    let by_search_type = dave
        .follow("/api/Accounts?search=web&searchType=startswith")
        .await;
    assert_eq!(by_search_type.len(), 1, "{by_search_type:?}");
    // Get-PASAccount -id: the same object.
    let root = dave.get(&format!("/api/Accounts/{}", ids[0])).await;
    assert_eq!(root, found[1]);

    // New-PASRequest, Get-PASRequest -RequestType MyRequests -OnlyWaiting $true -Expired $false,
    // Get-PASRequestDetail.
    let request = new_request(&dave, &ids[0], 1).await;
    let request_id = request["RequestID"].as_str().expect("RequestID").to_owned();
    assert!(request_id.starts_with("Fin Ops_"), "{request_id}");
    let path_id = request_id.replace(' ', "%20");
    let mine = dave
        .get("/API/MyRequests?OnlyWaiting=True&Expired=False")
        .await;
    let listed = mine["MyRequests"].as_array().expect("MyRequests");
    assert_eq!(listed.len(), 1, "{mine}");
    assert_request_shape(&listed[0]);
    let detail = dave.get(&format!("/API/MyRequests/{path_id}")).await;
    assert_request_shape(&detail);
    assert_eq!(detail["Status"], 1);
    assert_eq!(detail["AdditionalInfo"]["Reference No"], "CHG-2026-118");
    assert_eq!(detail["AdditionalInfo"]["Change Window"], "Saturday");
    assert_eq!(detail["UseConnect"], true);
    assert_eq!(detail["ConnectionComponent"], "PSM-SSH");
    assert_eq!(
        detail["ConnectionParams"]["AllowMappingLocalDrives"]["value"],
        "No"
    );
    // New-PASRequest -BulkItems (13.2): not taken, and the 400 names the field.
    let bulk = dave
        .post(
            "/API/MyRequests",
            Some(ps7(
                &json!({"BulkItems": [{"Operation": "Add", "Item": {"AccountId": ids[0]}}]}),
            )),
        )
        .await;
    assert_eq!(bulk.status, 400, "{bulk:?}");
    assert!(
        bulk.body["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("BulkItems")),
        "{bulk:?}"
    );
    assert_eq!(detail["TicketingSystemProperties"]["Number"], "CHG0012345");

    // Remove-PASRequest: DELETE with the JSON content type and no body.
    let doomed = new_request(&dave, &ids[1], 1).await;
    let doomed_id = doomed["RequestID"]
        .as_str()
        .expect("id")
        .replace(' ', "%20");
    let removed = dave
        .invoke(
            Method::DELETE,
            &format!("/API/MyRequests/{doomed_id}"),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{removed:?}");
    let denied_request = new_request(&dave, &ids[2], 1).await;
    let denied_id = denied_request["RequestID"]
        .as_str()
        .expect("id")
        .replace(' ', "%20");

    // The confirmer: Get-PASRequest -RequestType IncomingRequests, Get-PASRequestDetail,
    // Approve-PASRequest and Deny-PASRequest for one id each.
    let carol = PsPas::new_session(&app, "carol").await;
    let incoming = carol
        .get("/API/IncomingRequests?OnlyWaiting=True&Expired=False")
        .await;
    let waiting = incoming["IncomingRequests"]
        .as_array()
        .expect("IncomingRequests");
    assert_eq!(waiting.len(), 2, "{incoming}");
    waiting.iter().for_each(assert_request_shape);
    let one = carol.get(&format!("/API/IncomingRequests/{path_id}")).await;
    assert_request_shape(&one);
    let approved = carol
        .post(
            &format!("/API/IncomingRequests/{path_id}/Confirm"),
            Some(ps7(&json!({"Reason": "Checked with the owner"}))),
        )
        .await;
    assert_eq!(approved.status, 200, "{approved:?}");
    assert_request_shape(&approved.body);
    assert_eq!(approved.body["Status"], 2);
    assert_eq!(approved.body["StatusTitle"], "Confirmed");
    let denied = carol
        .post(
            &format!("/API/IncomingRequests/{denied_id}/Reject"),
            Some(ps7(&json!({"Reason": "Not during the freeze"}))),
        )
        .await;
    assert_eq!(denied.status, 200, "{denied:?}");
    assert_eq!(denied.body["Status"], 7);
    assert_eq!(denied.body["InvalidRequestReason"], 128);
    carol.close().await;

    let decided = dave.get(&format!("/API/MyRequests/{path_id}")).await;
    assert_eq!(decided["Status"], 2, "{decided}");
    assert_eq!(decided["ConfirmationsLeft"], 0);
    // Get-PASAccountPassword -AccountID $id -Reason ... (Gen2): its bound parameters as the
    // body, then Get-PASAccount -id for the user name. The approved window opens in an hour,
    // so the vault refuses, saying why (tests/api/retrieval.rs retrieves inside a window).
    let early = dave
        .post(
            &format!("/api/Accounts/{}/Password/Retrieve", ids[0]),
            Some(ps7(&json!({"Reason": "Patch the database server tonight"}))),
        )
        .await;
    assert_eq!(early.status, 403, "{early:?}");
    assert_eq!(early.body["ErrorCode"], "RQDWS031E", "{early:?}");
    assert!(early.body["ErrorMessage"].is_string(), "{early:?}");
    let account = dave.get(&format!("/api/Accounts/{}", ids[0])).await;
    assert_eq!(account["userName"], "root", "{account}");
    dave.close().await;

    // New-PASSession -newPassword: the password changes under the native rules.
    let reply = PsPas::new(&app)
        .post(
            "/api/Auth/CyberArk/Logon",
            Some(ps7(&json!({"username": "dave", "password": PASSWORD,
                "newPassword": "a brand new passphrase"}))),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let old = PsPas::new(&app)
        .post(
            "/api/Auth/CyberArk/Logon",
            Some(ps7(&json!({"username": "dave", "password": PASSWORD}))),
        )
        .await;
    assert_eq!(old.status, 401, "{old:?}");
}

async fn pspas_bulk_approve_and_deny_and_the_bulk_status(app: TestApp) {
    set_up(&app).await;
    let admin = PsPas::new_session(&app, "admin").await;
    let mut ids = Vec::new();
    for name in ["root-db01", "oracle-db02", "web-03"] {
        ids.push(add_account(&admin, name).await);
    }
    let dave = PsPas::new_session(&app, "dave").await;
    let mut requests = Vec::new();
    for id in &ids {
        let request = new_request(&dave, id, 1).await;
        requests.push(request["RequestID"].as_str().expect("id").to_owned());
    }
    let carol = PsPas::new_session(&app, "carol").await;
    // Approve-PASRequest -RequestId $a, $b -Reason ...: {"BulkItems": [{RequestId, Reason}]}.
    let body = ps7(&json!({"BulkItems": [
        {"Reason": "Checked", "RequestId": requests[0]},
        {"Reason": "Checked", "RequestId": requests[1]}
    ]}));
    let reply = carol
        .post("/API/IncomingRequests/Confirm/Bulk", Some(body))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let bulk_id = reply.body.as_i64().expect("a bare number, read as Id");
    // Get-PASRequest -id $bulk_id (13.2): /API/bulkactions/{id}.
    let status = carol.get(&format!("/API/bulkactions/{bulk_id}")).await;
    assert_eq!(status["Id"], bulk_id);
    assert_eq!(status["Status"], "Completed");
    assert_eq!(status["Result"]["Succeeded"], 2);
    assert_eq!(status["SucceededItems"]["Total"], 2);
    assert_eq!(status["FailedItems"]["Total"], 0);
    assert!(status["CreationTime"].is_i64(), "{status}");
    // Deny-PASRequest -RequestId $c, $a -Reason ...: the second is no longer waiting.
    let body = ps7(&json!({"BulkItems": [
        {"Reason": "Not during the freeze", "RequestId": requests[2]},
        {"Reason": "Not during the freeze", "RequestId": requests[0]}
    ]}));
    let reply = carol
        .post("/API/IncomingRequests/Reject/Bulk", Some(body))
        .await;
    let deny_id = reply.body.as_i64().expect("id");
    let status = carol.get(&format!("/API/bulkactions/{deny_id}")).await;
    assert_eq!(status["Status"], "CompletedWithErrors", "{status}");
    assert_eq!(
        status["FailedItems"]["Items"][0]["Error"]["ErrorCode"],
        "RQDWS012E"
    );
    let mine = dave
        .get("/API/MyRequests?OnlyWaiting=False&Expired=True")
        .await;
    let by_id = |id: &str| {
        mine["MyRequests"]
            .as_array()
            .and_then(|all| all.iter().find(|r| r["RequestID"] == id))
            .map(|r| r["Status"].clone())
    };
    assert_eq!(by_id(&requests[0]), Some(json!(2)));
    assert_eq!(by_id(&requests[1]), Some(json!(2)));
    assert_eq!(by_id(&requests[2]), Some(json!(7)));
    for session in [admin, dave, carol] {
        session.close().await;
    }
}
