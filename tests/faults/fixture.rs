//! What the input tests act on: a safe `Sec25` with an account, a developer `dev` who may
//! request in it, and the admin confirming its requests.

use serde_json::json;

use crate::helpers::TestApp;
use crate::helpers::safes::{create_account, create_safe, put_member};

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
        create_safe(app, &admin, json!({"name": SAFE})).await;
        let account_id = create_account(app, &admin, SAFE, "root-db01").await;
        put_member(app, &admin, SAFE, "dev", true, None).await;
        put_member(app, &admin, SAFE, "admin", false, Some(1)).await;
        Self {
            admin,
            developer,
            account_id,
        }
    }
}
