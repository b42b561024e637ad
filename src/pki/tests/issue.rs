//! Tests of `CertificateAuthority::issue` and `parse_certificate_pem`.

use chrono::{Duration, Utc};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::support::*;
use crate::pki::{
    CaPolicy, CertificateAuthority, PkiError, parse_certificate_pem, parse_csr, serial_from_hex,
};

const OID_SAN: &str = "2.5.29.17";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_EKU: &str = "2.5.29.37";
const OID_SKI: &str = "2.5.29.14";
const OID_AKI: &str = "2.5.29.35";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";

fn extension_oids(der: &[u8]) -> Vec<String> {
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    let mut oids: Vec<String> = cert
        .extensions()
        .iter()
        .map(|e| e.oid.to_id_string())
        .collect();
    oids.sort();
    oids
}

fn expected_extension_oids() -> Vec<String> {
    let mut oids: Vec<String> = [
        OID_SAN,
        OID_KEY_USAGE,
        OID_EKU,
        OID_SKI,
        OID_AKI,
        OID_BASIC_CONSTRAINTS,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    oids.sort();
    oids
}

#[test]
fn issued_ecdsa_certificate_verifies_and_has_our_extensions() {
    let dir = TempDir::new();
    let ca = test_ca();
    let csr = parsed(&rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        Some("a.example.com"),
        vec![dns("b.example.com")],
    ));
    let now = Utc::now();
    let cert = ca.issue(&csr, 90, now).unwrap();

    let verify = openssl_verify(&dir, &ca.cert_pem(), &cert.pem);
    assert!(
        verify.success && verify.stdout.contains("cert.pem: OK"),
        "{}",
        verify.all()
    );

    let text = x509_text(&dir, &cert.pem);
    assert!(
        text.contains("DNS:a.example.com, DNS:b.example.com"),
        "{text}"
    );
    assert!(text.contains("Digital Signature"), "{text}");
    assert!(!text.contains("Key Encipherment"), "{text}");
    assert!(text.contains("TLS Web Server Authentication, TLS Web Client Authentication"));
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(text.contains("Subject: CN = a.example.com"), "{text}");
    assert_eq!(extension_oids(&cert.der), expected_extension_oids());

    assert_eq!(cert.common_name.as_deref(), Some("a.example.com"));
    assert_eq!(cert.subject_alt_names, ["a.example.com", "b.example.com"]);
    assert_eq!(cert.issuer, "CN=requestdesk test CA");
    assert_eq!(cert.not_before.timestamp(), now.timestamp());
    assert_eq!(cert.not_after - cert.not_before, Duration::days(90));
    assert_eq!(cert.public_key_fingerprint, csr.public_key_fingerprint);
}

#[test]
fn serial_and_fingerprint_match_openssl() {
    let dir = TempDir::new();
    let cert = test_ca()
        .issue(&parsed(&p256_csr(&["a.example.com"])), 30, Utc::now())
        .unwrap();
    let path = dir.write("c.pem", &cert.pem);
    let out = openssl(&[
        "x509",
        "-noout",
        "-serial",
        "-fingerprint",
        "-sha256",
        "-in",
        path.to_str().unwrap(),
    ]);
    let serial = format!("serial={}", cert.serial_hex.to_uppercase());
    assert!(out.stdout.contains(&serial), "{} vs {}", out.stdout, serial);
    let fingerprint = out
        .stdout
        .lines()
        .find(|l| l.contains("Fingerprint="))
        .unwrap();
    let fingerprint = fingerprint
        .split('=')
        .nth(1)
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(fingerprint, cert.fingerprint_sha256);
}

#[test]
fn issued_rsa_certificate_adds_key_encipherment() {
    let dir = TempDir::new();
    let ca = test_ca();
    let csr = parsed(&openssl_csr(RSA_2048, "/CN=rsa.example.com", &[]));
    let cert = ca.issue(&csr, 90, Utc::now()).unwrap();
    let verify = openssl_verify(&dir, &ca.cert_pem(), &cert.pem);
    assert!(verify.success, "{}", verify.all());
    let text = x509_text(&dir, &cert.pem);
    assert!(
        text.contains("Digital Signature, Key Encipherment"),
        "{text}"
    );
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
}

#[test]
fn each_key_type_issues_a_verifiable_certificate() {
    let dir = TempDir::new();
    let ca = test_ca();
    for alg in [&rcgen::PKCS_ECDSA_P384_SHA384, &rcgen::PKCS_ED25519] {
        let csr = parsed(&rcgen_csr(alg, None, vec![dns("k.example.com")]));
        let cert = ca.issue(&csr, 10, Utc::now()).unwrap();
        let verify = openssl_verify(&dir, &ca.cert_pem(), &cert.pem);
        assert!(verify.success, "{}: {}", csr.key_algorithm, verify.all());
        assert_eq!(cert.key_algorithm, csr.key_algorithm);
    }
}

#[test]
fn extensions_requested_by_the_csr_are_never_copied() {
    let dir = TempDir::new();
    let ca = test_ca();
    let pem = openssl_csr(
        EC_P256,
        "/C=US/O=Evil Corp/CN=ok.example.com",
        &[
            "basicConstraints=critical,CA:TRUE",
            "keyUsage=critical,keyCertSign,cRLSign",
            "extendedKeyUsage=codeSigning",
            "crlDistributionPoints=URI:http://evil.example/crl",
            "1.2.3.4.5.6=ASN1:UTF8String:smuggled",
            "subjectAltName=DNS:ok.example.com",
        ],
    );
    let cert = ca.issue(&parsed(&pem), 90, Utc::now()).unwrap();
    let text = x509_text(&dir, &cert.pem);
    for absent in [
        "CA:TRUE",
        "Certificate Sign",
        "Code Signing",
        "evil.example",
        "1.2.3.4.5.6",
        "smuggled",
        "Evil Corp",
    ] {
        assert!(!text.contains(absent), "{absent} leaked into:\n{text}");
    }
    assert!(text.contains("CA:FALSE"));
    assert_eq!(cert.subject, "CN=ok.example.com");
    assert_eq!(extension_oids(&cert.der), expected_extension_oids());
    assert!(openssl_verify(&dir, &ca.cert_pem(), &cert.pem).success);
}

#[test]
fn certificate_without_common_name_has_empty_subject() {
    let dir = TempDir::new();
    let ca = test_ca();
    let cert = ca
        .issue(&parsed(&p256_csr(&["nocn.example.com"])), 30, Utc::now())
        .unwrap();
    assert_eq!(cert.common_name, None);
    assert_eq!(cert.subject, "");
    let verify = openssl_verify(&dir, &ca.cert_pem(), &cert.pem);
    assert!(verify.success, "{}", verify.all());
    assert!(x509_text(&dir, &cert.pem).contains("X509v3 Subject Alternative Name: critical"));
}

#[test]
fn ip_names_are_issued_when_allowed() {
    let dir = TempDir::new();
    let policy = CaPolicy {
        allow_ip_sans: true,
        ..CaPolicy::default()
    };
    let ca = test_ca().with_policy(policy.clone());
    let pem = rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        Some("10.0.0.1"),
        vec![dns("a.example.com")],
    );
    let cert = ca
        .issue(&parse_csr(&pem, &policy).unwrap(), 30, Utc::now())
        .unwrap();
    assert!(x509_text(&dir, &cert.pem).contains("IP Address:10.0.0.1, DNS:a.example.com"));
    assert_eq!(cert.subject_alt_names, ["10.0.0.1", "a.example.com"]);
}

#[test]
fn validity_is_clamped_to_the_ca_expiry() {
    let ca = CertificateAuthority::generate("short CA", 1).unwrap();
    let csr = parsed(&p256_csr(&["a.example.com"]));
    let cert = ca.issue(&csr, 397, Utc::now()).unwrap();
    assert_eq!(cert.not_after, ca.not_after());
    let dir = TempDir::new();
    assert!(openssl_verify(&dir, &ca.cert_pem(), &cert.pem).success);
}

#[test]
fn validity_out_of_range_is_refused() {
    let ca = test_ca();
    let csr = parsed(&p256_csr(&["a.example.com"]));
    for days in [0, 398] {
        let err = ca.issue(&csr, days, Utc::now()).unwrap_err();
        assert_eq!(err.field(), Some("validity_days"), "{err}");
    }
    let strict = test_ca().with_policy(CaPolicy {
        max_validity_days: 30,
        ..CaPolicy::default()
    });
    assert_eq!(
        strict.issue(&csr, 31, Utc::now()).unwrap_err().field(),
        Some("validity_days")
    );
}

#[test]
fn expired_ca_refuses_to_issue() {
    let ca = test_ca();
    let csr = parsed(&p256_csr(&["a.example.com"]));
    let later = ca.not_after() + Duration::days(1);
    assert!(matches!(
        ca.issue(&csr, 30, later),
        Err(PkiError::CaExpired(_))
    ));
}

#[test]
fn serials_are_positive_and_at_most_16_bytes() {
    let ca = test_ca();
    let csr = parsed(&p256_csr(&["a.example.com"]));
    for _ in 0..30 {
        let cert = ca.issue(&csr, 1, Utc::now()).unwrap();
        let (_, x509) = X509Certificate::from_der(&cert.der).unwrap();
        let raw = x509.raw_serial();
        assert!(raw.len() <= 16, "DER serial {raw:02x?} too long");
        assert_eq!(raw[0] & 0x80, 0, "negative serial {raw:02x?}");
        assert!(raw.iter().any(|b| *b != 0));
        let magnitude = raw.strip_prefix(&[0]).unwrap_or(raw);
        assert_eq!(serial_from_hex(&cert.serial_hex).unwrap(), magnitude);
        assert_eq!(cert.serial_hex.len() % 2, 0);
        assert!(!cert.serial_hex.starts_with("00"));
    }
    for _ in 0..10_000 {
        let serial = crate::pki::serial::random_serial();
        assert!(!serial.is_empty() && serial[0] != 0, "{serial:02x?}");
        let der_len = serial.len() + usize::from(serial[0] & 0x80 != 0);
        assert!(der_len <= 16, "{serial:02x?}");
    }
}

/// `issue` describes the certificate from what it signed, without parsing it: what parsing reads
/// must be the same, field for field, for every kind of key, common name and name.
#[test]
fn an_issued_certificate_is_described_as_parsing_it_reads_it() {
    let policy = CaPolicy {
        allow_ip_sans: true,
        ..CaPolicy::default()
    };
    let ca = test_ca().with_policy(policy.clone());
    let p256 = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ip = |text: &str| rcgen::SanType::IpAddress(text.parse().unwrap());
    let csrs = [
        p256_csr(&["a.example.com"]),
        rcgen_csr(p256, Some("b.example.com"), vec![dns("c.example.com")]),
        rcgen_csr(
            p256,
            Some("10.0.0.1"),
            vec![ip("::1"), dns("d.example.com")],
        ),
        rcgen_csr(
            p256,
            Some("Payments, Inc. + Ops = \"us\""),
            vec![dns("e.example.com")],
        ),
        rcgen_csr(p256, Some("Zoë's serveur ☃"), vec![dns("f.example.com")]),
        rcgen_csr(
            &rcgen::PKCS_ECDSA_P384_SHA384,
            None,
            vec![dns("g.example.com")],
        ),
        rcgen_csr(&rcgen::PKCS_ED25519, Some("h.example.com"), vec![]),
        openssl_csr(
            RSA_2048,
            "/CN=rsa.example.com",
            &["subjectAltName=DNS:i.example.com"],
        ),
    ];
    for pem in csrs {
        let csr = parse_csr(&pem, &policy).unwrap();
        let cert = ca.issue(&csr, 30, Utc::now()).unwrap();
        assert_eq!(parse_certificate_pem(&cert.pem).unwrap(), cert, "{pem}");
    }
}

#[test]
fn parse_certificate_pem_reads_an_openssl_certificate() {
    let dir = TempDir::new();
    let out = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "/dev/null",
        "-subj",
        "/O=Acme/CN=imported.example.com",
        "-days",
        "30",
        "-addext",
        "subjectAltName=DNS:imported.example.com,IP:10.1.2.3,email:a@example.com",
    ]);
    assert!(out.success, "{}", out.stderr);
    let info = parse_certificate_pem(&out.stdout).unwrap();
    assert_eq!(info.common_name.as_deref(), Some("imported.example.com"));
    assert_eq!(info.subject_alt_names, ["imported.example.com", "10.1.2.3"]);
    assert_eq!(info.key_algorithm, "ECDSA-P256");
    assert_eq!(info.not_after - info.not_before, Duration::days(30));
    let path = dir.write("i.pem", &out.stdout);
    let serial = openssl(&["x509", "-noout", "-serial", "-in", path.to_str().unwrap()]);
    assert_eq!(
        serial.stdout.trim().to_lowercase(),
        format!("serial={}", info.serial_hex)
    );
}

#[test]
fn parse_certificate_pem_refuses_garbage() {
    let csr = p256_csr(&["a.example.com"]);
    let fake = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
    for input in ["", "garbage", fake, csr.as_str()] {
        assert_eq!(
            parse_certificate_pem(input).unwrap_err().field,
            "pem",
            "{input:.30}"
        );
    }
}

#[test]
fn parse_certificate_pem_refuses_a_nul_in_a_name() {
    for (common_name, dns_name) in [
        ("a\0b", "a.example.com"),
        ("a.example.com", "a\0.example.com"),
    ] {
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        params.subject_alt_names = vec![rcgen::SanType::DnsName(
            dns_name.try_into().expect("an IA5 string"),
        )];
        let key = rcgen::KeyPair::generate().expect("key");
        let pem = params.self_signed(&key).expect("certificate").pem();
        let refused = parse_certificate_pem(&pem).expect_err("a NUL in a name");
        assert_eq!(refused.field, "pem", "{refused:?}");
        assert!(refused.message.contains("NUL"), "{refused:?}");
    }
}

#[test]
fn editing_public_csr_fields_does_not_change_the_certificate() {
    let mut csr = parsed(&rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        Some("a.example.com"),
        vec![],
    ));
    csr.common_name = Some("evil.example.org".into());
    csr.subject_alt_names = vec!["evil.example.org".into()];
    let cert = test_ca().issue(&csr, 30, Utc::now()).unwrap();
    assert_eq!(cert.common_name.as_deref(), Some("a.example.com"));
    assert_eq!(cert.subject_alt_names, ["a.example.com"]);
}
