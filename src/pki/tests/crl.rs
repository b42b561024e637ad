//! Tests of CRL generation, revocation reasons and serial hex handling.

use chrono::{Duration, Utc};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::support::*;
use crate::pki::{RevocationReason, RevokedEntry, crl_issue, serial_from_hex, serial_to_hex};

fn crl_path(dir: &TempDir, der: &[u8]) -> String {
    dir.write("crl.der", der).to_str().unwrap().to_string()
}

#[test]
fn crl_verifies_and_lists_serials_with_reasons() {
    let dir = TempDir::new();
    let ca = test_ca();
    let csr = parsed(&p256_csr(&["a.example.com"]));
    let now = Utc::now();
    let revoked: Vec<_> = [
        RevocationReason::KeyCompromise,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
    ]
    .into_iter()
    .map(|reason| RevokedEntry {
        serial_hex: ca.issue(&csr, 30, now).unwrap().serial_hex,
        revoked_at: now,
        reason,
    })
    .collect();
    let der = ca.crl_der(&revoked, now, 42).unwrap();
    let ca_path = dir.write("ca.pem", ca.cert_pem());
    let crl = crl_path(&dir, &der);

    let verify = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        &crl,
        "-CAfile",
        ca_path.to_str().unwrap(),
        "-noout",
    ]);
    assert!(
        verify.success && verify.all().contains("verify OK"),
        "{}",
        verify.all()
    );

    let text = openssl(&["crl", "-inform", "DER", "-in", &crl, "-text", "-noout"]).stdout;
    for (entry, label) in
        revoked
            .iter()
            .zip(["Key Compromise", "Superseded", "Cessation Of Operation"])
    {
        let serial_line = format!("Serial Number: {}", entry.serial_hex.to_uppercase());
        let at = text
            .find(&serial_line)
            .unwrap_or_else(|| panic!("{serial_line} missing:\n{text}"));
        let entry_text: String = text[at..].lines().take(5).collect::<Vec<_>>().join("\n");
        assert!(
            entry_text.contains(label),
            "{label} missing in {entry_text}"
        );
    }
    assert!(
        text.contains("X509v3 CRL Number: \n                42"),
        "{text}"
    );
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");

    let (_, parsed_crl) = CertificateRevocationList::from_der(&der).unwrap();
    let this_update = parsed_crl.last_update().timestamp();
    let next_update = parsed_crl.next_update().unwrap().timestamp();
    assert_eq!(this_update, now.timestamp());
    assert_eq!(next_update - this_update, Duration::days(7).num_seconds());
}

#[test]
fn openssl_rejects_a_revoked_certificate_with_the_crl() {
    let dir = TempDir::new();
    let ca = test_ca();
    let now = Utc::now();
    let cert = ca
        .issue(&parsed(&p256_csr(&["r.example.com"])), 30, now)
        .unwrap();
    let entry = RevokedEntry {
        serial_hex: cert.serial_hex.clone(),
        revoked_at: now,
        reason: RevocationReason::KeyCompromise,
    };
    let crl_der = ca.crl_der(&[entry], now - Duration::minutes(1), 1).unwrap();
    let crl_pem = pem::encode(&pem::Pem::new("X509 CRL", crl_der));
    let ca_path = dir.write("ca.pem", ca.cert_pem());
    let crl_path = dir.write("crl.pem", crl_pem);
    let cert_path = dir.write("cert.pem", &cert.pem);
    let out = openssl(&[
        "verify",
        "-crl_check",
        "-CAfile",
        ca_path.to_str().unwrap(),
        "-CRLfile",
        crl_path.to_str().unwrap(),
        cert_path.to_str().unwrap(),
    ]);
    assert!(
        !out.success && out.all().contains("certificate revoked"),
        "{}",
        out.all()
    );
}

#[test]
fn empty_crl_verifies() {
    let dir = TempDir::new();
    let ca = test_ca();
    let der = ca.crl_der(&[], Utc::now(), 0).unwrap();
    let ca_path = dir.write("ca.pem", ca.cert_pem());
    let crl = crl_path(&dir, &der);
    let out = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        &crl,
        "-CAfile",
        ca_path.to_str().unwrap(),
        "-noout",
    ]);
    assert!(out.all().contains("verify OK"), "{}", out.all());
}

#[test]
fn crl_refuses_an_invalid_serial() {
    let entry = RevokedEntry {
        serial_hex: "not-hex".into(),
        revoked_at: Utc::now(),
        reason: RevocationReason::Unspecified,
    };
    let err = test_ca().crl_der(&[entry], Utc::now(), 1).unwrap_err();
    assert_eq!(err.field(), Some("serial_hex"));
}

#[test]
fn revocation_reason_names_round_trip() {
    for reason in RevocationReason::ALL {
        assert_eq!(reason.as_str().parse::<RevocationReason>().unwrap(), reason);
    }
    assert_eq!(RevocationReason::KeyCompromise.as_str(), "key_compromise");
    assert_eq!(
        RevocationReason::CessationOfOperation.to_string(),
        "cessation_of_operation"
    );
    let err = "stolen".parse::<RevocationReason>().unwrap_err();
    assert_eq!(err.field, "reason");
    assert!(err.message.contains("\"stolen\""));
}

#[test]
fn serial_hex_forms() {
    assert_eq!(serial_from_hex("0A:1B").unwrap(), [0x0a, 0x1b]);
    assert_eq!(serial_from_hex("a1b").unwrap(), [0x0a, 0x1b]);
    assert_eq!(serial_from_hex("0x00ff").unwrap(), [0xff]);
    assert_eq!(serial_to_hex(&[0, 0x0a, 0x1b]), "0a1b");
    assert_eq!(serial_to_hex(&[]), "00");
    assert!(serial_from_hex("").is_err());
    assert!(serial_from_hex(&"ff".repeat(21)).is_err());
}

fn revoked_at(at: chrono::DateTime<Utc>) -> RevokedEntry {
    RevokedEntry {
        serial_hex: "01".to_owned(),
        revoked_at: at,
        reason: RevocationReason::Unspecified,
    }
}

#[test]
fn a_crl_is_numbered_by_its_content_and_day_not_by_the_moment_it_is_asked_for() {
    let at = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    };
    let midnight = at("2026-03-04T00:00:00Z");
    let (empty_at, empty) = crl_issue(&[], at("2026-03-04T09:00:00Z"));
    assert_eq!(empty_at, midnight, "no revocation: issued at midnight");
    assert_eq!(
        crl_issue(&[], at("2026-03-04T23:59:59Z")),
        (empty_at, empty),
        "the same all day"
    );
    let (next_day_at, next_day) = crl_issue(&[], at("2026-03-05T00:00:01Z"));
    assert_eq!(next_day_at, at("2026-03-05T00:00:00Z"));
    assert!(next_day > empty, "a new day, a higher number");

    let one = [revoked_at(at("2026-03-04T10:00:00.250Z"))];
    let (one_at, one_number) = crl_issue(&one, at("2026-03-04T11:00:00Z"));
    assert_eq!(
        one_at, one[0].revoked_at,
        "issued when the last revocation was"
    );
    assert!(one_number > empty);
    assert_eq!(crl_issue(&one, at("2026-03-04T12:00:00Z")).1, one_number);

    // A revocation committed after that CRL was made but stamped earlier still raises the number.
    let late = [one[0].clone(), revoked_at(at("2026-03-04T09:30:00Z"))];
    assert!(crl_issue(&late, at("2026-03-04T12:00:00Z")).1 > one_number);
}
