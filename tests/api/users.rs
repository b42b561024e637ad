//! `/api/v3/users`: sign-up, listing, showing, updating and deleting users, and the roles.

use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, new_user};
use crate::on_both_backends;

on_both_backends!(
    sign_up_creates_an_active_developer_without_any_password_field,
    sign_up_accepts_the_customer_role,
    anonymous_sign_up_as_approver_or_admin_is_forbidden,
    an_admin_may_create_users_of_any_role,
    a_duplicate_username_or_email_is_409,
    each_invalid_sign_up_field_is_named,
    admins_list_every_user_paginated_and_filtered,
    non_admins_list_only_themselves,
    users_see_themselves_and_admins_see_anyone,
    users_update_their_own_profile,
    non_admins_cannot_change_roles_statuses_or_other_users,
    changing_ones_password_needs_the_current_one_and_ends_other_sessions,
    suspending_a_user_ends_their_sessions_and_refuses_log_in,
    the_last_active_admin_cannot_be_demoted_suspended_or_deleted,
    deleting_oneself_ends_every_session_and_log_in,
    admins_delete_anyone_and_others_only_themselves,
    roles_are_listed_with_descriptions,
    guessing_the_current_password_is_locked_out_like_log_in,
);

async fn sign_up_creates_an_active_developer_without_any_password_field(app: TestApp) {
    let reply = app.sign_up("jdoe", None).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["username"], "jdoe");
    assert_eq!(reply.body["name"], "jdoe Example");
    assert_eq!(reply.body["email"], "jdoe@example.com");
    assert_eq!(reply.body["role"]["role"], "developer");
    assert!(
        reply.body["role"]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert_eq!(reply.body["status"], "active");
    let created = reply.body["created_at"].as_str().expect("created_at");
    assert!(
        chrono::DateTime::parse_from_rfc3339(created)
            .is_ok_and(|t| t.offset().local_minus_utc() == 0)
    );
    let text = reply.body.to_string();
    assert!(
        !text.contains("password") && !text.contains("$2b$"),
        "{text}"
    );
}

async fn sign_up_accepts_the_customer_role(app: TestApp) {
    let reply = app.sign_up("carol", Some("customer")).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body["role"]["role"], "customer");
}

async fn anonymous_sign_up_as_approver_or_admin_is_forbidden(app: TestApp) {
    for role in ["approver", "admin"] {
        let reply = app.sign_up("mallory", Some(role)).await;
        assert_eq!(reply.status, 403, "role {role}: {reply:?}");
        assert_eq!(reply.problem_code(), "role_not_self_service");
    }
    let developer = app.developer("dave").await;
    let reply = app
        .post(
            "/api/v3/users",
            Some(&developer),
            &new_user("mallory", Some("admin")),
        )
        .await;
    assert_eq!(
        reply.status, 403,
        "a developer cannot create an admin: {reply:?}"
    );
    let reply = app.log_in("mallory", PASSWORD).await;
    assert_eq!(reply.status, 401, "nothing was created: {reply:?}");
}

async fn an_admin_may_create_users_of_any_role(app: TestApp) {
    let admin = app.admin_token().await;
    for (username, role) in [
        ("anna", "admin"),
        ("apollo", "approver"),
        ("devon", "developer"),
    ] {
        let reply = app
            .post(
                "/api/v3/users",
                Some(&admin),
                &new_user(username, Some(role)),
            )
            .await;
        assert_eq!(reply.status, 201, "{role}: {reply:?}");
        assert_eq!(reply.body["role"]["role"], role);
    }
}

async fn a_duplicate_username_or_email_is_409(app: TestApp) {
    assert_eq!(app.sign_up("jdoe", None).await.status, 201);
    let reply = app.sign_up("jdoe", None).await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.problem_code(), "username_taken");
    let mut same_email = new_user("other", None);
    same_email["email"] = json!("JDOE@Example.com");
    let reply = app.post("/api/v3/users", None, &same_email).await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.problem_code(), "email_taken");
}

async fn each_invalid_sign_up_field_is_named(app: TestApp) {
    let cases = [
        ("username", json!("ab"), "too short"),
        ("username", json!("John"), "uppercase"),
        ("username", json!("a b"), "space"),
        ("username", json!("a".repeat(65)), "too long"),
        ("password", json!("1234567"), "7 bytes"),
        ("password", json!("x".repeat(73)), "73 bytes"),
        ("email", json!("not-an-email"), "no @"),
        ("email", json!("me@localhost"), "no domain dot"),
        ("name", json!("   "), "blank name"),
        ("role", json!("superuser"), "unknown role"),
        ("username", json!(42), "wrong type"),
    ];
    for (field, value, case) in cases {
        let mut body = new_user("valid.name", None);
        body[field] = value;
        let reply = app.post("/api/v3/users", None, &body).await;
        assert_eq!(reply.status, 400, "{case}: {reply:?}");
        assert_eq!(reply.problem_code(), "validation_failed", "{case}");
        assert_eq!(reply.error_fields(), [field], "{case}");
    }
    let mut missing = new_user("valid.name", None);
    missing.as_object_mut().expect("object").remove("email");
    let reply = app.post("/api/v3/users", None, &missing).await;
    assert_eq!(
        (reply.status, reply.error_fields()),
        (400, vec!["email".to_owned()]),
        "missing field"
    );
    let mut unknown = new_user("valid.name", None);
    unknown["is_admin"] = json!(true);
    let reply = app.post("/api/v3/users", None, &unknown).await;
    assert_eq!(
        (reply.status, reply.error_fields()),
        (400, vec!["is_admin".to_owned()]),
        "unknown field"
    );
    assert_eq!(
        app.log_in("valid.name", PASSWORD).await.status,
        401,
        "nothing was written"
    );
}

async fn admins_list_every_user_paginated_and_filtered(app: TestApp) {
    let admin = app.admin_token().await;
    for name in ["amy", "bob", "cat"] {
        app.developer(name).await;
    }
    app.user_with_role("zed", "approver").await;

    let page = app.get("/api/v3/users?per_page=2", Some(&admin)).await;
    assert_eq!(page.status, 200, "{page:?}");
    let names: Vec<_> = page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["username"].clone())
        .collect();
    assert_eq!(names, [json!("admin"), json!("amy")]);
    assert_eq!(
        (page.body["page"].clone(), page.body["per_page"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(
        (page.body["total"].clone(), page.body["total_pages"].clone()),
        (json!(5), json!(3))
    );

    let last = app
        .get("/api/v3/users?per_page=2&page=3", Some(&admin))
        .await;
    assert_eq!(last.body["items"][0]["username"], "zed", "{last:?}");

    let approvers = app.get("/api/v3/users?role=approver", Some(&admin)).await;
    assert_eq!(approvers.body["total"], 1, "{approvers:?}");
    assert_eq!(approvers.body["items"][0]["username"], "zed");

    let search = app.get("/api/v3/users?q=BOB", Some(&admin)).await;
    assert_eq!(search.body["total"], 1, "{search:?}");
    assert_eq!(search.body["items"][0]["username"], "bob");

    let wildcard = app.get("/api/v3/users?q=%25", Some(&admin)).await;
    assert_eq!(
        wildcard.body["total"], 0,
        "a % is matched literally: {wildcard:?}"
    );

    let bad = app.get("/api/v3/users?role=boss", Some(&admin)).await;
    assert_eq!(
        (bad.status, bad.error_fields()),
        (400, vec!["role".to_owned()]),
        "{bad:?}"
    );
}

async fn non_admins_list_only_themselves(app: TestApp) {
    app.developer("amy").await;
    let bob = app.developer("bob").await;
    let reply = app.get("/api/v3/users", Some(&bob)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["total"], 1);
    assert_eq!(reply.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(reply.body["items"][0]["username"], "bob");
}

async fn users_see_themselves_and_admins_see_anyone(app: TestApp) {
    let admin = app.admin_token().await;
    let amy = app.developer("amy").await;
    app.developer("bob").await;
    let own = app.get("/api/v3/users/amy", Some(&amy)).await;
    assert_eq!(
        (own.status, own.body["username"].clone()),
        (200, json!("amy")),
        "{own:?}"
    );
    let other = app.get("/api/v3/users/bob", Some(&amy)).await;
    assert_eq!(other.status, 403, "{other:?}");
    assert_eq!(other.problem_code(), "forbidden");
    let as_admin = app.get("/api/v3/users/bob", Some(&admin)).await;
    assert_eq!(
        (as_admin.status, as_admin.body["username"].clone()),
        (200, json!("bob"))
    );
    let unknown = app.get("/api/v3/users/nobody", Some(&admin)).await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(unknown.problem_code(), "not_found");
}

async fn users_update_their_own_profile(app: TestApp) {
    let amy = app.developer("amy").await;
    let reply = app
        .patch(
            "/api/v3/users",
            Some(&amy),
            &json!({"name": "Amy Pond", "email": "Amy@Pond.example"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        (reply.body["name"].clone(), reply.body["email"].clone()),
        (json!("Amy Pond"), json!("amy@pond.example"))
    );
    let by_name = app
        .patch("/api/v3/users/amy", Some(&amy), &json!({"name": "Amelia"}))
        .await;
    assert_eq!(
        (by_name.status, by_name.body["name"].clone()),
        (200, json!("Amelia")),
        "{by_name:?}"
    );
    assert!(by_name.body["updated_at"].as_str() >= reply.body["created_at"].as_str());

    let empty = app.patch("/api/v3/users", Some(&amy), &json!({})).await;
    assert_eq!(
        (empty.status, empty.error_fields()),
        (400, vec!["body".to_owned()]),
        "{empty:?}"
    );
    app.developer("bob").await;
    let taken = app
        .patch(
            "/api/v3/users",
            Some(&amy),
            &json!({"email": "bob@example.com"}),
        )
        .await;
    assert_eq!(taken.status, 409, "{taken:?}");
    assert_eq!(taken.problem_code(), "email_taken");
}

async fn non_admins_cannot_change_roles_statuses_or_other_users(app: TestApp) {
    let amy = app.developer("amy").await;
    app.developer("bob").await;
    for body in [
        json!({"role": "admin"}),
        json!({"status": "suspended"}),
        json!({"name": "X", "role": "approver"}),
    ] {
        let reply = app.patch("/api/v3/users/amy", Some(&amy), &body).await;
        assert_eq!(reply.status, 403, "{body}: {reply:?}");
        assert_eq!(reply.problem_code(), "admin_only_field");
    }
    let other = app
        .patch("/api/v3/users/bob", Some(&amy), &json!({"name": "Hacked"}))
        .await;
    assert_eq!(other.status, 403, "{other:?}");
    let me = app.get("/api/v3/users/amy", Some(&amy)).await;
    assert_eq!(
        (me.body["role"]["role"].clone(), me.body["name"].clone()),
        (json!("developer"), json!("amy Example")),
        "nothing changed"
    );

    let admin = app.admin_token().await;
    let promoted = app
        .patch(
            "/api/v3/users/amy",
            Some(&admin),
            &json!({"role": "approver"}),
        )
        .await;
    assert_eq!(
        (promoted.status, promoted.body["role"]["role"].clone()),
        (200, json!("approver")),
        "{promoted:?}"
    );
}

async fn changing_ones_password_needs_the_current_one_and_ends_other_sessions(app: TestApp) {
    let first = app.developer("amy").await;
    let second = app.token_for("amy", PASSWORD).await;
    let missing = app
        .patch(
            "/api/v3/users",
            Some(&first),
            &json!({"password": "new password 1"}),
        )
        .await;
    assert_eq!(
        (missing.status, missing.error_fields()),
        (400, vec!["current_password".to_owned()]),
        "{missing:?}"
    );
    let wrong = app
        .patch(
            "/api/v3/users",
            Some(&first),
            &json!({"password": "new password 1", "current_password": "not it at all"}),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.error_fields()),
        (400, vec!["current_password".to_owned()]),
        "{wrong:?}"
    );

    let changed = app
        .patch(
            "/api/v3/users",
            Some(&first),
            &json!({"password": "new password 1", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(
        app.get("/api/v3/users/amy", Some(&first)).await.status,
        200,
        "the session that changed it stays"
    );
    assert_eq!(
        app.get("/api/v3/users/amy", Some(&second)).await.status,
        401,
        "other sessions end"
    );
    assert_eq!(
        app.log_in("amy", PASSWORD).await.status,
        401,
        "the old password is refused"
    );
    assert_eq!(
        app.log_in("amy", "new password 1").await.status,
        201,
        "the new one works"
    );
}

async fn suspending_a_user_ends_their_sessions_and_refuses_log_in(app: TestApp) {
    let admin = app.admin_token().await;
    let amy = app.developer("amy").await;
    let reply = app
        .patch(
            "/api/v3/users/amy",
            Some(&admin),
            &json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["status"].clone()),
        (200, json!("suspended")),
        "{reply:?}"
    );
    let refused = app.get("/api/v3/users/amy", Some(&amy)).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    let login = app.log_in("amy", PASSWORD).await;
    assert_eq!(login.status, 403, "{login:?}");
    assert_eq!(login.problem_code(), "user_suspended");
    let deleted_status = app
        .patch(
            "/api/v3/users/amy",
            Some(&admin),
            &json!({"status": "deleted"}),
        )
        .await;
    assert_eq!(
        (deleted_status.status, deleted_status.error_fields()),
        (400, vec!["status".to_owned()])
    );
    let back = app
        .patch(
            "/api/v3/users/amy",
            Some(&admin),
            &json!({"status": "active"}),
        )
        .await;
    assert_eq!(back.status, 200);
    assert_eq!(
        app.log_in("amy", PASSWORD).await.status,
        201,
        "reactivated users log in again"
    );
}

async fn the_last_active_admin_cannot_be_demoted_suspended_or_deleted(app: TestApp) {
    let admin = app.admin_token().await;
    for body in [json!({"role": "developer"}), json!({"status": "suspended"})] {
        let reply = app.patch("/api/v3/users/admin", Some(&admin), &body).await;
        assert_eq!(reply.status, 409, "{body}: {reply:?}");
        assert_eq!(reply.problem_code(), "last_admin");
    }
    let reply = app.delete("/api/v3/users", Some(&admin)).await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.problem_code(), "last_admin");

    app.user_with_role("second", "admin").await;
    let demoted = app
        .patch(
            "/api/v3/users/admin",
            Some(&admin),
            &json!({"role": "developer"}),
        )
        .await;
    assert_eq!(
        demoted.status, 200,
        "with a second admin the first may go: {demoted:?}"
    );
}

async fn deleting_oneself_ends_every_session_and_log_in(app: TestApp) {
    let amy = app.developer("amy").await;
    let reply = app.delete("/api/v3/users", Some(&amy)).await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (204, serde_json::Value::Null),
        "{reply:?}"
    );
    assert_eq!(app.get("/api/v3/users/amy", Some(&amy)).await.status, 401);
    assert_eq!(app.log_in("amy", PASSWORD).await.status, 401);
    let admin = app.admin_token().await;
    assert_eq!(
        app.get("/api/v3/users/amy", Some(&admin)).await.status,
        404,
        "deleted users are gone from view"
    );
    let deleted = app.get("/api/v3/users?status=deleted", Some(&admin)).await;
    assert_eq!(
        deleted.body["items"][0]["username"], "amy",
        "but kept for the records: {deleted:?}"
    );
    assert_eq!(
        app.sign_up("amy", None).await.status,
        409,
        "usernames are not reused"
    );
}

async fn admins_delete_anyone_and_others_only_themselves(app: TestApp) {
    let admin = app.admin_token().await;
    let amy = app.developer("amy").await;
    let bob = app.developer("bob").await;
    let refused = app.delete("/api/v3/users/bob", Some(&amy)).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    let deleted = app.delete("/api/v3/users/bob", Some(&admin)).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(app.get("/api/v3/users/bob", Some(&bob)).await.status, 401);
    let again = app.delete("/api/v3/users/bob", Some(&admin)).await;
    assert_eq!(again.status, 404, "{again:?}");
    let by_name = app.delete("/api/v3/users/amy", Some(&amy)).await;
    assert_eq!(by_name.status, 204, "deleting oneself by name: {by_name:?}");
}

async fn roles_are_listed_with_descriptions(app: TestApp) {
    let reply = app.get("/api/v3/users/roles", None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let roles: Vec<_> = reply
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["role"].clone())
        .collect();
    assert_eq!(
        roles,
        [
            json!("admin"),
            json!("approver"),
            json!("developer"),
            json!("customer")
        ]
    );
    assert!(
        reply
            .body
            .as_array()
            .expect("array")
            .iter()
            .all(|r| r["description"].as_str().is_some_and(|d| d.len() > 10))
    );
}

async fn guessing_the_current_password_is_locked_out_like_log_in(app: TestApp) {
    let amy = app.developer("amy").await;
    let guess = json!({"password": "new password 1", "current_password": "a wrong guess"});
    for attempt in 1..=5 {
        let reply = app.patch("/api/v3/users", Some(&amy), &guess).await;
        assert_eq!(reply.status, 400, "guess {attempt}: {reply:?}");
    }
    let locked = app.patch("/api/v3/users", Some(&amy), &guess).await;
    assert_eq!(locked.status, 429, "{locked:?}");
    assert!(locked.header("retry-after").is_some());
    let right = json!({"password": "new password 1", "current_password": PASSWORD});
    assert_eq!(
        app.patch("/api/v3/users", Some(&amy), &right).await.status,
        429,
        "even the right one waits"
    );
    assert_eq!(
        app.log_in("amy", PASSWORD).await.status,
        429,
        "and so does log-in"
    );
}
