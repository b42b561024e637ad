//! `/api/v3/safes`: safes, their accounts and members, managed by administrators and seen by
//! members only.

use serde_json::json;

use crate::helpers::TestApp;
use crate::helpers::safes::{account_body, create_account, create_safe, put_group, put_member};
use crate::on_both_backends;

on_both_backends!(
    admins_create_safes_with_a_default_policy_and_unique_names,
    each_invalid_safe_or_account_field_is_named,
    only_admins_manage_safes_and_only_members_see_them,
    accounts_are_added_listed_shown_and_deleted,
    members_and_groups_are_set_listed_and_removed,
);

async fn admins_create_safes_with_a_default_policy_and_unique_names(app: TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .post("/api/v3/safes", Some(&admin), &json!({"name": "Finance"}))
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["name"], "Finance");
    assert_eq!(reply.body["level1_confirmations"], 1);
    assert_eq!(reply.body["level2_confirmations"], 0);
    assert_eq!(reply.body["request_expiry_hours"], 72);
    assert_eq!(reply.body["max_access_hours"], 8);
    assert_eq!(reply.body["ticket_required"], false);
    let duplicate = app
        .post("/api/v3/safes", Some(&admin), &json!({"name": "FINANCE"}))
        .await;
    assert_eq!(
        duplicate.status, 409,
        "names are unique regardless of case: {duplicate:?}"
    );
    assert_eq!(duplicate.problem_code(), "safe_exists");
    let by_other_case = app.get("/api/v3/safes/finance", Some(&admin)).await;
    assert_eq!(
        (by_other_case.status, by_other_case.body["name"].clone()),
        (200, json!("Finance"))
    );
    let patched = app
        .patch(
            "/api/v3/safes/Finance",
            Some(&admin),
            &json!({"max_access_hours": 24, "ticket_required": true}),
        )
        .await;
    assert_eq!(patched.status, 200, "{patched:?}");
    assert_eq!(
        (
            patched.body["max_access_hours"].clone(),
            patched.body["ticket_required"].clone()
        ),
        (json!(24), json!(true))
    );
    let deleted = app.delete("/api/v3/safes/Finance", Some(&admin)).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(
        app.get("/api/v3/safes/Finance", Some(&admin)).await.status,
        404
    );
    let again = app
        .post("/api/v3/safes", Some(&admin), &json!({"name": "Finance"}))
        .await;
    assert_eq!(
        again.status, 201,
        "a deleted safe's name can be used again: {again:?}"
    );
}

async fn each_invalid_safe_or_account_field_is_named(app: TestApp) {
    let admin = app.admin_token().await;
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": "a/b"}), "name"),
        (json!({"name": "x".repeat(29)}), "name"),
        (
            json!({"name": "S", "level1_confirmations": 0}),
            "level1_confirmations",
        ),
        (
            json!({"name": "S", "level2_confirmations": 11}),
            "level2_confirmations",
        ),
        (
            json!({"name": "S", "request_expiry_hours": 0}),
            "request_expiry_hours",
        ),
        (
            json!({"name": "S", "max_access_hours": 9000}),
            "max_access_hours",
        ),
        (json!({"name": "S", "owner": "me"}), "owner"),
    ];
    for (body, field) in cases {
        let reply = app.post("/api/v3/safes", Some(&admin), &body).await;
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert_eq!(reply.error_fields(), [field], "{body}");
    }
    create_safe(&app, &admin, json!({"name": "Ops"})).await;
    let accounts = [
        (
            json!({"name": "a", "address": "not a host!", "user_name": "root"}),
            "address",
        ),
        (
            json!({"name": "", "address": "db01", "user_name": "root"}),
            "name",
        ),
        (
            json!({"name": "a", "address": "db01", "user_name": " "}),
            "user_name",
        ),
    ];
    for (body, field) in accounts {
        let reply = app
            .post("/api/v3/safes/Ops/accounts", Some(&admin), &body)
            .await;
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert_eq!(reply.error_fields(), [field], "{body}");
    }
    let level = app
        .send(
            app.request(
                reqwest::Method::PUT,
                "/api/v3/safes/Ops/members/admin",
                Some(&admin),
            )
            .json(&json!({"can_request": true, "confirm_level": 3})),
        )
        .await;
    assert_eq!(
        (level.status, level.error_fields()),
        (400, vec!["confirm_level".to_owned()]),
        "{level:?}"
    );
}

async fn only_admins_manage_safes_and_only_members_see_them(app: TestApp) {
    let admin = app.admin_token().await;
    let amy = app.developer("amy").await;
    app.developer("bob").await;
    let bob = app.token_for("bob", crate::helpers::PASSWORD).await;
    let refused = app
        .post("/api/v3/safes", Some(&amy), &json!({"name": "Mine"}))
        .await;
    assert_eq!(refused.status, 403, "{refused:?}");
    create_safe(&app, &admin, json!({"name": "Alpha"})).await;
    create_safe(&app, &admin, json!({"name": "Beta"})).await;
    create_safe(&app, &admin, json!({"name": "Gamma"})).await;
    put_member(&app, &admin, "Alpha", "amy", true, None).await;
    put_group(&app, &admin, "Beta", "developer", true, None).await;

    let all = app.get("/api/v3/safes", Some(&admin)).await;
    assert_eq!(all.body["total"], 3, "{all:?}");
    let mine = app.get("/api/v3/safes", Some(&amy)).await;
    let names: Vec<_> = mine.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("Alpha"), json!("Beta")],
        "direct and through the role: {mine:?}"
    );
    assert_eq!(
        app.get("/api/v3/safes/Gamma", Some(&amy)).await.status,
        404,
        "not a member: as if it did not exist"
    );
    assert_eq!(app.get("/api/v3/safes/Alpha", Some(&bob)).await.status, 404);
    assert_eq!(
        app.get("/api/v3/safes/Beta", Some(&bob)).await.status,
        200,
        "bob is a developer too"
    );
    let membership = json!({"can_request": true, "confirm_level": null});
    for (method, path, body) in [
        (
            reqwest::Method::PATCH,
            "/api/v3/safes/Alpha",
            json!({"description": "mine now"}),
        ),
        (reqwest::Method::DELETE, "/api/v3/safes/Alpha", json!({})),
        (
            reqwest::Method::POST,
            "/api/v3/safes/Alpha/accounts",
            account_body("x"),
        ),
        (
            reqwest::Method::PUT,
            "/api/v3/safes/Alpha/members/bob",
            membership.clone(),
        ),
        (
            reqwest::Method::PUT,
            "/api/v3/safes/Alpha/groups/customer",
            membership.clone(),
        ),
        (
            reqwest::Method::DELETE,
            "/api/v3/safes/Alpha/members/amy",
            json!({}),
        ),
    ] {
        let reply = app
            .send(app.request(method.clone(), path, Some(&amy)).json(&body))
            .await;
        assert_eq!(reply.status, 403, "{method} {path}: {reply:?}");
    }
}

async fn accounts_are_added_listed_shown_and_deleted(app: TestApp) {
    let admin = app.admin_token().await;
    create_safe(&app, &admin, json!({"name": "Ops"})).await;
    let id = create_account(&app, &admin, "Ops", "root-db01").await;
    let shown = app
        .get(&format!("/api/v3/safes/Ops/accounts/{id}"), Some(&admin))
        .await;
    assert_eq!(shown.status, 200, "{shown:?}");
    assert_eq!(shown.body["name"], "root-db01");
    assert_eq!(shown.body["folder"], "Root");
    assert_eq!(shown.body["address"], "root-db01.example.com");
    assert_eq!(shown.body["user_name"], "root");
    assert_eq!(shown.body["safe"], "Ops");
    assert_eq!(shown.body["last_used_at"], json!(null));
    assert!(
        !shown.body.to_string().to_lowercase().contains("password"),
        "no secret anywhere"
    );
    let second = app
        .post(
            "/api/v3/safes/Ops/accounts",
            Some(&admin),
            &account_body("admin-web01"),
        )
        .await;
    assert_eq!(second.status, 201);
    let list = app
        .get("/api/v3/safes/Ops/accounts?per_page=1", Some(&admin))
        .await;
    assert_eq!(
        (
            list.body["total"].clone(),
            list.body["items"][0]["name"].clone()
        ),
        (json!(2), json!("admin-web01")),
        "{list:?}"
    );
    assert_eq!(
        app.delete(&format!("/api/v3/safes/Ops/accounts/{id}"), Some(&admin))
            .await
            .status,
        204
    );
    assert_eq!(
        app.get(&format!("/api/v3/safes/Ops/accounts/{id}"), Some(&admin))
            .await
            .status,
        404
    );
    assert_eq!(
        app.delete(&format!("/api/v3/safes/Ops/accounts/{id}"), Some(&admin))
            .await
            .status,
        404
    );
}

async fn members_and_groups_are_set_listed_and_removed(app: TestApp) {
    let admin = app.admin_token().await;
    app.developer("amy").await;
    create_safe(&app, &admin, json!({"name": "Ops"})).await;
    let member = put_member(&app, &admin, "Ops", "amy", true, None).await;
    assert_eq!(
        member,
        json!({"type": "user", "name": "amy", "can_request": true, "confirm_level": null})
    );
    let group = put_group(&app, &admin, "Ops", "approver", false, Some(2)).await;
    assert_eq!(
        group,
        json!({"type": "group", "name": "approver", "can_request": false, "confirm_level": 2})
    );
    let changed = put_member(&app, &admin, "Ops", "amy", false, Some(1)).await;
    assert_eq!(changed["confirm_level"], 1, "PUT replaces");
    let list = app.get("/api/v3/safes/Ops/members", Some(&admin)).await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(2), "{list:?}");
    let unknown = app
        .send(
            app.request(
                reqwest::Method::PUT,
                "/api/v3/safes/Ops/members/nobody",
                Some(&admin),
            )
            .json(&json!({"can_request": true, "confirm_level": null})),
        )
        .await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    let bad_role = app
        .send(
            app.request(
                reqwest::Method::PUT,
                "/api/v3/safes/Ops/groups/wizards",
                Some(&admin),
            )
            .json(&json!({"can_request": true, "confirm_level": null})),
        )
        .await;
    assert_eq!(bad_role.status, 404, "{bad_role:?}");
    for role in ["developer", "customer"] {
        let confirming = app
            .send(
                app.request(
                    reqwest::Method::PUT,
                    &format!("/api/v3/safes/Ops/groups/{role}"),
                    Some(&admin),
                )
                .json(&json!({"can_request": true, "confirm_level": 1})),
            )
            .await;
        assert_eq!(
            confirming.status, 400,
            "anyone may sign up as {role}: {confirming:?}"
        );
        assert_eq!(
            confirming.body["errors"][0]["field"], "confirm_level",
            "{confirming:?}"
        );
    }
    let list = app.get("/api/v3/safes/Ops/members", Some(&admin)).await;
    assert_eq!(
        list.body.as_array().map(Vec::len),
        Some(2),
        "nothing stored: {list:?}"
    );
    assert_eq!(
        app.delete("/api/v3/safes/Ops/members/amy", Some(&admin))
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete("/api/v3/safes/Ops/groups/approver", Some(&admin))
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete("/api/v3/safes/Ops/members/amy", Some(&admin))
            .await
            .status,
        404,
        "already removed"
    );
    let empty = app.get("/api/v3/safes/Ops/members", Some(&admin)).await;
    assert_eq!(empty.body, json!([]));
}
