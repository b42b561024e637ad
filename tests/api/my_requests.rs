//! `/api/v3/myrequests`: submitting certificate requests, the dashboard, one's own requests in
//! detail, cancelling, statistics and recent activity, and expiry.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::pki::{
    Key, KeyType, certificate_request, csr_for, self_signed_certificate, tampered,
};
use crate::helpers::requests::{events, ids, list_ids};
use crate::helpers::{JWT_SECRET, PASSWORD, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_certificate_request_is_pending_with_names_and_key_read_from_the_csr,
    every_accepted_key_type_is_accepted_and_reported,
    each_refused_csr_or_validity_names_the_field_at_fault,
    a_second_pending_request_for_the_same_key_is_409_until_the_first_ends,
    the_same_key_submitted_many_times_at_once_is_accepted_exactly_once,
    ip_names_and_wildcards_are_accepted_only_when_the_policy_allows_them,
    the_dashboard_lists_ones_own_requests_and_certificates_paginated_and_filtered,
    the_detail_shows_decisions_events_and_the_issued_certificate,
    cancelling_a_pending_request_rejects_it_as_cancelled_by_requester,
    cancelling_an_approved_request_is_409_and_changes_nothing,
    another_users_request_answers_404_as_if_it_did_not_exist,
    stats_count_every_status_and_recent_activity_keeps_only_the_last_30_days,
    recent_activity_holds_at_most_ten_requests_and_ten_certificates_newest_first,
    an_expired_request_shows_as_expired_everywhere_and_can_no_longer_be_decided,
    counted_totals_agree_with_exact_counts_through_every_transition,
    the_dashboard_refuses_a_session_that_names_another_user_or_has_run_out,
);

fn time(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp: {value}"));
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

async fn a_certificate_request_is_pending_with_names_and_key_read_from_the_csr(app: TestApp) {
    let token = app.developer("dana").await;
    let csr = Key::generate(KeyType::P256).csr(
        "build.example.com",
        &["DNS:build.example.com", "DNS:ci.example.com"],
    );
    let before = Utc::now();
    let reply = app
        .post(
            "/api/v3/myrequests",
            Some(&token),
            &certificate_request(&csr, 30),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let body = &reply.body;
    assert_eq!(body["type"], "certificate");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["requester"], "dana");
    assert_eq!(body["reason"], "TLS for the build server");
    assert_eq!(body["common_name"], "build.example.com");
    assert_eq!(
        body["subject_alt_names"],
        json!(["build.example.com", "ci.example.com"])
    );
    assert_eq!(body["metadata"]["requester_email"], "dana@example.com");
    assert_eq!(body["requester_details"]["username"], "dana");
    assert_eq!(body["key_algorithm"], "ECDSA-P256");
    assert_eq!(body["validity_days"], 30);
    assert_eq!(
        (
            body["confirmations_required"].clone(),
            body["confirmations_left"].clone()
        ),
        (json!(1), json!(1))
    );
    assert!(
        body["csr"]
            .as_str()
            .is_some_and(|c| c.starts_with("-----BEGIN CERTIFICATE REQUEST-----")),
        "{body}"
    );
    assert_eq!(body["certificate_id"], Value::Null);
    assert_eq!(body["approved_at"], Value::Null);
    assert_eq!(body["rejected_at"], Value::Null);
    assert_eq!(body["decisions"], json!([]));
    assert_eq!(events(body), ["submitted"]);
    let requested = time(&body["requested_at"]);
    assert!(
        requested >= before - Duration::seconds(5) && requested <= Utc::now(),
        "{body}"
    );
    assert_eq!(
        time(&body["expires_at"]) - requested,
        Duration::days(30),
        "pending requests expire after 30 days: {body}"
    );

    let id = body["id"].as_i64().expect("id");
    let shown = app.my_request(&token, id).await;
    assert_eq!(shown.status, 200, "{shown:?}");
    assert_eq!(shown.body, reply.body, "GET answers what POST answered");
}

async fn every_accepted_key_type_is_accepted_and_reported(app: TestApp) {
    let token = app.developer("dana").await;
    let cases = [
        (KeyType::P256, "ECDSA-P256"),
        (KeyType::P384, "ECDSA-P384"),
        (KeyType::Ed25519, "Ed25519"),
        (KeyType::Rsa2048, "RSA-2048"),
    ];
    for (key_type, label) in cases {
        let name = format!("{}.example.com", label.to_lowercase());
        let reply = app.submit_csr(&token, &csr_for(key_type, &name)).await;
        assert_eq!(reply.status, 201, "{label}: {reply:?}");
        assert_eq!(reply.body["status"], "pending", "{label}");
        assert_eq!(reply.body["key_algorithm"], label, "{label}");
        assert_eq!(reply.body["common_name"], name.as_str(), "{label}");
    }
    let dashboard = app.get("/api/v3/myrequests", Some(&token)).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");
    assert_eq!(dashboard.body["requests"]["total"], 4, "{dashboard:?}");
}

async fn each_refused_csr_or_validity_names_the_field_at_fault(app: TestApp) {
    let token = app.developer("dana").await;
    let good = csr_for(KeyType::P256, "good.example.com");
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "RSA 1024",
            certificate_request(&csr_for(KeyType::Rsa1024, "weak.example.com"), 90),
            "csr.public_key",
        ),
        (
            "tampered signature",
            certificate_request(&tampered(&good), 90),
            "csr.signature",
        ),
        (
            "wildcard SAN",
            certificate_request(
                &Key::generate(KeyType::P256).csr(
                    "www.example.com",
                    &["DNS:www.example.com", "DNS:*.example.com"],
                ),
                90,
            ),
            "csr.subject_alt_names",
        ),
        (
            "wildcard CN",
            certificate_request(&Key::generate(KeyType::P256).csr("*.example.com", &[]), 90),
            "csr.common_name",
        ),
        (
            "email SAN",
            certificate_request(
                &Key::generate(KeyType::P256).csr(
                    "mail.example.com",
                    &["DNS:mail.example.com", "email:dana@example.com"],
                ),
                90,
            ),
            "csr.subject_alt_names",
        ),
        (
            "IP SAN",
            certificate_request(
                &Key::generate(KeyType::P256)
                    .csr("ip.example.com", &["DNS:ip.example.com", "IP:10.0.0.1"]),
                90,
            ),
            "csr.subject_alt_names",
        ),
        (
            "no name at all",
            certificate_request(&Key::generate(KeyType::P256).csr("Jane Doe", &[]), 90),
            "csr.subject_alt_names",
        ),
        (
            "garbage instead of a CSR",
            certificate_request("this is not a CSR", 90),
            "csr",
        ),
        (
            "a certificate instead of a CSR",
            certificate_request(
                &crate::helpers::pki::self_signed_certificate("x.example.com", 1),
                90,
            ),
            "csr",
        ),
        ("validity 0", certificate_request(&good, 0), "validity_days"),
        (
            "validity 398",
            certificate_request(&good, 398),
            "validity_days",
        ),
        (
            "blank reason",
            json!({"type": "certificate", "csr": good, "reason": "   ", "validity_days": 90}),
            "reason",
        ),
    ];
    for (case, body, field) in cases {
        let reply = app.post("/api/v3/myrequests", Some(&token), &body).await;
        assert_eq!(reply.status, 400, "{case}: {reply:?}");
        assert_eq!(reply.problem_code(), "validation_failed", "{case}");
        assert_eq!(reply.error_fields(), [field], "{case}: {reply:?}");
        let message = reply.body["errors"][0]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "{case}: a message says why");
    }

    let reply = app
        .post(
            "/api/v3/myrequests",
            Some(&token),
            &json!({"type": "certificate", "csr": good, "reason": "x"}),
        )
        .await;
    assert_eq!(reply.status, 201, "validity is optional: {reply:?}");
    assert_eq!(reply.body["validity_days"], 90, "the default is 90 days");

    let dashboard = app.get("/api/v3/myrequests", Some(&token)).await;
    assert_eq!(
        dashboard.body["requests"]["total"], 1,
        "no refused request was stored: {dashboard:?}"
    );
}

async fn a_second_pending_request_for_the_same_key_is_409_until_the_first_ends(app: TestApp) {
    let dana = app.developer("dana").await;
    let erin = app.developer("erin").await;
    let key = Key::generate(KeyType::P256);
    let first = app
        .submit_csr(&dana, &key.csr("one.example.com", &[]))
        .await;
    assert_eq!(first.status, 201, "{first:?}");
    let first_id = first.body["id"].as_i64().expect("id");

    for (who, token) in [("same requester", &dana), ("another user", &erin)] {
        let reply = app
            .submit_csr(token, &key.csr("two.example.com", &[]))
            .await;
        assert_eq!(reply.status, 409, "{who}: {reply:?}");
        assert_eq!(reply.problem_code(), "duplicate_pending_request", "{who}");
    }

    let cancelled = app.cancel(&dana, first_id).await;
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    let again = app
        .submit_csr(&dana, &key.csr("two.example.com", &[]))
        .await;
    assert_eq!(
        again.status, 201,
        "the key is free once the first request ended: {again:?}"
    );
    assert_eq!(again.body["common_name"], "two.example.com");
}

async fn the_dashboard_lists_ones_own_requests_and_certificates_paginated_and_filtered(
    app: TestApp,
) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let erin = app.developer("erin").await;
    let approved = app
        .issue(&dana, &approver, &csr_for(KeyType::P256, "a.example.com"))
        .await;
    let approved_id = approved["id"].as_i64().expect("id");
    let certificate_id = approved["certificate_id"].as_i64().expect("certificate");
    let cancelled = app.pending_request(&dana, "b.example.com").await;
    assert_eq!(app.cancel(&dana, cancelled).await.status, 200);
    let pending = app.pending_request(&dana, "c.example.com").await;
    let _others = app.pending_request(&erin, "erin.example.com").await;

    let reply = app.get("/api/v3/myrequests", Some(&dana)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        ids(&reply.body["requests"]),
        [pending, cancelled, approved_id],
        "own requests, newest first"
    );
    assert_eq!(reply.body["requests"]["total"], 3);
    assert_eq!(ids(&reply.body["certificates"]), [certificate_id]);
    assert_eq!(reply.body["certificates"]["items"][0]["owner"], "dana");
    assert_eq!(
        reply.body["requests"]["items"][0]["subject_alt_names"],
        json!(["c.example.com"])
    );

    let cases = [
        ("per_page=2", vec![pending, cancelled], 3),
        ("per_page=2&requests_page=2", vec![approved_id], 3),
        ("status=pending", vec![pending], 1),
        ("status=approved", vec![approved_id], 1),
        ("status=rejected", vec![cancelled], 1),
        ("status=expired", vec![], 0),
        ("type=certificate", vec![pending, cancelled, approved_id], 3),
        ("type=access", vec![], 0),
    ];
    for (query, expected, total) in cases {
        let reply = app
            .get(&format!("/api/v3/myrequests?{query}"), Some(&dana))
            .await;
        assert_eq!(reply.status, 200, "{query}: {reply:?}");
        assert_eq!(ids(&reply.body["requests"]), expected, "{query}");
        assert_eq!(reply.body["requests"]["total"], total, "{query}");
    }

    let page_two = app
        .get(
            "/api/v3/myrequests?per_page=1&certificates_page=2",
            Some(&dana),
        )
        .await;
    assert_eq!(page_two.status, 200, "{page_two:?}");
    assert_eq!(
        ids(&page_two.body["certificates"]),
        Vec::<i64>::new(),
        "the certificates page is paginated on its own"
    );
    assert_eq!(ids(&page_two.body["requests"]), [pending]);

    for (query, field) in [
        ("status=done", "status"),
        ("type=coffee", "type"),
        ("per_page=0", "per_page"),
        ("requests_page=0", "requests_page"),
        ("certificates_page=0", "certificates_page"),
    ] {
        let reply = app
            .get(&format!("/api/v3/myrequests?{query}"), Some(&dana))
            .await;
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        assert_eq!(reply.error_fields(), [field], "{query}");
    }

    let anonymous = app.get("/api/v3/myrequests", None).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(anonymous.problem_code(), "unauthorized");
}

async fn the_detail_shows_decisions_events_and_the_issued_certificate(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let id = app.pending_request(&dana, "a.example.com").await;
    let confirmed = app
        .post(
            &format!("/api/v3/incoming-requests/{id}/confirm"),
            Some(&approver),
            &json!({"reason": "Checked with the owner"}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");

    let reply = app.my_request(&dana, id).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = &reply.body;
    assert_eq!(body["status"], "approved");
    assert_eq!(body["confirmations_left"], 0);
    assert!(body["approved_at"].is_string(), "{body}");
    assert_eq!(body["decisions"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["decisions"][0]["username"], "apollo");
    assert_eq!(body["decisions"][0]["decision"], "confirm");
    assert_eq!(body["decisions"][0]["reason"], "Checked with the owner");
    assert_eq!(
        events(body),
        ["submitted", "confirmed", "approved", "issued"]
    );
    assert_eq!(body["events"][0]["actor"], "dana");
    assert_eq!(body["events"][1]["actor"], "apollo");
    let certificate_id = body["certificate_id"].as_i64().expect("certificate_id");

    let certificate = app
        .get(
            &format!("/api/v3/certificates/{certificate_id}"),
            Some(&dana),
        )
        .await;
    assert_eq!(certificate.status, 200, "{certificate:?}");
    assert_eq!(certificate.body["request_id"], id);
    assert_eq!(certificate.body["status"], "active");
}

async fn cancelling_a_pending_request_rejects_it_as_cancelled_by_requester(app: TestApp) {
    let dana = app.developer("dana").await;
    let id = app.pending_request(&dana, "a.example.com").await;
    let reply = app.cancel(&dana, id).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["status"], "rejected");
    assert_eq!(reply.body["rejection_reason"], "Cancelled by requester");
    assert!(reply.body["rejected_at"].is_string(), "{reply:?}");
    assert_eq!(reply.body["confirmations_left"], 0);
    assert_eq!(reply.body["certificate_id"], Value::Null);
    assert_eq!(events(&reply.body), ["submitted", "cancelled"]);

    let again = app.cancel(&dana, id).await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(again.problem_code(), "request_not_pending");
    let after = app.my_request(&dana, id).await;
    assert_eq!(after.status, 200, "{after:?}");
    assert_eq!(after.body, reply.body, "a refused cancel changes nothing");
}

async fn cancelling_an_approved_request_is_409_and_changes_nothing(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let approved = app
        .issue(&dana, &approver, &csr_for(KeyType::P256, "a.example.com"))
        .await;
    let id = approved["id"].as_i64().expect("id");
    let before = app.my_request(&dana, id).await;
    assert_eq!(before.status, 200, "{before:?}");

    let reply = app.cancel(&dana, id).await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.problem_code(), "request_not_pending");

    let after = app.my_request(&dana, id).await;
    assert_eq!(after.status, 200, "{after:?}");
    assert_eq!(after.body, before.body, "the request is unchanged");
    assert_eq!(after.body["status"], "approved");
    assert_eq!(after.body["rejection_reason"], Value::Null);
    let certificate_id = after.body["certificate_id"].as_i64().expect("certificate");
    let certificate = app
        .get(
            &format!("/api/v3/certificates/{certificate_id}"),
            Some(&dana),
        )
        .await;
    assert_eq!(certificate.status, 200, "{certificate:?}");
    assert_eq!(certificate.body["status"], "active");
}

async fn another_users_request_answers_404_as_if_it_did_not_exist(app: TestApp) {
    let dana = app.developer("dana").await;
    let erin = app.developer("erin").await;
    let id = app.pending_request(&dana, "a.example.com").await;
    let missing = id + 1000;

    for (action, theirs, nothing) in [
        (
            "show",
            app.my_request(&erin, id).await,
            app.my_request(&erin, missing).await,
        ),
        (
            "cancel",
            app.cancel(&erin, id).await,
            app.cancel(&erin, missing).await,
        ),
    ] {
        assert_eq!(theirs.status, 404, "{action}: {theirs:?}");
        assert_eq!(theirs.problem_code(), "not_found", "{action}");
        assert_eq!(nothing.status, 404, "{action}: {nothing:?}");
        let mut as_if_missing = theirs.body.clone();
        as_if_missing["detail"] = json!(
            theirs.body["detail"]
                .as_str()
                .expect("detail")
                .replace(&id.to_string(), &missing.to_string())
        );
        assert_eq!(
            as_if_missing, nothing.body,
            "{action}: someone else's request looks exactly like a missing one"
        );
    }

    let still = app.my_request(&dana, id).await;
    assert_eq!(still.status, 200, "{still:?}");
    assert_eq!(still.body["status"], "pending", "nothing changed");
    assert_eq!(events(&still.body), ["submitted"]);
}

async fn stats_count_every_status_and_recent_activity_keeps_only_the_last_30_days(app: TestApp) {
    let dana = app.developer("dana").await;
    let erin = app.developer("erin").await;
    let approver = app.user_with_role("apollo", "approver").await;

    let empty = app.get("/api/v3/myrequests/stats", Some(&dana)).await;
    assert_eq!(empty.status, 200, "{empty:?}");
    assert_eq!(
        empty.body,
        json!({"pending": 0, "approved": 0, "rejected": 0, "expired": 0, "invalid": 0,
               "active_certificates": 0,
               "recent_activity": {"requests": [], "certificates": []}})
    );

    // Over 30 days ago: approved (certificate valid 90 days), cancelled, left to expire.
    let old_approved = app
        .issue(
            &dana,
            &approver,
            &csr_for(KeyType::P256, "old-a.example.com"),
        )
        .await;
    let old_cancelled = app.pending_request(&dana, "old-b.example.com").await;
    assert_eq!(app.cancel(&dana, old_cancelled).await.status, 200);
    let old_expiring = app.pending_request(&dana, "old-c.example.com").await;
    app.pending_request(&erin, "erin.example.com").await;

    app.clock.advance(Duration::days(31));
    // Sessions last an hour: log in again.
    let dana = app.token_for("dana", PASSWORD).await;
    let erin = app.token_for("erin", PASSWORD).await;
    let approver = app.token_for("apollo", PASSWORD).await;

    // Now: pending, approved, rejected by the approver.
    let new_pending = app.pending_request(&dana, "new-d.example.com").await;
    let new_approved = app
        .issue(
            &dana,
            &approver,
            &csr_for(KeyType::P256, "new-e.example.com"),
        )
        .await;
    let new_rejected = app.pending_request(&dana, "new-f.example.com").await;
    let rejected = app
        .reject(&approver, new_rejected, "Not our host name")
        .await;
    assert_eq!(rejected.status, 200, "{rejected:?}");

    let reply = app.get("/api/v3/myrequests/stats", Some(&dana)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let stats = &reply.body;
    assert_eq!(
        [
            &stats["pending"],
            &stats["approved"],
            &stats["rejected"],
            &stats["expired"],
            &stats["active_certificates"]
        ],
        [&json!(1), &json!(2), &json!(2), &json!(1), &json!(2)],
        "old entries still count, the timed-out one as expired: {stats}"
    );
    let new_approved_id = new_approved["id"].as_i64().expect("id");
    assert_eq!(
        list_ids(&stats["recent_activity"]["requests"]),
        [new_rejected, new_approved_id, new_pending],
        "only the last 30 days, newest first: {stats}"
    );
    let statuses: Vec<_> = stats["recent_activity"]["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["rejected", "approved", "pending"]);
    assert_eq!(
        stats["recent_activity"]["requests"][1]["common_name"],
        "new-e.example.com"
    );
    assert_eq!(
        list_ids(&stats["recent_activity"]["certificates"]),
        [new_approved["certificate_id"]
            .as_i64()
            .expect("certificate")],
        "the old certificate dropped out of recent activity: {stats}"
    );
    assert_eq!(
        stats["recent_activity"]["certificates"][0]["status"],
        "active"
    );

    let dashboard = app.get("/api/v3/myrequests", Some(&dana)).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");
    assert_eq!(dashboard.body["requests"]["total"], 6, "{dashboard:?}");
    assert_eq!(
        ids(&dashboard.body["certificates"]),
        [
            new_approved["certificate_id"].as_i64().expect("id"),
            old_approved["certificate_id"].as_i64().expect("id"),
        ],
        "the dashboard keeps every certificate"
    );
    let expired = app
        .get("/api/v3/myrequests?status=expired", Some(&dana))
        .await;
    assert_eq!(
        ids(&expired.body["requests"]),
        [old_expiring],
        "{expired:?}"
    );
    assert_eq!(expired.body["requests"]["items"][0]["status"], "expired");

    let theirs = app.get("/api/v3/myrequests/stats", Some(&erin)).await;
    assert_eq!(theirs.status, 200, "{theirs:?}");
    assert_eq!(
        (
            theirs.body["pending"].clone(),
            theirs.body["expired"].clone()
        ),
        (json!(0), json!(1)),
        "another user's statistics are their own: {theirs:?}"
    );
    assert_eq!(theirs.body["recent_activity"]["requests"], json!([]));
}

async fn recent_activity_holds_at_most_ten_requests_and_ten_certificates_newest_first(
    app: TestApp,
) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let mut requests = Vec::new();
    let mut certificates = Vec::new();
    for n in 0..11 {
        let body = app
            .issue(
                &dana,
                &approver,
                &csr_for(KeyType::P256, &format!("host{n}.example.com")),
            )
            .await;
        requests.push(body["id"].as_i64().expect("id"));
        certificates.push(body["certificate_id"].as_i64().expect("certificate"));
    }
    let reply = app.get("/api/v3/myrequests/stats", Some(&dana)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["approved"], 11, "{reply:?}");
    assert_eq!(reply.body["active_certificates"], 11, "{reply:?}");
    let newest_requests: Vec<i64> = requests.iter().rev().take(10).copied().collect();
    let newest_certificates: Vec<i64> = certificates.iter().rev().take(10).copied().collect();
    assert_eq!(
        list_ids(&reply.body["recent_activity"]["requests"]),
        newest_requests
    );
    assert_eq!(
        list_ids(&reply.body["recent_activity"]["certificates"]),
        newest_certificates
    );
}

async fn an_expired_request_shows_as_expired_everywhere_and_can_no_longer_be_decided(app: TestApp) {
    let dana = app.developer("dana").await;
    app.user_with_role("apollo", "approver").await;
    let key = Key::generate(KeyType::P256);
    let submitted = app
        .submit_csr(&dana, &key.csr("old.example.com", &[]))
        .await;
    assert_eq!(submitted.status, 201, "{submitted:?}");
    let id = submitted.body["id"].as_i64().expect("id");

    app.clock.advance(Duration::days(31));
    let dana = app.token_for("dana", PASSWORD).await;
    let approver = app.token_for("apollo", PASSWORD).await;

    let detail = app.my_request(&dana, id).await;
    assert_eq!(detail.status, 200, "{detail:?}");
    assert_eq!(detail.body["status"], "expired");
    assert_eq!(detail.body["confirmations_left"], 0);

    let dashboard = app.get("/api/v3/myrequests", Some(&dana)).await;
    assert_eq!(
        dashboard.body["requests"]["items"][0]["status"], "expired",
        "{dashboard:?}"
    );
    let pending = app
        .get("/api/v3/myrequests?status=pending", Some(&dana))
        .await;
    assert_eq!(pending.body["requests"]["total"], 0, "{pending:?}");

    let stats = app.get("/api/v3/myrequests/stats", Some(&dana)).await;
    assert_eq!(
        (stats.body["pending"].clone(), stats.body["expired"].clone()),
        (json!(0), json!(1)),
        "{stats:?}"
    );
    assert_eq!(
        stats.body["recent_activity"]["requests"],
        json!([]),
        "submitted over 30 days ago"
    );

    let queue = app.get("/api/v3/incoming-requests", Some(&approver)).await;
    assert_eq!(queue.status, 200, "{queue:?}");
    assert_eq!(queue.body["total"], 0, "expired requests leave the queue");
    let seen = app
        .get(&format!("/api/v3/incoming-requests/{id}"), Some(&approver))
        .await;
    assert_eq!(seen.status, 200, "{seen:?}");
    assert_eq!(seen.body["status"], "expired");

    for (action, reply) in [
        ("confirm", app.confirm(&approver, id).await),
        ("reject", app.reject(&approver, id, "too late").await),
        ("cancel", app.cancel(&dana, id).await),
    ] {
        assert_eq!(reply.status, 409, "{action}: {reply:?}");
        assert_eq!(reply.problem_code(), "request_not_pending", "{action}");
    }
    let after = app.my_request(&dana, id).await;
    assert_eq!(after.body, detail.body, "nothing changed");
    assert_eq!(after.body["decisions"], json!([]));

    let again = app
        .submit_csr(&dana, &key.csr("old.example.com", &[]))
        .await;
    assert_eq!(
        again.status, 201,
        "an expired request does not block its key: {again:?}"
    );
    let old = app.my_request(&dana, id).await;
    assert_eq!(old.body["status"], "expired", "{old:?}");
}

async fn the_same_key_submitted_many_times_at_once_is_accepted_exactly_once(app: TestApp) {
    let dana = app.developer("dana").await;
    let key = Key::generate(KeyType::P256);
    let mut racing = tokio::task::JoinSet::new();
    for n in 0..6 {
        let request = app
            .request(reqwest::Method::POST, "/api/v3/myrequests", Some(&dana))
            .json(&certificate_request(
                &key.csr(&format!("h{n}.example.com"), &[]),
                90,
            ));
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
    let created = outcomes.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "exactly one accepted: {outcomes:?}");
    for (status, body) in outcomes.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "{outcomes:?}");
        assert_eq!(body["code"], "duplicate_pending_request", "{body}");
    }
    let dashboard = app.get("/api/v3/myrequests", Some(&dana)).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");
    assert_eq!(dashboard.body["requests"]["total"], 1, "{dashboard:?}");
}

async fn ip_names_and_wildcards_are_accepted_only_when_the_policy_allows_them(app: TestApp) {
    let csr_with =
        |alt_names: &[&str]| Key::generate(KeyType::P256).csr("www.example.com", alt_names);
    let ip = csr_with(&["DNS:www.example.com", "IP:10.0.0.1"]);
    let wildcard = csr_with(&["DNS:*.example.com"]);
    let dana = app.developer("dana").await;
    for (case, csr) in [("IP", &ip), ("wildcard", &wildcard)] {
        let reply = app.submit_csr(&dana, csr).await;
        assert_eq!(reply.status, 400, "{case} by default: {reply:?}");
        assert_eq!(reply.error_fields(), ["csr.subject_alt_names"], "{case}");
    }

    let app = app
        .restarted_with(|settings| {
            settings.ca_allow_ip_sans = true;
            settings.ca_allow_wildcards = true;
        })
        .await;
    let dana = app.token_for("dana", PASSWORD).await;
    let approver = app.user_with_role("apollo", "approver").await;
    for (case, csr, names) in [
        ("IP", &ip, json!(["www.example.com", "10.0.0.1"])),
        (
            "wildcard",
            &wildcard,
            json!(["www.example.com", "*.example.com"]),
        ),
    ] {
        let reply = app.submit_csr(&dana, csr).await;
        assert_eq!(reply.status, 201, "{case} when allowed: {reply:?}");
        assert_eq!(reply.body["subject_alt_names"], names, "{case}");
        let id = reply.body["id"].as_i64().expect("id");
        let confirmed = app.confirm(&approver, id).await;
        assert_eq!(confirmed.status, 200, "{case}: {confirmed:?}");
        let certificate = app
            .get(
                &format!(
                    "/api/v3/certificates/{}",
                    confirmed.body["certificate_id"].as_i64().expect("issued")
                ),
                Some(&dana),
            )
            .await;
        assert_eq!(
            certificate.body["subject_alt_names"], names,
            "{case}: {certificate:?}"
        );
    }
}

/// The dashboard's unfiltered totals and the stats come from counters kept by the database;
/// the status-filtered lists and the certificate list count rows exactly. Every transition must
/// keep both in agreement. Returns the stats as (pending, approved, rejected, expired, active
/// certificates) for the caller to check against what it expects.
async fn totals_agree(app: &TestApp, token: &str) -> (i64, i64, i64, i64, i64) {
    let total = |reply: &crate::helpers::Reply, list: &str| {
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body[list]["total"]
            .as_i64()
            .unwrap_or_else(|| panic!("a total: {reply:?}"))
    };
    let dashboard = app.get("/api/v3/myrequests", Some(token)).await;
    let mut exact_sum = 0;
    let mut exact = Vec::new();
    for status in ["pending", "approved", "rejected", "expired", "invalid"] {
        let reply = app
            .get(&format!("/api/v3/myrequests?status={status}"), Some(token))
            .await;
        exact.push((status, total(&reply, "requests")));
        exact_sum += total(&reply, "requests");
    }
    assert_eq!(total(&dashboard, "requests"), exact_sum, "{dashboard:?}");
    let certificates = app.get("/api/v3/certificates", Some(token)).await;
    assert_eq!(certificates.status, 200, "{certificates:?}");
    assert_eq!(
        dashboard.body["certificates"]["total"], certificates.body["total"],
        "{dashboard:?}"
    );
    let active = app
        .get("/api/v3/certificates?status=active", Some(token))
        .await;
    assert_eq!(active.status, 200, "{active:?}");

    let stats = app.get("/api/v3/myrequests/stats", Some(token)).await;
    assert_eq!(stats.status, 200, "{stats:?}");
    for (status, n) in &exact {
        assert_eq!(stats.body[status], *n, "{status}: {stats:?}");
    }
    assert_eq!(
        stats.body["active_certificates"], active.body["total"],
        "{stats:?}"
    );
    let again = app.get("/api/v3/myrequests", Some(token)).await;
    assert_eq!(
        total(&again, "requests"),
        exact_sum,
        "stats changed no total: {again:?}"
    );
    let number = |key: &str| stats.body[key].as_i64().expect("a count");
    (
        number("pending"),
        number("approved"),
        number("rejected"),
        number("expired"),
        number("active_certificates"),
    )
}

async fn counted_totals_agree_with_exact_counts_through_every_transition(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    assert_eq!(totals_agree(&app, &dana).await, (0, 0, 0, 0, 0));

    let first = app
        .issued_certificate(&dana, &approver, "a.example.com")
        .await;
    app.issued_certificate(&dana, &approver, "b.example.com")
        .await;
    let cancelled = app.pending_request(&dana, "c.example.com").await;
    assert_eq!(app.cancel(&dana, cancelled).await.status, 200);
    let rejected = app.pending_request(&dana, "d.example.com").await;
    assert_eq!(
        app.reject(&approver, rejected, "Not ours").await.status,
        200
    );
    app.pending_request(&dana, "e.example.com").await;
    let imported = app
        .post(
            "/api/v3/certificates",
            Some(&dana),
            &json!({"pem": self_signed_certificate("imported.example.com", 30)}),
        )
        .await;
    assert_eq!(imported.status, 201, "{imported:?}");
    assert_eq!(totals_agree(&app, &dana).await, (1, 2, 2, 0, 3));

    assert_eq!(app.revoke(&dana, first, "superseded").await.status, 200);
    assert_eq!(totals_agree(&app, &dana).await, (1, 2, 2, 0, 2));
    let beyond = app
        .get(
            "/api/v3/myrequests?requests_page=1000&certificates_page=1000",
            Some(&dana),
        )
        .await;
    assert_eq!(beyond.status, 200, "{beyond:?}");
    for list in ["requests", "certificates"] {
        assert_eq!(beyond.body[list]["items"], json!([]), "{beyond:?}");
    }
    assert_eq!(
        (
            beyond.body["requests"]["total"].clone(),
            beyond.body["certificates"]["total"].clone()
        ),
        (json!(5), json!(3)),
        "past the end the totals still count: {beyond:?}"
    );

    // 31 days on: the pending request timed out (stats store it as expired, which changes what
    // is stored, not what is shown) and the imported certificate expired.
    app.clock.advance(Duration::days(31));
    let dana = app.token_for("dana", PASSWORD).await;
    assert_eq!(totals_agree(&app, &dana).await, (0, 2, 2, 1, 1));
    assert_eq!(totals_agree(&app, &dana).await, (0, 2, 2, 1, 1));

    // The issued certificate (90 days) expires within the next hour, then has expired.
    app.clock
        .advance(Duration::days(90 - 31) - Duration::minutes(30));
    let dana = app.token_for("dana", PASSWORD).await;
    assert_eq!(totals_agree(&app, &dana).await, (0, 2, 2, 1, 1));
    app.clock.advance(Duration::minutes(31));
    let dana = app.token_for("dana", PASSWORD).await;
    assert_eq!(totals_agree(&app, &dana).await, (0, 2, 2, 1, 0));
}

/// The dashboard checks the session in the statement that also reads its counters, so that
/// statement must refuse what every session check refuses. In both cases below the token itself
/// still verifies: only the session row can refuse it.
async fn the_dashboard_refuses_a_session_that_names_another_user_or_has_run_out(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    app.issued_certificate(&dana, &approver, "a.example.com")
        .await;
    app.developer("erin").await;
    let mut claims = jsonwebtoken::dangerous::insecure_decode::<Value>(&dana)
        .expect("the service's own token decodes")
        .claims;
    claims["sub"] = json!("erin");
    let dana_session_as_erin = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("encode");
    let foreign = app
        .get("/api/v3/myrequests", Some(&dana_session_as_erin))
        .await;
    assert_eq!(
        foreign.status, 401,
        "dana's session under erin's name: {foreign:?}"
    );
    assert_eq!(foreign.problem_code(), "unauthorized");

    let mine = app.get("/api/v3/myrequests", Some(&dana)).await;
    assert_eq!(mine.status, 200, "{mine:?}");
    assert_eq!(
        (
            mine.body["requests"]["total"].clone(),
            mine.body["certificates"]["total"].clone()
        ),
        (json!(1), json!(1)),
        "{mine:?}"
    );

    app.clock.advance(Duration::minutes(61));
    let late = app.get("/api/v3/myrequests", Some(&dana)).await;
    assert_eq!(late.status, 401, "the session's lifetime ran out: {late:?}");
    assert_eq!(late.problem_code(), "unauthorized");
}
