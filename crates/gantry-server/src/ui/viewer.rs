//! [`Viewer`]: who is looking at a page, for the top bar: a browser signed in with its login
//! cookie (the user's name, or a machine token's, and a button to sign out), a client with a
//! bearer token (that name), or a reader without a token (a link to sign in).
//!
//! The viewer is known while a request is handled ([`scope`], a middleware inside the
//! authorization layer), so that every page, error pages and the 404 fallback included, renders
//! the same top bar without each handler passing it along.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use gantry_store::TokenRecord as Token;

use crate::auth::{Principal, TokenSource};

/// Who is looking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// A browser signed in with `/login`: it can sign out. `name` is the token's user, or the
    /// token's own name for a machine token.
    Session { name: String },
    /// A client sending `Authorization: Bearer`: nothing to sign out of.
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
    let viewer = match extensions.get::<Principal>() {
        Some(Principal::User { name, .. } | Principal::Machine(Token { name, .. })) => {
            let name = name.clone();
            match extensions.get::<TokenSource>() {
                Some(TokenSource::Cookie) => Viewer::Session { name },
                _ => Viewer::Bearer { name },
            }
        }
        Some(Principal::Anonymous) => Viewer::Anonymous,
        // A route open to everyone: no page of the UI is one, so nothing renders a top bar.
        None => return next.run(request).await,
    };
    let here = request
        .uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |target| target.as_str().to_owned());
    LOOKING.scope(Looking { viewer, here }, next.run(request)).await
}
