//! The OpenAPI document: its info, tags and bearer security scheme, with every path collected
//! from the routes that `api::configure` registers.

use actix_web::App;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::api;
use crate::api::problem::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Problem, ServiceUnavailable,
    TooManyRequests, Unauthorized, UnsupportedMediaType,
};
use crate::domain::FieldError;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/v3/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "requestdesk",
        description = "Self-service request portal for security teams. Log in with \
            `POST /api/v3/users/sessions`, then send the token as `Authorization: Bearer <token>`. \
            Every error is an RFC 9457 `application/problem+json` body with a stable `code`.",
        license(name = "MIT"),
    ),
    tags(
        (name = "users", description = "Sign-up and user management"),
        (name = "sessions", description = "Log in and log out"),
        (name = "my requests", description = "The caller's own requests: submit, follow, cancel"),
        (name = "incoming requests", description = "Approvers' review queue and decisions; every request for admins"),
        (name = "certificates", description = "Certificates issued by the CA or imported by their owners"),
        (name = "ca", description = "The certificate authority's certificate and revocation list"),
        (name = "safes", description = "Safes, their privileged accounts and who may request or confirm"),
        (name = "health", description = "Liveness and readiness probes"),
        (name = "pvwa compatibility", description = "A CyberArk PVWA-compatible API for access \
            requests under /passwordvault/api, for scripts written for PVWA (psPAS). Paths are \
            matched without regard to case (`/PasswordVault/API/MyRequests` works), the token goes \
            in `Authorization` bare or as `Bearer <token>`, dates are Unix seconds, request ids \
            are `SafeName_N`, and errors are `{\"ErrorCode\",\"ErrorMessage\"}`."),
    ),
    components(
        schemas(Problem, FieldError),
        responses(
            BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge,
            UnsupportedMediaType, TooManyRequests, ServiceUnavailable
        )
    ),
    modifiers(&BearerScheme),
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The token from POST /api/v3/users/sessions"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "pvwa",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "The token from POST /passwordvault/api/auth/cyberark/logon, bare or as \
                 `Bearer <token>`",
            ))),
        );
    }
}

/// The whole document, with the paths of every registered handler.
pub fn document() -> OpenApiDoc {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api::configure)
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as the committed `openapi/openapi.json` holds it.
pub fn to_pretty_json(doc: &OpenApiDoc) -> String {
    let mut json = doc.to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
