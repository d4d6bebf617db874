//! The UI's pages read through the router.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use gantry_server::AppState;
use gantry_test::TestStore;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The whole server's router in front of `test`'s store, readable without a token.
pub fn ui_router(test: &TestStore) -> Router {
    gantry_server::router::router(AppState::new(test.store.clone()).anonymous_read(true))
}

/// A response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// Fails with the page's text when `needle` is not on it.
    #[track_caller]
    pub fn has(&self, needle: &str) -> &Self {
        assert!(
            self.body.contains(needle),
            "expected `{needle}` on the page:\n{}",
            self.body
        );
        self
    }

    #[track_caller]
    pub fn lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.body.contains(needle),
            "expected no `{needle}` on the page:\n{}",
            self.body
        );
        self
    }
}

/// `GET uri` through `router`, read whole.
pub async fn get(router: &Router, uri: &str) -> Page {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// `GET uri` through `router` as a browser asks, with one extra header.
pub async fn get_with(router: &Router, uri: &str, header: (&str, &str)) -> Page {
    let request = Request::get(uri)
        .header(header.0, header.1)
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    send(router, request).await
}

async fn send(router: &Router, request: Request<Body>) -> Page {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}
