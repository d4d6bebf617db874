//! Every route of the router declares its permission, the router enforces exactly that, and the
//! OpenAPI document says the same.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use gantry_server::permission::{Permission, Permissions};

use crate::support::{Api, Call};

/// The route templates the router holds, read from its debug form (axum lists no routes
/// otherwise): each is printed as `RouteId(N): "/path"`. Axum's own fallback routes are left out.
fn router_paths(api: &Api) -> BTreeSet<String> {
    let debug = format!("{:?}", api.router);
    debug
        .split("RouteId(")
        .skip(1)
        .filter_map(|chunk| {
            let (_, rest) = chunk.split_once("): \"")?;
            let (path, _) = rest.split_once('"')?;
            Some(path.to_owned())
        })
        .filter(|path| !path.contains("__private__"))
        .collect()
}

/// A concrete path for a route template: each parameter gets a value no record has.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment.strip_prefix('{') {
            Some(name) if name.starts_with('*') => "no/such",
            Some(_) => "nosuch",
            None => segment,
        })
        .collect::<Vec<_>>()
        .join("/")
}

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// The routes and methods the router takes (those that do not answer 405).
async fn walk(api: &Api) -> Vec<(Method, String)> {
    let mut taken = Vec::new();
    for template in router_paths(api) {
        for method in METHODS {
            let reply = api.send(Call::new(method.clone(), &concrete(&template))).await;
            if reply.status != StatusCode::METHOD_NOT_ALLOWED {
                taken.push((method, template.clone()));
            }
        }
    }
    taken
}

#[tokio::test]
async fn every_route_of_the_router_declares_its_permission() {
    let api = Api::new().await;
    let permissions: Permissions = gantry_server::router::permissions();
    let taken = walk(&api).await;
    // The walk found the router's routes: the API's, the pages, and the forms.
    for (method, route) in [
        (Method::GET, "/api/v1/runs"),
        (Method::POST, "/api/v1/events"),
        (Method::DELETE, "/api/v1/tokens/{name}"),
        (Method::GET, "/runs/{id}/tasks/{*path}"),
        (Method::POST, "/login"),
    ] {
        assert!(
            taken.contains(&(method.clone(), route.to_owned())),
            "{method} {route} not found in {taken:?}"
        );
    }
    let undeclared: Vec<_> = taken
        .iter()
        .filter(|(method, route)| permissions.get(method, route).is_none())
        .collect();
    assert!(
        undeclared.is_empty(),
        "routes without a declared permission: {undeclared:?}"
    );
    // And every declaration is a route the router takes.
    for (route, _, _) in permissions.iter() {
        assert!(
            taken.iter().any(|(_, taken)| taken == route),
            "{route} is declared but not routed"
        );
    }
}

#[tokio::test]
async fn each_route_is_enforced_as_declared() {
    let api = Api::new().await;
    let permissions = gantry_server::router::permissions();
    for (method, route) in walk(&api).await {
        let permission = permissions.get(&method, &route).unwrap();
        let uri = concrete(&route);
        let call = || Call::new(method.clone(), &uri);
        let refused = |status: StatusCode| matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
        let anonymous = api.send(call()).await;
        if permission == Permission::Public {
            assert!(
                !refused(anonymous.status),
                "{method} {route} is public: {}",
                anonymous.status
            );
            continue;
        }
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{method} {route} without a token"
        );
        let ranked = [
            (&api.reader, Permission::Read),
            (&api.reporter, Permission::Report),
            (&api.admin, Permission::Admin),
        ];
        for (token, held) in ranked {
            let reply = api.send(call().token(token)).await;
            if held >= permission {
                assert!(
                    !refused(reply.status),
                    "{method} {route} with {held}: {}",
                    reply.status
                );
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{method} {route} with {held}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_document_states_each_operations_declared_permission() {
    let api = Api::new().await;
    let permissions = gantry_server::router::permissions();
    let document = api.send(Call::get("/api/v1/openapi.json")).await.json();
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let permission = permissions
                .get(&method, path)
                .unwrap_or_else(|| panic!("{method} {path} is documented but declares no permission"));
            let expected = match permission.scope() {
                None => serde_json::Value::Null,
                Some(scope) if permission == Permission::Read => {
                    serde_json::json!([{ "bearer": [scope.as_str()] }, { "cookie": [scope.as_str()] }])
                }
                Some(scope) => serde_json::json!([{ "bearer": [scope.as_str()] }]),
            };
            assert_eq!(operation["security"], expected, "{method} {path}");
            operations += 1;
        }
    }
    assert_eq!(operations, 27);
}
