//! Users' validated values: usernames, e-mail addresses, passwords, display names, roles and statuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

/// 3 to 64 characters of `[a-z0-9._-]`, other than the reserved path words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Words that are paths under `/users/`, so never usernames.
    pub const RESERVED: [&str; 2] = ["roles", "sessions"];

    pub fn parse(value: &str) -> Result<Self, FieldError> {
        if Self::RESERVED.contains(&value) {
            return Err(FieldError::new(
                "username",
                format!("`{value}` is reserved"),
            ));
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if !(3..=64).contains(&value.len()) || !value.chars().all(allowed) {
            return Err(FieldError::new(
                "username",
                "must be 3 to 64 characters of lowercase letters, digits, '.', '_' or '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A syntactically valid e-mail address, stored lowercased so uniqueness ignores case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let value = value.trim();
        let valid = value.len() <= 254
            && email_address::EmailAddress::parse_with_options(
                value,
                email_address::Options::default().without_display_text(),
            )
            .is_ok_and(|address| address.domain().contains('.'));
        if !valid {
            return Err(FieldError::new("email", "must be a valid e-mail address"));
        }
        Ok(Self(value.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1 to 128 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 128 || value.chars().any(char::is_control) {
            return Err(FieldError::new(
                "name",
                "must be 1 to 128 printable characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8 to 72 bytes. bcrypt ignores everything past 72 bytes, so longer ones are
/// refused rather than silently truncated.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_BYTES: usize = 8;
    pub const MAX_BYTES: usize = 72;

    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        if !(Self::MIN_BYTES..=Self::MAX_BYTES).contains(&value.len()) {
            return Err(FieldError::new(
                field,
                format!(
                    "must be {} to {} bytes long",
                    Self::MIN_BYTES,
                    Self::MAX_BYTES
                ),
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What a user may do. `developer` and `customer` are self-service roles anyone may sign up with.
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Approver,
    Developer,
    Customer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Approver, Role::Developer, Role::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Approver => "approver",
            Role::Developer => "developer",
            Role::Customer => "customer",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::Admin => "Administrator: manages users, roles and every request",
            Role::Approver => "Approver: confirms or rejects other users' requests",
            Role::Developer => {
                "Developer role: requests certificates and access for their own work"
            }
            Role::Customer => "Customer role: requests certificates for the services they consume",
        }
    }

    /// Whether an anonymous caller may sign up with this role.
    pub fn is_self_service(self) -> bool {
        matches!(self, Role::Developer | Role::Customer)
    }

    /// Whether the role, as a safe's group, may confirm requests: not one anyone can sign up
    /// for, or a requester could confirm their own request from a second account they made.
    pub fn may_confirm_as_group(self) -> bool {
        !self.is_self_service()
    }
}

impl FromStr for Role {
    type Err = FieldError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| {
                FieldError::new(
                    "role",
                    "must be one of admin, approver, developer, customer",
                )
            })
    }
}

/// Whether a user may log in. Deleted users are kept for the records but are never shown.
#[derive(diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Suspended,
    Deleted,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Deleted => "deleted",
        }
    }
}

impl FromStr for UserStatus {
    type Err = FieldError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "active" => Ok(UserStatus::Active),
            "suspended" => Ok(UserStatus::Suspended),
            "deleted" => Ok(UserStatus::Deleted),
            _ => Err(FieldError::new(
                "status",
                "must be one of active, suspended",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_character_and_length_rules() {
        for ok in ["abc", "john.doe_2-x", &"a".repeat(64)] {
            assert!(Username::parse(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "ab",
            "John",
            "bad name",
            "é-user",
            &"a".repeat(65),
            "",
            "roles",
            "sessions",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn emails_are_validated_and_lowercased() {
        assert_eq!(
            Email::parse("Me@Example.COM").map(|e| e.as_str().to_owned()),
            Ok("me@example.com".to_owned())
        );
        for bad in [
            "me",
            "me@",
            "@example.com",
            "me@localhost",
            "a b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn passwords_are_bounded_in_bytes_not_characters() {
        assert!(Password::parse("password", "1234567").is_err());
        assert!(Password::parse("password", "12345678").is_ok());
        assert!(Password::parse("password", &"é".repeat(36)).is_ok());
        assert!(Password::parse("password", &"é".repeat(37)).is_err());
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let password = Password::parse("password", "s3cret-value").expect("valid");
        assert!(!format!("{password:?}").contains("s3cret"));
    }
}

/// A role as clients see it: its name and what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct RoleInfo {
    pub role: Role,
    #[schema(example = "Developer role: requests certificates and access for their own work")]
    pub description: &'static str,
}

impl From<Role> for RoleInfo {
    fn from(role: Role) -> Self {
        Self {
            role,
            description: role.description(),
        }
    }
}

/// A user as every response shows them. There is deliberately no password field of any kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "username": "jdoe",
    "name": "Jane Doe",
    "email": "jane.doe@example.com",
    "role": {"role": "developer", "description": "Developer role: requests certificates and access for their own work"},
    "status": "active",
    "created_at": "2026-11-22T10:00:00Z",
    "updated_at": "2026-11-22T10:00:00Z"
}))]
pub struct User {
    pub username: String,
    pub name: String,
    pub email: String,
    pub role: RoleInfo,
    pub status: UserStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}
