//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations as
//! the routes are registered (`router.rs`), with each operation's security requirement taken from
//! the route's declared permission ([`secure`]), and from the bodies' types in [`gantry_api`];
//! served at `/api/v1/openapi.json`, and checked in at `schema/openapi.json` (a test fails when
//! that copy is stale).

use std::sync::Arc;

use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use gantry_store::Scope;

use crate::permission::{self, Permissions};

/// The document's fixed parts: what the API is, and how it authenticates.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gantry API",
        description = "The build data repository of Gantry: build numbers, runs, logs, artifacts, \
                       CDEvents, and API tokens. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`."
    ),
    modifiers(&Security),
    components(schemas(
        // The `data` of the log follow's server-sent events.
        gantry_api::LogLine,
        gantry_api::LogEnd,
    )),
    tags(
        (name = "apps", description = "Apps and their build numbers"),
        (name = "runs", description = "Runs: what happened, their logs, and reporting them"),
        (name = "artifacts", description = "Content-addressed artifacts"),
        (name = "events", description = "CDEvents 0.5.1"),
        (name = "tokens", description = "API tokens (admin)"),
        (name = "agents", description = "The job queue, and the agents that take jobs from it"),
        (name = "health", description = "Health, readiness and metrics (no token)"),
    )
)]
pub struct ApiDoc;

/// The security schemes: a bearer token, or the browser's cookie holding the same secret.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token; its scopes (read, report, agent, admin) decide what it may do",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::COOKIE,
                "The same token, as set by `POST /login` for browsers",
            ))),
        );
    }
}

/// Sets each operation's security requirement from the route's permission in `permissions`:
/// a bearer token with the scope (also the browser's cookie, for reading, as browsers only
/// read); nothing for public routes.
pub fn secure(document: &mut utoipa::openapi::OpenApi, permissions: &Permissions) {
    for (path, item) in &mut document.paths.paths {
        for method in permission::methods(item) {
            let scope = permissions
                .get(&method, path)
                .and_then(permission::Permission::scope);
            let operation = match method.as_str() {
                "GET" => item.get.as_mut(),
                "PUT" => item.put.as_mut(),
                "POST" => item.post.as_mut(),
                "DELETE" => item.delete.as_mut(),
                "PATCH" => item.patch.as_mut(),
                _ => None,
            };
            if let Some(operation) = operation {
                operation.security = scope.map(|scope| {
                    let schemes: &[&str] = if scope == Scope::Read {
                        &["bearer", "cookie"]
                    } else {
                        &["bearer"]
                    };
                    schemes
                        .iter()
                        .map(|scheme| SecurityRequirement::new(*scheme, [scope.as_str()]))
                        .collect()
                });
            }
        }
    }
}

/// The whole document, as it is served.
pub fn document() -> utoipa::openapi::OpenApi {
    crate::router::document()
}

/// Raw bytes, such as an artifact's, in a request or response body.
#[derive(utoipa::ToSchema)]
#[schema(format = Binary)]
pub struct Binary(pub String);

/// The generated document as JSON, shared by every request for it.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub Arc<String>);

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object))
)]
pub async fn openapi(Extension(OpenApiJson(json)): Extension<OpenApiJson>) -> Response {
    let mut response = json.as_str().to_owned().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
