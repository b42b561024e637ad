//! Certificate requests: checking a CSR against the CA's policy at submission, and issuing the
//! certificate when the request is approved. Uses only the engine's leaf modules; the engine
//! reaches it through `kind`.

use chrono::NaiveDateTime;

use super::events::record_event;
use super::reason::parse_reason;
use crate::db::certificates::{self as cert_db, NewCertificateRow};
use crate::db::requests::{self as req_db, NewCertificateColumns, NewRequestRow, RequestRow};
use crate::db::{self, DbConnection};
use crate::domain::FieldError;
use crate::domain::certificate::CertificateSource;
use crate::domain::request::{EventKind, RequestStatus, RequestType};
use crate::domain::time::utc;
use crate::error::{AppError, ErrorCode};
use crate::pki::{self, IssuedCertificate, ParsedCsr};
use crate::service::Context;
use crate::service::auth::CurrentUser;

/// Validates a certificate request and stores it, pending. Returns its id.
pub(super) fn submit(
    ctx: &Context,
    conn: &mut DbConnection,
    me: &CurrentUser,
    csr: &str,
    reason: &str,
    validity_days: Option<u32>,
) -> Result<i64, AppError> {
    let policy = ctx.ca.policy();
    let reason = parse_reason(reason, 1);
    let validity = policy.resolve_validity(validity_days);
    let parsed = pki::parse_csr(csr, policy);
    let (reason, validity, parsed) = match (reason, validity, parsed) {
        (Ok(r), Ok(v), Ok(p)) => (r, v, p),
        (r, v, p) => {
            let errors = [
                r.err(),
                v.err().map(to_field_error),
                p.err().map(to_field_error),
            ];
            return Err(AppError::Validation(errors.into_iter().flatten().collect()));
        }
    };
    let now = ctx.clock.now_naive();
    let names = serde_json::to_string(&parsed.subject_alt_names)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    db::write_transaction(conn, |conn| {
        cert_db::lock_key(conn, &parsed.public_key_fingerprint)?;
        if cert_db::key_compromised(conn, &parsed.public_key_fingerprint)? {
            return Err(AppError::validation(
                "csr.public_key",
                "this key was revoked for key compromise and is refused from now on",
            ));
        }
        req_db::expire_stale_for_key(conn, &parsed.public_key_fingerprint, now)?;
        if req_db::pending_exists_for_key(conn, &parsed.public_key_fingerprint, now)? {
            return Err(duplicate_key());
        }
        let id = req_db::insert(
            conn,
            &NewRequestRow {
                request_type: RequestType::Certificate,
                status: RequestStatus::Pending,
                requester_id: me.id,
                reason: &reason,
                created_at: now,
                updated_at: now,
                expires_at: now + ctx.requests.ttl,
                confirmations_required: ctx.requests.certificate_confirmations,
                requester_email: &me.email,
                certificate: NewCertificateColumns {
                    csr_pem: Some(&parsed.csr_pem),
                    common_name: parsed.common_name.as_deref(),
                    subject_alt_names: Some(&names),
                    key_algorithm: Some(&parsed.key_algorithm),
                    public_key_fingerprint: Some(&parsed.public_key_fingerprint),
                    validity_days: i32::try_from(validity).ok(),
                },
                access: Default::default(),
            },
        )
        .map_err(|e| {
            if db::unique_violation(&e).is_some() {
                duplicate_key()
            } else {
                e.into()
            }
        })?;
        record_event(conn, id, Some(me.id), EventKind::Submitted, None, now)?;
        tracing::info!(request.id = id, user.name = %me.username, "certificate request submitted");
        Ok(id)
    })
}

fn duplicate_key() -> AppError {
    AppError::new(
        ErrorCode::DuplicatePendingRequest,
        "a pending request for the same public key already exists",
    )
}

fn to_field_error(error: pki::ValidationError) -> FieldError {
    FieldError::new(error.field, error.message)
}

/// A certificate signed ahead of the write transaction, for a request that the confirmation
/// about to be recorded is expected to approve. Signing is the slow part of issuing; done before
/// the transaction, it runs beside other confirmations instead of under SQLite's single write
/// lock. It is only a candidate: [`issue`] stores it if, and only if, the transaction approves
/// that request; otherwise it is dropped, never stored nor shown.
pub(super) struct Presigned {
    request_id: i64,
    public_key_fingerprint: String,
    issued: IssuedCertificate,
}

/// Signs, outside any transaction, the certificate `request` would get if approved at `now`.
/// `None` when it cannot be signed: the transaction then signs it itself and reports why not,
/// at the point and with the error it always has.
pub(super) fn presign(
    ctx: &Context,
    request: &RequestRow,
    now: NaiveDateTime,
) -> Option<Presigned> {
    let (parsed, days) = checked_csr(ctx, request).ok()?;
    let issued = ctx.ca.issue(&parsed, days, utc(now)).ok()?;
    Some(Presigned {
        request_id: request.id,
        public_key_fingerprint: parsed.public_key_fingerprint,
        issued,
    })
}

/// The request's CSR, checked again against the CA's policy (its signature was verified when
/// it was submitted), and the validity to issue for.
fn checked_csr(ctx: &Context, request: &RequestRow) -> Result<(ParsedCsr, u32), AppError> {
    let csr_pem = request
        .csr_pem
        .as_deref()
        .ok_or_else(|| AppError::Internal(format!("request {} has no CSR", request.id)))?;
    let parsed: ParsedCsr = pki::recheck_accepted_csr(csr_pem, ctx.ca.policy()).map_err(|e| {
        AppError::new(
            ErrorCode::PolicyRefuses,
            format!("the CA policy no longer accepts this request: {e}"),
        )
    })?;
    let days = request
        .validity_days
        .and_then(|d| u32::try_from(d).ok())
        .unwrap_or(ctx.ca.policy().default_validity_days);
    Ok((parsed, days))
}

fn refuse_compromised(
    conn: &mut DbConnection,
    public_key_fingerprint: &str,
) -> Result<(), AppError> {
    if cert_db::key_compromised(conn, public_key_fingerprint)? {
        return Err(AppError::new(
            ErrorCode::KeyCompromised,
            "this key was revoked for key compromise",
        ));
    }
    Ok(())
}

/// Stores the certificate for an approved request: the one `presigned` for it, or one signed
/// now. Returns its id. The key's compromise is checked here, inside the approving transaction,
/// in both cases.
pub(super) fn issue(
    ctx: &Context,
    conn: &mut DbConnection,
    request: &RequestRow,
    now: NaiveDateTime,
    presigned: Option<Presigned>,
) -> Result<i64, AppError> {
    let issued = match presigned {
        Some(p) if p.request_id == request.id => {
            refuse_compromised(conn, &p.public_key_fingerprint)?;
            p.issued
        }
        _ => {
            let (parsed, days) = checked_csr(ctx, request)?;
            refuse_compromised(conn, &parsed.public_key_fingerprint)?;
            ctx.ca.issue(&parsed, days, utc(now))?
        }
    };
    let names = serde_json::to_string(&issued.subject_alt_names)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let id = cert_db::insert(
        conn,
        &NewCertificateRow {
            owner_id: request.requester_id,
            request_id: Some(request.id),
            source: CertificateSource::Issued,
            serial_number: &issued.serial_hex,
            common_name: issued.common_name.as_deref(),
            subject_alt_names: &names,
            issuer: &issued.issuer,
            pem: &issued.pem,
            fingerprint_sha256: &issued.fingerprint_sha256,
            public_key_fingerprint: &issued.public_key_fingerprint,
            created_at: now,
            valid_from: issued.not_before.naive_utc(),
            valid_until: issued.not_after.naive_utc(),
            requester_email: Some(&request.requester_email),
            uploaded_by: None,
        },
    )?;
    Ok(id)
}
