//! Who confirms an access request at which level (a group counts once), and whether a safe's
//! remaining confirmers can still give a waiting request what it needs. Leaf of `access`.

use std::collections::HashSet;

use crate::db::DbConnection;
use crate::db::requests::{self as req_db, DecisionRow, RequestRow};
use crate::db::safes::{self as safe_db, MemberRow, MemberWithUser};
use crate::domain::user::Role;
use crate::error::{AppError, ErrorCode};
use crate::service::auth::CurrentUser;
use crate::service::requests::lookups::already_decided;
use crate::service::requests::status::Remaining;

/// In which capacity a confirmer acts: for themselves, or for a group (a role) that then counts
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::service::requests) enum Capacity {
    User,
    Group(Role),
}

/// In which capacity `me` may decide the request at its current level: as a user member who
/// confirms at that level, or for their role's group if it has not acted yet at that level.
pub(in crate::service::requests) fn capacity(
    conn: &mut DbConnection,
    request: &RequestRow,
    me: &CurrentUser,
) -> Result<Capacity, AppError> {
    let safe_id = request
        .safe_id
        .ok_or_else(|| AppError::Internal("access request without a safe".to_owned()))?;
    let level = request.current_level;
    let entries = safe_db::entries_for(conn, safe_id, me.id, me.role)?;
    let at_level = |entry: &&MemberRow| entry.confirm_level == Some(level);
    if entries
        .iter()
        .filter(at_level)
        .any(|e| e.user_id == Some(me.id))
    {
        return Ok(Capacity::User);
    }
    if entries
        .iter()
        .filter(at_level)
        .any(|e| e.group_role.is_some())
    {
        if req_db::group_decided(conn, request.id, level, me.role)? {
            return Err(already_decided());
        }
        return Ok(Capacity::Group(me.role));
    }
    Err(AppError::new(
        ErrorCode::NotAConfirmer,
        format!("you do not confirm requests of this safe at level {level}"),
    ))
}

/// Whether the user confirms at some level in the safe, directly or through their role.
pub(in crate::service::requests) fn confirms_in_safe(
    conn: &mut DbConnection,
    safe_id: i64,
    me: &CurrentUser,
) -> Result<bool, AppError> {
    Ok(safe_db::entries_for(conn, safe_id, me.id, me.role)?
        .iter()
        .any(|entry| entry.confirm_level.is_some()))
}

/// Whether enough eligible confirmers remain to give a request what it still needs: at each
/// level still to come, the user members (not the requester, not having acted) and the groups
/// (not having acted, with an active member other than the requester) that confirm there.
pub(super) fn can_still_be_decided(
    conn: &mut DbConnection,
    members: &[MemberWithUser],
    requester_id: i64,
    pending: Remaining,
    decisions: &[DecisionRow],
) -> Result<bool, AppError> {
    let roles: Vec<Role> = members.iter().filter_map(|m| m.member.group_role).collect();
    let role_members = safe_db::active_users_with_roles(conn, &roles)?;
    let acted_users: HashSet<i64> = decisions.iter().map(|d| d.user_id).collect();
    let available = |level: i32| {
        members
            .iter()
            .filter(|m| m.member.confirm_level == Some(level))
            .filter(|m| match (m.member.user_id, m.member.group_role) {
                (Some(user_id), _) => {
                    user_id != requester_id && m.user.is_some() && !acted_users.contains(&user_id)
                }
                (None, Some(role)) => {
                    let acted = decisions
                        .iter()
                        .any(|d| d.level == level && d.group_role == Some(role));
                    !acted
                        && role_members
                            .iter()
                            .any(|m| m.role == role && m.id != requester_id)
                }
                (None, None) => false,
            })
            .count()
    };
    let enough =
        |level: i32, left: i32| usize::try_from(left).map_or(true, |left| available(level) >= left);
    Ok(match pending.level {
        1 => enough(1, pending.level1) && enough(2, pending.level2),
        _ => enough(2, pending.level2),
    })
}
