//! The access part of a request's detail (account, window, levels, every confirmer with what it
//! did and the users behind it), loaded for a whole page in four queries.

use std::collections::HashMap;

use crate::db::DbConnection;
use crate::db::requests::{DecisionRow, PersonRow, RequestRow};
use crate::db::safes::{self as safe_db, AccountRow, MemberRow, MemberWithUser, SafeRow};
use crate::domain::access::{
    AccessDetails, Account, AdditionalInfo, Confirmer, ConfirmerAction, ConfirmerType, PersonView,
    Ticket,
};
use crate::domain::request::Decision;
use crate::domain::time::utc;
use crate::domain::user::Role;
use crate::error::AppError;

/// What the access part of a page of details needs, loaded in four queries whatever the size
/// of the page.
pub(in crate::service::requests) struct AccessData {
    safes: HashMap<i64, SafeRow>,
    accounts: HashMap<i64, AccountRow>,
    members: Vec<MemberWithUser>,
    role_members: Vec<safe_db::RoleMember>,
}

impl AccessData {
    pub(in crate::service::requests) fn load(
        conn: &mut DbConnection,
        rows: &[&RequestRow],
    ) -> Result<Self, AppError> {
        let safe_ids: Vec<i64> = rows.iter().filter_map(|r| r.safe_id).collect();
        let account_ids: Vec<i64> = rows.iter().filter_map(|r| r.account_id).collect();
        if safe_ids.is_empty() {
            return Ok(Self {
                safes: HashMap::new(),
                accounts: HashMap::new(),
                members: vec![],
                role_members: vec![],
            });
        }
        let members = safe_db::active_members_of(conn, &safe_ids)?;
        let mut roles: Vec<Role> = members.iter().filter_map(|m| m.member.group_role).collect();
        roles.sort_unstable_by_key(|role| role.as_str());
        roles.dedup();
        Ok(Self {
            safes: safe_db::safes_by_ids(conn, &safe_ids)?
                .into_iter()
                .map(|s| (s.id, s))
                .collect(),
            accounts: safe_db::accounts_by_ids(conn, &account_ids)?
                .into_iter()
                .map(|a| (a.id, a))
                .collect(),
            role_members: safe_db::active_users_with_roles(conn, &roles)?,
            members,
        })
    }

    /// The access part of a request's detail: account, window, levels and every confirmer with
    /// what it did and the users behind it.
    pub(in crate::service::requests) fn details(
        &self,
        request: &RequestRow,
        decisions: &[DecisionRow],
        still_pending: bool,
    ) -> Result<AccessDetails, AppError> {
        let missing = || AppError::Internal(format!("access request {} is incomplete", request.id));
        let safe = request
            .safe_id
            .and_then(|id| self.safes.get(&id))
            .ok_or_else(missing)?;
        let account = request
            .account_id
            .and_then(|id| self.accounts.get(&id))
            .ok_or_else(missing)?;
        let confirmers = self
            .members
            .iter()
            .filter(|m| m.member.safe_id == safe.id)
            .filter_map(|m| {
                let level = m.member.confirm_level?;
                Some(confirmer(
                    &m.member,
                    m.user.as_ref(),
                    level,
                    decisions,
                    &self.role_members,
                ))
            })
            .collect();
        Ok(AccessDetails {
            account: to_account(account.clone(), &safe.name),
            access_type: request.access_type.ok_or_else(missing)?,
            operation_type: request.operation_type.ok_or_else(missing)?,
            access_from: utc(request.access_from.ok_or_else(missing)?),
            access_to: utc(request.access_to.ok_or_else(missing)?),
            ticketing_system: match (&request.ticketing_system, &request.ticket_id) {
                (Some(name), Some(number)) => Some(Ticket {
                    name: name.clone(),
                    number: number.clone(),
                }),
                _ => None,
            },
            additional_info: AdditionalInfo {
                reference_no: request.reference_no.clone(),
                emergency: request.emergency.unwrap_or(false),
            },
            extras: request
                .pvwa_extras
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or_default(),
            current_confirmation_level: request.current_level,
            required_confirmers_count_level2: if still_pending {
                (request.level2_required - request.level2_given).max(0)
            } else {
                0
            },
            use_count: request.use_count,
            last_used_at: request.last_used_at.map(utc),
            confirmers,
        })
    }
}

fn confirmer(
    member: &MemberRow,
    user: Option<&PersonRow>,
    level: i32,
    decisions: &[DecisionRow],
    role_members: &[safe_db::RoleMember],
) -> Confirmer {
    let person = |d: &DecisionRow| PersonView {
        id: d.user_id,
        username: d.username.clone(),
        name: d.name.clone(),
        email: d.email.clone(),
    };
    let (confirmer_type, id, name, decision, members) =
        match (member.user_id, member.group_role, user) {
            (Some(user_id), _, Some(person)) => {
                let decision = decisions
                    .iter()
                    .find(|d| d.user_id == user_id && d.group_role.is_none());
                let me = PersonView {
                    id: user_id,
                    username: person.username.clone(),
                    name: person.name.clone(),
                    email: person.email.clone(),
                };
                (
                    ConfirmerType::User,
                    user_id,
                    person.username.clone(),
                    decision,
                    vec![me],
                )
            }
            (_, Some(role), _) => {
                let decision = decisions
                    .iter()
                    .find(|d| d.group_role == Some(role) && d.level == level);
                let people = role_members
                    .iter()
                    .filter(|m| m.role == role)
                    .map(|m| PersonView {
                        id: m.id,
                        username: m.username.clone(),
                        name: m.name.clone(),
                        email: m.email.clone(),
                    })
                    .collect();
                (
                    ConfirmerType::Group,
                    member.id,
                    role.as_str().to_owned(),
                    decision,
                    people,
                )
            }
            _ => (ConfirmerType::User, member.id, String::new(), None, vec![]),
        };
    Confirmer {
        confirmer_type,
        id,
        name,
        level,
        action: match decision.map(|d| d.decision) {
            Some(Decision::Confirm) => ConfirmerAction::Confirm,
            Some(Decision::Reject) => ConfirmerAction::Reject,
            None => ConfirmerAction::None,
        },
        reason: decision.and_then(|d| d.reason.clone()),
        action_date: decision.map(|d| utc(d.created_at)),
        acted_by: decision.map(person),
        members,
    }
}

/// An account as clients see it.
pub fn to_account(row: AccountRow, safe: &str) -> Account {
    Account {
        id: row.id,
        safe_id: row.safe_id,
        platform_id: row.platform_id,
        safe: safe.to_owned(),
        name: row.name,
        folder: row.folder,
        address: row.address,
        user_name: row.user_name,
        last_used_at: row.last_used_at.map(utc),
        created_at: utc(row.created_at),
        deleted_at: row.deleted_at.map(utc),
    }
}
