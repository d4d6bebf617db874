//! Who may call a route, declared where the route is registered.
//!
//! [`Routes`] is the only way `router.rs` adds a route: each registration names its
//! [`Permission`], and the builder records it in one table, [`Permissions`]. That table is data
//! that two readers share: the authorization middleware ([`crate::auth::require`]) looks every
//! request up in it, and the OpenAPI document takes each operation's security requirement from it
//! ([`crate::openapi::secure`]). A route that reaches the middleware without an entry (one added
//! to an axum router behind the builder's back) is refused, never open.

use std::collections::BTreeMap;
use std::fmt;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;
use gantry_store::Scope;
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::PathItem;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use crate::state::AppState;

/// What a caller needs to use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Anyone, without a token: health, metrics, the OpenAPI document, the login form, assets.
    Public,
    /// A token with the `read` scope (or nothing, where anonymous reading is on).
    Read,
    /// A token with the `report` scope: what clients send about their runs.
    Report,
    /// A token with the `agent` scope: taking jobs from the queue and keeping them.
    Agent,
    /// A token with the `admin` scope: managing tokens.
    Admin,
}

impl Permission {
    /// The token scope this permission asks for; `None` for a public route.
    pub fn scope(self) -> Option<Scope> {
        match self {
            Self::Public => None,
            Self::Read => Some(Scope::Read),
            Self::Report => Some(Scope::Report),
            Self::Agent => Some(Scope::Agent),
            Self::Admin => Some(Scope::Admin),
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope() {
            None => f.write_str("public"),
            Some(scope) => write!(f, "{scope}"),
        }
    }
}

/// Which methods of a route a declaration covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Methods {
    /// Every method the route takes (pages, whose method routers are not documented).
    All,
    /// One method, as the OpenAPI document lists it (`GET`, `POST`, ...).
    One(String),
}

/// The permission of every route, by route template and method, and of the fallback (a path
/// that matches no route).
#[derive(Debug, Clone)]
pub struct Permissions {
    routes: BTreeMap<(String, Methods), Permission>,
    fallback: Permission,
}

impl Permissions {
    /// The permission of `method` on the route template `route`; `None` when nothing declared
    /// one. `HEAD` is `GET`'s, as the router answers it with the `GET` handler.
    pub fn get(&self, method: &Method, route: &str) -> Option<Permission> {
        let method = if method == Method::HEAD {
            Method::GET
        } else {
            method.clone()
        };
        let key = |methods| (route.to_owned(), methods);
        self.routes
            .get(&key(Methods::One(method.as_str().to_owned())))
            .or_else(|| self.routes.get(&key(Methods::All)))
            .copied()
    }

    /// The permission of a path that matches no route (its 404 says no more than reading).
    pub fn fallback(&self) -> Permission {
        self.fallback
    }

    /// Every declaration, ordered by route template.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Methods, Permission)> {
        self.routes
            .iter()
            .map(|((route, methods), permission)| (route.as_str(), methods, *permission))
    }

    fn declare(&mut self, route: &str, methods: Methods, permission: Permission) {
        let previous = self.routes.insert((route.to_owned(), methods), permission);
        // Registering one route twice is a mistake in `router.rs`, caught by every test run.
        assert!(
            previous.is_none() || previous == Some(permission),
            "`{route}` declared twice with different permissions"
        );
    }
}

/// Registers routes, each with its [`Permission`], into one router and one [`Permissions`]
/// table. API routes go through [`Routes::api`] (documented by their `#[utoipa::path]`),
/// pages and forms through [`Routes::page`].
pub struct Routes {
    router: OpenApiRouter<AppState>,
    permissions: Permissions,
}

impl Routes {
    /// No route yet; `document` is the OpenAPI document's fixed part, and `fallback` the
    /// permission of paths that match no route.
    pub fn new(document: OpenApi, fallback: Permission) -> Self {
        Self {
            router: OpenApiRouter::with_openapi(document),
            permissions: Permissions {
                routes: BTreeMap::new(),
                fallback,
            },
        }
    }

    /// Adds documented API routes (what `utoipa_axum::routes!` gives), each of their methods
    /// needing `permission`.
    #[must_use]
    pub fn api(mut self, permission: Permission, routes: UtoipaMethodRouter<AppState>) -> Self {
        for (path, item) in &routes.1.paths {
            for method in methods(item) {
                self.permissions
                    .declare(path, Methods::One(method.as_str().to_owned()), permission);
            }
        }
        self.router = self.router.routes(routes);
        self
    }

    /// Adds an undocumented route (a page, a form, an event stream of the UI), every method of
    /// `handlers` needing `permission`.
    #[must_use]
    pub fn page(mut self, path: &str, permission: Permission, handlers: MethodRouter<AppState>) -> Self {
        self.permissions.declare(path, Methods::All, permission);
        self.router = self.router.route(path, handlers);
        self
    }

    /// The router (with `fallback` for paths that match no route, which needs the permission
    /// given to [`Routes::new`]), its OpenAPI document, and the table of permissions.
    pub fn finish<H, T>(self, fallback: H) -> (Router<AppState>, OpenApi, Permissions)
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let (router, document) = self.router.split_for_parts();
        (router.fallback(fallback), document, self.permissions)
    }
}

/// The methods a documented path item has operations for.
pub(crate) fn methods(item: &PathItem) -> Vec<Method> {
    [
        (Method::GET, &item.get),
        (Method::PUT, &item.put),
        (Method::POST, &item.post),
        (Method::DELETE, &item.delete),
        (Method::OPTIONS, &item.options),
        (Method::HEAD, &item.head),
        (Method::PATCH, &item.patch),
        (Method::TRACE, &item.trace),
    ]
    .into_iter()
    .filter(|(_, operation)| operation.is_some())
    .map(|(method, _)| method)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_routes_up_by_template_and_method() {
        let mut table = Permissions {
            routes: BTreeMap::new(),
            fallback: Permission::Read,
        };
        table.declare("/api/v1/events", Methods::One("GET".into()), Permission::Read);
        table.declare("/api/v1/events", Methods::One("POST".into()), Permission::Report);
        table.declare("/login", Methods::All, Permission::Public);
        let check = |method: Method, route: &str, expect: Option<Permission>| {
            assert_eq!(table.get(&method, route), expect, "{method} {route}");
        };
        check(Method::GET, "/api/v1/events", Some(Permission::Read));
        check(Method::HEAD, "/api/v1/events", Some(Permission::Read));
        check(Method::POST, "/api/v1/events", Some(Permission::Report));
        check(Method::DELETE, "/api/v1/events", None);
        check(Method::GET, "/login", Some(Permission::Public));
        check(Method::POST, "/login", Some(Permission::Public));
        check(Method::GET, "/api/v1/nothing", None);
        assert_eq!(table.fallback(), Permission::Read);
    }

    #[test]
    fn permissions_name_their_scope() {
        assert_eq!(Permission::Public.to_string(), "public");
        assert_eq!(Permission::Read.scope(), Some(Scope::Read));
        assert_eq!(Permission::Report.to_string(), "report");
        assert_eq!(Permission::Admin.scope(), Some(Scope::Admin));
    }
}
