//! What a safe's name, policy and accounts must be, each field at fault named; and a stored
//! safe as clients see it. Leaf module: it imports nothing else of `safes`.

use super::AccountInput;
use crate::db::safes::SafeRow;
use crate::domain::FieldError;
use crate::domain::access::Safe;
use crate::domain::time::utc;
use crate::error::AppError;

/// 1 to 28 characters of letters, digits, spaces, `.`, `_` and `-` (PVWA's limit), trimmed.
pub(super) fn parse_safe_name(value: &str) -> Result<String, FieldError> {
    let name = value.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || " ._-".contains(c);
    if name.is_empty() || name.chars().count() > 28 || !name.chars().all(allowed) {
        return Err(FieldError::new(
            "name",
            "must be 1 to 28 letters, digits, spaces, '.', '_' or '-'",
        ));
    }
    Ok(name.to_owned())
}

/// A safe's confirmation policy, as asked for: the given values over the current or default ones.
pub(super) struct PolicyInput<'a> {
    pub(super) level1: i32,
    pub(super) level2: i32,
    pub(super) expiry_hours: i32,
    pub(super) max_access_hours: i32,
    pub(super) description: &'a str,
}

/// A safe's confirmation policy, checked.
pub(super) struct Policy {
    pub(super) level1: i32,
    pub(super) level2: i32,
    pub(super) expiry_hours: i32,
    pub(super) max_access_hours: i32,
    pub(super) description: String,
}

impl Policy {
    pub(super) fn parse(input: PolicyInput<'_>) -> Result<Self, AppError> {
        let PolicyInput {
            level1,
            level2,
            expiry_hours,
            max_access_hours,
            description,
        } = input;
        let mut errors = Vec::new();
        if !(1..=10).contains(&level1) {
            errors.push(FieldError::new(
                "level1_confirmations",
                "must be between 1 and 10",
            ));
        }
        if !(0..=10).contains(&level2) {
            errors.push(FieldError::new(
                "level2_confirmations",
                "must be between 0 and 10",
            ));
        }
        if !(1..=8760).contains(&expiry_hours) {
            errors.push(FieldError::new(
                "request_expiry_hours",
                "must be between 1 and 8760",
            ));
        }
        if !(1..=8760).contains(&max_access_hours) {
            errors.push(FieldError::new(
                "max_access_hours",
                "must be between 1 and 8760",
            ));
        }
        if description.chars().count() > 500 {
            errors.push(FieldError::new(
                "description",
                "must be at most 500 characters",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Self {
            level1,
            level2,
            expiry_hours,
            max_access_hours,
            description: description.trim().to_owned(),
        })
    }
}

pub(super) struct ValidAccount {
    pub(super) name: String,
    pub(super) folder: String,
    pub(super) address: String,
    pub(super) user_name: String,
    pub(super) platform_id: String,
}

impl ValidAccount {
    pub(super) fn parse(input: AccountInput) -> Result<Self, AppError> {
        let mut errors = Vec::new();
        let mut text = |field: &str, value: &str, max: usize| {
            let value = value.trim();
            if value.is_empty()
                || value.chars().count() > max
                || value.chars().any(char::is_control)
            {
                errors.push(FieldError::new(
                    field,
                    format!("must be 1 to {max} printable characters"),
                ));
            }
            value.to_owned()
        };
        let name = text("name", &input.name, 128);
        let folder = text("folder", input.folder.as_deref().unwrap_or("Root"), 128);
        let user_name = text("user_name", &input.user_name, 128);
        let platform_id = input
            .platform_id
            .as_deref()
            .map_or(String::new(), |platform| text("platform_id", platform, 100));
        let address = input.address.trim().to_lowercase();
        if !is_host_or_ip(&address) {
            errors.push(FieldError::new(
                "address",
                "must be a host name or an IP address",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Self {
            name,
            folder,
            address,
            user_name,
            platform_id,
        })
    }
}

fn is_host_or_ip(value: &str) -> bool {
    if value.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    (1..=253).contains(&value.len()) && value.split('.').all(label_ok)
}

pub(super) fn to_safe(row: SafeRow) -> Safe {
    Safe {
        name: row.name,
        description: row.description,
        level1_confirmations: row.level1_confirmations,
        level2_confirmations: row.level2_confirmations,
        request_expiry_hours: row.request_expiry_hours,
        max_access_hours: row.max_access_hours,
        ticket_required: row.ticket_required,
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
    }
}
