//! The route table: the API, the UI, login, health and metrics on one router, behind the
//! layers every request goes through (outermost first): tracing, the body size limit, metrics,
//! the end of event streams at shutdown, the request timeout, authorization, and who is looking
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
use axum::{Extension, Router};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::openapi::OpenApiJson;
use crate::state::AppState;

/// The largest JSON body accepted (a batch of run events, CDEvents, a token request).
pub const MAX_JSON_BYTES: usize = 32 * 1024 * 1024;

/// How long a request may take to its response head. Streamed bodies (logs, followed logs)
/// go on after it; artifact transfers have none, as their time grows with their size.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let (api, document) = crate::api::router().split_for_parts();
    let document = document.to_json().unwrap_or_else(|error| {
        tracing::error!(%error, "failed to encode the OpenAPI document");
        "{}".to_owned()
    });
    Router::new()
        .merge(api.layer(Extension(OpenApiJson(Arc::new(document)))))
        .merge(crate::ui::router())
        .merge(crate::auth::router())
        .fallback(not_found)
        .layer(middleware::from_fn(crate::ui::viewer::scope))
        .layer(middleware::from_fn_with_state(
            state.clone(),
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
            TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                let route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
                // The path only: a query string is the client's business, not the log's.
                tracing::info_span!("request", method = %request.method(), path = request.uri().path(), route)
            }),
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

    use axum::response::sse::{Event, Sse};
    use axum::routing::get;
    use futures_util::stream;
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
}
