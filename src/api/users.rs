//! `/api/v3/users`: sign-up, listing, profiles, updates, deletion and the list of roles.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::extract::{ApiJson, ApiQuery, Authenticated, MaybeAuthenticated};
use super::problem::{
    BadRequest, Conflict, Forbidden, MalformedRequest, NotFound, PayloadTooLarge,
    ServiceUnavailable, TooManyRequests, Unauthorized, UnsupportedMediaType,
};
use crate::domain::pagination::{Page, PageRequest};
use crate::domain::user::{Role, RoleInfo, User, UserStatus};
use crate::error::AppError;
use crate::service::users::{self, NewUser, UserListQuery, UserUpdate};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "username": "jdoe", "password": "correct horse battery", "name": "Jane Doe",
    "email": "jane.doe@example.com", "role": "developer"
}))]
pub struct CreateUserRequest {
    /// 3 to 64 characters of `[a-z0-9._-]`; `roles` and `sessions` are reserved.
    #[schema(pattern = "^[a-z0-9._-]{3,64}$", min_length = 3, max_length = 64)]
    pub username: String,
    /// 8 to 72 bytes.
    #[schema(min_length = 8, max_length = 72)]
    pub password: String,
    /// 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128, pattern = "\\S")]
    pub name: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Default `developer`. Only an administrator may create `approver` or `admin` users.
    pub role: Option<Role>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Jane Q. Doe", "password": "a new passphrase", "current_password": "correct horse battery"}))]
pub struct UpdateUserRequest {
    #[schema(min_length = 1, max_length = 128, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// 8 to 72 bytes. Changing one's own password needs `current_password` and ends one's other
    /// sessions.
    #[schema(min_length = 8, max_length = 72)]
    pub password: Option<String>,
    pub current_password: Option<String>,
    /// Administrators only.
    pub role: Option<Role>,
    /// Administrators only: `active` or `suspended`. Suspending ends the user's sessions.
    pub status: Option<UserStatus>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i64>,
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
    /// Administrators only: users with this role.
    pub role: Option<Role>,
    /// Administrators only: users with this status (`deleted` lists deleted users).
    pub status: Option<UserStatus>,
    /// Administrators only: a case-insensitive search in username, name and e-mail.
    #[param(max_length = 100)]
    pub q: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UsernamePath {
    /// The user's username.
    pub username: String,
}

/// Sign up, or create a user as an administrator.
///
/// Anyone may sign up without a token: the new user gets the role `developer` (or `customer`, if
/// asked). An administrator's token may be sent (`Authorization: Bearer <token>`) to create a
/// user with any role; a token that is sent must be valid, or the answer is 401. Usernames and
/// e-mail addresses are unique (409).
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    security(),
    responses(
        (status = 201, description = "The user was created", body = User),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    auth: MaybeAuthenticated,
    body: ApiJson<CreateUserRequest>,
) -> Result<HttpResponse, AppError> {
    let request = body.0;
    let input = NewUser {
        username: request.username,
        password: request.password,
        name: request.name,
        email: request.email,
        role: request.role,
    };
    let user = state
        .run_hashing(move |ctx| users::create(ctx, auth.0.as_ref(), input))
        .await?;
    Ok(HttpResponse::Created().json(user))
}

/// List users.
///
/// An administrator sees every user, filtered by role, status or a search in username, name and
/// e-mail, and paginated; anyone else gets a page holding only themselves.
#[utoipa::path(
    tag = "users",
    params(ListUsersQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of users", body = Page<User>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: ApiQuery<ListUsersQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.0;
    let page = PageRequest::new(query.page, query.per_page).map_err(AppError::Validation)?;
    let list = UserListQuery {
        role: query.role,
        status: query.status,
        q: query.q,
        page,
    };
    let page = state
        .run(move |ctx| users::list(ctx, &auth.0, list))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// List the roles.
///
/// The roles a user can have, with what each may do. Public: no token is needed.
#[utoipa::path(
    tag = "users",
    security(),
    responses(
        (status = 200, description = "Every role", body = Vec<RoleInfo>),
        (status = "4XX", response = MalformedRequest),
    )
)]
#[get("/users/roles")]
pub async fn list_roles() -> HttpResponse {
    HttpResponse::Ok().json(users::roles())
}

/// Show one user.
///
/// Anyone may see themselves; an administrator may see any user. Anyone else's username answers
/// 403.
#[utoipa::path(
    tag = "users",
    params(UsernamePath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[get("/users/{username}")]
pub async fn get_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<UsernamePath>,
) -> Result<HttpResponse, AppError> {
    let username = path.into_inner().username;
    let user = state
        .run(move |ctx| users::show(ctx, &auth.0, &username))
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

async fn update(
    state: web::Data<AppState>,
    auth: Authenticated,
    target: Option<String>,
    body: UpdateUserRequest,
) -> Result<HttpResponse, AppError> {
    let input = UserUpdate {
        name: body.name,
        email: body.email,
        password: body.password,
        current_password: body.current_password,
        role: body.role,
        status: body.status,
    };
    let user = state
        .run_hashing(move |ctx| users::update(ctx, &auth.0, target.as_deref(), input))
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// Update a user.
///
/// Anyone may change their own `name`, `email` and `password` (the password with
/// `current_password`); only an administrator may change another user, a `role` or a `status`.
/// Suspending a user ends their sessions.
#[utoipa::path(
    tag = "users",
    params(UsernamePath),
    request_body = UpdateUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated user", body = User),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[patch("/users/{username}")]
pub async fn update_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<UsernamePath>,
    body: ApiJson<UpdateUserRequest>,
) -> Result<HttpResponse, AppError> {
    update(state, auth, Some(path.into_inner().username), body.0).await
}

/// Update oneself.
///
/// The same as `PATCH /users/{username}` with one's own username: `name`, `email` and, with
/// `current_password`, `password` (which ends one's other sessions).
#[utoipa::path(
    tag = "users",
    request_body = UpdateUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated user", body = User),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[patch("/users")]
pub async fn update_me(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ApiJson<UpdateUserRequest>,
) -> Result<HttpResponse, AppError> {
    update(state, auth, None, body.0).await
}

/// Delete a user.
///
/// Administrators may delete anyone, others only themselves. The user can no longer log in and
/// every session of theirs ends; their records stay. The last active administrator cannot be
/// deleted (409).
#[utoipa::path(
    tag = "users",
    params(UsernamePath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The user was deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[delete("/users/{username}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<UsernamePath>,
) -> Result<HttpResponse, AppError> {
    let username = path.into_inner().username;
    state
        .run(move |ctx| users::delete(ctx, &auth.0, Some(&username)))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Delete oneself.
///
/// The same as `DELETE /users/{username}` with one's own username: the caller's sessions end at
/// once, this token included.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Your account was deleted"),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[delete("/users")]
pub async fn delete_me(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, AppError> {
    state
        .run(move |ctx| users::delete(ctx, &auth.0, None))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
