//! Test helpers: temporary directories, running openssl, making CSRs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType, SignatureAlgorithm};

use crate::pki::{CaPolicy, CertificateAuthority, ParsedCsr, parse_csr};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("pki-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Output of one openssl run.
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

pub fn openssl(args: &[&str]) -> Output {
    let out = Command::new("openssl").args(args).output().unwrap();
    Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A PEM CSR made with rcgen.
pub fn rcgen_csr(alg: &'static SignatureAlgorithm, cn: Option<&str>, sans: Vec<SanType>) -> String {
    let key = KeyPair::generate_for(alg).unwrap();
    rcgen_csr_with_key(&key, cn, sans)
}

pub fn rcgen_csr_with_key(key: &KeyPair, cn: Option<&str>, sans: Vec<SanType>) -> String {
    let mut dn = DistinguishedName::new();
    if let Some(cn) = cn {
        dn.push(DnType::CommonName, cn);
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.subject_alt_names = sans;
    params.serialize_request(key).unwrap().pem().unwrap()
}

pub fn dns(name: &str) -> SanType {
    SanType::DnsName(name.try_into().unwrap())
}

/// A P-256 CSR for `sans` (no CN).
pub fn p256_csr(sans: &[&str]) -> String {
    rcgen_csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        None,
        sans.iter().map(|s| dns(s)).collect(),
    )
}

/// A PEM CSR made by `openssl req` with `-newkey newkey` and `-addext`s.
pub fn openssl_csr(newkey: &[&str], subject: &str, addext: &[&str]) -> String {
    let mut args = vec![
        "req",
        "-new",
        "-nodes",
        "-keyout",
        "/dev/null",
        "-subj",
        subject,
    ];
    args.extend_from_slice(newkey);
    for ext in addext {
        args.push("-addext");
        args.push(ext);
    }
    let out = openssl(&args);
    assert!(out.success, "openssl req failed: {}", out.stderr);
    out.stdout
}

pub const RSA_2048: &[&str] = &["-newkey", "rsa:2048"];
pub const RSA_1024: &[&str] = &["-newkey", "rsa:1024"];
pub const EC_P521: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"];
pub const EC_P256: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

/// `pem` with the last byte of its DER (inside the signature) flipped.
pub fn tamper_last_byte(pem_text: &str) -> String {
    let block = pem::parse(pem_text).unwrap();
    let mut der = block.contents().to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    pem::encode(&pem::Pem::new(block.tag(), der))
}

pub fn test_ca() -> CertificateAuthority {
    CertificateAuthority::generate("requestdesk test CA", 2).unwrap()
}

pub fn parsed(pem: &str) -> ParsedCsr {
    parse_csr(pem, &CaPolicy::default()).unwrap()
}

/// Writes the CA and `cert_pem` to `dir` and runs `openssl verify -x509_strict`.
pub fn openssl_verify(dir: &TempDir, ca_pem: &str, cert_pem: &str) -> Output {
    let ca = dir.write("ca.pem", ca_pem);
    let cert = dir.write("cert.pem", cert_pem);
    openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        ca.to_str().unwrap(),
        cert.to_str().unwrap(),
    ])
}

/// `openssl x509 -text -noout` of `cert_pem`.
pub fn x509_text(dir: &TempDir, cert_pem: &str) -> String {
    let cert = dir.write("text.pem", cert_pem);
    let out = openssl(&["x509", "-text", "-noout", "-in", cert.to_str().unwrap()]);
    assert!(out.success, "{}", out.stderr);
    out.stdout
}
