//! The route table: the API, the UI, login, health and metrics on one router, each route with
//! the [`Permission`] it needs ([`routes`]), behind the layers every request goes through
//! (outermost first): tracing, the body size limit, metrics, the end of event streams at
//! shutdown, the request timeout, authorization (by the routes' permissions), and who is looking
//! (for the UI's top bar). A path that matches no route gets the API's JSON 404 under `/api/`,
//! and the UI's 404 page anywhere else, once authorized; a method a route does not take gets the
//! API's JSON 405 (with `Allow`) before authorization, as a route's methods are no secret.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tower_http::LatencyUnit;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi as _;
use utoipa_axum::router::UtoipaMethodRouterExt as _;
use utoipa_axum::routes;

use crate::api::{agent, apps, artifacts, builds, events, heartbeat, logs, queue, run_events, runs, tokens};
use crate::error::AppError;
use crate::openapi::{ApiDoc, OpenApiJson};
use crate::permission::Permission::{Admin, Agent, Public, Read, Report};
use crate::permission::{Permissions, Routes};
use crate::state::AppState;
use crate::{auth, health, metrics, openapi, ui};

/// The largest JSON body accepted (a batch of run events, CDEvents, a token request).
pub const MAX_JSON_BYTES: usize = 32 * 1024 * 1024;

/// How long a request may take to its response head. Streamed bodies (logs, followed logs)
/// go on after it; artifact transfers have none, as their time grows with their size.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every route of the server, each with what it needs of its caller. The API's routes are
/// documented by their handlers' `#[utoipa::path]`, so that the OpenAPI document lists them all;
/// the document's security requirements come from the permissions declared here.
fn routes() -> Routes {
    // A path that matches no route answers a 404, which tells no more than reading does.
    Routes::new(ApiDoc::openapi(), Read)
        // The API.
        .api(Public, routes!(openapi::openapi))
        .api(Read, routes!(apps::list))
        .api(Report, routes!(builds::allocate))
        .api(Read, routes!(runs::list))
        .api(Read, routes!(runs::show))
        .api(Read, routes!(logs::logs))
        // Clients compress large batches of run events (`Content-Encoding: gzip`).
        .api(
            Report,
            routes!(run_events::record).layer(RequestDecompressionLayer::new()),
        )
        .api(Report, routes!(heartbeat::heartbeat))
        .api(Report, routes!(events::ingest))
        .api(Read, routes!(events::chain))
        // Uploads enforce the configured artifact size limit themselves, while streaming.
        .api(
            Report,
            routes!(artifacts::upload).layer(DefaultBodyLimit::disable()),
        )
        .api(Read, routes!(artifacts::download))
        .api(Admin, routes!(tokens::create, tokens::list))
        .api(Admin, routes!(tokens::revoke))
        .api(Read, routes!(tokens::whoami))
        // The queue, and the agents that take jobs from it.
        .api(Admin, routes!(queue::queue))
        .api(Read, routes!(queue::list))
        .api(Admin, routes!(queue::cancel))
        .api(Read, routes!(queue::agents))
        .api(Agent, routes!(agent::lease))
        .api(Agent, routes!(agent::start))
        .api(Agent, routes!(agent::heartbeat))
        .api(Agent, routes!(agent::complete))
        .api(Public, routes!(health::healthz))
        .api(Public, routes!(health::readyz))
        .api(Public, routes!(metrics::metrics))
        // The web UI.
        .page("/", Read, get(ui::apps::overview))
        .page("/apps/{app}", Read, get(ui::apps::history))
        .page("/apps/{app}/builds/{build}", Read, get(ui::run::by_build))
        .page("/runs", Read, get(ui::runs::list))
        .page("/runs/{id}", Read, get(ui::run::page))
        .page("/queue", Read, get(ui::queue::queue))
        .page("/agents", Read, get(ui::queue::agents))
        .page("/runs/{id}/tasks/{*path}", Read, get(ui::log::page))
        .page("/ui/runs/{id}/status", Read, get(ui::live::status))
        .page("/ui/runs/{id}/follow/{*path}", Read, get(ui::live::follow))
        .page("/assets/{file}", Public, get(ui::assets::serve))
        // Signing in and out: the form checks the token it is given itself.
        .page("/login", Public, get(auth::login_form).post(auth::login))
        .page("/logout", Public, post(auth::logout))
}

/// The permission of every route, as the router enforces it.
pub fn permissions() -> Permissions {
    routes().finish(not_found).2
}

/// The OpenAPI document as it is served, security requirements included.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut document, permissions) = routes().finish(not_found);
    openapi::secure(&mut document, &permissions);
    document
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let (routes, document, permissions) = routes().finish(not_found);
    layered(routes, document, permissions, state)
}

/// `routes` behind every layer, authorized by `permissions`, with `document` served.
fn layered(
    routes: Router<AppState>,
    mut document: utoipa::openapi::OpenApi,
    permissions: Permissions,
    state: AppState,
) -> Router {
    openapi::secure(&mut document, &permissions);
    let document = document.to_json().unwrap_or_else(|error| {
        tracing::error!(%error, "failed to encode the OpenAPI document");
        "{}".to_owned()
    });
    routes
        .layer(Extension(OpenApiJson(Arc::new(document))))
        .layer(middleware::from_fn(crate::ui::viewer::scope))
        .layer(middleware::from_fn_with_state(
            (state.clone(), Arc::new(permissions)),
            crate::auth::require,
        ))
        // After the authorization layer, so that a wrong method is a 405 with or without a
        // token (a route's methods are public, in the OpenAPI document): axum's `layer` wraps
        // each route's method handlers and its default 405 answer alike, and this replaces that
        // answer on every route so far, outside the layers above and inside those below.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(timeout))
        .layer(middleware::from_fn_with_state(
            state.shutdown.clone(),
            end_streams_on_shutdown,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .layer(
            // The request log: a line at `info` for each response, with the method and the
            // route template (the path too: it holds ids, never a secret) in the span, and the
            // status and latency on the line. Headers, where tokens travel, are never logged.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
                    // The path only: a query string is the client's business, not the log's.
                    let route = route.map(tracing::field::display);
                    tracing::info_span!("request", method = %request.method(), route, path = %request.uri().path())
                })
                .on_response(
                    DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(LatencyUnit::Millis),
                ),
        )
        .with_state(state)
}

/// Middleware: gives up on a request that takes longer than [`REQUEST_TIMEOUT`].
async fn timeout(request: Request, next: Next) -> Response {
    let exempt = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| route.as_str().starts_with("/api/v1/artifacts/"));
    if exempt {
        return next.run(request).await;
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long; try again",
        )
        .into_response(),
    }
}

/// Middleware: ends every event stream (the API's and the UI's) when the server starts
/// shutting down, since graceful shutdown waits for every response to finish and a stream
/// that follows a run would otherwise keep the server up until the run ends.
async fn end_streams_on_shutdown(
    State(shutdown): State<CancellationToken>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let streams = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
    if !streams {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = Body::from_stream(body.into_data_stream().take_until(shutdown.cancelled_owned()));
    Response::from_parts(parts, body)
}

async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        AppError::not_found(format!(
            "no API route is `{}`; see /api/v1/openapi.json",
            uri.path()
        ))
        .into_response()
    } else {
        crate::ui::not_found_page(uri).await
    }
}

async fn method_not_allowed(uri: Uri) -> Response {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "`{}` does not take this method; see /api/v1/openapi.json",
            uri.path()
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::http::Method;
    use axum::response::sse::{Event, Sse};
    use futures_util::stream;
    use gantry_store::{Scope, Store};

    use crate::permission::Permission;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn event_streams_end_at_shutdown() {
        let shutdown = CancellationToken::new();
        let endless = || async {
            let ticks = stream::repeat_with(|| Ok::<_, Infallible>(Event::default().data("tick")));
            Sse::new(ticks.then(|event| async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                event
            }))
        };
        let app = Router::new()
            .route("/stream", get(endless))
            .layer(middleware::from_fn_with_state(
                shutdown.clone(),
                end_streams_on_shutdown,
            ));
        let request = Request::get("/stream").body(Body::empty()).unwrap();
        let mut body = app.oneshot(request).await.unwrap().into_body();
        assert!(body.frame().await.is_some(), "the stream flows");
        shutdown.cancel();
        let rest = tokio::time::timeout(Duration::from_secs(5), body.collect()).await;
        assert!(rest.expect("the stream ends").is_ok());
    }

    #[test]
    fn each_route_needs_its_permission() {
        let permissions = permissions();
        let check = |method: Method, route: &str, expect: Permission| {
            assert_eq!(permissions.get(&method, route), Some(expect), "{method} {route}");
        };
        check(Method::GET, "/healthz", Public);
        check(Method::GET, "/readyz", Public);
        check(Method::GET, "/metrics", Public);
        check(Method::GET, "/api/v1/openapi.json", Public);
        check(Method::GET, "/login", Public);
        check(Method::POST, "/login", Public);
        check(Method::POST, "/logout", Public);
        check(Method::GET, "/assets/{file}", Public);
        check(Method::GET, "/api/v1/apps", Read);
        check(Method::GET, "/api/v1/runs", Read);
        check(Method::HEAD, "/api/v1/runs", Read);
        check(Method::GET, "/api/v1/runs/{id}", Read);
        check(Method::GET, "/api/v1/runs/{id}/logs", Read);
        check(Method::GET, "/api/v1/artifacts/{sha256}", Read);
        check(Method::GET, "/api/v1/events", Read);
        check(Method::POST, "/api/v1/apps/{app}/builds", Report);
        check(Method::POST, "/api/v1/runs/{id}/events", Report);
        check(Method::POST, "/api/v1/runs/{id}/heartbeat", Report);
        check(Method::PUT, "/api/v1/artifacts/{sha256}", Report);
        check(Method::POST, "/api/v1/events", Report);
        check(Method::GET, "/api/v1/tokens", Admin);
        check(Method::POST, "/api/v1/tokens", Admin);
        check(Method::DELETE, "/api/v1/tokens/{name}", Admin);
        check(Method::POST, "/api/v1/queue", Admin);
        check(Method::GET, "/api/v1/queue", Read);
        check(Method::DELETE, "/api/v1/queue/{job}", Admin);
        check(Method::GET, "/api/v1/agents", Read);
        check(Method::POST, "/api/v1/agent/lease", Agent);
        check(Method::POST, "/api/v1/agent/jobs/{job}/start", Agent);
        check(Method::POST, "/api/v1/agent/jobs/{job}/heartbeat", Agent);
        check(Method::POST, "/api/v1/agent/jobs/{job}/complete", Agent);
        check(Method::GET, "/", Read);
        check(Method::GET, "/runs/{id}", Read);
        check(Method::GET, "/ui/runs/{id}/status", Read);
        // Nothing is declared for a method a route does not take (the router answers it 405).
        assert_eq!(permissions.get(&Method::DELETE, "/api/v1/runs"), None);
        // A path that matches no route: its 404 needs a reader.
        assert_eq!(permissions.fallback(), Read);
    }

    #[tokio::test]
    async fn a_route_without_a_permission_is_refused_to_everyone() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("gantry.db").display());
        let store = Store::open(&url).await.unwrap();
        let admin = store.create_token("admin", &[Scope::Admin]).await.unwrap();
        let state = AppState::new(store).anonymous_read(true);
        let (routes, document, permissions) = routes().finish(not_found);
        // Added behind the table's back, as a careless change might.
        let routes = routes.route(
            "/api/v1/undeclared",
            get(|| async { "open" }).post(|| async { "open" }),
        );
        let app = layered(routes, document, permissions, state);
        for method in [Method::GET, Method::POST] {
            for token in [None, Some(admin.as_str())] {
                let mut request = Request::builder()
                    .method(method.clone())
                    .uri("/api/v1/undeclared");
                if let Some(token) = token {
                    request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
                }
                let response = app
                    .clone()
                    .oneshot(request.body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                assert_eq!(
                    response.status(),
                    StatusCode::FORBIDDEN,
                    "{method} with {token:?}"
                );
                let body = response.into_body().collect().await.unwrap().to_bytes();
                assert!(!body.starts_with(b"open"), "{method}: {body:?}");
            }
        }
    }
}
