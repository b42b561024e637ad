//! What differs per kind of request, behind one enum with one `match` per hook: submitting, who
//! may review, in which capacity one decides, what approval does, and the kind's part of the
//! detail. The rest of the engine never asks which kind a request is. Uses `certificate` and
//! `access`, and the leaf modules.

use chrono::NaiveDateTime;

use super::access::{self, AccessData, AccessInput, Capacity};
use super::certificate;
pub(super) use super::certificate::Presigned;
use crate::db::DbConnection;
use crate::db::requests::{DecisionRow, RequestRow};
use crate::domain::access::AccessDetails;
use crate::domain::request::RequestType;
use crate::error::{AppError, ErrorCode};
use crate::service::Context;
use crate::service::auth::CurrentUser;

/// A new request, as received.
#[derive(Debug, Clone)]
pub enum NewRequest {
    Certificate {
        csr: String,
        reason: String,
        validity_days: Option<u32>,
    },
    Access(AccessInput),
}

/// The kind of a stored request, read once from its `request_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Certificate,
    /// An access request names the safe whose confirmers decide it.
    Access {
        safe_id: i64,
    },
}

impl Kind {
    pub(super) fn of(request: &RequestRow) -> Result<Self, AppError> {
        match (request.request_type, request.safe_id) {
            (RequestType::Certificate, _) => Ok(Kind::Certificate),
            (RequestType::Access, Some(safe_id)) => Ok(Kind::Access { safe_id }),
            (RequestType::Access, None) => Err(AppError::Internal(format!(
                "access request {} names no safe",
                request.id
            ))),
        }
    }

    /// Validates a new request and stores it, pending. Returns its id.
    pub(super) fn submit(
        ctx: &Context,
        conn: &mut DbConnection,
        me: &CurrentUser,
        request: NewRequest,
    ) -> Result<i64, AppError> {
        match request {
            NewRequest::Certificate {
                csr,
                reason,
                validity_days,
            } => certificate::submit(ctx, conn, me, &csr, &reason, validity_days),
            NewRequest::Access(input) => access::submit(ctx, conn, me, input),
        }
    }

    /// Whether `me` reviews requests of this kind: approvers and administrators review
    /// certificate requests; administrators and the safe's confirmers review access requests.
    pub(super) fn may_review(
        self,
        conn: &mut DbConnection,
        me: &CurrentUser,
    ) -> Result<bool, AppError> {
        match self {
            Kind::Certificate => Ok(me.is_approver()),
            Kind::Access { safe_id } => {
                Ok(me.is_admin() || access::confirms_in_safe(conn, safe_id, me)?)
            }
        }
    }

    /// In which capacity `me` may decide `request` at its current level.
    pub(super) fn capacity(
        self,
        conn: &mut DbConnection,
        request: &RequestRow,
        me: &CurrentUser,
    ) -> Result<Capacity, AppError> {
        match self {
            Kind::Certificate if me.is_approver() => Ok(Capacity::User),
            Kind::Certificate => Err(AppError::new(
                ErrorCode::Forbidden,
                "only approvers and administrators decide certificate requests",
            )),
            Kind::Access { .. } => access::capacity(conn, request, me),
        }
    }

    /// Inside a decision's transaction, before it locks anything: a certificate request's key,
    /// so that an approval issuing for it and its revocation for compromise run one after the
    /// other (`certificates::lock_key`).
    pub(super) fn lock_for_decision(
        self,
        conn: &mut DbConnection,
        request: &RequestRow,
    ) -> Result<(), AppError> {
        match (self, request.public_key_fingerprint.as_deref()) {
            (Kind::Certificate, Some(key)) => Ok(crate::db::certificates::lock_key(conn, key)?),
            _ => Ok(()),
        }
    }

    /// Whether `me` decides requests of this kind in a way [`Kind::presign`] may prepare for
    /// without reading anything: an approver, for a certificate request. Access requests have
    /// nothing to prepare.
    pub(super) fn may_presign_for(self, me: &CurrentUser) -> bool {
        match self {
            Kind::Certificate => me.is_approver(),
            Kind::Access { .. } => false,
        }
    }

    /// The slow part of approval, done before the write transaction when a confirmation is
    /// expected to approve: a certificate request's certificate is signed (kept only if the
    /// transaction approves); an access request has nothing to prepare.
    pub(super) fn presign(
        self,
        ctx: &Context,
        request: &RequestRow,
        now: NaiveDateTime,
    ) -> Option<Presigned> {
        match self {
            Kind::Certificate => certificate::presign(ctx, request, now),
            Kind::Access { .. } => None,
        }
    }

    /// What approval does besides the status: a certificate request's certificate is signed
    /// and stored (its id returned); an access request needs nothing more.
    /// `presigned` is what [`Kind::presign`] prepared before the transaction, if anything.
    pub(super) fn on_approval(
        self,
        ctx: &Context,
        conn: &mut DbConnection,
        request: &RequestRow,
        now: NaiveDateTime,
        presigned: Option<Presigned>,
    ) -> Result<Option<i64>, AppError> {
        match self {
            Kind::Certificate => certificate::issue(ctx, conn, request, now, presigned).map(Some),
            Kind::Access { .. } => Ok(None),
        }
    }

    /// The kind's own part of a request's detail: the access part (account, window, confirmers)
    /// for an access request, nothing more for a certificate request (its CSR is in every
    /// detail).
    pub(super) fn detail(
        self,
        access: &AccessData,
        request: &RequestRow,
        decisions: &[DecisionRow],
        still_pending: bool,
    ) -> Result<Option<AccessDetails>, AppError> {
        match self {
            Kind::Certificate => Ok(None),
            Kind::Access { .. } => access.details(request, decisions, still_pending).map(Some),
        }
    }
}
