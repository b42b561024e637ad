//! Access tokens, sessions and log-in. A token is an HS256 JWT naming its session; every request
//! checks the session row and the user's status, so log-out, suspension, deletion and password
//! changes take effect at once on every instance sharing the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::Context;
use super::known_tokens::{KnownToken, KnownTokens};
use super::lockout::{Attempted, record_failure, refuse_if_locked};
use crate::db::sessions::{OwnedTotals, SessionUserRow};
use crate::db::users::UserRow;
use crate::db::{self, PooledDb, login_attempts, sessions};
use crate::domain::user::{Role, User, UserStatus, Username};
use crate::error::{AppError, ErrorCode};

const ISSUER: &str = "requestdesk";
const AUDIENCE: &str = "requestdesk-api";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// A token whose signature, algorithm, issuer, audience, expiry and `nbf` (when present) have
/// been checked. It can only be made by [`TokenService::verify`]; the session behind it is
/// checked by [`Context::authenticate`].
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    username: String,
    session_id: String,
    /// Set once [`Context::authenticate`] has found the session live; shared by the clones of
    /// one verification, so the HTTP layer learns whether the request's service call checked it.
    found_live: Arc<AtomicBool>,
}

impl VerifiedToken {
    /// Whether a service call has found this token's session live (during this request: a token
    /// is verified afresh for each one).
    pub fn found_live(&self) -> bool {
        self.found_live.load(Ordering::Acquire)
    }
}

/// Issues and verifies access tokens with one secret.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    known: KnownTokens,
}

impl TokenService {
    pub fn new(secret: &[u8], ttl: std::time::Duration) -> Result<Self, AppError> {
        let ttl = Duration::from_std(ttl).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // `exp` is required, and checked by `verify_at` against the clock it is given, for a
        // token decoded now and one known from before alike.
        validation.validate_exp = false;
        // The service issues no `nbf`; a token that carries one is not used before it.
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["sub", "iat", "exp", "iss", "aud"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
            known: KnownTokens::default(),
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed token for a session, and when it expires.
    pub fn issue(
        &self,
        username: &str,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), AppError> {
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: username.to_owned(),
            sid: session_id.to_owned(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("jwt: {e}")))?;
        Ok((token, expires_at))
    }

    pub fn verify(&self, token: &str) -> Result<VerifiedToken, AppError> {
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        self.verify_at(token, now)
    }

    /// [`verify`](Self::verify) at `now` (seconds since the epoch, the clock jsonwebtoken
    /// reads). A token verified before is taken from [`KnownTokens`] while it has not expired.
    fn verify_at(&self, token: &str, now: i64) -> Result<VerifiedToken, AppError> {
        let known = match self.known.get(token, now) {
            Some(known) => known,
            None => {
                let known = self.decode(token)?;
                if !known.is_live_at(now) {
                    return Err(invalid_token());
                }
                self.known.insert(token, known.clone(), now);
                known
            }
        };
        Ok(VerifiedToken {
            username: known.username,
            session_id: known.session_id,
            found_live: Arc::new(AtomicBool::new(false)),
        })
    }

    fn decode(&self, token: &str) -> Result<KnownToken, AppError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid_token())?
            .claims;
        Ok(KnownToken {
            username: claims.sub,
            session_id: claims.sid,
            expires_at: claims.exp,
        })
    }
}

fn invalid_token() -> AppError {
    AppError::new(
        ErrorCode::Unauthorized,
        "the access token is invalid or has expired",
    )
}

/// The user behind a live session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub session_id: String,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether this user may decide other users' requests.
    pub fn is_approver(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Approver)
    }
}

impl Context {
    /// A connection and the user behind `token`, or 401 when the session is gone, expired, or its
    /// user is no longer active. Every protected service call starts here.
    pub fn authenticate(&self, token: &VerifiedToken) -> Result<(PooledDb, CurrentUser), AppError> {
        let mut conn = self.conn()?;
        let row = sessions::find_live_user(
            &mut conn,
            &token.session_id,
            &token.username,
            self.clock.now_naive(),
        )?;
        Ok((conn, session_user(token, row)?))
    }

    /// [`authenticate`](Self::authenticate), reading the user's counted totals in the same
    /// statement as the session check (the dashboard's first round trip).
    pub fn authenticate_with_totals(
        &self,
        token: &VerifiedToken,
    ) -> Result<(PooledDb, CurrentUser, OwnedTotals), AppError> {
        let mut conn = self.conn()?;
        let (row, totals) = sessions::find_live_user_with_totals(
            &mut conn,
            &token.session_id,
            &token.username,
            self.clock.now_naive(),
        )?
        .unzip();
        let user = session_user(token, row)?;
        Ok((conn, user, totals.unwrap_or_default()))
    }
}

/// The user a session check found, or 401 when it found none.
fn session_user(
    token: &VerifiedToken,
    row: Option<SessionUserRow>,
) -> Result<CurrentUser, AppError> {
    let row = row.ok_or(AppError::new(
        ErrorCode::Unauthorized,
        "the session has ended: log in again",
    ))?;
    token.found_live.store(true, Ordering::Release);
    Ok(CurrentUser {
        id: row.id,
        role: row.role,
        username: row.username,
        email: row.email,
        session_id: token.session_id.clone(),
    })
}

/// A successful log-in. No `Debug`: it holds the token.
pub struct LoginOutcome {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Checks a username and password and opens a session. Unknown users and wrong passwords get the
/// same answer after the same work; five consecutive failures lock the username for 15 minutes.
/// The password is verified while no database connection is held.
pub fn log_in(ctx: &Context, username: &str, password: &str) -> Result<LoginOutcome, AppError> {
    let username = username.trim().to_lowercase();
    if Username::parse(&username).is_err() {
        // No user can have this name, so it is neither looked up nor counted for lock-out
        // (PostgreSQL's index refuses a key of more than 2,704 bytes): the same answer after
        // the same hashing as an unknown user.
        ctx.passwords.verify(password, None);
        return Err(invalid_credentials());
    }
    let candidate = {
        let mut conn = ctx.conn()?;
        refuse_if_locked(ctx, &mut conn, &username)?;
        db::users::find_existing(&mut conn, &username)?
    };
    let matches = ctx.passwords.verify(
        password,
        candidate.as_ref().map(|user| user.password_hash.as_str()),
    );
    let mut conn = ctx.conn()?;
    match candidate {
        Some(user) if matches => open_session(ctx, &mut conn, user),
        Some(_) => {
            record_failure(ctx, &mut conn, &username, Attempted::KnownUser)?;
            Err(invalid_credentials())
        }
        None => {
            record_failure(ctx, &mut conn, &username, Attempted::UnknownName)?;
            Err(invalid_credentials())
        }
    }
}

fn invalid_credentials() -> AppError {
    AppError::new(
        ErrorCode::InvalidCredentials,
        "the username or password is incorrect",
    )
}

fn open_session(
    ctx: &Context,
    conn: &mut PooledDb,
    user: UserRow,
) -> Result<LoginOutcome, AppError> {
    if user.status != UserStatus::Active {
        return Err(AppError::new(
            ErrorCode::UserSuspended,
            "this account is suspended".to_owned(),
        ));
    }
    let now = ctx.clock.now();
    let session_id = uuid::Uuid::new_v4().to_string();
    let (token, expires_at) = ctx.tokens.issue(&user.username, &session_id, now)?;
    db::write_transaction(conn, |conn| {
        // The password was checked against the row read before hashing; a password change or a
        // suspension since then ends every session, so this one is not opened.
        if !db::users::lock_if_unchanged(conn, user.id, &user.password_hash)? {
            return Err(invalid_credentials());
        }
        login_attempts::clear(conn, &user.username)?;
        sessions::delete_expired_for_user(conn, user.id, now.naive_utc())?;
        sessions::insert(
            conn,
            &sessions::NewSession {
                id: &session_id,
                user_id: user.id,
                created_at: now.naive_utc(),
                expires_at: expires_at.naive_utc(),
            },
        )?;
        Ok::<_, AppError>(())
    })?;
    tracing::info!(user.name = %user.username, "logged in");
    Ok(LoginOutcome {
        token,
        expires_at,
        user: User::from(user),
    })
}

/// 401 unless the session behind `token` is live: one query, the one [`Context::authenticate`]
/// makes. For a request refused before its service call (a body, query or path that does not
/// parse), so that a caller without a live session learns nothing about what it sent.
pub fn require_live_session(ctx: &Context, token: &VerifiedToken) -> Result<(), AppError> {
    ctx.authenticate(token).map(|_| ())
}

/// Ends the caller's session: the same token is refused from then on.
pub fn log_out(ctx: &Context, token: &VerifiedToken) -> Result<(), AppError> {
    let (mut conn, me) = ctx.authenticate(token)?;
    sessions::delete(&mut conn, &me.session_id)?;
    tracing::info!(user.name = %me.username, "logged out");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a-test-secret-that-is-long-enough-for-hs256";

    fn service() -> TokenService {
        TokenService::new(SECRET, std::time::Duration::from_secs(3600)).expect("token service")
    }

    #[test]
    fn a_token_verified_once_is_known_until_it_expires() {
        let tokens = service();
        let issued_at = Utc::now();
        let (token, expires_at) = tokens.issue("alice", "s1", issued_at).expect("issue");
        let (now, exp) = (issued_at.timestamp(), expires_at.timestamp());
        let verified = tokens.verify_at(&token, now).expect("fresh token");
        assert_eq!(
            (verified.username.as_str(), verified.session_id.as_str()),
            ("alice", "s1")
        );
        assert_eq!(tokens.known.len(), 1);
        assert!(
            tokens.verify_at(&token, exp).is_ok(),
            "valid through its last second"
        );
        assert_eq!(tokens.known.len(), 1, "found, not verified and added again");
        assert!(
            tokens.verify_at(&token, exp + 1).is_err(),
            "expired, though known"
        );
    }

    #[test]
    fn a_known_token_changed_by_one_byte_is_verified_in_full_and_refused() {
        let tokens = service();
        let now = Utc::now();
        let (token, _) = tokens.issue("alice", "s1", now).expect("issue");
        tokens.verify_at(&token, now.timestamp()).expect("genuine");
        let signature_at = token.rfind('.').expect("a token has a signature") + 1;
        let mut forged = token.clone().into_bytes();
        forged[signature_at] = if forged[signature_at] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let forged = String::from_utf8(forged).expect("ASCII");
        assert!(tokens.verify_at(&forged, now.timestamp()).is_err());
        assert!(
            tokens
                .verify_at(&format!("{token}x"), now.timestamp())
                .is_err()
        );
        assert_eq!(tokens.known.len(), 1, "refused tokens are not remembered");
    }

    #[test]
    fn an_expired_or_foreign_token_is_refused_and_not_remembered() {
        let tokens = service();
        let now = Utc::now();
        let (stale, _) = tokens
            .issue("alice", "s1", now - Duration::hours(2))
            .expect("issue");
        assert!(tokens.verify_at(&stale, now.timestamp()).is_err());
        let other = TokenService::new(
            b"another-secret-that-is-long-enough!!",
            std::time::Duration::from_secs(3600),
        )
        .expect("token service");
        let (foreign, _) = other.issue("alice", "s1", now).expect("issue");
        assert!(tokens.verify_at(&foreign, now.timestamp()).is_err());
        assert!(tokens.known.is_empty());
    }
}
