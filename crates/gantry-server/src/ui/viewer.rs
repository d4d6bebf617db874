//! [`Viewer`]: who is looking at a page, for the top bar: a browser signed in with its login
//! cookie (the user's name, or a machine token's, and a button to sign out), a client with a
//! bearer token (the token's name), or a reader without a token (a link to sign in).
//!
//! The viewer is known while a request is handled ([`scope`], a middleware inside the
//! authorization layer), so that every page, error pages and the 404 fallback included, renders
//! the same top bar without each handler passing it along.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::{Principal, TokenSource};

/// Who is looking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// A browser signed in with `/login`: it can sign out. `name` is the token's user, or the
    /// token's own name for a machine token.
    Session { name: String },
    /// A client sending `Authorization: Bearer`: nothing to sign out of. `name` is the token's.
    Bearer { name: String },
    /// Reading without a token (anonymous reading is on).
    Anonymous,
}

/// The request being handled: its viewer, and where it is (to come back after signing in).
#[derive(Debug, Clone)]
pub struct Looking {
    pub viewer: Viewer,
    /// The path and query of the request.
    pub here: String,
}

tokio::task_local! {
    /// Set by [`scope`] for the handling of one request.
    static LOOKING: Looking;
}

impl Looking {
    /// The request being handled, when [`scope`] runs around it (not in a bare router).
    pub fn current() -> Option<Self> {
        LOOKING.try_with(Clone::clone).ok()
    }
}

/// Middleware: makes the request's viewer known to what renders pages while it is handled.
pub async fn scope(request: Request, next: Next) -> Response {
    let extensions = request.extensions();
    let Some(principal) = extensions.get::<Principal>() else {
        // A route open to everyone: no page of the UI is one, so nothing renders a top bar.
        return next.run(request).await;
    };
    let from_cookie = extensions.get::<TokenSource>() == Some(&TokenSource::Cookie);
    // A browser's bar names the person signed in; a script's names its token, as it says.
    let viewer = match principal {
        Principal::Anonymous => Viewer::Anonymous,
        Principal::User { name, .. } if from_cookie => Viewer::Session { name: name.clone() },
        Principal::Machine(token) if from_cookie => Viewer::Session {
            name: token.name.clone(),
        },
        Principal::User { token, .. } | Principal::Machine(token) => Viewer::Bearer {
            name: token.name.clone(),
        },
    };
    let here = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |target| target.as_str().to_owned());
    LOOKING.scope(Looking { viewer, here }, next.run(request)).await
}
