//! Races on PostgreSQL between an administrator's change of a safe or an account and a call that
//! reads them: each test holds the change uncommitted on a connection of its own, sends the call,
//! waits until the call is blocked on one of the change's locks, then commits. (SQLite's write
//! transactions run one at a time, so these interleavings cannot happen there.)

use std::sync::Arc;

use serde_json::json;

use crate::fixture::{SAFE, SafeWithRequester};
use crate::held::{Held, blocked};
use crate::helpers::{Backend, Reply, TestApp, postgres_url, spawn_app};

async fn on_postgres() -> Option<(Arc<TestApp>, SafeWithRequester)> {
    if postgres_url().is_none() {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return None;
    }
    let app = spawn_app(Backend::Postgres).await;
    let fixture = SafeWithRequester::set_up(&app).await;
    Some((Arc::new(app), fixture))
}

fn access_body(account_id: i64) -> serde_json::Value {
    json!({
        "type": "access",
        "account_id": account_id,
        "reason": "Patching the database server tonight",
        "access_type": "one_time",
        "operation_type": "open",
    })
}

/// Starts the developer's submission for the fixture's account, and waits until it waits for a
/// lock.
async fn blocked_submission(
    app: &Arc<TestApp>,
    s: &SafeWithRequester,
) -> tokio::task::JoinHandle<Reply> {
    let (caller, developer) = (Arc::clone(app), s.developer.clone());
    let body = access_body(s.account_id);
    blocked(app, async move {
        caller.submit_request(&developer, &body).await
    })
    .await
}

/// Two administrators change the same safe: the second's PATCH reads the safe after the first
/// committed, so it keeps the first's new confirmation count (it once wrote back the count it
/// had read before, and the first change was lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_changes_of_a_safe_are_applied_one_after_the_other() {
    let Some((app, s)) = on_postgres().await else {
        return;
    };
    let first = Held::begin(
        &app,
        "UPDATE safes SET level1_confirmations = 2, policy_version = policy_version + 1
         WHERE name = 'Sec25'",
    );
    let (caller, admin) = (Arc::clone(&app), s.admin.clone());
    let second = blocked(&app, async move {
        let body = json!({"description": "the second change"});
        let path = format!("/api/v3/safes/{SAFE}");
        caller.patch(&path, Some(&admin), &body).await
    })
    .await;
    first.commit();
    let second = second.await.expect("the PATCH");
    assert_eq!(second.status, 200, "{second:?}");
    assert_eq!(
        (
            &second.body["description"],
            &second.body["level1_confirmations"]
        ),
        (&json!("the second change"), &json!(2)),
        "both changes are kept"
    );
}

/// A submission meets a confirmation-policy change in progress: it waits for it, then finds the
/// new policy version and is refused (it once read the old version, and its request waited
/// under the superseded policy, unseen by the change's invalidation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_racing_a_policy_change_is_refused() {
    let Some((app, s)) = on_postgres().await else {
        return;
    };
    let change = Held::begin(
        &app,
        "UPDATE safes SET policy_version = policy_version + 1 WHERE name = 'Sec25'",
    );
    let submission = blocked_submission(&app, &s).await;
    change.commit();
    let refused = submission.await.expect("the submission");
    assert_eq!(
        (refused.status, refused.problem_code()),
        (409, "confirmation_settings_changed"),
        "{refused:?}"
    );
}

/// A submission meets the account's deletion in progress: it waits for it, then finds the
/// account gone (it once went on and left a live request on the deleted account).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_racing_the_account_s_deletion_is_refused() {
    let Some((app, s)) = on_postgres().await else {
        return;
    };
    let deletion = Held::begin(
        &app,
        &format!(
            "UPDATE safe_accounts SET deleted_at = now() WHERE id = {}",
            s.account_id
        ),
    );
    let submission = blocked_submission(&app, &s).await;
    deletion.commit();
    let refused = submission.await.expect("the submission");
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.error_fields(), vec!["account_id".to_owned()]);
}

/// A submission meets the safe's deletion in progress, which locks the safe, then its accounts:
/// the submission takes the two in that order too, so it waits and is refused (with the account
/// locked first, the two deadlocked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_racing_the_safe_s_deletion_waits_for_it_and_never_deadlocks() {
    let Some((app, s)) = on_postgres().await else {
        return;
    };
    let mut deletion = Held::begin(
        &app,
        "UPDATE safes SET deleted_at = now() WHERE name = 'Sec25'",
    );
    let submission = blocked_submission(&app, &s).await;
    let accounts = deletion.run(
        "UPDATE safe_accounts SET deleted_at = now()
         WHERE safe_id = (SELECT id FROM safes WHERE name = 'Sec25')",
    );
    assert!(accounts.is_ok(), "the deletion's second lock: {accounts:?}");
    deletion.commit();
    let refused = submission.await.expect("the submission");
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.error_fields(), vec!["account_id".to_owned()]);
}

/// An approved access is used while its account is deleted. The deletion locks the account, then
/// the requests naming it; the use now takes them in the same order, so it waits and is refused.
/// It once locked the request first: PostgreSQL found a deadlock and aborted one of the two
/// (a 500 for the use, or the deletion's failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_use_racing_the_account_s_deletion_waits_for_it_and_never_deadlocks() {
    let Some((app, s)) = on_postgres().await else {
        return;
    };
    let id = app
        .submitted(&s.developer, &access_body(s.account_id))
        .await;
    let confirmed = app.confirm(&s.admin, id).await;
    assert_eq!(confirmed.body["status"], "approved", "{confirmed:?}");
    let mut deletion = Held::begin(
        &app,
        &format!(
            "UPDATE safe_accounts SET deleted_at = now() WHERE id = {}",
            s.account_id
        ),
    );
    let (caller, developer) = (Arc::clone(&app), s.developer.clone());
    let usage = blocked(
        &app,
        async move { caller.use_request(&developer, id).await },
    )
    .await;
    let invalidated = deletion.run(&format!(
        "UPDATE requests SET status = 'invalid' WHERE id = {id}"
    ));
    assert!(
        invalidated.is_ok(),
        "the deletion's second lock: {invalidated:?}"
    );
    deletion.commit();
    let refused = usage.await.expect("the use");
    assert_eq!(
        (refused.status, refused.problem_code()),
        (403, "access_not_approved"),
        "{refused:?}"
    );
}
