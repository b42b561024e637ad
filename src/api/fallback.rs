//! Answers for requests no route takes: 405 with `Allow` when the path exists under another
//! method, 404 otherwise. The known paths come from the OpenAPI document, so they cannot drift
//! from the routes.

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::OpenApi;

use crate::error::{AppError, ErrorCode};

/// Every documented path with the methods it accepts; fixed paths before templated ones, so
/// `/users/roles` is not taken for `/users/{username}`.
pub struct RouteTable(Vec<(ResourceDef, Vec<String>)>);

impl RouteTable {
    pub fn from_openapi(doc: &OpenApi) -> Self {
        let mut routes: Vec<_> = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods: Vec<String> = serde_json::to_value(item)
                    .ok()
                    .and_then(|value| value.as_object().cloned())
                    .into_iter()
                    .flat_map(|object| object.into_iter().map(|(key, _)| key))
                    .filter(|key| HTTP_METHODS.contains(&key.as_str()))
                    .map(|key| key.to_uppercase())
                    .collect();
                methods.sort();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        routes.sort_by_key(|(def, _)| def.pattern().is_some_and(|p| p.contains('{')));
        Self(routes)
    }

    /// The methods `path` accepts, or `None` when no route has that path.
    pub fn allowed_methods(&self, path: &str) -> Option<&[String]> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.as_slice())
    }
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The default service: 405 or 404, in the problem format.
pub async fn unmatched(
    req: HttpRequest,
    routes: web::Data<RouteTable>,
) -> Result<HttpResponse, AppError> {
    Err(match routes.allowed_methods(req.path()) {
        Some(methods) => AppError::MethodNotAllowed {
            allow: methods.to_vec(),
        },
        None => AppError::new(
            ErrorCode::NotFound,
            format!("no resource at {}", req.path()),
        ),
    })
}
