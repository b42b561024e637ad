//! `/api/v3/incoming-requests` and `/api/v3/requests`: the review queue, confirmations (the last
//! one issues the certificate), rejections, who may decide what, and a cancel racing a confirm.

use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::TestApp;
use crate::helpers::requests::{events, ids};
use crate::on_both_backends;

on_both_backends!(
    approvers_and_admins_see_other_users_pending_requests_but_never_their_own,
    developers_and_customers_cannot_review_or_decide_requests,
    confirming_approves_the_request_and_issues_its_certificate_at_once,
    an_approver_cannot_decide_their_own_request,
    a_decided_request_cannot_be_decided_again,
    rejecting_needs_a_reason_and_ends_the_request_without_a_certificate,
    with_two_required_confirmations_the_second_approver_approves_and_issues,
    deciding_an_unknown_request_is_404,
    only_admins_list_every_request,
    a_cancel_racing_a_confirmation_has_exactly_one_winner,
    approvers_confirming_the_same_request_at_once_issue_exactly_one_certificate,
);

async fn approvers_and_admins_see_other_users_pending_requests_but_never_their_own(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let admin = app.admin_token().await;
    let theirs = app.pending_request(&dana, "dana.example.com").await;
    let own = app.pending_request(&approver, "apollo.example.com").await;

    let queue = app.get("/api/v3/incoming-requests", Some(&approver)).await;
    assert_eq!(queue.status, 200, "{queue:?}");
    assert_eq!(ids(&queue.body), [theirs], "never one's own: {queue:?}");
    assert_eq!(queue.body["items"][0]["requester"], "dana");
    assert_eq!(queue.body["items"][0]["status"], "pending");

    let admins_own = app.pending_request(&admin, "admin.example.com").await;
    let admin_queue = app.get("/api/v3/incoming-requests", Some(&admin)).await;
    assert_eq!(admin_queue.status, 200, "{admin_queue:?}");
    assert_eq!(
        ids(&admin_queue.body),
        [own, theirs],
        "newest first, not the admin's own"
    );
    let queue = app.get("/api/v3/incoming-requests", Some(&approver)).await;
    assert_eq!(ids(&queue.body), [admins_own, theirs], "{queue:?}");

    let detail = app
        .get(
            &format!("/api/v3/incoming-requests/{theirs}"),
            Some(&approver),
        )
        .await;
    assert_eq!(detail.status, 200, "{detail:?}");
    assert_eq!(detail.body["requester_details"]["username"], "dana");
    assert_eq!(detail.body["key_algorithm"], "ECDSA-P256");
    assert!(detail.body["csr"].is_string(), "{detail:?}");

    let mine = app
        .get(&format!("/api/v3/incoming-requests/{own}"), Some(&approver))
        .await;
    assert_eq!(mine.status, 403, "{mine:?}");
    assert_eq!(mine.problem_code(), "own_request");

    let confirmed = app.confirm(&approver, theirs).await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    let queue = app.get("/api/v3/incoming-requests", Some(&approver)).await;
    assert_eq!(
        ids(&queue.body),
        [admins_own],
        "decided requests leave the queue: {queue:?}"
    );
    let approved = app
        .get("/api/v3/incoming-requests?status=approved", Some(&approver))
        .await;
    assert_eq!(ids(&approved.body), [theirs], "{approved:?}");
}

async fn developers_and_customers_cannot_review_or_decide_requests(app: TestApp) {
    let dana = app.developer("dana").await;
    let erin = app.developer("erin").await;
    let carol = app.user_with_role("carol", "customer").await;
    let id = app.pending_request(&dana, "dana.example.com").await;

    for (who, token) in [("developer", &erin), ("customer", &carol)] {
        let cases = [
            (
                "list",
                app.get("/api/v3/incoming-requests", Some(token)).await,
            ),
            (
                "show",
                app.get(&format!("/api/v3/incoming-requests/{id}"), Some(token))
                    .await,
            ),
            ("confirm", app.confirm(token, id).await),
            ("reject", app.reject(token, id, "no").await),
            (
                "all requests",
                app.get("/api/v3/requests", Some(token)).await,
            ),
        ];
        for (action, reply) in cases {
            assert_eq!(reply.status, 403, "{who} {action}: {reply:?}");
            assert_eq!(reply.problem_code(), "forbidden", "{who} {action}");
        }
    }
    let anonymous = app.get("/api/v3/incoming-requests", None).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(anonymous.problem_code(), "unauthorized");

    let detail = app.my_request(&dana, id).await;
    assert_eq!(detail.body["status"], "pending", "{detail:?}");
    assert_eq!(detail.body["decisions"], json!([]));
}

async fn confirming_approves_the_request_and_issues_its_certificate_at_once(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let id = app.pending_request(&dana, "dana.example.com").await;

    let reply = app
        .post(
            &format!("/api/v3/incoming-requests/{id}/confirm"),
            Some(&approver),
            &json!({"reason": "Known host"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["status"], "approved");
    assert_eq!(reply.body["confirmations_left"], 0);
    assert!(reply.body["approved_at"].is_string(), "{reply:?}");
    assert_eq!(reply.body["decisions"][0]["username"], "apollo");
    assert_eq!(reply.body["decisions"][0]["reason"], "Known host");
    assert_eq!(
        events(&reply.body),
        ["submitted", "confirmed", "approved", "issued"]
    );
    let certificate_id = reply.body["certificate_id"]
        .as_i64()
        .expect("a certificate was issued");

    let certificate = app
        .get(
            &format!("/api/v3/certificates/{certificate_id}"),
            Some(&dana),
        )
        .await;
    assert_eq!(certificate.status, 200, "{certificate:?}");
    let body = &certificate.body;
    assert_eq!(body["owner"], "dana");
    assert_eq!(body["status"], "active");
    assert_eq!(body["request_id"], id);
    assert_eq!(body["common_name"], "dana.example.com");
    assert_eq!(body["subject_alt_names"], json!(["dana.example.com"]));
    assert_eq!(body["issuer"], "CN=requestdesk CA");
    assert_eq!(body["metadata"]["requester_email"], "dana@example.com");
    assert!(body["metadata"].get("uploaded_by").is_none(), "{body}");
    assert!(
        body["serial_number"]
            .as_str()
            .is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit())),
        "{body}"
    );

    let mine = app.get("/api/v3/certificates", Some(&dana)).await;
    assert_eq!(mine.status, 200, "{mine:?}");
    assert_eq!(ids(&mine.body), [certificate_id]);

    let with_bad_reason = app.pending_request(&dana, "other.example.com").await;
    let reply = app
        .post(
            &format!("/api/v3/incoming-requests/{with_bad_reason}/confirm"),
            Some(&approver),
            &json!({"reason": 42}),
        )
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.error_fields(), ["reason"]);
    let admin = app.admin_token().await;
    let by_admin = app.confirm(&admin, with_bad_reason).await;
    assert_eq!(
        by_admin.status, 200,
        "administrators confirm too, the reason is optional: {by_admin:?}"
    );
    assert_eq!(by_admin.body["status"], "approved");
}

async fn an_approver_cannot_decide_their_own_request(app: TestApp) {
    let approver = app.user_with_role("apollo", "approver").await;
    let id = app.pending_request(&approver, "apollo.example.com").await;
    for (action, reply) in [
        ("confirm", app.confirm(&approver, id).await),
        ("reject", app.reject(&approver, id, "mine").await),
    ] {
        assert_eq!(reply.status, 403, "{action}: {reply:?}");
        assert_eq!(reply.problem_code(), "own_request", "{action}");
    }
    let detail = app.my_request(&approver, id).await;
    assert_eq!(detail.status, 200, "{detail:?}");
    assert_eq!(detail.body["status"], "pending");
    assert_eq!(detail.body["decisions"], json!([]));
    assert_eq!(events(&detail.body), ["submitted"]);
}

async fn a_decided_request_cannot_be_decided_again(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let other = app.user_with_role("artemis", "approver").await;
    let approved = app.pending_request(&dana, "a.example.com").await;
    let first = app.confirm(&approver, approved).await;
    assert_eq!(first.status, 200, "{first:?}");
    let certificate_id = first.body["certificate_id"].clone();

    let cancelled = app.pending_request(&dana, "b.example.com").await;
    assert_eq!(app.cancel(&dana, cancelled).await.status, 200);

    let cases = [
        (
            "same approver confirms twice",
            app.confirm(&approver, approved).await,
        ),
        (
            "another approver confirms",
            app.confirm(&other, approved).await,
        ),
        (
            "reject after approval",
            app.reject(&other, approved, "late").await,
        ),
        (
            "confirm a cancelled request",
            app.confirm(&approver, cancelled).await,
        ),
        (
            "reject a cancelled request",
            app.reject(&approver, cancelled, "x").await,
        ),
    ];
    for (case, reply) in cases {
        assert_eq!(reply.status, 409, "{case}: {reply:?}");
        assert_eq!(reply.problem_code(), "request_not_pending", "{case}");
    }
    let detail = app.my_request(&dana, approved).await;
    assert_eq!(detail.body["status"], "approved", "{detail:?}");
    assert_eq!(detail.body["certificate_id"], certificate_id);
    assert_eq!(detail.body["decisions"].as_array().map(Vec::len), Some(1));
    let certificates = app.get("/api/v3/certificates", Some(&dana)).await;
    assert_eq!(
        certificates.body["total"], 1,
        "still exactly one certificate: {certificates:?}"
    );
}

async fn rejecting_needs_a_reason_and_ends_the_request_without_a_certificate(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let id = app.pending_request(&dana, "a.example.com").await;
    let path = format!("/api/v3/incoming-requests/{id}/reject");

    for (case, body) in [
        ("no reason", json!({})),
        ("blank reason", json!({"reason": "  "})),
        ("too long", json!({"reason": "x".repeat(2001)})),
    ] {
        let reply = app.post(&path, Some(&approver), &body).await;
        assert_eq!(reply.status, 400, "{case}: {reply:?}");
        assert_eq!(reply.problem_code(), "validation_failed", "{case}");
        assert_eq!(reply.error_fields(), ["reason"], "{case}");
    }
    let unchanged = app.my_request(&dana, id).await;
    assert_eq!(unchanged.body["status"], "pending", "{unchanged:?}");

    let reply = app.reject(&approver, id, "The host name is not ours").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["status"], "rejected");
    assert_eq!(reply.body["rejection_reason"], "The host name is not ours");
    assert!(reply.body["rejected_at"].is_string(), "{reply:?}");
    assert_eq!(reply.body["certificate_id"], Value::Null);
    assert_eq!(reply.body["decisions"][0]["decision"], "reject");
    assert_eq!(events(&reply.body), ["submitted", "rejected"]);

    let seen = app.my_request(&dana, id).await;
    assert_eq!(seen.status, 200, "{seen:?}");
    assert_eq!(seen.body["status"], "rejected");
    assert_eq!(seen.body["rejection_reason"], "The host name is not ours");
    let certificates = app.get("/api/v3/certificates", Some(&dana)).await;
    assert_eq!(certificates.body["total"], 0, "{certificates:?}");
}

async fn with_two_required_confirmations_the_second_approver_approves_and_issues(app: TestApp) {
    let app = app
        .restarted_with(|settings| settings.certificate_confirmations = 2)
        .await;
    let dana = app.developer("dana").await;
    let first = app.user_with_role("apollo", "approver").await;
    let second = app.user_with_role("artemis", "approver").await;
    let id = app.pending_request(&dana, "two.example.com").await;
    let submitted = app.my_request(&dana, id).await;
    assert_eq!(
        (
            submitted.body["confirmations_required"].clone(),
            submitted.body["confirmations_left"].clone()
        ),
        (json!(2), json!(2)),
        "{submitted:?}"
    );

    let reply = app.confirm(&first, id).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["status"], "pending", "one is not enough");
    assert_eq!(reply.body["confirmations_left"], 1);
    assert_eq!(reply.body["certificate_id"], Value::Null);
    assert_eq!(events(&reply.body), ["submitted", "confirmed"]);
    let certificates = app.get("/api/v3/certificates", Some(&dana)).await;
    assert_eq!(certificates.body["total"], 0, "{certificates:?}");

    let queue = app.get("/api/v3/incoming-requests", Some(&first)).await;
    assert_eq!(
        ids(&queue.body),
        Vec::<i64>::new(),
        "decided by this approver"
    );
    let queue = app.get("/api/v3/incoming-requests", Some(&second)).await;
    assert_eq!(ids(&queue.body), [id], "still waiting for this one");

    let twice = app.confirm(&first, id).await;
    assert_eq!(twice.status, 409, "{twice:?}");
    assert_eq!(twice.problem_code(), "already_decided");
    let still = app.my_request(&dana, id).await;
    assert_eq!(still.body["confirmations_left"], 1, "{still:?}");

    let reply = app.confirm(&second, id).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["status"], "approved");
    assert_eq!(reply.body["confirmations_left"], 0);
    let decided_by: Vec<_> = reply.body["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|d| d["username"].as_str().expect("username"))
        .collect();
    assert_eq!(decided_by, ["apollo", "artemis"]);
    assert_eq!(
        events(&reply.body),
        ["submitted", "confirmed", "confirmed", "approved", "issued"]
    );
    let certificate_id = reply.body["certificate_id"].as_i64().expect("issued");
    let certificates = app.get("/api/v3/certificates", Some(&dana)).await;
    assert_eq!(
        ids(&certificates.body),
        [certificate_id],
        "{certificates:?}"
    );
}

async fn deciding_an_unknown_request_is_404(app: TestApp) {
    let approver = app.user_with_role("apollo", "approver").await;
    for (action, reply) in [
        (
            "show",
            app.get("/api/v3/incoming-requests/999999", Some(&approver))
                .await,
        ),
        ("confirm", app.confirm(&approver, 999_999).await),
        ("reject", app.reject(&approver, 999_999, "no").await),
    ] {
        assert_eq!(reply.status, 404, "{action}: {reply:?}");
        assert_eq!(reply.problem_code(), "not_found", "{action}");
    }
}

async fn only_admins_list_every_request(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let admin = app.admin_token().await;
    let first = app.pending_request(&dana, "a.example.com").await;
    let second = app.pending_request(&approver, "b.example.com").await;
    assert_eq!(app.cancel(&approver, second).await.status, 200);

    let all = app.get("/api/v3/requests", Some(&admin)).await;
    assert_eq!(all.status, 200, "{all:?}");
    assert_eq!(ids(&all.body), [second, first]);
    let rejected = app
        .get("/api/v3/requests?status=rejected", Some(&admin))
        .await;
    assert_eq!(ids(&rejected.body), [second], "{rejected:?}");

    let reply = app.get("/api/v3/requests", Some(&approver)).await;
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(reply.problem_code(), "forbidden");
}

async fn a_cancel_racing_a_confirmation_has_exactly_one_winner(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let mut requests = Vec::new();
    for n in 0..10 {
        requests.push(
            app.pending_request(&dana, &format!("race{n}.example.com"))
                .await,
        );
    }

    let mut racing = JoinSet::new();
    for (n, &id) in requests.iter().enumerate() {
        let calls = [
            (
                "cancel",
                format!("/api/v3/myrequests/{id}/cancel"),
                dana.clone(),
            ),
            (
                "confirm",
                format!("/api/v3/incoming-requests/{id}/confirm"),
                approver.clone(),
            ),
        ];
        // Alternate which call is sent first.
        let order = if n % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (action, path, token) = calls[i].clone();
            let request = app
                .request(reqwest::Method::POST, &path, Some(&token))
                .json(&json!({}));
            racing.spawn(async move {
                let response = request.send().await.expect("answered");
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (id, action, status, body)
            });
        }
    }
    let mut outcomes = std::collections::HashMap::<i64, Vec<(&str, u16, Value)>>::new();
    while let Some(result) = racing.join_next().await {
        let (id, action, status, body) = result.expect("the task ran");
        outcomes.entry(id).or_default().push((action, status, body));
    }

    let mut confirmed = Vec::new();
    for &id in &requests {
        let mut pair = outcomes.remove(&id).expect("both calls answered");
        pair.sort_by_key(|(action, _, _)| *action);
        let statuses: Vec<(&str, u16)> = pair.iter().map(|(a, s, _)| (*a, *s)).collect();
        let winner = match statuses.as_slice() {
            [("cancel", 200), ("confirm", 409)] => "cancel",
            [("cancel", 409), ("confirm", 200)] => "confirm",
            other => panic!("request {id}: exactly one winner expected, got {other:?}: {pair:?}"),
        };
        let loser = pair
            .iter()
            .find(|(_, status, _)| *status == 409)
            .expect("a loser");
        assert_eq!(
            loser.2["code"], "request_not_pending",
            "request {id}: {pair:?}"
        );
        let detail = app.my_request(&dana, id).await;
        assert_eq!(detail.status, 200, "{detail:?}");
        if winner == "confirm" {
            assert_eq!(
                detail.body["status"], "approved",
                "request {id}: {detail:?}"
            );
            let certificate = detail.body["certificate_id"]
                .as_i64()
                .unwrap_or_else(|| panic!("request {id} confirmed without a certificate"));
            confirmed.push((id, certificate));
        } else {
            assert_eq!(
                detail.body["status"], "rejected",
                "request {id}: {detail:?}"
            );
            assert_eq!(detail.body["rejection_reason"], "Cancelled by requester");
            assert_eq!(
                detail.body["certificate_id"],
                Value::Null,
                "request {id} cancelled yet has a certificate: {detail:?}"
            );
            assert_eq!(detail.body["decisions"], json!([]), "request {id}");
        }
    }

    let certificates = app
        .get("/api/v3/certificates?per_page=100", Some(&dana))
        .await;
    assert_eq!(certificates.status, 200, "{certificates:?}");
    let mut listed: Vec<(i64, i64)> = certificates.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| {
            (
                c["request_id"].as_i64().expect("request_id"),
                c["id"].as_i64().expect("id"),
            )
        })
        .collect();
    listed.sort_unstable();
    confirmed.sort_unstable();
    assert_eq!(
        listed, confirmed,
        "a certificate exactly for each confirmed request, none for cancelled ones"
    );
}

async fn approvers_confirming_the_same_request_at_once_issue_exactly_one_certificate(app: TestApp) {
    let dana = app.developer("dana").await;
    let mut approvers = Vec::new();
    for n in 0..5 {
        approvers.push(
            app.user_with_role(&format!("approver{n}"), "approver")
                .await,
        );
    }
    let id = app.pending_request(&dana, "once.example.com").await;

    let mut racing = JoinSet::new();
    for token in &approvers {
        let request = app
            .request(
                reqwest::Method::POST,
                &format!("/api/v3/incoming-requests/{id}/confirm"),
                Some(token),
            )
            .json(&json!({}));
        racing.spawn(async move {
            let response = request.send().await.expect("answered");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(result) = racing.join_next().await {
        outcomes.push(result.expect("the task ran"));
    }
    assert_eq!(
        outcomes.iter().filter(|(status, _)| *status == 200).count(),
        1,
        "exactly one confirmation counts: {outcomes:?}"
    );
    for (status, body) in outcomes.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(*status, 409, "{outcomes:?}");
        assert_eq!(body["code"], "request_not_pending", "{body}");
    }
    let detail = app.my_request(&dana, id).await;
    assert_eq!(detail.body["status"], "approved", "{detail:?}");
    assert_eq!(detail.body["decisions"].as_array().map(Vec::len), Some(1));
    let certificates = app.get("/api/v3/certificates", Some(&dana)).await;
    assert_eq!(
        ids(&certificates.body),
        [detail.body["certificate_id"].as_i64().expect("issued")],
        "one certificate: {certificates:?}"
    );
}
