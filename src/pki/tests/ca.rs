//! Tests of CA generation, loading, persistence and openssl-made CAs.

use std::os::unix::fs::PermissionsExt;

use chrono::{Duration, Utc};

use super::support::*;
use crate::pki::{CA_CERT_FILE, CA_KEY_FILE, CertificateAuthority, PkiError};

#[test]
fn generated_ca_has_ca_extensions() {
    let dir = TempDir::new();
    let ca = test_ca();
    assert_eq!(ca.subject(), "CN=requestdesk test CA");
    let expected_expiry = Utc::now() + Duration::days(730);
    assert!((ca.not_after() - expected_expiry).num_seconds().abs() < 60);
    let text = x509_text(&dir, &ca.cert_pem());
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
    assert!(text.contains("ASN1 OID: prime256v1"), "{text}");
    assert!(openssl_verify(&dir, &ca.cert_pem(), &ca.cert_pem()).success);
}

#[test]
fn generate_refuses_bad_parameters() {
    let err = CertificateAuthority::generate("x", 0).unwrap_err();
    assert_eq!(err.field(), Some("validity_years"));
    let err = CertificateAuthority::generate("", 1).unwrap_err();
    assert_eq!(err.field(), Some("common_name"));
}

#[test]
fn from_pem_round_trips_and_keeps_issuing() {
    let dir = TempDir::new();
    let ca = test_ca();
    let reloaded = CertificateAuthority::from_pem(&ca.cert_pem(), &ca.key_pem()).unwrap();
    assert_eq!(reloaded.cert_der(), ca.cert_der());
    assert_eq!(reloaded.subject(), ca.subject());
    assert_eq!(reloaded.not_after(), ca.not_after());
    let cert = reloaded
        .issue(&parsed(&p256_csr(&["a.example.com"])), 30, Utc::now())
        .unwrap();
    assert!(openssl_verify(&dir, &ca.cert_pem(), &cert.pem).success);
}

#[test]
fn from_pem_refuses_bad_input() {
    let ca = test_ca();
    let other = test_ca();
    let mismatched = CertificateAuthority::from_pem(&ca.cert_pem(), &other.key_pem());
    assert!(matches!(mismatched, Err(PkiError::InvalidCa(m)) if m.contains("does not match")));
    assert!(matches!(
        CertificateAuthority::from_pem("garbage", &ca.key_pem()),
        Err(PkiError::InvalidCa(_))
    ));
    assert!(matches!(
        CertificateAuthority::from_pem(&ca.cert_pem(), "garbage"),
        Err(PkiError::InvalidCa(_))
    ));
    let leaf = ca
        .issue(&parsed(&p256_csr(&["a.example.com"])), 30, Utc::now())
        .unwrap();
    let not_ca = CertificateAuthority::from_pem(&leaf.pem, &ca.key_pem());
    assert!(matches!(not_ca, Err(PkiError::InvalidCa(m)) if m.contains("not a CA")));
}

#[test]
fn load_or_generate_creates_then_loads() {
    let tmp = TempDir::new();
    let dir = tmp.path().join("ca");
    let created = CertificateAuthority::load_or_generate(&dir).unwrap();
    assert_eq!(created.subject(), "CN=requestdesk CA");
    let mode = |name: &str| {
        std::fs::metadata(dir.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(CA_KEY_FILE), 0o600);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );

    let loaded = CertificateAuthority::load_or_generate(&dir).unwrap();
    assert_eq!(loaded.cert_der(), created.cert_der());
    assert_eq!(loaded.key_pem(), created.key_pem());

    std::fs::remove_file(dir.join(CA_CERT_FILE)).unwrap();
    let half = CertificateAuthority::load_or_generate(&dir);
    assert!(matches!(half, Err(PkiError::InvalidCa(m)) if m.contains("only one of")));
}

/// A CA made by openssl uses a SHA-1 subject key identifier, unlike rcgen:
/// issued certificates and CRLs must still name it correctly.
#[test]
fn openssl_made_ca_issues_verifiable_certificates_and_crls() {
    let dir = TempDir::new();
    let (ca_pem, key_pem) = openssl_ca(&dir, "/O=Acme/CN=Acme Root", &[]);
    let ca = CertificateAuthority::from_pem(&ca_pem, &key_pem).unwrap();
    assert_eq!(ca.subject(), "O=Acme, CN=Acme Root");

    let cert = ca
        .issue(&parsed(&p256_csr(&["a.example.com"])), 397, Utc::now())
        .unwrap();
    assert_eq!(cert.not_after, ca.not_after());
    let verify = openssl_verify(&dir, &ca_pem, &cert.pem);
    assert!(verify.success, "{}", verify.all());

    let crl = ca.crl_der(&[], Utc::now(), 1).unwrap();
    let crl_path = dir.write("crl.der", crl);
    let ca_path = dir.write("ca.pem", &ca_pem);
    let check = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl_path.to_str().unwrap(),
        "-CAfile",
        ca_path.to_str().unwrap(),
        "-noout",
    ]);
    assert!(check.all().contains("verify OK"), "{}", check.all());
}

/// Subjects rcgen cannot write back as an issuer exactly are refused when the CA is loaded, not
/// found out when its certificates fail to chain: a repeated attribute type (rcgen keeps one
/// value per type) and a multi-valued RDN.
#[test]
fn a_ca_subject_rcgen_cannot_write_as_the_issuer_is_refused() {
    let dir = TempDir::new();
    let (ca_pem, key_pem) = openssl_ca(&dir, "/DC=com/DC=example/CN=Example Root", &[]);
    let refused = CertificateAuthority::from_pem(&ca_pem, &key_pem);
    assert!(
        matches!(&refused, Err(PkiError::InvalidCa(m))
            if m.contains("0.9.2342.19200300.100.1.25 more than once")),
        "{refused:?}"
    );

    let (ca_pem, key_pem) = openssl_ca(&dir, "/O=Acme+OU=Lab/CN=Acme Root", &["-multivalue-rdn"]);
    let refused = CertificateAuthority::from_pem(&ca_pem, &key_pem);
    assert!(
        matches!(&refused, Err(PkiError::InvalidCa(m)) if m.contains("one attribute per RDN")),
        "{refused:?}"
    );

    let (ca_pem, key_pem) = openssl_ca(&dir, "/DC=com/O=Acme/CN=Acme Root", &[]);
    let ca = CertificateAuthority::from_pem(&ca_pem, &key_pem).unwrap();
    let cert = ca
        .issue(&parsed(&p256_csr(&["a.example.com"])), 397, Utc::now())
        .unwrap();
    assert_eq!(cert.issuer, "DC=com, O=Acme, CN=Acme Root");
    let verify = openssl_verify(&dir, &ca_pem, &cert.pem);
    assert!(verify.success, "{}", verify.all());
}

/// A CA that may not sign CRLs (or certificates) is refused at load: rcgen would refuse its
/// CRL on every request, and nothing it signs would chain.
#[test]
fn a_ca_whose_key_usage_leaves_out_signing_is_refused() {
    let dir = TempDir::new();
    for usage in [
        "critical,keyCertSign",
        "critical,cRLSign",
        "critical,digitalSignature",
    ] {
        let (ca_pem, key_pem) = openssl_ca_using(&dir, "/CN=Narrow Root", usage, &[]);
        let error = CertificateAuthority::from_pem(&ca_pem, &key_pem)
            .err()
            .unwrap_or_else(|| panic!("{usage}: loaded"));
        assert!(
            error.to_string().contains("keyCertSign and cRLSign"),
            "{usage}: {error}"
        );
    }
    let (ca_pem, key_pem) =
        openssl_ca_using(&dir, "/CN=Wide Root", "critical,keyCertSign,cRLSign", &[]);
    assert!(CertificateAuthority::from_pem(&ca_pem, &key_pem).is_ok());
}

/// A P-384 CA made by openssl with this subject (and any extra `req` arguments): its
/// certificate and key, PEM.
fn openssl_ca(dir: &TempDir, subject: &str, extra: &[&str]) -> (String, String) {
    openssl_ca_using(dir, subject, "critical,keyCertSign,cRLSign", extra)
}

/// As [`openssl_ca`], with this keyUsage.
fn openssl_ca_using(
    dir: &TempDir,
    subject: &str,
    key_usage: &str,
    extra: &[&str],
) -> (String, String) {
    let key_usage = format!("keyUsage={key_usage}");
    let key_path = dir.path().join("k.pem");
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        key_path.to_str().unwrap(),
        "-subj",
        subject,
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        &key_usage,
    ];
    args.extend_from_slice(extra);
    let out = openssl(&args);
    assert!(out.success, "{}", out.stderr);
    (out.stdout, std::fs::read_to_string(&key_path).unwrap())
}

#[test]
fn ca_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CertificateAuthority>();
    assert_send_sync::<crate::pki::ParsedCsr>();
}
