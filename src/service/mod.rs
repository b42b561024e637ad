//! The rules of the service, as plain functions over a [`Context`]. Nothing here knows of HTTP:
//! each function takes validated input, checks who may do what, and calls `db` for the queries.

pub mod auth;
pub mod bootstrap;
pub mod bulk_actions;
pub mod certificates;
mod known_tokens;
mod lockout;
pub mod passwords;
pub mod requests;
pub mod safes;
pub mod secrets;
pub mod users;

use crate::clock::Clock;
use crate::db::{DbPool, PooledDb};
use crate::error::AppError;
use crate::pki::CertificateAuthority;

use self::auth::TokenService;
use self::passwords::PasswordHasher;

/// What every service call may need: the pool, the clock and the credential machinery.
pub struct Context {
    pub pool: DbPool,
    pub clock: Clock,
    pub tokens: TokenService,
    pub passwords: PasswordHasher,
    /// The certificate authority, with its policy.
    pub ca: CertificateAuthority,
    pub requests: RequestSettings,
    /// The master keys that seal account secrets (see `crate::secrets`).
    pub secrets: crate::secrets::KeyRing,
}

/// How requests are decided.
#[derive(Debug, Clone, Copy)]
pub struct RequestSettings {
    /// How long a pending request waits before it expires.
    pub ttl: chrono::Duration,
    /// Confirmations a certificate request needs.
    pub certificate_confirmations: i32,
}

impl Context {
    /// A connection from the pool; an unreachable or saturated database is a 503.
    pub fn conn(&self) -> Result<PooledDb, AppError> {
        Ok(self.pool.get()?)
    }
}
