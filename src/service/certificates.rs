//! Certificates: listing, showing, downloading, importing and revoking them, and the CA's own
//! certificate and revocation list. Owners see their own; administrators see anyone's.

use chrono::{Duration, NaiveDateTime};

use super::Context;
use super::auth::VerifiedToken;
use crate::db::certificates::{
    self as cert_db, CertificateFilter, CertificateRow, CertificateSummaryWithOwner,
    CertificateWithOwner, NewCertificateRow,
};
use crate::db::requests as req_db;
use crate::db::{self, DbConnection};
use crate::domain::certificate::{
    Certificate, CertificateMetadata, CertificateSource, CertificateStatus,
};
use crate::domain::pagination::{Page, PageRequest};
use crate::domain::request::{EventKind, RecentCertificate};
use crate::domain::time::utc;
use crate::error::{AppError, ErrorCode};
use crate::pki::{self, RevocationReason, RevokedEntry};

/// Certificate list filters, as received.
#[derive(Debug, Clone, Default)]
pub struct CertificateListQuery {
    /// Administrators only: this owner's certificates.
    pub owner: Option<String>,
    pub status: Option<CertificateStatus>,
    pub expires_within_days: Option<u32>,
    pub page: PageRequest,
}

/// How a downloaded certificate is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The certificate followed by the CA certificate (for certificates this CA issued).
    Pem,
    /// The certificate alone.
    Der,
}

/// The caller's certificates, or anyone's for an administrator.
pub fn list(
    ctx: &Context,
    token: &VerifiedToken,
    query: CertificateListQuery,
) -> Result<Page<Certificate>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let mut filter = CertificateFilter {
        status: query.status,
        expires_before: query
            .expires_within_days
            .map(|days| ctx.clock.now_naive() + Duration::days(i64::from(days))),
        ..CertificateFilter::default()
    };
    match (me.is_admin(), query.owner) {
        (true, owner) => filter.owner_username = owner,
        (false, Some(owner)) if owner != me.username => {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                "only administrators may list other users' certificates",
            ));
        }
        (false, _) => filter.owner_id = Some(me.id),
    }
    list_page(ctx, &mut conn, &filter, query.page)
}

pub(super) fn list_page(
    ctx: &Context,
    conn: &mut DbConnection,
    filter: &CertificateFilter,
    page: PageRequest,
) -> Result<Page<Certificate>, AppError> {
    let now = ctx.clock.now_naive();
    let (rows, total) = cert_db::list(conn, filter, now, page.offset(), page.limit())?;
    let items = rows
        .into_iter()
        .map(|row| to_certificate(row, now))
        .collect();
    Ok(Page::new(items, page, total))
}

/// One page of the user's certificates, `total` being the per-user counter (read with the
/// session check).
pub(super) fn owned_page(
    ctx: &Context,
    conn: &mut DbConnection,
    owner_id: i64,
    page: PageRequest,
    total: i64,
) -> Result<Page<Certificate>, AppError> {
    let now = ctx.clock.now_naive();
    let filter = CertificateFilter {
        owner_id: Some(owner_id),
        ..CertificateFilter::default()
    };
    if page.offset() >= total {
        return Ok(Page::new(Vec::new(), page, total));
    }
    let items = cert_db::page(conn, &filter, now, page.offset(), page.limit())?
        .into_iter()
        .map(|row| to_certificate(row, now))
        .collect();
    Ok(Page::new(items, page, total))
}

/// One certificate: the caller's own, or anyone's for an administrator; otherwise not found.
pub fn show(ctx: &Context, token: &VerifiedToken, id: i64) -> Result<Certificate, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let found = require_certificate(&mut conn, id, (!me.is_admin()).then_some(me.id))?;
    Ok(to_certificate(found, ctx.clock.now_naive()))
}

/// A certificate's bytes in the asked encoding.
pub fn download(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
    encoding: Encoding,
) -> Result<Vec<u8>, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let row = require_certificate(&mut conn, id, (!me.is_admin()).then_some(me.id))?.certificate;
    match encoding {
        Encoding::Der => {
            let parsed =
                pem::parse(&row.pem).map_err(|e| AppError::Internal(format!("stored PEM: {e}")))?;
            Ok(parsed.into_contents())
        }
        Encoding::Pem if row.source == CertificateSource::Issued => {
            Ok(format!("{}{}", ensure_newline(&row.pem), ctx.ca.cert_pem()).into_bytes())
        }
        Encoding::Pem => Ok(ensure_newline(&row.pem).into_bytes()),
    }
}

fn ensure_newline(pem: &str) -> String {
    if pem.ends_with('\n') {
        pem.to_owned()
    } else {
        format!("{pem}\n")
    }
}

/// Registers a certificate the caller already holds, so it shows on their dashboard.
pub fn import(
    ctx: &Context,
    token: &VerifiedToken,
    pem_text: &str,
) -> Result<Certificate, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let info = pki::parse_certificate_pem(pem_text)?;
    if info.issuer == ctx.ca.subject() {
        // What this CA issued is registered as it is issued; anything else under its name is
        // a forgery (an import's signature is not checked), and would show beside the real
        // certificate with its serial.
        return Err(AppError::validation(
            "pem",
            "names this CA as its issuer: the certificates it issues are registered when they \
             are issued, and no other may claim its name",
        ));
    }
    let now = ctx.clock.now_naive();
    let names = serde_json::to_string(&info.subject_alt_names)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let id = cert_db::insert(
        &mut conn,
        &NewCertificateRow {
            owner_id: me.id,
            request_id: None,
            source: CertificateSource::Imported,
            serial_number: &info.serial_hex,
            common_name: info.common_name.as_deref(),
            subject_alt_names: &names,
            issuer: &info.issuer,
            pem: &info.pem,
            fingerprint_sha256: &info.fingerprint_sha256,
            public_key_fingerprint: &info.public_key_fingerprint,
            created_at: now,
            valid_from: info.not_before.naive_utc(),
            valid_until: info.not_after.naive_utc(),
            requester_email: None,
            uploaded_by: Some(&me.username),
        },
    )
    .map_err(|e| match db::unique_violation(&e) {
        Some(_) => AppError::new(
            ErrorCode::CertificateExists,
            "you have already registered this certificate",
        ),
        None => e.into(),
    })?;
    Ok(to_certificate(
        require_certificate(&mut conn, id, None)?,
        now,
    ))
}

/// Revokes a certificate: its owner or an administrator. A second revocation is 409.
pub fn revoke(
    ctx: &Context,
    token: &VerifiedToken,
    id: i64,
    reason: RevocationReason,
) -> Result<Certificate, AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    let owner_scope = (!me.is_admin()).then_some(me.id);
    let now = ctx.clock.now_naive();
    db::write_transaction(&mut conn, |conn| {
        let row = require_certificate(conn, id, owner_scope)?.certificate;
        let compromised =
            reason == RevocationReason::KeyCompromise && row.source == CertificateSource::Issued;
        if compromised {
            cert_db::lock_key(conn, &row.public_key_fingerprint)?;
        }
        let revoked = cert_db::revoke(conn, id, owner_scope, reason, now)?
            || (compromised && cert_db::raise_to_key_compromise(conn, id)?);
        if !revoked {
            return Err(AppError::new(
                ErrorCode::AlreadyRevoked,
                "the certificate is already revoked",
            ));
        }
        if let Some(request_id) = row.request_id {
            let detail = format!("certificate {id}: {}", reason.as_str());
            let kind = EventKind::Revoked;
            req_db::record_event(conn, request_id, Some(me.id), kind, Some(&detail), now)?;
        }
        if compromised {
            revoke_others_for_key(conn, &row, me.id, now)?;
            reject_requests_for_key(conn, &row.public_key_fingerprint, id, now)?;
        }
        Ok::<_, AppError>(())
    })?;
    tracing::info!(certificate.id = id, user.name = %me.username, reason = reason.as_str(), "certificate revoked");
    Ok(to_certificate(
        require_certificate(&mut conn, id, None)?,
        now,
    ))
}

/// A compromised key is compromised in every certificate that holds it: the others this CA
/// issued to the same owner for it are revoked with it, each with an event on its request.
/// (Another user's certificate for the key would mean they hold it too; the key is refused
/// for new certificates from now on either way.)
fn revoke_others_for_key(
    conn: &mut DbConnection,
    revoked: &CertificateRow,
    actor_id: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let certificate_id = revoked.id;
    let fingerprint = &revoked.public_key_fingerprint;
    for (other, request_id) in
        cert_db::revoke_issued_for_key(conn, revoked.owner_id, fingerprint, now)?
    {
        tracing::info!(
            certificate.id = other,
            "certificate revoked with its compromised key"
        );
        if let Some(request_id) = request_id {
            let detail =
                format!("certificate {other}: key_compromise, with certificate {certificate_id}");
            let kind = EventKind::Revoked;
            req_db::record_event(conn, request_id, Some(actor_id), kind, Some(&detail), now)?;
        }
    }
    Ok(())
}

/// A compromised key is never certified again: requests still waiting for it are rejected.
fn reject_requests_for_key(
    conn: &mut DbConnection,
    fingerprint: &str,
    certificate_id: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let reason = format!("Key compromised: certificate {certificate_id} was revoked");
    for request_id in req_db::reject_pending_for_key(conn, fingerprint, &reason, now)? {
        req_db::record_event(
            conn,
            request_id,
            None,
            EventKind::Rejected,
            Some(&reason),
            now,
        )?;
    }
    Ok(())
}

/// The CA certificate in PEM.
pub fn ca_certificate(ctx: &Context) -> String {
    ctx.ca.cert_pem()
}

/// A current CRL in DER, signed by the CA, listing every revoked certificate it issued.
pub fn crl(ctx: &Context) -> Result<Crl, AppError> {
    let revoked = cert_db::revoked_issued(&mut *ctx.conn()?)?;
    let entries: Vec<RevokedEntry> = revoked
        .into_iter()
        .map(|row| RevokedEntry {
            serial_hex: row.serial_number,
            revoked_at: utc(row.revoked_at),
            reason: row.reason.unwrap_or(RevocationReason::Unspecified),
        })
        .collect();
    let (this_update, number) = pki::crl_issue(&entries, ctx.clock.now());
    let der = ctx.ca.crl_der(&entries, this_update, number)?;
    Ok(Crl { number, der })
}

/// A signed CRL and its number, which changes exactly when what it lists (or the day) does.
#[derive(Debug, Clone)]
pub struct Crl {
    pub number: u64,
    pub der: Vec<u8>,
}

fn require_certificate(
    conn: &mut DbConnection,
    id: i64,
    owner_id: Option<i64>,
) -> Result<CertificateWithOwner, AppError> {
    cert_db::find(conn, id, owner_id)?
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, format!("no certificate {id}")))
}

fn status_of(
    revoked_at: Option<NaiveDateTime>,
    valid_until: NaiveDateTime,
    now: NaiveDateTime,
) -> CertificateStatus {
    if revoked_at.is_some() {
        CertificateStatus::Revoked
    } else if valid_until <= now {
        CertificateStatus::Expired
    } else {
        CertificateStatus::Active
    }
}

/// A certificate as clients see it, from a list's summary row or, converted, from a full one.
pub(super) fn to_certificate(
    found: impl Into<CertificateSummaryWithOwner>,
    now: NaiveDateTime,
) -> Certificate {
    let CertificateSummaryWithOwner {
        certificate: row,
        owner,
    } = found.into();
    Certificate {
        id: row.id,
        status: status_of(row.revoked_at, row.valid_until, now),
        subject_alt_names: serde_json::from_str(&row.subject_alt_names).unwrap_or_default(),
        serial_number: row.serial_number,
        common_name: row.common_name,
        issuer: row.issuer,
        owner,
        created_at: utc(row.created_at),
        valid_from: utc(row.valid_from),
        valid_until: utc(row.valid_until),
        revoked_at: row.revoked_at.map(utc),
        revocation_reason: row.revocation_reason.map(|r| r.as_str().to_owned()),
        fingerprint_sha256: row.fingerprint_sha256,
        request_id: row.request_id,
        metadata: CertificateMetadata {
            requester_email: row.requester_email,
            uploaded_by: row.uploaded_by,
        },
    }
}

pub(super) fn to_recent_certificate(row: CertificateRow, now: NaiveDateTime) -> RecentCertificate {
    RecentCertificate {
        id: row.id,
        status: status_of(row.revoked_at, row.valid_until, now),
        common_name: row.common_name,
        created_at: utc(row.created_at),
        valid_until: utc(row.valid_until),
    }
}
