//! The OpenAPI document: generated, served without a token, listing every route.

use axum::http::StatusCode;

use crate::harness::{Api, Call};

#[tokio::test]
async fn lists_every_route_of_the_api() {
    let api = Api::new().await;
    let reply = api.send(Call::get("/api/v1/openapi.json")).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let document = reply.json();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3."),
        "{document}"
    );
    assert_eq!(document["info"]["title"], "Gantry API");
    let expected = [
        ("/api/v1/openapi.json", "get"),
        ("/api/v1/apps", "get"),
        ("/api/v1/apps/{app}/builds", "post"),
        ("/api/v1/runs", "get"),
        ("/api/v1/runs/{id}", "get"),
        ("/api/v1/runs/{id}/logs", "get"),
        ("/api/v1/runs/{id}/events", "post"),
        ("/api/v1/runs/{id}/heartbeat", "post"),
        ("/api/v1/events", "post"),
        ("/api/v1/events", "get"),
        ("/api/v1/artifacts/{sha256}", "put"),
        ("/api/v1/artifacts/{sha256}", "get"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/tokens", "get"),
        ("/api/v1/tokens/{name}", "delete"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ];
    let paths = document["paths"].as_object().unwrap();
    for (path, method) in expected {
        let operation = &paths.get(path).unwrap_or_else(|| panic!("{path} missing"))[method];
        assert!(operation.is_object(), "{method} {path} missing");
        assert!(
            operation["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    assert_eq!(paths.len(), 15, "{:?}", paths.keys().collect::<Vec<_>>());
    let heartbeat = &document["components"]["schemas"]["Heartbeat"]["properties"];
    assert!(heartbeat["lease_seconds"].is_object(), "{heartbeat}");
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["cookie"]["name"], "gantry_token");
    // Every route served under /api/v1 is in the document: each answers something else than
    // the router's "no such route".
    for path in paths.keys().filter(|path| path.starts_with("/api/")) {
        let concrete = path
            .replace("{app}", "a")
            .replace("{id}", "r")
            .replace("{sha256}", "x")
            .replace("{name}", "n");
        let reply = api.send(Call::get(&concrete).token(&api.admin)).await;
        assert!(!reply.text().contains("no API route"), "{path}: {}", reply.text());
    }
}
