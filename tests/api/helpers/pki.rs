//! PKI test kit: keys, CSRs and certificates made by the `openssl` binary in a temporary
//! directory, and the body of a certificate request. The endpoints are in `requests` and
//! `certificates`.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

/// The key types a CSR can be made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    P256,
    P384,
    Ed25519,
    Rsa2048,
    Rsa1024,
}

impl KeyType {
    fn genpkey_args(self) -> &'static [&'static str] {
        match self {
            KeyType::P256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            KeyType::P384 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            KeyType::Ed25519 => &["-algorithm", "ED25519"],
            KeyType::Rsa2048 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            KeyType::Rsa1024 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
        }
    }
}

/// What `openssl` printed.
#[derive(Debug)]
pub struct OpensslOutput {
    pub success: bool,
    /// stdout and stderr together: OpenSSL 3 prints "verify OK" on stderr.
    pub text: String,
}

/// Runs `openssl` with `args` in `dir`.
pub fn openssl(dir: &Path, args: &[&str]) -> OpensslOutput {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    OpensslOutput {
        success: output.status.success(),
        text,
    }
}

/// Runs `openssl` and asserts it succeeded.
pub fn openssl_ok(dir: &Path, args: &[&str]) -> OpensslOutput {
    let output = openssl(dir, args);
    assert!(output.success, "openssl {args:?} failed: {}", output.text);
    output
}

/// A private key in a temporary directory of its own; CSRs made with it share the public key.
pub struct Key {
    dir: tempfile::TempDir,
}

impl Key {
    pub fn generate(key_type: KeyType) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut args = vec!["genpkey"];
        args.extend_from_slice(key_type.genpkey_args());
        args.extend_from_slice(&["-out", "key.pem"]);
        openssl_ok(dir.path(), &args);
        Self { dir }
    }

    /// A PEM CSR for `/CN=<cn>` with these subjectAltName entries (`DNS:a`, `email:b`, ...).
    pub fn csr(&self, common_name: &str, alt_names: &[&str]) -> String {
        let subject = format!("/CN={common_name}");
        let extension = format!("subjectAltName={}", alt_names.join(","));
        let mut args = vec!["req", "-new", "-key", "key.pem", "-subj", &subject];
        if !alt_names.is_empty() {
            args.extend_from_slice(&["-addext", &extension]);
        }
        args.extend_from_slice(&["-out", "csr.pem"]);
        openssl_ok(self.dir.path(), &args);
        std::fs::read_to_string(self.dir.path().join("csr.pem")).expect("csr.pem")
    }
}

/// A CSR with a fresh key of `key_type` for `common_name`, the CN also requested as a DNS SAN.
pub fn csr_for(key_type: KeyType, common_name: &str) -> String {
    Key::generate(key_type).csr(common_name, &[&format!("DNS:{common_name}")])
}

/// The same CSR with the last byte of its DER (inside the signature) flipped.
pub fn tampered(csr_pem: &str) -> String {
    let block = pem::parse(csr_pem).expect("a PEM CSR");
    let mut der = block.contents().to_vec();
    let last = der.last_mut().expect("a non-empty DER");
    *last ^= 0xff;
    pem::encode(&pem::Pem::new(block.tag(), der))
}

/// A certificate for the CSR's key from a CA of the caller's own: what anyone can have made for
/// a public key, without its private key.
pub fn signed_by_another_ca(csr: &str) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("leaf.csr"), csr).expect("the CSR");
    openssl_ok(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-subj",
            "/CN=Another CA",
            "-days",
            "2",
            "-out",
            "ca.pem",
        ],
    );
    openssl_ok(
        dir.path(),
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            "leaf.pem",
        ],
    );
    std::fs::read_to_string(dir.path().join("leaf.pem")).expect("the certificate")
}

/// A self-signed ECDSA P-256 certificate for `common_name`, valid `days` days, in PEM.
pub fn self_signed_certificate(common_name: &str, days: u32) -> String {
    let dir = tempfile::tempdir().expect("temporary directory");
    let subject = format!("/CN={common_name}");
    let extension = format!("subjectAltName=DNS:{common_name}");
    let days = days.to_string();
    openssl_ok(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "key.pem",
            "-subj",
            &subject,
            "-addext",
            &extension,
            "-days",
            &days,
            "-out",
            "cert.pem",
        ],
    );
    std::fs::read_to_string(dir.path().join("cert.pem")).expect("cert.pem")
}

/// A certificate request body.
pub fn certificate_request(csr: &str, validity_days: u32) -> Value {
    json!({
        "type": "certificate",
        "csr": csr,
        "reason": "TLS for the build server",
        "validity_days": validity_days,
    })
}
