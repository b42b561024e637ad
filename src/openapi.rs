//! The OpenAPI document: its info, servers, tags and security schemes, with every path collected
//! from the routes that `api::configure` registers. Every operation says how it is secured; public
//! ones say `security: []`.

use actix_web::App;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{ArrayBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::api;
use crate::api::problem::{
    AccessRefused, BadRequest, Conflict, Forbidden, InvalidCredentials, MalformedRequest, NotFound,
    PayloadTooLarge, Problem, ServiceUnavailable, TooManyRequests, Unauthorized,
    UnsupportedMediaType, UserSuspended,
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
        license(name = "MIT", identifier = "MIT"),
        contact(name = "requestdesk maintainers"),
    ),
    servers((url = "/", description = "This service: every path in this document is absolute")),
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
            BadRequest, Unauthorized, InvalidCredentials, Forbidden, UserSuspended, NotFound,
            Conflict, PayloadTooLarge, UnsupportedMediaType, TooManyRequests, ServiceUnavailable,
            MalformedRequest, AccessRefused
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
    reference_page_items(&mut doc);
    optional_bodies_without_null(&mut doc);
    doc
}

/// utoipa documents an optional body (`request_body = Option<T>`) as "`T` or `null`", but an
/// optional body here is one left out: a `null` body is refused like any other that is not `T`.
/// So a body that is not required keeps `T` alone (generators then also send no body at all).
fn optional_bodies_without_null(doc: &mut OpenApiDoc) {
    let optional_bodies = doc
        .paths
        .paths
        .values_mut()
        .flat_map(operations)
        .filter_map(|operation| operation.request_body.as_mut())
        .filter(|body| body.required != Some(Required::True));
    for body in optional_bodies {
        for content in body.content.values_mut() {
            if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema
                && let [only] = one_of
                    .items
                    .iter()
                    .filter(|schema| !is_null(schema))
                    .collect::<Vec<_>>()
                    .as_slice()
            {
                content.schema = Some((*only).clone());
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(object)) if object.schema_type == SchemaType::Type(Type::Null))
}

/// Makes each `Page_<Item>` schema refer to `<Item>` instead of holding a copy of it, so a
/// generated client has one class per item type. utoipa 5 inlines a generic's type argument
/// (juhaku/utoipa#1586), and the document is only complete once every path is collected, so this
/// runs on the finished document rather than as a `Modify` of [`ApiDoc`].
fn reference_page_items(doc: &mut OpenApiDoc) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let item_names: Vec<(String, String)> = components
        .schemas
        .keys()
        .filter_map(|name| {
            let item = name.strip_prefix("Page_")?;
            components
                .schemas
                .contains_key(item)
                .then(|| (name.clone(), item.to_owned()))
        })
        .collect();
    for (page, item) in item_names {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&page)
            && let Some(items) = object.properties.get_mut("items")
        {
            *items = ArrayBuilder::new()
                .items(Ref::from_schema_name(item))
                .into();
        }
    }
}

/// The document as the committed `openapi/openapi.json` holds it.
pub fn to_pretty_json(doc: &OpenApiDoc) -> String {
    let mut json = doc.to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
