//! PKI test kit: keys, CSRs and certificates made by the `openssl` binary in a temporary
//! directory, and `TestApp` helpers for the request and certificate endpoints.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, start_instance, test_settings};

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

/// A raw response: status, content type and bytes.
#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl TestApp {
    /// Starts another instance on this test's database with changed settings, and returns a
    /// `TestApp` talking to it (the first instance keeps running; both share the data dir).
    pub async fn restarted_with(
        self,
        change: impl FnOnce(&mut requestdesk::config::Settings),
    ) -> TestApp {
        let mut settings = test_settings(&self.database);
        change(&mut settings);
        let (address, clock) = start_instance(&settings).await;
        TestApp {
            address,
            client: reqwest::Client::new(),
            clock,
            database: self.database,
        }
    }

    pub async fn get_raw(&self, path: &str, token: Option<&str>) -> RawReply {
        let response = self
            .request(reqwest::Method::GET, path, token)
            .send()
            .await
            .expect("the request is answered");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await.expect("a body").to_vec();
        RawReply {
            status,
            content_type,
            bytes,
        }
    }

    /// `POST /api/v3/myrequests` with a certificate request for `csr`, 90 days.
    pub async fn submit_csr(&self, token: &str, csr: &str) -> Reply {
        self.post(
            "/api/v3/myrequests",
            Some(token),
            &certificate_request(csr, 90),
        )
        .await
    }

    /// Submits a P-256 CSR for `common_name` and returns the pending request's id.
    pub async fn pending_request(&self, token: &str, common_name: &str) -> i64 {
        let reply = self
            .submit_csr(token, &csr_for(KeyType::P256, common_name))
            .await;
        assert_eq!(
            reply.status, 201,
            "submitting {common_name} failed: {reply:?}"
        );
        assert_eq!(reply.body["status"], "pending", "{reply:?}");
        reply.body["id"].as_i64().expect("request id")
    }

    pub async fn confirm(&self, token: &str, id: i64) -> Reply {
        self.post(
            &format!("/api/v3/incoming-requests/{id}/confirm"),
            Some(token),
            &json!({}),
        )
        .await
    }

    pub async fn reject(&self, token: &str, id: i64, reason: &str) -> Reply {
        self.post(
            &format!("/api/v3/incoming-requests/{id}/reject"),
            Some(token),
            &json!({"reason": reason}),
        )
        .await
    }

    pub async fn cancel(&self, token: &str, id: i64) -> Reply {
        self.post(
            &format!("/api/v3/myrequests/{id}/cancel"),
            Some(token),
            &json!({}),
        )
        .await
    }

    pub async fn my_request(&self, token: &str, id: i64) -> Reply {
        self.get(&format!("/api/v3/myrequests/{id}"), Some(token))
            .await
    }

    pub async fn revoke(&self, token: &str, id: i64, reason: &str) -> Reply {
        self.post(
            &format!("/api/v3/certificates/{id}/revoke"),
            Some(token),
            &json!({"reason": reason}),
        )
        .await
    }

    /// Submits `csr` as `requester`, confirms it as `approver` and returns the approved
    /// request's body.
    pub async fn issue(&self, requester: &str, approver: &str, csr: &str) -> Value {
        let reply = self.submit_csr(requester, csr).await;
        assert_eq!(reply.status, 201, "submit: {reply:?}");
        let id = reply.body["id"].as_i64().expect("request id");
        let reply = self.confirm(approver, id).await;
        assert_eq!(reply.status, 200, "confirm: {reply:?}");
        assert_eq!(reply.body["status"], "approved", "{reply:?}");
        reply.body
    }

    /// A certificate issued to `requester` for a P-256 key and `common_name`: its id.
    pub async fn issued_certificate(
        &self,
        requester: &str,
        approver: &str,
        common_name: &str,
    ) -> i64 {
        let body = self
            .issue(requester, approver, &csr_for(KeyType::P256, common_name))
            .await;
        body["certificate_id"].as_i64().expect("certificate_id")
    }

    /// The CA certificate PEM, written to `dir/ca.pem`.
    pub async fn save_ca(&self, dir: &Path) -> String {
        let reply = self.get_raw("/api/v3/ca/certificate", None).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let pem = String::from_utf8(reply.bytes).expect("PEM text");
        std::fs::write(dir.join("ca.pem"), &pem).expect("write ca.pem");
        pem
    }
}

/// The ids of the items of a page.
pub fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {page}"))
        .iter()
        .map(|item| item["id"].as_i64().expect("id"))
        .collect()
}

/// The ids in a list.
pub fn list_ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|item| item["id"].as_i64().expect("id"))
        .collect()
}

/// The event names of a request detail, in order.
pub fn events(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap_or_else(|| panic!("events: {detail}"))
        .iter()
        .map(|e| e["event"].as_str().expect("event").to_owned())
        .collect()
}
