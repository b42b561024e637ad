//! Tests of `parse_csr`: accepted key types, refused keys, signatures,
//! names and policy.

use rcgen::{KeyPair, PublicKeyData, SanType};
use sha2::{Digest, Sha256};

use super::support::*;
use crate::pki::{CaPolicy, CsrError, parse_csr, recheck_accepted_csr};

fn refuse(pem: &str, policy: &CaPolicy) -> CsrError {
    parse_csr(pem, policy).unwrap_err()
}

fn refuse_default(pem: &str) -> CsrError {
    refuse(pem, &CaPolicy::default())
}

fn sans_policy(policy: &CaPolicy, sans: &[&str]) -> Result<Vec<String>, CsrError> {
    parse_csr(&p256_csr(sans), policy).map(|csr| csr.subject_alt_names)
}

#[test]
fn accepts_each_allowed_rcgen_key_type() {
    let cases = [
        (&rcgen::PKCS_ECDSA_P256_SHA256, "ECDSA-P256"),
        (&rcgen::PKCS_ECDSA_P384_SHA384, "ECDSA-P384"),
        (&rcgen::PKCS_ED25519, "Ed25519"),
    ];
    for (alg, label) in cases {
        let pem = rcgen_csr(alg, Some("www.example.com"), vec![dns("api.example.com")]);
        let csr = parsed(&pem);
        assert_eq!(csr.key_algorithm, label);
        assert_eq!(csr.common_name.as_deref(), Some("www.example.com"));
        assert_eq!(
            csr.subject_alt_names,
            ["www.example.com", "api.example.com"]
        );
        assert_eq!(csr.public_key_fingerprint.len(), 64);
        assert!(
            csr.csr_pem
                .starts_with("-----BEGIN CERTIFICATE REQUEST-----\n")
        );
    }
}

#[test]
fn accepts_rsa_2048() {
    let pem = openssl_csr(
        RSA_2048,
        "/CN=rsa.example.com",
        &["subjectAltName=DNS:rsa.example.com"],
    );
    let csr = parsed(&pem);
    assert_eq!(csr.key_algorithm, "RSA-2048");
    assert_eq!(csr.subject_alt_names, ["rsa.example.com"]);
}

#[test]
fn refuses_rsa_1024() {
    let pem = openssl_csr(RSA_1024, "/CN=weak.example.com", &[]);
    let err = refuse_default(&pem);
    assert_eq!(err.field, "csr.public_key");
    assert_eq!(
        err.message,
        "RSA key of 1024 bits is too weak: at least 2048 required"
    );
}

#[test]
fn refuses_a_small_rsa_exponent() {
    let pem = openssl_csr(
        &["-newkey", "rsa:2048", "-pkeyopt", "rsa_keygen_pubexp:3"],
        "/CN=small-e.example.com",
        &[],
    );
    let err = refuse_default(&pem);
    assert_eq!(err.field, "csr.public_key");
    assert_eq!(
        err.message,
        "the RSA public exponent must be odd and at least 65537"
    );
}

#[test]
fn refuses_a_sha1_signature() {
    for newkey in [
        &["-newkey", "rsa:2048", "-sha1"][..],
        &[
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-sha1",
        ][..],
    ] {
        let pem = openssl_csr(newkey, "/CN=sha1.example.com", &[]);
        let err = refuse_default(&pem);
        assert_eq!(err.field, "csr.signature", "{newkey:?}");
        assert!(
            err.message.contains("too weak"),
            "{newkey:?}: {}",
            err.message
        );
    }
}

/// What the approver reads is what a relying party matches: no whitespace but the space, no
/// invisible or direction-changing characters, nothing leading or trailing.
#[test]
fn refuses_a_common_name_that_hides_text() {
    let policy = CaPolicy {
        allowed_dns_suffixes: vec!["example.com".into()],
        ..CaPolicy::default()
    };
    for cn in [
        "www.evil.org\u{a0}",
        "www.evil.org\u{2009}x",
        "admin\u{202e}moc.elpmaxe",
        "web\u{200b}.example.com",
        " John Smith",
        "John Smith ",
        "\u{feff}John",
    ] {
        let pem = rcgen_csr(
            &rcgen::PKCS_ECDSA_P256_SHA256,
            Some(cn),
            vec![dns("a.example.com")],
        );
        assert_eq!(refuse(&pem, &policy).field, "csr.common_name", "{cn:?}");
    }
    let pem = rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        Some("Jane Q. Smith"),
        vec![dns("a.example.com")],
    );
    assert!(parse_csr(&pem, &policy).is_ok(), "a plain name with spaces");
}

#[test]
fn refuses_p521() {
    let err = refuse_default(&openssl_csr(EC_P521, "/CN=big.example.com", &[]));
    assert_eq!(err.field, "csr.public_key");
    assert!(
        err.message.contains("curve P-521 is not allowed"),
        "{}",
        err.message
    );
}

#[test]
fn refuses_key_types_disabled_by_policy() {
    let policy = CaPolicy {
        allow_ed25519: false,
        allow_ecdsa_p384: false,
        ..CaPolicy::default()
    };
    let ed = rcgen_csr(&rcgen::PKCS_ED25519, Some("a.example.com"), vec![]);
    assert_eq!(refuse(&ed, &policy).field, "csr.public_key");
    let p384 = rcgen_csr(
        &rcgen::PKCS_ECDSA_P384_SHA384,
        Some("a.example.com"),
        vec![],
    );
    let err = refuse(&p384, &policy);
    assert!(
        err.message.contains("allowed curves are P-256"),
        "{}",
        err.message
    );
}

#[test]
fn refuses_tampered_signature() {
    for pem in [
        p256_csr(&["a.example.com"]),
        openssl_csr(RSA_2048, "/CN=a.example.com", &[]),
        rcgen_csr(&rcgen::PKCS_ED25519, Some("a.example.com"), vec![]),
    ] {
        let err = refuse_default(&tamper_last_byte(&pem));
        assert_eq!(err.field, "csr.signature", "{}", err.message);
    }
}

/// A stored CSR is checked again against the policy as it is now, but its signature only at
/// intake: the same tampered bytes `parse_csr` refuses pass, and a key type the policy has
/// since disabled does not.
#[test]
fn a_recheck_applies_the_policy_of_now_but_not_the_signature_again() {
    let p384 = rcgen_csr(
        &rcgen::PKCS_ECDSA_P384_SHA384,
        Some("a.example.com"),
        vec![],
    );
    let tampered = tamper_last_byte(&p384);
    assert_eq!(refuse_default(&tampered).field, "csr.signature");
    let rechecked = recheck_accepted_csr(&tampered, &CaPolicy::default()).unwrap();
    assert_eq!(rechecked.common_name.as_deref(), Some("a.example.com"));
    let narrower = CaPolicy {
        allow_ecdsa_p384: false,
        ..CaPolicy::default()
    };
    let err = recheck_accepted_csr(&p384, &narrower).unwrap_err();
    assert_eq!(err.field, "csr.public_key", "{}", err.message);
}

#[test]
fn refuses_csr_whose_names_were_swapped_after_signing() {
    let pem = p256_csr(&["good.example.com"]);
    let block = pem::parse(&pem).unwrap();
    let mut der = block.contents().to_vec();
    let at = der.windows(4).position(|w| w == b"good").unwrap();
    der[at..at + 4].copy_from_slice(b"evil");
    let swapped = pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", der));
    assert_eq!(refuse_default(&swapped).field, "csr.signature");
}

#[test]
fn wildcards_follow_the_policy_flag() {
    let err = refuse_default(&p256_csr(&["*.example.com"]));
    assert_eq!(err.field, "csr.subject_alt_names");
    assert_eq!(
        err.message,
        "DNS name \"*.example.com\": wildcards are not allowed"
    );

    let allow = CaPolicy {
        allow_wildcards: true,
        ..CaPolicy::default()
    };
    assert_eq!(
        sans_policy(&allow, &["*.Example.com"]).unwrap(),
        ["*.example.com"]
    );
    for bad in ["foo.*.example.com", "*foo.example.com", "*.com", "*"] {
        let err = sans_policy(&allow, &[bad]).unwrap_err();
        assert!(
            err.message.contains(&format!("\"{bad}\"")),
            "{}",
            err.message
        );
    }
}

#[test]
fn dns_suffix_policy() {
    let policy = CaPolicy {
        allowed_dns_suffixes: vec!["example.com".into(), ".Corp.NET".into()],
        ..CaPolicy::default()
    };
    let ok = ["example.com", "A.Example.COM", "x.y.corp.net", "corp.net"];
    assert_eq!(
        sans_policy(&policy, &ok).unwrap(),
        ["example.com", "a.example.com", "x.y.corp.net", "corp.net"]
    );
    for bad in ["www.evil.com", "badexample.com", "example.com.evil.org"] {
        let err = sans_policy(&policy, &["ok.example.com", bad]).unwrap_err();
        assert_eq!(err.field, "csr.subject_alt_names");
        assert_eq!(
            err.message,
            format!(
                "DNS name \"{bad}\": is not under an allowed domain (allowed: example.com, corp.net)"
            )
        );
    }
}

#[test]
fn suffix_policy_applies_to_the_common_name() {
    let policy = CaPolicy {
        allowed_dns_suffixes: vec!["example.com".into()],
        ..CaPolicy::default()
    };
    let pem = rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        Some("evil.org"),
        vec![dns("a.example.com")],
    );
    assert_eq!(refuse(&pem, &policy).field, "csr.common_name");
}

#[test]
fn refuses_email_and_uri_sans() {
    let email = SanType::Rfc822Name("alice@example.com".try_into().unwrap());
    let pem = rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        None,
        vec![dns("a.example.com"), email],
    );
    let err = refuse_default(&pem);
    assert_eq!(err.field, "csr.subject_alt_names");
    assert_eq!(
        err.message,
        "email SAN \"alice@example.com\" is not allowed: only DNS names may be requested"
    );

    let uri = SanType::URI("https://example.com/".try_into().unwrap());
    let pem = rcgen_csr(&rcgen::PKCS_ECDSA_P256_SHA256, None, vec![uri]);
    assert!(
        refuse_default(&pem)
            .message
            .contains("URI SAN \"https://example.com/\"")
    );
}

#[test]
fn ip_sans_follow_the_policy_flag() {
    let ips = vec![
        SanType::IpAddress("10.0.0.1".parse().unwrap()),
        SanType::IpAddress("::1".parse().unwrap()),
    ];
    let pem = rcgen_csr(&rcgen::PKCS_ECDSA_P256_SHA256, None, ips);
    let err = refuse_default(&pem);
    assert_eq!(err.field, "csr.subject_alt_names");
    assert_eq!(
        err.message,
        "IP address \"10.0.0.1\": IP address names are not allowed"
    );

    let allow = CaPolicy {
        allow_ip_sans: true,
        ..CaPolicy::default()
    };
    assert_eq!(
        parse_csr(&pem, &allow).unwrap().subject_alt_names,
        ["10.0.0.1", "::1"]
    );

    let ip_cn = rcgen_csr(&rcgen::PKCS_ECDSA_P256_SHA256, Some("192.168.1.1"), vec![]);
    assert_eq!(refuse_default(&ip_cn).field, "csr.common_name");
    assert_eq!(
        parse_csr(&ip_cn, &allow).unwrap().subject_alt_names,
        ["192.168.1.1"]
    );
}

#[test]
fn refuses_garbage() {
    let cert_pem = test_ca().cert_pem();
    let fake = "-----BEGIN CERTIFICATE REQUEST-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE REQUEST-----\n";
    let huge = "A".repeat(100_000);
    for input in ["", "hello", fake, &cert_pem, &huge] {
        assert_eq!(refuse_default(input).field, "csr", "input {input:.40}");
    }
}

#[test]
fn dns_like_common_name_becomes_a_name() {
    let pem = rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        Some("Host.Example.com"),
        vec![],
    );
    let csr = parsed(&pem);
    assert_eq!(csr.common_name.as_deref(), Some("host.example.com"));
    assert_eq!(csr.subject_alt_names, ["host.example.com"]);
}

#[test]
fn free_text_common_name_needs_a_san() {
    let alone = rcgen_csr(&rcgen::PKCS_ECDSA_P256_SHA256, Some("John Smith"), vec![]);
    let err = refuse_default(&alone);
    assert_eq!(err.field, "csr.subject_alt_names");

    let with_san = rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        Some("John Smith"),
        vec![dns("js.example.com")],
    );
    let csr = parsed(&with_san);
    assert_eq!(csr.common_name.as_deref(), Some("John Smith"));
    assert_eq!(csr.subject_alt_names, ["js.example.com"]);
}

#[test]
fn refuses_invalid_hostnames() {
    let long_label = format!("{}.example.com", "a".repeat(64));
    let long_name = format!("{}.com", ["abcdefghi"; 26].join("."));
    let bad = [
        "-bad.example.com",
        "bad-.example.com",
        "a..example.com",
        "under_score.example.com",
        "exa mple.com",
        "1.2.3.4",
        "trailing.example.com.",
        long_label.as_str(),
        long_name.as_str(),
    ];
    for name in bad {
        let err = sans_policy(&CaPolicy::default(), &[name]).unwrap_err();
        assert_eq!(err.field, "csr.subject_alt_names", "{name}");
        assert!(
            err.message.starts_with(&format!("DNS name \"{name}\"")),
            "{}",
            err.message
        );
    }
}

#[test]
fn names_are_lowercased_and_deduplicated() {
    let pem = rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        Some("a.example.com"),
        vec![
            dns("A.EXAMPLE.COM"),
            dns("b.example.com"),
            dns("a.example.com"),
        ],
    );
    assert_eq!(
        parsed(&pem).subject_alt_names,
        ["a.example.com", "b.example.com"]
    );
}

#[test]
fn fingerprint_is_sha256_of_the_spki_and_stable_per_key() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let first = parsed(&rcgen_csr_with_key(&key, None, vec![dns("a.example.com")]));
    let second = parsed(&rcgen_csr_with_key(&key, None, vec![dns("b.example.com")]));
    let expected = hex::encode(Sha256::digest(key.subject_public_key_info()));
    assert_eq!(first.public_key_fingerprint, expected);
    assert_eq!(second.public_key_fingerprint, expected);
}

#[test]
fn csr_pem_is_normalized() {
    let pem = p256_csr(&["a.example.com"]);
    let crlf = format!("\n\n  {}", pem.replace('\n', "\r\n"));
    let csr = parsed(&crlf);
    assert_eq!(csr.csr_pem, pem);
}

#[test]
fn validity_policy() {
    let policy = CaPolicy::default();
    assert!(policy.validate_validity(1).is_ok());
    assert!(policy.validate_validity(397).is_ok());
    for days in [0, 398] {
        let err = policy.validate_validity(days).unwrap_err();
        assert_eq!(err.field, "validity_days");
        assert!(
            err.message.contains(&format!("{days} days")),
            "{}",
            err.message
        );
    }
    assert_eq!(policy.resolve_validity(None).unwrap(), 90);
    assert_eq!(policy.resolve_validity(Some(30)).unwrap(), 30);
}
