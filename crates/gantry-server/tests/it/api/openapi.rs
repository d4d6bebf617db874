//! The OpenAPI document: generated, served without a token, listing every route.

use axum::http::StatusCode;

use crate::support::{Api, Call};

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
        ("/api/v1/whoami", "get"),
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
    assert_eq!(paths.len(), 23, "{:?}", paths.keys().collect::<Vec<_>>());
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

fn checked_in_path() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/openapi.json")
}

/// The document as checked in: pretty, with a final newline.
fn generated() -> String {
    let document = gantry_server::openapi::document()
        .to_pretty_json()
        .expect("the document serializes");
    format!("{document}\n")
}

#[test]
fn checked_in_document_is_current() {
    let path = checked_in_path();
    let generated = generated();
    if std::env::var_os("GANTRY_UPDATE_SCHEMA").is_some_and(|value| value == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "schema/openapi.json is stale or missing; regenerate it with \
         `GANTRY_UPDATE_SCHEMA=1 cargo test -p gantry-server --test it openapi` and commit the result"
    );
}

#[tokio::test]
async fn serves_the_checked_in_document() {
    let api = Api::new().await;
    let served = api.send(Call::get("/api/v1/openapi.json")).await.json();
    let checked_in: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(served, checked_in);
}

#[test]
fn operation_ids_are_unique_and_bodies_typed() {
    let document: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str();
            let id = id.unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId `{id}` is used twice");
        }
    }
    let schemas = &document["components"]["schemas"];
    for name in [
        "RunDocument",
        "RunSummary",
        "RunsPage",
        "CdEvent",
        "RunEventBatch",
        "LogLine",
        "Lease",
    ] {
        assert!(schemas[name].is_object(), "no schema `{name}`");
    }
    // A run is described field by field, not as an untyped object.
    let run = &schemas["RunsPage"]["properties"]["runs"]["items"];
    assert_eq!(run["$ref"], "#/components/schemas/RunSummary", "{run}");
    let show = &document["paths"]["/api/v1/runs/{id}"]["get"]["responses"]["200"];
    let body = &show["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(body, "#/components/schemas/RunDocument", "{show}");
}

/// `openapi-spec-validator` (from the Python package index; `scripts/install-deps` installs it)
/// accepts the document.
#[test]
fn a_real_validator_accepts_the_document() {
    let path = checked_in_path();
    let output = std::process::Command::new("openapi-spec-validator")
        .arg(&path)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            gantry_test::skip_or_fail(&format!(
                "openapi-spec-validator cannot be started ({error}); run scripts/install-deps"
            ));
            return;
        }
    };
    assert!(
        output.status.success(),
        "openapi-spec-validator rejects schema/openapi.json:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
