//! Queries on `certificates`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{certificate_expiry_counts, certificates, users};
use super::values::{IssuedSource, KeyCompromiseReason};
use super::{DbConnection, MultiBackend};
use crate::domain::certificate::{CertificateSource, CertificateStatus};
use crate::pki::RevocationReason;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = certificates)]
pub struct CertificateRow {
    pub id: i64,
    pub owner_id: i64,
    pub request_id: Option<i64>,
    pub source: CertificateSource,
    pub serial_number: String,
    pub common_name: Option<String>,
    pub subject_alt_names: String,
    pub issuer: String,
    pub pem: String,
    pub fingerprint_sha256: String,
    pub public_key_fingerprint: String,
    pub created_at: NaiveDateTime,
    pub valid_from: NaiveDateTime,
    pub valid_until: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revocation_reason: Option<RevocationReason>,
    pub requester_email: Option<String>,
    pub uploaded_by: Option<String>,
}

/// A `None` is inserted as `NULL`, so the SQL is fixed and kept prepared by type (`NewEvent`).
#[derive(Debug, Insertable)]
#[diesel(table_name = certificates, treat_none_as_default_value = false)]
pub struct NewCertificateRow<'a> {
    pub owner_id: i64,
    pub request_id: Option<i64>,
    pub source: CertificateSource,
    pub serial_number: &'a str,
    pub common_name: Option<&'a str>,
    pub subject_alt_names: &'a str,
    pub issuer: &'a str,
    pub pem: &'a str,
    pub fingerprint_sha256: &'a str,
    pub public_key_fingerprint: &'a str,
    pub created_at: NaiveDateTime,
    pub valid_from: NaiveDateTime,
    pub valid_until: NaiveDateTime,
    pub requester_email: Option<&'a str>,
    pub uploaded_by: Option<&'a str>,
}

/// A certificate with its owner's username.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct CertificateWithOwner {
    #[diesel(embed)]
    pub certificate: CertificateRow,
    #[diesel(column_name = username)]
    pub owner: String,
}

/// What a list shows of a certificate: every column its answer names, not its PEM (about 1 KB a
/// row, which only a download needs).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = certificates)]
pub struct CertificateSummaryRow {
    pub id: i64,
    pub request_id: Option<i64>,
    pub serial_number: String,
    pub common_name: Option<String>,
    pub subject_alt_names: String,
    pub issuer: String,
    pub fingerprint_sha256: String,
    pub created_at: NaiveDateTime,
    pub valid_from: NaiveDateTime,
    pub valid_until: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revocation_reason: Option<RevocationReason>,
    pub requester_email: Option<String>,
    pub uploaded_by: Option<String>,
}

/// A certificate's summary with its owner's username, as a list page reads it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct CertificateSummaryWithOwner {
    #[diesel(embed)]
    pub certificate: CertificateSummaryRow,
    #[diesel(column_name = username)]
    pub owner: String,
}

impl From<CertificateWithOwner> for CertificateSummaryWithOwner {
    fn from(found: CertificateWithOwner) -> Self {
        let CertificateWithOwner {
            certificate: row,
            owner,
        } = found;
        Self {
            certificate: CertificateSummaryRow {
                id: row.id,
                request_id: row.request_id,
                serial_number: row.serial_number,
                common_name: row.common_name,
                subject_alt_names: row.subject_alt_names,
                issuer: row.issuer,
                fingerprint_sha256: row.fingerprint_sha256,
                created_at: row.created_at,
                valid_from: row.valid_from,
                valid_until: row.valid_until,
                revoked_at: row.revoked_at,
                revocation_reason: row.revocation_reason,
                requester_email: row.requester_email,
                uploaded_by: row.uploaded_by,
            },
            owner,
        }
    }
}

/// A revoked certificate this CA issued, as a revocation list names it.
#[derive(Debug, Clone, Queryable)]
pub struct RevokedRow {
    pub serial_number: String,
    pub revoked_at: NaiveDateTime,
    pub reason: Option<RevocationReason>,
}

/// Filters of a certificate list.
#[derive(Debug, Clone, Default)]
pub struct CertificateFilter {
    pub owner_id: Option<i64>,
    pub owner_username: Option<String>,
    pub status: Option<CertificateStatus>,
    /// Still valid now but not after this moment.
    pub expires_before: Option<NaiveDateTime>,
}

type Boxed<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::InnerJoin<certificates::table, users::table>,
    MultiBackend,
>;

fn filtered(filter: &CertificateFilter, now: NaiveDateTime) -> Boxed<'_> {
    let mut query = certificates::table.inner_join(users::table).into_boxed();
    if let Some(owner) = filter.owner_id {
        query = query.filter(certificates::owner_id.eq(owner));
    }
    if let Some(username) = &filter.owner_username {
        query = query.filter(users::username.eq(username.clone()));
    }
    query = match filter.status {
        Some(CertificateStatus::Active) => query
            .filter(certificates::revoked_at.is_null())
            .filter(certificates::valid_until.gt(now)),
        Some(CertificateStatus::Revoked) => query.filter(certificates::revoked_at.is_not_null()),
        Some(CertificateStatus::Expired) => query
            .filter(certificates::revoked_at.is_null())
            .filter(certificates::valid_until.le(now)),
        None => query,
    };
    if let Some(before) = filter.expires_before {
        query = query
            .filter(certificates::revoked_at.is_null())
            .filter(certificates::valid_until.gt(now))
            .filter(certificates::valid_until.le(before));
    }
    query
}

/// One page of certificates, newest first, with the total that match.
pub fn list(
    conn: &mut DbConnection,
    filter: &CertificateFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<CertificateSummaryWithOwner>, i64)> {
    let total = filtered(filter, now).count().get_result(conn)?;
    Ok((page(conn, filter, now, offset, limit)?, total))
}

/// One page of certificates, newest first, as summaries (no PEM).
pub fn page(
    conn: &mut DbConnection,
    filter: &CertificateFilter,
    now: NaiveDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<CertificateSummaryWithOwner>> {
    if let CertificateFilter {
        owner_id: Some(owner),
        owner_username: None,
        status: None,
        expires_before: None,
    } = filter
    {
        // The dashboard's page: a statement kept prepared by its type (see requests' page).
        return certificates::table
            .inner_join(users::table)
            .filter(certificates::owner_id.eq(*owner))
            .order((certificates::created_at.desc(), certificates::id.desc()))
            .offset(offset)
            .limit(limit)
            .select(CertificateSummaryWithOwner::as_select())
            .load(conn);
    }
    filtered(filter, now)
        .order((certificates::created_at.desc(), certificates::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(CertificateSummaryWithOwner::as_select())
        .load(conn)
}

/// A certificate with its owner; with `owner_id`, only if it is theirs.
pub fn find(
    conn: &mut DbConnection,
    id: i64,
    owner_id: Option<i64>,
) -> QueryResult<Option<CertificateWithOwner>> {
    let mut query = certificates::table
        .inner_join(users::table)
        .filter(certificates::id.eq(id))
        .into_boxed();
    if let Some(owner) = owner_id {
        query = query.filter(certificates::owner_id.eq(owner));
    }
    query
        .select(CertificateWithOwner::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, certificate: &NewCertificateRow<'_>) -> QueryResult<i64> {
    diesel::insert_into(certificates::table)
        .values(certificate)
        .returning(certificates::id)
        .get_result(conn)
}

/// Revokes a certificate that is not revoked yet; with `owner_id`, only if it is theirs.
pub fn revoke(
    conn: &mut DbConnection,
    id: i64,
    owner_id: Option<i64>,
    reason: RevocationReason,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = certificates::table
        .filter(certificates::id.eq(id))
        .filter(certificates::revoked_at.is_null());
    let changes = (
        certificates::revoked_at.eq(now),
        certificates::revocation_reason.eq(reason),
    );
    let updated = match owner_id {
        Some(owner) => diesel::update(target.filter(certificates::owner_id.eq(owner)))
            .set(changes)
            .execute(conn)?,
        None => diesel::update(target).set(changes).execute(conn)?,
    };
    Ok(updated == 1)
}

/// Raises the reason of the revoked certificate `id` to key compromise, as RFC 5280 and the
/// CA/Browser Forum allow once a compromise is found after another revocation (its revocation
/// time stays). Whether it changed: not when it is not revoked or already so.
pub fn raise_to_key_compromise(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        certificates::table
            .filter(certificates::id.eq(id))
            .filter(certificates::revoked_at.is_not_null())
            .filter(certificates::revocation_reason.ne(RevocationReason::KeyCompromise)),
    )
    .set(certificates::revocation_reason.eq(RevocationReason::KeyCompromise))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes for key compromise every other live certificate this CA issued to `owner_id` for
/// the key: the id and the request of each. Read through the owner's live certificates
/// (`certificates_owner_validity_idx`): the key's own index holds only compromised keys, so
/// that issuing does not write it.
pub fn revoke_issued_for_key(
    conn: &mut DbConnection,
    owner_id: i64,
    public_key_fingerprint: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<(i64, Option<i64>)>> {
    diesel::update(
        certificates::table
            .filter(certificates::owner_id.eq(owner_id))
            .filter(certificates::source.eq(CertificateSource::Issued))
            .filter(certificates::public_key_fingerprint.eq(public_key_fingerprint))
            .filter(certificates::revoked_at.is_null()),
    )
    .set((
        certificates::revoked_at.eq(now),
        certificates::revocation_reason.eq(RevocationReason::KeyCompromise),
    ))
    .returning((certificates::id, certificates::request_id))
    .get_results(conn)
}

/// Whether a certificate this CA issued for this key was revoked for key compromise. Imported
/// certificates do not count: anyone can import a public certificate, so its revocation must
/// not refuse someone else's key.
pub fn key_compromised(conn: &mut DbConnection, public_key_fingerprint: &str) -> QueryResult<bool> {
    // The partial index's conditions as literals (`certificates_compromised_key_idx`): bound,
    // neither database's planner could use the index.
    diesel::select(diesel::dsl::exists(
        certificates::table
            .filter(certificates::source.eq(IssuedSource))
            .filter(certificates::public_key_fingerprint.eq(public_key_fingerprint))
            .filter(certificates::revocation_reason.eq(KeyCompromiseReason.nullable())),
    ))
    .get_result(conn)
}

/// Every revoked certificate the CA issued, oldest revocation first.
pub fn revoked_issued(conn: &mut DbConnection) -> QueryResult<Vec<RevokedRow>> {
    certificates::table
        .filter(certificates::source.eq(IssuedSource))
        .filter(certificates::revoked_at.is_not_null())
        .order(certificates::revoked_at.asc())
        .select((
            certificates::serial_number,
            certificates::revoked_at.assume_not_null(),
            certificates::revocation_reason,
        ))
        .load(conn)
}

/// How many of a user's certificates are neither revoked nor expired: the expiry-day counters
/// the database's triggers keep for the days after today, plus today's counted exactly, so the
/// cost is bounded by the longest validity in days, not by the number of certificates.
pub fn count_active(
    conn: &mut DbConnection,
    owner_id: i64,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let today = now.date();
    let tomorrow = (today + chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN);
    let expiring_after_today: i64 = certificate_expiry_counts::table
        .filter(certificate_expiry_counts::owner_id.eq(owner_id))
        .filter(certificate_expiry_counts::expires_on.gt(today))
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "CAST(COALESCE(SUM(n), 0) AS BIGINT)",
        ))
        .get_result(conn)?;
    let expiring_later_today: i64 = certificates::table
        .filter(certificates::owner_id.eq(owner_id))
        .filter(certificates::revoked_at.is_null())
        .filter(certificates::valid_until.gt(now))
        .filter(certificates::valid_until.lt(tomorrow))
        .count()
        .get_result(conn)?;
    Ok(expiring_after_today + expiring_later_today)
}

/// A user's newest certificates since `since`, at most `limit`.
pub fn recent(
    conn: &mut DbConnection,
    owner_id: i64,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<CertificateRow>> {
    certificates::table
        .filter(certificates::owner_id.eq(owner_id))
        .filter(certificates::created_at.ge(since))
        .order((certificates::created_at.desc(), certificates::id.desc()))
        .limit(limit)
        .select(CertificateRow::as_select())
        .load(conn)
}

/// Serializes, until the transaction ends, the writes that depend on whether this key is
/// compromised: its revocation for `key_compromise`, and the submissions and approvals that check
/// it. Taken before any row lock, so they wait for each other instead of racing (the approval
/// checked before the revocation committed and issued anyway) or deadlocking. A PostgreSQL
/// advisory lock on the key's hash; SQLite's write transactions already run one at a time.
pub fn lock_key(conn: &mut DbConnection, public_key_fingerprint: &str) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(public_key_fingerprint)
            .execute(pg)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{keyed_by_type, plan_of, plan_on, scratch_sqlite, sent_by};

    /// The two lookups by revocation use the partial indexes a newly issued certificate does not
    /// enter (migration 2026-12-02-000109). With a bound value where the literal is, or the
    /// index not partial on what the query names, SQLite scans another index or the table.
    #[test]
    fn revocation_lookups_use_their_partial_indexes() {
        let compromised = plan_of(|conn| {
            key_compromised(conn, "fingerprint").expect("query");
        });
        assert!(
            compromised.contains("USING INDEX certificates_compromised_key_idx"),
            "{compromised}"
        );
        let revoked = plan_of(|conn| {
            revoked_issued(conn).expect("query");
        });
        assert!(
            revoked.contains("USING INDEX certificates_revoked_idx"),
            "{revoked}"
        );
    }

    /// The dashboard's certificates page is one statement kept prepared, whatever page is asked,
    /// and, planned with nothing bound, reads the owner's index in order.
    #[test]
    fn the_dashboard_page_is_kept_prepared_and_reads_the_owners_index() {
        let (_dir, mut conn) = scratch_sqlite();
        let now = NaiveDateTime::default();
        let mine = CertificateFilter {
            owner_id: Some(1),
            ..CertificateFilter::default()
        };
        let sent = sent_by(&mut conn, |conn| {
            for (offset, limit) in [(0, 20), (20, 20), (0, 5)] {
                page(conn, &mine, now, offset, limit).expect("page");
            }
        });
        assert_eq!(sent.kept.len(), 1, "{:?}", sent.kept);
        let plan = plan_on(&mut conn, |conn| {
            page(conn, &mine, now, 0, 20).expect("page");
        });
        assert!(
            plan.contains("USING INDEX certificates_owner_created_idx"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn a_certificates_insert_is_kept_prepared_by_its_type() {
        let at = NaiveDateTime::default();
        let row = NewCertificateRow {
            owner_id: 1,
            request_id: None,
            source: CertificateSource::Issued,
            serial_number: "01",
            common_name: None,
            subject_alt_names: "[]",
            issuer: "CN=ca",
            pem: "pem",
            fingerprint_sha256: "f",
            public_key_fingerprint: "k",
            created_at: at,
            valid_from: at,
            valid_until: at,
            requester_email: None,
            uploaded_by: None,
        };
        assert!(keyed_by_type(
            &diesel::insert_into(certificates::table).values(&row)
        ));
    }
}
