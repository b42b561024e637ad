//! A key revoked for compromise while an approval issues a certificate for it, on PostgreSQL:
//! the two run one after the other (`certificates::lock_key`), so the approval never issues for
//! a key whose compromise committed, and the two never deadlock.

use std::sync::Arc;

use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

use crate::held::{Held, blocked, blocked_behind};
use crate::helpers::pki::{KeyType, csr_for};
use crate::helpers::{Backend, postgres_url, spawn_app};

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The owner revokes certificate C for `key_compromise` while an approver gives the last
/// confirmation to a pending request for the same key. The revocation is held behind a lock on
/// C's row (taken by the test) once it has begun, and the confirmation starts after it. The
/// confirmation waits for the revocation, which rejects the pending request, and then finds the
/// request no longer pending. It once read the key as sound before the revocation committed and
/// issued a certificate for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_racing_the_key_s_compromise_waits_for_it_and_issues_nothing() {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    }
    let app = Arc::new(spawn_app(Backend::Postgres).await);
    let (owner, approver) = (app.developer("olga").await, app.admin_token().await);
    let csr = csr_for(KeyType::P256, "olga.example.com");
    let first = app.issue(&owner, &approver, &csr).await;
    let certificate = first["certificate_id"].as_i64().expect("certificate id");
    let pending = app.submit_csr(&owner, &csr).await;
    assert_eq!(pending.status, 201, "the same key again: {pending:?}");
    let pending = pending.body["id"].as_i64().expect("request id");

    let row_lock = Held::begin(
        &app,
        &format!("SELECT id FROM certificates WHERE id = {certificate} FOR UPDATE"),
    );
    let (caller, token) = (Arc::clone(&app), owner.clone());
    let revocation = blocked(&app, async move {
        caller.revoke(&token, certificate, "key_compromise").await
    })
    .await;
    let (caller, token) = (Arc::clone(&app), approver.clone());
    let approval = blocked_behind(
        &app,
        2,
        async move { caller.confirm(&token, pending).await },
    )
    .await;
    row_lock.commit();

    let revoked = revocation.await.expect("the revocation");
    assert_eq!(revoked.status, 200, "{revoked:?}");
    let refused = approval.await.expect("the approval");
    assert_eq!(
        (refused.status, refused.problem_code()),
        (409, "request_not_pending"),
        "{refused:?}"
    );
    let issued_for_the_key = tokio::task::block_in_place(|| {
        let mut conn = PgConnection::establish(&app.database.url).expect("a connection");
        diesel::sql_query(
            "SELECT count(*) AS id FROM certificates
             WHERE public_key_fingerprint = (SELECT public_key_fingerprint FROM certificates
                                             WHERE id = $1)",
        )
        .bind::<BigInt, _>(certificate)
        .get_result::<Id>(&mut conn)
        .expect("count")
        .id
    });
    assert_eq!(issued_for_the_key, 1, "no second certificate for the key");
}
