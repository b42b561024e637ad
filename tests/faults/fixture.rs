//! What the input tests act on: a safe `Sec25` with an account, a developer `dev` who may
//! request in it, and the admin confirming its requests.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

pub const SAFE: &str = "Sec25";

pub struct SafeWithRequester {
    pub admin: String,
    pub developer: String,
    pub account_id: i64,
}

impl SafeWithRequester {
    pub async fn set_up(app: &TestApp) -> Self {
        let admin = app.admin_token().await;
        let developer = app.developer("dev").await;
        let created = app
            .post("/api/v3/safes", Some(&admin), &json!({"name": SAFE}))
            .await;
        assert_eq!(created.status, 201, "{created:?}");
        let account = app
            .post(
                &format!("/api/v3/safes/{SAFE}/accounts"),
                Some(&admin),
                &json!({"name": "root-db01", "address": "db01.example.com", "user_name": "root"}),
            )
            .await;
        assert_eq!(account.status, 201, "{account:?}");
        for (member, body) in [
            ("dev", json!({"can_request": true, "confirm_level": null})),
            ("admin", json!({"can_request": false, "confirm_level": 1})),
        ] {
            let path = format!("/api/v3/safes/{SAFE}/members/{member}");
            let reply = app
                .send(app.request(Method::PUT, &path, Some(&admin)).json(&body))
                .await;
            assert_eq!(reply.status, 200, "{reply:?}");
        }
        Self {
            admin,
            developer,
            account_id: account.body["id"].as_i64().expect("account id"),
        }
    }
}
