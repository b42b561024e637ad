//! Privileged access requests with dual control: the policy refusals, level 1 then level 2,
//! groups that count once, rejection, every invalid reason, one-time use, ownership and
//! concurrency. Time is moved with the test clock, never with sleeps.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::requests::reasons;
use crate::helpers::safes::{create_account, create_safe, put_group, put_member};
use crate::helpers::{PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    each_policy_refusal_names_its_field_and_rule,
    only_members_who_may_request_can_ask,
    an_overlapping_open_request_for_the_same_account_is_409,
    a_safe_that_cannot_satisfy_its_policy_refuses_new_requests,
    level_two_opens_only_when_level_one_is_complete,
    a_group_counts_once_whoever_acts_for_it,
    two_members_of_a_group_confirming_at_once_count_once,
    an_eligible_confirmers_rejection_ends_the_request,
    requests_expire_when_they_wait_too_long,
    a_one_time_access_is_spent_by_its_first_use,
    multiple_access_is_used_inside_its_window_only,
    removing_confirmers_invalidates_requests_they_can_no_longer_decide,
    changing_the_confirmation_policy_invalidates_waiting_requests,
    deleting_the_account_invalidates_its_requests,
    invalid_requests_show_the_same_in_lists_stats_and_queues,
    others_access_requests_are_not_found,
    suspending_the_only_confirmer_invalidates_and_refuses_requests,
    an_expired_request_stays_expired_after_a_policy_change,
    concurrent_overlapping_submissions_give_one_request,
    a_confirmation_needs_no_body,
    reviewers_of_one_safe_do_not_see_another_safes_requests,
    a_window_may_not_start_more_than_a_year_ahead,
    a_requester_removed_from_the_safe_can_no_longer_use_an_approved_access,
);

// ---- kit ----

/// A safe `Vault` with one account, a requester `req`, a level-1 user confirmer `lead` and,
/// with `level2`, the `approver` role as a level-2 group of two (`apr1`, `apr2`).
struct Setup {
    admin: String,
    requester: String,
    lead: String,
    apr1: String,
    apr2: String,
    account: i64,
}

async fn setup(app: &TestApp, safe: Value) -> Setup {
    let admin = app.admin_token().await;
    let requester = app.developer("req").await;
    let lead = app.developer("lead").await;
    let apr1 = app.user_with_role("apr1", "approver").await;
    let apr2 = app.user_with_role("apr2", "approver").await;
    create_safe(app, &admin, safe).await;
    let account = create_account(app, &admin, "Vault", "root-db01").await;
    put_member(app, &admin, "Vault", "req", true, None).await;
    put_member(app, &admin, "Vault", "lead", false, Some(1)).await;
    put_group(app, &admin, "Vault", "approver", false, Some(2)).await;
    Setup {
        admin,
        requester,
        lead,
        apr1,
        apr2,
        account,
    }
}

fn two_levels() -> Value {
    json!({"name": "Vault", "level1_confirmations": 1, "level2_confirmations": 1, "max_access_hours": 8, "request_expiry_hours": 24})
}

fn one_level() -> Value {
    json!({"name": "Vault", "level1_confirmations": 1, "level2_confirmations": 0, "max_access_hours": 8, "request_expiry_hours": 24})
}

fn access_body(account: i64, access_type: &str, window: Option<(i64, i64)>) -> Value {
    let mut body = json!({
        "type": "access",
        "account_id": account,
        "reason": "Patching the database server tonight",
        "access_type": access_type,
        "operation_type": "open",
    });
    if let Some((from, to)) = window {
        let base = Utc::now();
        body["access_from"] = json!((base + Duration::minutes(from)).to_rfc3339());
        body["access_to"] = json!((base + Duration::minutes(to)).to_rfc3339());
    }
    body
}

// ---- tests ----

async fn each_policy_refusal_names_its_field_and_rule(app: TestApp) {
    let s = setup(
        &app,
        json!({"name": "Vault", "max_access_hours": 2, "ticket_required": true}),
    )
    .await;
    let ticket = json!({"name": "ServiceNow", "number": "CHG1"});
    let with_ticket = |mut body: Value| {
        body["ticketing_system"] = ticket.clone();
        body
    };
    let cases = [
        (
            {
                let mut b = with_ticket(access_body(s.account, "one_time", None));
                b["reason"] = json!("  too short ");
                b
            },
            "reason",
            "reason under 10 characters",
        ),
        (
            with_ticket(access_body(s.account, "multiple", None)),
            "access_from",
            "multiple without a window",
        ),
        (
            with_ticket(access_body(s.account, "one_time", Some((60, 30)))),
            "access_to",
            "window ends before it starts",
        ),
        (
            with_ticket(access_body(s.account, "one_time", Some((-120, -60)))),
            "access_to",
            "window in the past",
        ),
        (
            with_ticket(access_body(s.account, "one_time", Some((0, 180)))),
            "access_to",
            "window longer than the safe allows",
        ),
        (
            access_body(s.account, "one_time", None),
            "ticketing_system",
            "ticket required",
        ),
        (
            with_ticket(access_body(9999, "one_time", None)),
            "account_id",
            "unknown account",
        ),
        (
            {
                let mut b = with_ticket(access_body(s.account, "one_time", None));
                b["operation_type"] = json!("delete");
                b
            },
            "operation_type",
            "unknown operation",
        ),
    ];
    for (body, field, case) in cases {
        let reply = app.submit_request(&s.requester, &body).await;
        assert_eq!(reply.status, 400, "{case}: {reply:?}");
        assert!(
            reply.error_fields().contains(&field.to_owned()),
            "{case}: {:?}",
            reply.error_fields()
        );
    }
    let ok = app
        .submit_request(
            &s.requester,
            &with_ticket(access_body(s.account, "multiple", Some((0, 120)))),
        )
        .await;
    assert_eq!(ok.status, 201, "{ok:?}");
    assert_eq!(ok.body["status"], "pending");
    assert_eq!(ok.body["access"]["ticketing_system"], ticket);
    assert_eq!(ok.body["access"]["account"]["name"], "root-db01");
    assert_eq!(ok.body["safe"], "Vault");
}

async fn only_members_who_may_request_can_ask(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let outsider = app.developer("out").await;
    let reply = app
        .submit_request(&outsider, &access_body(s.account, "one_time", None))
        .await;
    let missing = app
        .submit_request(&outsider, &access_body(s.account + 1000, "one_time", None))
        .await;
    assert_eq!(
        (reply.status, &reply.body["errors"]),
        (400, &missing.body["errors"]),
        "a safe the caller cannot see is as if it did not exist, its name untold: {reply:?}"
    );
    assert_eq!(reply.body["errors"][0]["field"], "account_id", "{reply:?}");
    let confirmer_only = app
        .submit_request(&s.lead, &access_body(s.account, "one_time", None))
        .await;
    assert_eq!(
        confirmer_only.status, 403,
        "a member without can_request: {confirmer_only:?}"
    );
    assert_eq!(confirmer_only.problem_code(), "not_allowed_to_request");
    put_group(&app, &s.admin, "Vault", "customer", true, None).await;
    let customer = app.sign_up("cust", Some("customer")).await;
    assert_eq!(customer.status, 201);
    let token = app.token_for("cust", PASSWORD).await;
    assert_eq!(
        app.submit_request(&token, &access_body(s.account, "one_time", None))
            .await
            .status,
        201,
        "through the role"
    );
}

async fn an_overlapping_open_request_for_the_same_account_is_409(app: TestApp) {
    let s = setup(&app, one_level()).await;
    app.submitted(
        &s.requester,
        &access_body(s.account, "multiple", Some((60, 180))),
    )
    .await;
    let overlap = app
        .submit_request(
            &s.requester,
            &access_body(s.account, "multiple", Some((120, 240))),
        )
        .await;
    assert_eq!(overlap.status, 409, "{overlap:?}");
    assert_eq!(overlap.problem_code(), "overlapping_request");
    let after = app
        .submit_request(
            &s.requester,
            &access_body(s.account, "multiple", Some((181, 300))),
        )
        .await;
    assert_eq!(
        after.status, 201,
        "a window after the first is fine: {after:?}"
    );
}

async fn a_safe_that_cannot_satisfy_its_policy_refuses_new_requests(app: TestApp) {
    let s = setup(&app, json!({"name": "Vault", "level1_confirmations": 2})).await;
    let reply = app
        .submit_request(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    assert_eq!(
        reply.status, 409,
        "one level-1 confirmer for two confirmations: {reply:?}"
    );
    assert_eq!(reply.problem_code(), "missing_supervisors");
    put_group(&app, &s.admin, "Vault", "approver", false, Some(1)).await;
    assert_eq!(
        app.submit_request(&s.requester, &access_body(s.account, "one_time", None))
            .await
            .status,
        201
    );
}

async fn level_two_opens_only_when_level_one_is_complete(app: TestApp) {
    let s = setup(&app, two_levels()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    let early = app.confirm(&s.apr1, id).await;
    assert_eq!(early.status, 403, "level 2 waits for level 1: {early:?}");
    assert_eq!(early.problem_code(), "not_a_confirmer");
    let queue = app.get("/api/v3/incoming-requests", Some(&s.apr1)).await;
    assert_eq!(queue.body["total"], 0, "nothing to act on yet: {queue:?}");
    let lead_queue = app.get("/api/v3/incoming-requests", Some(&s.lead)).await;
    assert_eq!(lead_queue.body["items"][0]["id"], id, "{lead_queue:?}");

    let first = app.confirm(&s.lead, id).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["status"], "pending");
    assert_eq!(first.body["access"]["current_confirmation_level"], 2);
    assert_eq!(first.body["confirmations_left"], 1);
    assert_eq!(first.body["access"]["required_confirmers_count_level2"], 1);
    assert_eq!(
        app.get("/api/v3/incoming-requests", Some(&s.apr1))
            .await
            .body["total"],
        1,
        "level 2 is open"
    );
    assert_eq!(
        app.confirm(&s.lead, id).await.status,
        409,
        "one decision per person"
    );

    let second = app.confirm(&s.apr2, id).await;
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(second.body["status"], "approved");
    assert_eq!(second.body["confirmations_left"], 0);
    assert_eq!(second.body["access"]["required_confirmers_count_level2"], 0);
    let confirmers = second.body["access"]["confirmers"]
        .as_array()
        .expect("confirmers")
        .clone();
    assert_eq!(confirmers.len(), 2, "{confirmers:?}");
    let user = confirmers
        .iter()
        .find(|c| c["type"] == "user")
        .expect("user confirmer");
    assert_eq!(
        (
            user["name"].clone(),
            user["level"].clone(),
            user["action"].clone()
        ),
        (json!("lead"), json!(1), json!("confirm"))
    );
    let group = confirmers
        .iter()
        .find(|c| c["type"] == "group")
        .expect("group confirmer");
    assert_eq!(
        (
            group["name"].clone(),
            group["level"].clone(),
            group["action"].clone()
        ),
        (json!("approver"), json!(2), json!("confirm"))
    );
    assert_eq!(group["acted_by"]["username"], "apr2");
    let members: Vec<_> = group["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["username"].clone())
        .collect();
    assert_eq!(
        members,
        [json!("apr1"), json!("apr2")],
        "the users behind the group"
    );
}

async fn a_group_counts_once_whoever_acts_for_it(app: TestApp) {
    let s = setup(&app, json!({"name": "Vault", "level1_confirmations": 2})).await;
    put_group(&app, &s.admin, "Vault", "approver", false, Some(1)).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    let by_group = app.confirm(&s.apr1, id).await;
    assert_eq!(
        (by_group.status, by_group.body["confirmations_left"].clone()),
        (200, json!(1)),
        "{by_group:?}"
    );
    let same_group = app.confirm(&s.apr2, id).await;
    assert_eq!(
        same_group.status, 409,
        "the group already acted: {same_group:?}"
    );
    assert_eq!(same_group.problem_code(), "already_decided");
    assert_eq!(
        app.get("/api/v3/incoming-requests", Some(&s.apr2))
            .await
            .body["total"],
        0,
        "nothing left for the group"
    );
    let by_user = app.confirm(&s.lead, id).await;
    assert_eq!(
        (by_user.status, by_user.body["status"].clone()),
        (200, json!("approved")),
        "{by_user:?}"
    );
}

async fn two_members_of_a_group_confirming_at_once_count_once(app: TestApp) {
    let s = setup(&app, json!({"name": "Vault", "level1_confirmations": 2})).await;
    put_group(&app, &s.admin, "Vault", "approver", false, Some(1)).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    let (a, b) = tokio::join!(app.confirm(&s.apr1, id), app.confirm(&s.apr2, id));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{a:?} / {b:?}");
    let now = app.request_detail(&s.requester, id).await;
    assert_eq!(
        (now["status"].clone(), now["confirmations_left"].clone()),
        (json!("pending"), json!(1)),
        "{now}"
    );
    assert_eq!(now["decisions"].as_array().map(Vec::len), Some(1));
}

async fn an_eligible_confirmers_rejection_ends_the_request(app: TestApp) {
    let s = setup(&app, two_levels()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    let outsider = app.user_with_role("other", "approver").await;
    let stranger = app.developer("stranger").await;
    assert_eq!(
        app.reject(&stranger, id, "Not during the freeze")
            .await
            .status,
        403,
        "not a confirmer at all"
    );
    let _ = outsider;
    let rejected = app.reject(&s.lead, id, "Not during the freeze").await;
    assert_eq!(rejected.status, 200, "{rejected:?}");
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(reasons(&rejected.body), ["rejected"]);
    assert_eq!(rejected.body["rejection_reason"], "Not during the freeze");
    assert_eq!(
        (
            rejected.body["confirmations_left"].clone(),
            rejected.body["access"]["required_confirmers_count_level2"].clone()
        ),
        (json!(0), json!(0)),
        "nothing is needed any more"
    );
    assert_eq!(app.confirm(&s.apr1, id).await.status, 409, "it is over");
    let refused = app.use_request(&s.requester, id).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(refused.problem_code(), "access_not_approved");
}

async fn requests_expire_when_they_wait_too_long(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    app.clock.advance(Duration::hours(25));
    let requester = app.token_for("req", PASSWORD).await;
    let lead = app.token_for("lead", PASSWORD).await;
    let now = app.request_detail(&requester, id).await;
    assert_eq!(now["status"], "expired", "{now}");
    assert_eq!(reasons(&now), ["expired"]);
    assert_eq!(app.confirm(&lead, id).await.status, 409);
    assert_eq!(
        app.get("/api/v3/incoming-requests", Some(&lead)).await.body["total"],
        0
    );
    let _ = s;
}

async fn a_one_time_access_is_spent_by_its_first_use(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    let pending = app.use_request(&s.requester, id).await;
    assert_eq!(pending.status, 403, "not approved yet: {pending:?}");
    assert_eq!(pending.problem_code(), "access_not_approved");
    assert_eq!(app.confirm(&s.lead, id).await.body["status"], "approved");
    let grant = app.use_request(&s.requester, id).await;
    assert_eq!(grant.status, 200, "{grant:?}");
    assert_eq!(grant.body["address"], "root-db01.example.com");
    assert_eq!(grant.body["user_name"], "root");
    assert_eq!(grant.body["safe"], "Vault");
    assert_eq!(grant.body["name"], "root-db01");
    assert_eq!(grant.body["spent"], true);
    let again = app.use_request(&s.requester, id).await;
    assert_eq!(again.status, 403, "{again:?}");
    assert_eq!(again.problem_code(), "access_already_used");
    let now = app.request_detail(&s.requester, id).await;
    assert_eq!(
        (now["status"].clone(), reasons(&now)),
        (json!("invalid"), vec!["already_used".to_owned()]),
        "{now}"
    );
    assert_eq!(now["access"]["use_count"], 1);
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
}

async fn multiple_access_is_used_inside_its_window_only(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let id = app
        .submitted(
            &s.requester,
            &access_body(s.account, "multiple", Some((60, 180))),
        )
        .await;
    app.confirm(&s.lead, id).await;
    let early = app.use_request(&s.requester, id).await;
    assert_eq!(early.status, 403, "the window has not started: {early:?}");
    assert_eq!(early.problem_code(), "access_not_started");
    app.clock.advance(Duration::minutes(61));
    let requester = app.token_for("req", PASSWORD).await;
    for round in 1..=2 {
        let reply = app.use_request(&requester, id).await;
        assert_eq!(
            (reply.status, reply.body["spent"].clone()),
            (200, json!(false)),
            "use {round}: {reply:?}"
        );
    }
    app.clock.advance(Duration::minutes(120));
    let requester = app.token_for("req", PASSWORD).await;
    let late = app.use_request(&requester, id).await;
    assert_eq!(late.status, 403, "the window is over: {late:?}");
    assert_eq!(late.problem_code(), "access_window_over");
    let now = app.request_detail(&requester, id).await;
    assert_eq!(
        (now["status"].clone(), reasons(&now)),
        (json!("invalid"), vec!["access_time_expired".to_owned()]),
        "{now}"
    );
    assert_eq!(now["access"]["use_count"], 2);
}

async fn removing_confirmers_invalidates_requests_they_can_no_longer_decide(app: TestApp) {
    let s = setup(&app, two_levels()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    let removed = app
        .delete("/api/v3/safes/Vault/members/lead", Some(&s.admin))
        .await;
    assert_eq!(removed.status, 204);
    let now = app.request_detail(&s.requester, id).await;
    assert_eq!(
        (now["status"].clone(), reasons(&now)),
        (json!("invalid"), vec!["missing_supervisors".to_owned()]),
        "{now}"
    );
    assert_eq!(app.confirm(&s.apr1, id).await.status, 409);
}

async fn changing_the_confirmation_policy_invalidates_waiting_requests(app: TestApp) {
    let s = setup(&app, two_levels()).await;
    let waiting = app
        .submitted(
            &s.requester,
            &access_body(s.account, "one_time", Some((0, 60))),
        )
        .await;
    let unrelated = app
        .patch(
            "/api/v3/safes/Vault",
            Some(&s.admin),
            &json!({"description": "New words"}),
        )
        .await;
    assert_eq!(unrelated.status, 200);
    assert_eq!(
        app.request_detail(&s.requester, waiting).await["status"],
        "pending",
        "a description is not a policy"
    );
    let changed = app
        .patch(
            "/api/v3/safes/Vault",
            Some(&s.admin),
            &json!({"level2_confirmations": 0}),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let now = app.request_detail(&s.requester, waiting).await;
    assert_eq!(
        (now["status"].clone(), reasons(&now)),
        (
            json!("invalid"),
            vec!["confirmation_settings_changed".to_owned()]
        ),
        "{now}"
    );
    let fresh = app
        .submitted(
            &s.requester,
            &access_body(s.account, "one_time", Some((61, 120))),
        )
        .await;
    assert_eq!(
        app.confirm(&s.lead, fresh).await.body["status"],
        "approved",
        "new requests follow the new policy"
    );
}

async fn deleting_the_account_invalidates_its_requests(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let pending = app
        .submitted(
            &s.requester,
            &access_body(s.account, "one_time", Some((0, 60))),
        )
        .await;
    let approved = app
        .submitted(
            &s.requester,
            &access_body(s.account, "one_time", Some((61, 120))),
        )
        .await;
    app.confirm(&s.lead, approved).await;
    assert_eq!(
        app.delete(
            &format!("/api/v3/safes/Vault/accounts/{}", s.account),
            Some(&s.admin)
        )
        .await
        .status,
        204
    );
    for id in [pending, approved] {
        let now = app.request_detail(&s.requester, id).await;
        assert_eq!(
            (now["status"].clone(), reasons(&now)),
            (json!("invalid"), vec!["object_deleted".to_owned()]),
            "request {id}: {now}"
        );
        assert!(
            now["access"]["account"]["deleted_at"].is_string(),
            "the detail still names the account"
        );
    }
    let refused = app.use_request(&s.requester, approved).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(refused.problem_code(), "access_not_approved");
}

async fn invalid_requests_show_the_same_in_lists_stats_and_queues(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let spent = app
        .submitted(
            &s.requester,
            &access_body(s.account, "one_time", Some((0, 60))),
        )
        .await;
    app.confirm(&s.lead, spent).await;
    app.use_request(&s.requester, spent).await;
    let waiting = app
        .submitted(
            &s.requester,
            &access_body(s.account, "multiple", Some((61, 120))),
        )
        .await;
    let invalid = app
        .get("/api/v3/myrequests?status=invalid", Some(&s.requester))
        .await;
    let ids: Vec<_> = invalid.body["requests"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, [json!(spent)], "{invalid:?}");
    let pending = app
        .get(
            "/api/v3/myrequests?status=pending&type=access",
            Some(&s.requester),
        )
        .await;
    assert_eq!(pending.body["requests"]["items"][0]["id"], waiting);
    let stats = app
        .get("/api/v3/myrequests/stats", Some(&s.requester))
        .await;
    assert_eq!(
        (stats.body["invalid"].clone(), stats.body["pending"].clone()),
        (json!(1), json!(1)),
        "{stats:?}"
    );
    let recent = &stats.body["recent_activity"]["requests"];
    assert_eq!(
        (recent[0]["safe"].clone(), recent[0]["account"].clone()),
        (json!("Vault"), json!("root-db01")),
        "recent activity names safe and account"
    );
    assert_eq!(recent[1]["status"], "invalid");

    app.clock.advance(Duration::minutes(130));
    let requester = app.token_for("req", PASSWORD).await;
    let stats = app.get("/api/v3/myrequests/stats", Some(&requester)).await;
    assert_eq!(
        (stats.body["invalid"].clone(), stats.body["pending"].clone()),
        (json!(2), json!(0)),
        "the window ended: {stats:?}"
    );
    let lead = app.token_for("lead", PASSWORD).await;
    assert_eq!(
        app.get("/api/v3/incoming-requests", Some(&lead)).await.body["total"],
        0,
        "nothing left to decide"
    );
    let _ = s;
}

async fn others_access_requests_are_not_found(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/v3/myrequests/{id}")),
        (
            reqwest::Method::POST,
            format!("/api/v3/myrequests/{id}/cancel"),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v3/myrequests/{id}/use"),
        ),
    ] {
        let reply = app
            .send(app.request(method.clone(), &path, Some(&s.lead)))
            .await;
        assert_eq!(reply.status, 404, "{method} {path}: {reply:?}");
        assert_eq!(reply.problem_code(), "not_found");
    }
    let cancelled = app.cancel(&s.requester, id).await;
    assert_eq!(
        (cancelled.status, cancelled.body["status"].clone()),
        (200, json!("rejected")),
        "{cancelled:?}"
    );
    let _ = (s.apr1, s.apr2, s.admin);
}

async fn suspending_the_only_confirmer_invalidates_and_refuses_requests(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    let suspended = app
        .patch(
            "/api/v3/users/lead",
            Some(&s.admin),
            &json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(suspended.status, 200, "{suspended:?}");
    let now = app.request_detail(&s.requester, id).await;
    assert_eq!(
        (now["status"].clone(), reasons(&now)),
        (json!("invalid"), vec!["missing_supervisors".to_owned()]),
        "{now}"
    );
    let refused = app
        .submit_request(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    assert_eq!(refused.status, 409, "{refused:?}");
    assert_eq!(refused.problem_code(), "missing_supervisors");
    let _ = (s.apr1, s.apr2);
}

async fn an_expired_request_stays_expired_after_a_policy_change(app: TestApp) {
    let s = setup(&app, two_levels()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    app.clock.advance(Duration::hours(25));
    let admin = app.admin_token().await;
    let changed = app
        .patch(
            "/api/v3/safes/Vault",
            Some(&admin),
            &json!({"level2_confirmations": 0}),
        )
        .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let requester = app.token_for("req", PASSWORD).await;
    let now = app.request_detail(&requester, id).await;
    assert_eq!(
        (now["status"].clone(), reasons(&now)),
        (json!("expired"), vec!["expired".to_owned()]),
        "status only moves forward: {now}"
    );
    let _ = s;
}

async fn concurrent_overlapping_submissions_give_one_request(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let body = access_body(s.account, "multiple", Some((60, 120)));
    let replies =
        futures_util::future::join_all((0..6).map(|_| app.submit_request(&s.requester, &body)))
            .await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!((created, refused), (1, 5), "{replies:?}");
}

async fn a_confirmation_needs_no_body(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    let reply = app
        .send(app.request(
            reqwest::Method::POST,
            &format!("/api/v3/incoming-requests/{id}/confirm"),
            Some(&s.lead),
        ))
        .await;
    assert_eq!(
        (reply.status, reply.body["status"].clone()),
        (200, json!("approved")),
        "{reply:?}"
    );
}

async fn reviewers_of_one_safe_do_not_see_another_safes_requests(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let id = app
        .submitted(&s.requester, &access_body(s.account, "one_time", None))
        .await;
    create_safe(&app, &s.admin, json!({"name": "Other"})).await;
    let other = app.developer("other").await;
    put_member(&app, &s.admin, "Other", "other", false, Some(1)).await;
    let reply = app
        .get(&format!("/api/v3/incoming-requests/{id}"), Some(&other))
        .await;
    assert_eq!(reply.status, 404, "as if it did not exist: {reply:?}");
    let missing = app
        .get("/api/v3/incoming-requests/999999", Some(&other))
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(reply.body["code"], missing.body["code"]);
    // Nor can deciding tell them it exists, or whether it still waits: the decisions answer as
    // for an id that names nothing, and change nothing.
    for decision in [
        app.confirm(&other, id).await,
        app.reject(&other, id, "Not mine to decide").await,
        app.confirm(&other, 999_999).await,
    ] {
        assert_eq!(decision.status, 404, "{decision:?}");
        assert_eq!(
            decision.body["detail"]
                .as_str()
                .map(|d| d.starts_with("no request")),
            Some(true)
        );
    }
    let cancelled = app.cancel(&s.requester, id).await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    let ended = app.confirm(&other, id).await;
    assert_eq!(ended.status, 404, "not 409 for an ended request: {ended:?}");
    let lead = app
        .get(&format!("/api/v3/incoming-requests/{id}"), Some(&s.lead))
        .await;
    assert_eq!(lead.status, 200, "{lead:?}");
}

async fn a_window_may_not_start_more_than_a_year_ahead(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let mut body = access_body(s.account, "one_time", None);
    body["access_from"] = json!("+200000-01-01T00:00:00Z");
    let reply = app.submit_request(&s.requester, &body).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    let far = access_body(
        s.account,
        "one_time",
        Some((60 * 24 * 400, 60 * 24 * 400 + 60)),
    );
    let reply = app.submit_request(&s.requester, &far).await;
    assert_eq!(
        (reply.status, reply.error_fields()),
        (400, vec!["access_from".to_owned()]),
        "{reply:?}"
    );
}

async fn a_requester_removed_from_the_safe_can_no_longer_use_an_approved_access(app: TestApp) {
    let s = setup(&app, one_level()).await;
    let id = app
        .submitted(
            &s.requester,
            &access_body(s.account, "multiple", Some((0, 120))),
        )
        .await;
    assert_eq!(app.confirm(&s.lead, id).await.body["status"], "approved");
    assert_eq!(
        app.use_request(&s.requester, id).await.status,
        200,
        "a member uses it"
    );
    assert_eq!(
        app.delete("/api/v3/safes/Vault/members/req", Some(&s.admin))
            .await
            .status,
        204
    );
    let refused = app.use_request(&s.requester, id).await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert_eq!(refused.problem_code(), "not_allowed_to_request");
    let _ = (s.apr1, s.apr2);
}
