//! The request endpoints (`/api/v3/myrequests`, `/api/v3/incoming-requests`) of either kind,
//! and readers for what they answer.

use serde_json::{Value, json};

use super::pki::{KeyType, certificate_request, csr_for};
use super::{Reply, TestApp};

impl TestApp {
    /// `POST /api/v3/myrequests` with any body.
    pub async fn submit_request(&self, token: &str, body: &Value) -> Reply {
        self.post("/api/v3/myrequests", Some(token), body).await
    }

    /// Submits `body`, asserts 201 and returns the new request's id.
    pub async fn submitted(&self, token: &str, body: &Value) -> i64 {
        let reply = self.submit_request(token, body).await;
        assert_eq!(reply.status, 201, "submit {body}: {reply:?}");
        reply.body["id"].as_i64().expect("id")
    }

    /// `POST /api/v3/myrequests` with a certificate request for `csr`, 90 days.
    pub async fn submit_csr(&self, token: &str, csr: &str) -> Reply {
        self.submit_request(token, &certificate_request(csr, 90))
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

    /// `GET /api/v3/myrequests/{id}`, asserting 200: the detail.
    pub async fn request_detail(&self, token: &str, id: i64) -> Value {
        let reply = self.my_request(token, id).await;
        assert_eq!(reply.status, 200, "detail {id}: {reply:?}");
        reply.body
    }

    /// `POST /api/v3/myrequests/{id}/use`.
    pub async fn use_request(&self, token: &str, id: i64) -> Reply {
        self.post(
            &format!("/api/v3/myrequests/{id}/use"),
            Some(token),
            &json!({}),
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

/// The reasons an invalid request gives, from its detail.
pub fn reasons(detail: &Value) -> Vec<String> {
    detail["invalid_reasons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
