//! The certificate endpoints (`/api/v3/certificates`, `/api/v3/ca`).

use std::path::Path;

use serde_json::json;

use super::{Reply, TestApp};

impl TestApp {
    pub async fn revoke(&self, token: &str, id: i64, reason: &str) -> Reply {
        self.post(
            &format!("/api/v3/certificates/{id}/revoke"),
            Some(token),
            &json!({"reason": reason}),
        )
        .await
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
