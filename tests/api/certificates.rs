//! `/api/v3/certificates` and `/api/v3/ca`: issued certificates checked with `openssl`,
//! downloads, the signed CRL, revocation, ownership, list filters and imports.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::helpers::pki::{
    Key, KeyType, csr_for, openssl, openssl_ok, self_signed_certificate, signed_by_another_ca,
};
use crate::helpers::requests::ids;
use crate::on_both_backends;

on_both_backends!(
    an_issued_certificate_verifies_against_the_ca_with_its_names_usages_and_validity,
    every_accepted_key_type_gets_a_certificate_that_verifies,
    the_der_download_is_the_certificate_alone,
    the_ca_certificate_and_an_empty_crl_are_public,
    revoked_certificates_are_listed_in_the_signed_crl_with_their_reasons,
    revoking_twice_is_409_and_admins_may_revoke_anyones_certificate,
    another_users_certificate_answers_404_as_if_it_did_not_exist,
    a_key_revoked_for_key_compromise_is_refused_in_later_requests,
    certificates_are_listed_by_status_expiry_and_for_admins_by_owner,
    an_imported_certificate_is_registered_with_its_uploader,
    importing_garbage_or_the_same_certificate_twice_is_refused,
    an_imported_certificate_revoked_for_key_compromise_refuses_no_one_elses_key,
);

fn not_after(dir: &std::path::Path, file: &str, inform: &str) -> DateTime<Utc> {
    let output = openssl_ok(
        dir,
        &["x509", "-inform", inform, "-in", file, "-noout", "-enddate"],
    );
    let text = output
        .text
        .trim()
        .strip_prefix("notAfter=")
        .unwrap_or_else(|| panic!("an end date: {}", output.text))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    NaiveDateTime::parse_from_str(&text, "%b %d %H:%M:%S %Y GMT")
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .and_utc()
}

async fn an_issued_certificate_verifies_against_the_ca_with_its_names_usages_and_validity(
    app: TestApp,
) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let csr = Key::generate(KeyType::P256).csr(
        "web.example.com",
        &["DNS:web.example.com", "DNS:api.example.com"],
    );
    let submitted = app
        .post(
            "/api/v3/myrequests",
            Some(&dana),
            &crate::helpers::pki::certificate_request(&csr, 45),
        )
        .await;
    assert_eq!(submitted.status, 201, "{submitted:?}");
    let id = submitted.body["id"].as_i64().expect("id");
    let confirmed = app.confirm(&approver, id).await;
    assert_eq!(confirmed.status, 200, "{confirmed:?}");
    let certificate_id = confirmed.body["certificate_id"].as_i64().expect("issued");

    let dir = tempfile::tempdir().expect("temporary directory");
    let ca_pem = app.save_ca(dir.path()).await;
    let download = app
        .get_raw(
            &format!("/api/v3/certificates/{certificate_id}/pem"),
            Some(&dana),
        )
        .await;
    assert_eq!(download.status, 200, "{download:?}");
    assert_eq!(
        download.content_type.as_deref(),
        Some("application/x-pem-file")
    );
    let chain = String::from_utf8(download.bytes).expect("PEM text");
    let blocks = pem::parse_many(&chain).expect("PEM blocks");
    assert_eq!(blocks.len(), 2, "the certificate, then the CA: {chain}");
    assert_eq!(
        blocks[1].contents(),
        pem::parse(&ca_pem).expect("CA PEM").contents(),
        "the second block is the CA certificate"
    );
    std::fs::write(dir.path().join("chain.pem"), &chain).expect("write chain");
    std::fs::write(dir.path().join("cert.pem"), pem::encode(&blocks[0])).expect("write cert");

    for file in ["cert.pem", "chain.pem"] {
        let verified = openssl(dir.path(), &["verify", "-CAfile", "ca.pem", file]);
        assert!(
            verified.success && verified.text.contains(": OK"),
            "{file} verifies against the CA: {}",
            verified.text
        );
    }
    let verified = openssl(
        dir.path(),
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslserver",
            "cert.pem",
        ],
    );
    assert!(verified.success, "fit for a TLS server: {}", verified.text);

    let text = openssl_ok(dir.path(), &["x509", "-in", "cert.pem", "-noout", "-text"]).text;
    for expected in [
        "DNS:web.example.com",
        "DNS:api.example.com",
        "TLS Web Server Authentication",
        "TLS Web Client Authentication",
        "Digital Signature",
        "CA:FALSE",
        "Subject: CN = web.example.com",
        "Issuer: CN = requestdesk CA",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(
        !text.contains("Certificate Sign"),
        "a leaf cannot sign certificates:\n{text}"
    );

    let expiry = not_after(dir.path(), "cert.pem", "PEM");
    let expected = Utc::now() + Duration::days(45);
    assert!(
        (expiry - expected).num_minutes().abs() < 10,
        "not after {expiry}, expected about {expected}"
    );
    let shown = app
        .get(
            &format!("/api/v3/certificates/{certificate_id}"),
            Some(&dana),
        )
        .await;
    assert_eq!(shown.status, 200, "{shown:?}");
    let valid_until =
        DateTime::parse_from_rfc3339(shown.body["valid_until"].as_str().expect("date"))
            .expect("RFC 3339");
    assert_eq!(
        valid_until, expiry,
        "the API reports the certificate's own not-after"
    );
    let serial = openssl_ok(
        dir.path(),
        &["x509", "-in", "cert.pem", "-noout", "-serial"],
    )
    .text;
    assert_eq!(
        serial.trim(),
        format!(
            "serial={}",
            shown.body["serial_number"]
                .as_str()
                .expect("serial")
                .to_uppercase()
        )
    );
}

async fn every_accepted_key_type_gets_a_certificate_that_verifies(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let dir = tempfile::tempdir().expect("temporary directory");
    app.save_ca(dir.path()).await;
    for (key_type, key_text, key_encipherment) in [
        (KeyType::P256, "id-ecPublicKey", false),
        (KeyType::P384, "NIST CURVE: P-384", false),
        (KeyType::Ed25519, "ED25519", false),
        (KeyType::Rsa2048, "Public-Key: (2048 bit)", true),
    ] {
        let case = format!("{key_type:?}");
        let name = format!("{}.example.com", case.to_lowercase());
        let certificate_id =
            app.issue(&dana, &approver, &csr_for(key_type, &name)).await["certificate_id"]
                .as_i64()
                .expect("issued");
        let download = app
            .get_raw(
                &format!("/api/v3/certificates/{certificate_id}/pem"),
                Some(&dana),
            )
            .await;
        assert_eq!(download.status, 200, "{case}: {download:?}");
        std::fs::write(dir.path().join("chain.pem"), &download.bytes).expect("write");
        let verified = openssl(dir.path(), &["verify", "-CAfile", "ca.pem", "chain.pem"]);
        assert!(verified.success, "{case}: {}", verified.text);
        let text = openssl_ok(dir.path(), &["x509", "-in", "chain.pem", "-noout", "-text"]).text;
        assert!(text.contains(key_text), "{case}: {text}");
        assert!(text.contains(&format!("DNS:{name}")), "{case}: {text}");
        assert_eq!(
            text.contains("Key Encipherment"),
            key_encipherment,
            "{case}: key encipherment only for RSA: {text}"
        );
    }
}

async fn the_der_download_is_the_certificate_alone(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let certificate_id = app
        .issued_certificate(&dana, &approver, "der.example.com")
        .await;
    let der = app
        .get_raw(
            &format!("/api/v3/certificates/{certificate_id}/pem?format=der"),
            Some(&dana),
        )
        .await;
    assert_eq!(der.status, 200, "{der:?}");
    assert_eq!(der.content_type.as_deref(), Some("application/pkix-cert"));
    let pem_download = app
        .get_raw(
            &format!("/api/v3/certificates/{certificate_id}/pem"),
            Some(&dana),
        )
        .await;
    let first = pem::parse(&pem_download.bytes).expect("PEM");
    assert_eq!(der.bytes, first.contents(), "the same certificate, in DER");

    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("cert.der"), &der.bytes).expect("write DER");
    let text = openssl_ok(
        dir.path(),
        &[
            "x509", "-inform", "DER", "-in", "cert.der", "-noout", "-text",
        ],
    )
    .text;
    assert!(text.contains("DNS:der.example.com"), "{text}");

    let shown = app
        .get(
            &format!("/api/v3/certificates/{certificate_id}"),
            Some(&dana),
        )
        .await;
    let digest = openssl_ok(
        dir.path(),
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            "cert.der",
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    )
    .text;
    let fingerprint: String = digest
        .trim()
        .rsplit('=')
        .next()
        .expect("fingerprint")
        .replace(':', "")
        .to_lowercase();
    assert_eq!(shown.body["fingerprint_sha256"], fingerprint.as_str());

    let reply = app
        .get(
            &format!("/api/v3/certificates/{certificate_id}/pem?format=zip"),
            Some(&dana),
        )
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.error_fields(), ["format"]);
}

async fn the_ca_certificate_and_an_empty_crl_are_public(app: TestApp) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let ca = app.get_raw("/api/v3/ca/certificate", None).await;
    assert_eq!(ca.status, 200, "{ca:?}");
    assert_eq!(ca.content_type.as_deref(), Some("application/x-pem-file"));
    app.save_ca(dir.path()).await;
    let text = openssl_ok(dir.path(), &["x509", "-in", "ca.pem", "-noout", "-text"]).text;
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");

    let crl = app.get_raw("/api/v3/ca/crl", None).await;
    assert_eq!(crl.status, 200, "{crl:?}");
    assert_eq!(crl.content_type.as_deref(), Some("application/pkix-crl"));
    std::fs::write(dir.path().join("crl.der"), &crl.bytes).expect("write CRL");
    let verified = openssl(
        dir.path(),
        &[
            "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout",
        ],
    );
    assert!(
        verified.success && verified.text.contains("verify OK"),
        "{}",
        verified.text
    );
    let text = openssl_ok(
        dir.path(),
        &["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"],
    )
    .text;
    assert!(text.contains("No Revoked Certificates"), "{text}");
}

async fn revoked_certificates_are_listed_in_the_signed_crl_with_their_reasons(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let compromised = app
        .issued_certificate(&dana, &approver, "a.example.com")
        .await;
    let superseded = app
        .issued_certificate(&dana, &approver, "b.example.com")
        .await;
    let untouched = app
        .issued_certificate(&dana, &approver, "c.example.com")
        .await;
    let imported = app
        .post(
            "/api/v3/certificates",
            Some(&dana),
            &json!({"pem": self_signed_certificate("imported.example.com", 30)}),
        )
        .await;
    assert_eq!(imported.status, 201, "{imported:?}");
    let imported_id = imported.body["id"].as_i64().expect("id");

    let mut serials = Vec::new();
    for (id, reason) in [
        (compromised, "key_compromise"),
        (superseded, "superseded"),
        (imported_id, "cessation_of_operation"),
    ] {
        let reply = app.revoke(&dana, id, reason).await;
        assert_eq!(reply.status, 200, "{reason}: {reply:?}");
        serials.push(
            reply.body["serial_number"]
                .as_str()
                .expect("serial")
                .to_uppercase(),
        );
    }
    let shown = app
        .get(&format!("/api/v3/certificates/{untouched}"), Some(&dana))
        .await;
    let untouched_serial = shown.body["serial_number"]
        .as_str()
        .expect("serial")
        .to_uppercase();

    let dir = tempfile::tempdir().expect("temporary directory");
    app.save_ca(dir.path()).await;
    let crl = app.get_raw("/api/v3/ca/crl", None).await;
    assert_eq!(crl.status, 200, "{crl:?}");
    std::fs::write(dir.path().join("crl.der"), &crl.bytes).expect("write CRL");
    let verified = openssl(
        dir.path(),
        &[
            "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout",
        ],
    );
    assert!(
        verified.success && verified.text.contains("verify OK"),
        "the CRL is signed by the CA: {}",
        verified.text
    );
    let text = openssl_ok(
        dir.path(),
        &["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"],
    )
    .text;
    for (serial, reason) in [(&serials[0], "Key Compromise"), (&serials[1], "Superseded")] {
        let entry = text
            .split("Serial Number: ")
            .find(|entry| entry.starts_with(serial.as_str()))
            .unwrap_or_else(|| panic!("serial {serial} missing from:\n{text}"));
        assert!(
            entry.contains(reason),
            "{serial}: {reason} missing from {entry}"
        );
    }
    assert!(
        !text.contains(&serials[2]),
        "imported certificates are not this CA's to list:\n{text}"
    );
    assert!(!text.contains(&untouched_serial), "not revoked:\n{text}");

    // A certificate revoked for key compromise also fails verification against the CRL.
    let download = app
        .get_raw(
            &format!("/api/v3/certificates/{compromised}/pem"),
            Some(&dana),
        )
        .await;
    let first = pem::parse(&download.bytes).expect("PEM");
    std::fs::write(dir.path().join("cert.pem"), pem::encode(&first)).expect("write");
    openssl_ok(
        dir.path(),
        &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"],
    );
    let checked = openssl(
        dir.path(),
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            "cert.pem",
        ],
    );
    assert!(
        !checked.success && checked.text.contains("revoked"),
        "{}",
        checked.text
    );
}

async fn revoking_twice_is_409_and_admins_may_revoke_anyones_certificate(app: TestApp) {
    let dana = app.developer("dana").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let admin = app.admin_token().await;
    let first = app
        .issued_certificate(&dana, &approver, "a.example.com")
        .await;
    let second = app
        .issued_certificate(&dana, &approver, "b.example.com")
        .await;

    let reply = app.revoke(&dana, first, "unknown_reason").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.error_fields(), ["reason"]);
    let reply = app
        .post(
            &format!("/api/v3/certificates/{first}/revoke"),
            Some(&dana),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(reply.error_fields(), ["reason"], "the reason is required");

    let reply = app.revoke(&dana, first, "superseded").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["status"], "revoked");
    assert_eq!(reply.body["revocation_reason"], "superseded");
    let revoked_at = reply.body["revoked_at"].clone();
    assert!(revoked_at.is_string(), "{reply:?}");

    let again = app.revoke(&dana, first, "affiliation_changed").await;
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(again.problem_code(), "already_revoked");
    let shown = app
        .get(&format!("/api/v3/certificates/{first}"), Some(&dana))
        .await;
    assert_eq!(shown.body["revocation_reason"], "superseded", "unchanged");
    assert_eq!(shown.body["revoked_at"], revoked_at);
    // A compromise found after another revocation raises its reason (RFC 5280, CA/B BR 4.9),
    // its revocation time kept; after that it is revoked for good.
    let raised = app.revoke(&dana, first, "key_compromise").await;
    assert_eq!(raised.status, 200, "{raised:?}");
    assert_eq!(raised.body["revocation_reason"], "key_compromise");
    assert_eq!(raised.body["revoked_at"], revoked_at);
    let again = app.revoke(&dana, first, "key_compromise").await;
    assert_eq!(again.status, 409, "{again:?}");

    let by_admin = app.revoke(&admin, second, "affiliation_changed").await;
    assert_eq!(by_admin.status, 200, "{by_admin:?}");
    assert_eq!(by_admin.body["owner"], "dana");
    assert_eq!(by_admin.body["status"], "revoked");

    let request_id = by_admin.body["request_id"].as_i64().expect("request");
    let detail = app.my_request(&dana, request_id).await;
    assert_eq!(
        crate::helpers::requests::events(&detail.body)
            .last()
            .map(String::as_str),
        Some("revoked"),
        "the revocation is on the request's trail: {detail:?}"
    );

    let stats = app.get("/api/v3/myrequests/stats", Some(&dana)).await;
    assert_eq!(stats.body["active_certificates"], 0, "{stats:?}");
    assert_eq!(
        stats.body["approved"], 2,
        "revoking does not change the requests"
    );
}

async fn another_users_certificate_answers_404_as_if_it_did_not_exist(app: TestApp) {
    let dana = app.developer("dana").await;
    let erin = app.developer("erin").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let id = app
        .issued_certificate(&dana, &approver, "a.example.com")
        .await;
    let missing = id + 1000;

    let cases = [
        (
            "show",
            app.get(&format!("/api/v3/certificates/{id}"), Some(&erin))
                .await,
            app.get(&format!("/api/v3/certificates/{missing}"), Some(&erin))
                .await,
        ),
        (
            "pem",
            app.get(&format!("/api/v3/certificates/{id}/pem"), Some(&erin))
                .await,
            app.get(&format!("/api/v3/certificates/{missing}/pem"), Some(&erin))
                .await,
        ),
        (
            "der",
            app.get(
                &format!("/api/v3/certificates/{id}/pem?format=der"),
                Some(&erin),
            )
            .await,
            app.get(
                &format!("/api/v3/certificates/{missing}/pem?format=der"),
                Some(&erin),
            )
            .await,
        ),
        (
            "revoke",
            app.revoke(&erin, id, "key_compromise").await,
            app.revoke(&erin, missing, "key_compromise").await,
        ),
    ];
    for (action, theirs, nothing) in cases {
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
        assert_eq!(as_if_missing, nothing.body, "{action}");
    }
    let listed = app.get("/api/v3/certificates", Some(&erin)).await;
    assert_eq!(listed.body["total"], 0, "{listed:?}");
    let still = app
        .get(&format!("/api/v3/certificates/{id}"), Some(&dana))
        .await;
    assert_eq!(still.status, 200, "{still:?}");
    assert_eq!(still.body["status"], "active", "nothing changed");
}

async fn a_key_revoked_for_key_compromise_is_refused_in_later_requests(app: TestApp) {
    let dana = app.developer("dana").await;
    let erin = app.developer("erin").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let compromised_key = Key::generate(KeyType::P256);
    let superseded_key = Key::generate(KeyType::Ed25519);
    let compromised = app
        .issue(&dana, &approver, &compromised_key.csr("a.example.com", &[]))
        .await;
    let superseded = app
        .issue(&dana, &approver, &superseded_key.csr("b.example.com", &[]))
        .await;
    for (body, reason) in [
        (&compromised, "key_compromise"),
        (&superseded, "superseded"),
    ] {
        let id = body["certificate_id"].as_i64().expect("certificate");
        let reply = app.revoke(&dana, id, reason).await;
        assert_eq!(reply.status, 200, "{reason}: {reply:?}");
    }

    for (who, token) in [("the owner", &dana), ("anyone else", &erin)] {
        let reply = app
            .submit_csr(token, &compromised_key.csr("new.example.com", &[]))
            .await;
        assert_eq!(reply.status, 400, "{who}: {reply:?}");
        assert_eq!(reply.problem_code(), "validation_failed", "{who}");
        assert_eq!(reply.error_fields(), ["csr.public_key"], "{who}");
    }
    let reply = app
        .submit_csr(&dana, &superseded_key.csr("b.example.com", &[]))
        .await;
    assert_eq!(
        reply.status, 201,
        "a superseded key may be certified again: {reply:?}"
    );
    let fresh = app
        .submit_csr(&dana, &csr_for(KeyType::P256, "a.example.com"))
        .await;
    assert_eq!(fresh.status, 201, "a new key for the same name: {fresh:?}");

    // A request already pending when its key is revoked for compromise is rejected, never issued.
    let key = Key::generate(KeyType::P384);
    let first = app
        .issue(&dana, &approver, &key.csr("c.example.com", &[]))
        .await;
    let pending = app.submit_csr(&dana, &key.csr("c.example.com", &[])).await;
    assert_eq!(pending.status, 201, "{pending:?}");
    let pending_id = pending.body["id"].as_i64().expect("id");
    let certificate = first["certificate_id"].as_i64().expect("certificate");
    assert_eq!(
        app.revoke(&dana, certificate, "key_compromise")
            .await
            .status,
        200
    );
    let detail = app.my_request(&dana, pending_id).await;
    assert_eq!(
        detail.body["status"], "rejected",
        "rejected with the key: {detail:?}"
    );
    assert_eq!(
        detail.body["rejection_reason"],
        format!("Key compromised: certificate {certificate} was revoked")
    );
    let reply = app.confirm(&approver, pending_id).await;
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.problem_code(), "request_not_pending");

    // Every other live certificate issued for a compromised key is revoked with it.
    let shared = Key::generate(KeyType::P256);
    let older = app
        .issue(&dana, &approver, &shared.csr("d.example.com", &[]))
        .await["certificate_id"]
        .as_i64()
        .expect("certificate");
    let newer = app
        .issue(&dana, &approver, &shared.csr("e.example.com", &[]))
        .await["certificate_id"]
        .as_i64()
        .expect("certificate");
    assert_eq!(app.revoke(&dana, newer, "key_compromise").await.status, 200);
    let sibling = app
        .get(&format!("/api/v3/certificates/{older}"), Some(&dana))
        .await;
    assert_eq!(
        (
            sibling.body["status"].clone(),
            sibling.body["revocation_reason"].clone()
        ),
        (json!("revoked"), json!("key_compromise")),
        "{sibling:?}"
    );
    let detail = app.my_request(&dana, pending_id).await;
    assert_eq!(detail.body["certificate_id"], Value::Null, "{detail:?}");
    let active = app
        .get("/api/v3/certificates?status=active", Some(&dana))
        .await;
    assert!(
        !active.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|c| c["common_name"] == "c.example.com"),
        "no certificate for a compromised key: {active:?}"
    );
}

async fn certificates_are_listed_by_status_expiry_and_for_admins_by_owner(app: TestApp) {
    let dana = app.developer("dana").await;
    let erin = app.developer("erin").await;
    let approver = app.user_with_role("apollo", "approver").await;
    let admin = app.admin_token().await;
    let short = app
        .issue(
            &dana,
            &approver,
            &csr_for(KeyType::P256, "short.example.com"),
        )
        .await;
    let short_id = short["certificate_id"].as_i64().expect("certificate");
    // `issue` asks for 90 days; make a 10-day one explicitly.
    let ten_days = app
        .post(
            "/api/v3/myrequests",
            Some(&dana),
            &crate::helpers::pki::certificate_request(
                &csr_for(KeyType::P256, "ten.example.com"),
                10,
            ),
        )
        .await;
    assert_eq!(ten_days.status, 201, "{ten_days:?}");
    let ten_request = ten_days.body["id"].as_i64().expect("id");
    let ten_id = app.confirm(&approver, ten_request).await.body["certificate_id"]
        .as_i64()
        .expect("certificate");
    let revoked_id = app
        .issued_certificate(&dana, &approver, "revoked.example.com")
        .await;
    assert_eq!(
        app.revoke(&dana, revoked_id, "superseded").await.status,
        200
    );
    let erins = app
        .issued_certificate(&erin, &approver, "erin.example.com")
        .await;

    let cases = [
        ("", vec![revoked_id, ten_id, short_id]),
        ("?status=active", vec![ten_id, short_id]),
        ("?status=revoked", vec![revoked_id]),
        ("?status=expired", vec![]),
        ("?expires_within_days=30", vec![ten_id]),
        ("?expires_within_days=91", vec![ten_id, short_id]),
        ("?per_page=1&page=2", vec![ten_id]),
    ];
    for (query, expected) in cases {
        let reply = app
            .get(&format!("/api/v3/certificates{query}"), Some(&dana))
            .await;
        assert_eq!(reply.status, 200, "{query}: {reply:?}");
        assert_eq!(ids(&reply.body), expected, "{query}");
    }

    let reply = app.get("/api/v3/certificates", Some(&admin)).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        ids(&reply.body),
        [erins, revoked_id, ten_id, short_id],
        "administrators see everyone's"
    );
    let reply = app
        .get("/api/v3/certificates?owner=erin", Some(&admin))
        .await;
    assert_eq!(ids(&reply.body), [erins], "{reply:?}");
    let reply = app
        .get(&format!("/api/v3/certificates/{erins}"), Some(&admin))
        .await;
    assert_eq!(reply.status, 200, "admins see any certificate: {reply:?}");
    assert_eq!(reply.body["owner"], "erin");

    app.clock.advance(Duration::days(11));
    let dana = app.token_for("dana", crate::helpers::PASSWORD).await;
    let expired = app
        .get("/api/v3/certificates?status=expired", Some(&dana))
        .await;
    assert_eq!(ids(&expired.body), [ten_id], "{expired:?}");
    assert_eq!(expired.body["items"][0]["status"], "expired");

    for (query, field) in [
        ("?status=valid", "status"),
        ("?expires_within_days=-1", "expires_within_days"),
        ("?expires_within_days=3651", "expires_within_days"),
        ("?per_page=101", "per_page"),
    ] {
        let reply = app
            .get(&format!("/api/v3/certificates{query}"), Some(&dana))
            .await;
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        assert_eq!(reply.error_fields(), [field], "{query}");
    }
}

async fn an_imported_certificate_is_registered_with_its_uploader(app: TestApp) {
    let dana = app.developer("dana").await;
    let pem_text = self_signed_certificate("legacy.example.com", 365);
    let reply = app
        .post(
            "/api/v3/certificates",
            Some(&dana),
            &json!({"pem": pem_text}),
        )
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let body = &reply.body;
    assert_eq!(body["metadata"], json!({"uploaded_by": "dana"}));
    assert_eq!(body["owner"], "dana");
    assert_eq!(body["status"], "active");
    assert_eq!(body["common_name"], "legacy.example.com");
    assert_eq!(body["subject_alt_names"], json!(["legacy.example.com"]));
    assert_eq!(body["issuer"], "CN=legacy.example.com");
    assert_eq!(body["request_id"], Value::Null);
    let id = body["id"].as_i64().expect("id");

    let dashboard = app.get("/api/v3/myrequests", Some(&dana)).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");
    assert_eq!(ids(&dashboard.body["certificates"]), [id]);
    assert_eq!(dashboard.body["requests"]["total"], 0);

    let stats = app.get("/api/v3/myrequests/stats", Some(&dana)).await;
    assert_eq!(stats.status, 200, "{stats:?}");
    assert_eq!(stats.body["active_certificates"], 1, "{stats:?}");
    assert_eq!(
        crate::helpers::requests::list_ids(&stats.body["recent_activity"]["certificates"]),
        [id]
    );

    let download = app
        .get_raw(&format!("/api/v3/certificates/{id}/pem"), Some(&dana))
        .await;
    assert_eq!(download.status, 200, "{download:?}");
    let blocks = pem::parse_many(&download.bytes).expect("PEM");
    assert_eq!(blocks.len(), 1, "no CA certificate after an imported one");
    assert_eq!(
        blocks[0].contents(),
        pem::parse(&pem_text).expect("PEM").contents()
    );

    let erin = app.developer("erin").await;
    let theirs = app
        .get(&format!("/api/v3/certificates/{id}"), Some(&erin))
        .await;
    assert_eq!(theirs.status, 404, "{theirs:?}");
    assert_eq!(theirs.problem_code(), "not_found");
}

async fn importing_garbage_or_the_same_certificate_twice_is_refused(app: TestApp) {
    let dana = app.developer("dana").await;
    let csr = csr_for(KeyType::P256, "csr.example.com");
    for (case, body, field) in [
        ("garbage", json!({"pem": "garbage"}), "pem"),
        ("a CSR", json!({"pem": csr}), "pem"),
        (
            "a broken certificate",
            json!({"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}),
            "pem",
        ),
        ("missing pem", json!({}), "pem"),
        // PostgreSQL stores no NUL in text; it was a 500 there.
        (
            "a NUL in its common name",
            json!({"pem": certificate_named("a\0b.example.com")}),
            "pem",
        ),
    ] {
        let reply = app.post("/api/v3/certificates", Some(&dana), &body).await;
        assert_eq!(reply.status, 400, "{case}: {reply:?}");
        assert_eq!(reply.problem_code(), "validation_failed", "{case}");
        assert_eq!(reply.error_fields(), [field], "{case}");
    }

    let pem_text = self_signed_certificate("twice.example.com", 30);
    let first = app
        .post(
            "/api/v3/certificates",
            Some(&dana),
            &json!({"pem": pem_text}),
        )
        .await;
    assert_eq!(first.status, 201, "{first:?}");
    let second = app
        .post(
            "/api/v3/certificates",
            Some(&dana),
            &json!({"pem": pem_text}),
        )
        .await;
    assert_eq!(second.status, 409, "{second:?}");
    assert_eq!(second.problem_code(), "certificate_exists");
    let listed = app.get("/api/v3/certificates", Some(&dana)).await;
    assert_eq!(listed.body["total"], 1, "{listed:?}");
}

async fn an_imported_certificate_revoked_for_key_compromise_refuses_no_one_elses_key(app: TestApp) {
    let victim = app.developer("victim").await;
    let attacker = app.developer("attacker").await;
    let approver = app.user_with_role("appr", "approver").await;
    let key = Key::generate(KeyType::P256);
    let issued = app
        .issue(&victim, &approver, &key.csr("victim.example.com", &[]))
        .await;
    let certificate = issued["certificate_id"].as_i64().expect("certificate");
    let pending = app
        .submit_csr(&victim, &key.csr("victim.example.com", &[]))
        .await;
    assert_eq!(pending.status, 201, "{pending:?}");

    let chain = app
        .get_raw(
            &format!("/api/v3/certificates/{certificate}/pem"),
            Some(&victim),
        )
        .await;
    let pem_text = String::from_utf8(chain.bytes).expect("PEM");
    let leaf = format!(
        "{}-----END CERTIFICATE-----\n",
        pem_text
            .split("-----END CERTIFICATE-----")
            .next()
            .expect("leaf")
    );
    let copied = app
        .post(
            "/api/v3/certificates",
            Some(&attacker),
            &json!({"pem": leaf}),
        )
        .await;
    assert_eq!(
        (copied.status, copied.error_fields()),
        (400, vec!["pem".to_owned()]),
        "no import may claim this CA as its issuer: {copied:?}"
    );
    // Anyone may have another CA certify a public key they do not hold, and register that.
    let imported = app
        .post(
            "/api/v3/certificates",
            Some(&attacker),
            &json!({"pem": signed_by_another_ca(&key.csr("victim.example.com", &[]))}),
        )
        .await;
    assert_eq!(
        imported.status, 201,
        "a certificate from another CA can be registered: {imported:?}"
    );
    let copy = imported.body["id"].as_i64().expect("id");
    let revoked = app.revoke(&attacker, copy, "key_compromise").await;
    assert_eq!(revoked.status, 200, "{revoked:?}");

    let still_pending = app
        .my_request(&victim, pending.body["id"].as_i64().expect("id"))
        .await;
    assert_eq!(
        still_pending.body["status"], "pending",
        "the victim's request is untouched: {still_pending:?}"
    );
    let fresh = app
        .submit_csr(&victim, &key.csr("other.example.com", &[]))
        .await;
    assert_eq!(
        fresh.status, 409,
        "refused only as a duplicate of the pending one, not as compromised: {fresh:?}"
    );
    assert_eq!(fresh.problem_code(), "duplicate_pending_request");
}

/// A self-signed certificate whose common name is `common_name`, byte for byte (the openssl
/// command line cannot pass every byte).
fn certificate_named(common_name: &str) -> String {
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    let key = rcgen::KeyPair::generate().expect("key");
    params.self_signed(&key).expect("certificate").pem()
}
