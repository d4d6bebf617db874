//! CDEvents from other tools: every conformance example of the specification in, read back by
//! chain; invalid ones refused naming the field.

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{Api, Call, Reply};

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cdevents/spec-v0.5.1/conformance")
}

/// Every conformance example, each with an id of its own (the examples share one).
fn examples() -> Option<Vec<Value>> {
    let dir = conformance_dir();
    let entries = std::fs::read_dir(&dir).ok()?;
    let mut examples: Vec<(String, Value)> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            event["context"]["id"] = json!(name);
            (name, event)
        })
        .collect();
    examples.sort_by(|a, b| a.0.cmp(&b.0));
    Some(examples.into_iter().map(|(_, event)| event).collect())
}

fn good_event(id: &str) -> Value {
    json!({
        "context": {
            "specversion": "0.5.1",
            "id": id,
            "source": "/other/tool",
            "type": "dev.cdevents.pipelinerun.finished.0.3.0",
            "timestamp": "2025-01-01T00:00:00Z",
            "chainId": "chain-1",
        },
        "subject": { "id": "run-1", "content": { "outcome": "success" } },
    })
}

#[tokio::test]
async fn ingests_every_conformance_example() {
    let Some(examples) = examples() else {
        gantry_test::skip_or_fail(&format!(
            "the CDEvents conformance examples are not at {}",
            conformance_dir().display()
        ));
        return;
    };
    assert_eq!(examples.len(), 45);
    let api = Api::new().await;
    let post = |body: &Value| Call::post("/api/v1/events").token(&api.reporter).json(body);
    let reply = api.send(post(&json!(examples))).await;
    assert_eq!(
        reply.expect(StatusCode::OK).json(),
        json!({"received": 45, "stored": 45})
    );
    // Stored once by `context.id`.
    assert_eq!(
        api.send(post(&json!(examples))).await.json(),
        json!({"received": 45, "stored": 0})
    );
    assert_eq!(
        api.send(post(&examples[0])).await.json(),
        json!({"received": 1, "stored": 0})
    );

    let mut chains: Vec<&str> = examples
        .iter()
        .filter_map(|event| event["context"]["chainId"].as_str())
        .collect();
    chains.sort_unstable();
    chains.dedup();
    let mut read_back = 0;
    for chain in chains {
        let reply = api
            .send(Call::get(&format!("/api/v1/events?chain={chain}")).token(&api.reader))
            .await;
        let events = reply.expect(StatusCode::OK).json()["events"]
            .as_array()
            .unwrap()
            .clone();
        for event in &events {
            assert_eq!(event["context"]["chainId"], chain);
            let id = &event["context"]["id"];
            let sent = examples
                .iter()
                .find(|example| example["context"]["id"] == *id)
                .unwrap();
            assert_eq!(event, sent, "stored as sent");
        }
        read_back += events.len();
    }
    let without_chain = examples
        .iter()
        .filter(|event| event["context"]["chainId"].is_null())
        .count();
    assert_eq!(read_back + without_chain, 45);
    let reply = api
        .send(Call::get("/api/v1/events?chain=unknown").token(&api.reader))
        .await;
    assert_eq!(reply.json(), json!({"events": []}));
}

#[tokio::test]
async fn refuses_invalid_cdevents_naming_the_field() {
    let api = Api::new().await;
    let post = |body: &Value| Call::post("/api/v1/events").token(&api.reporter).json(body);
    let check = |reply: Reply, field: &str| {
        reply.expect(StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "invalid_cdevent");
        assert_eq!(reply.error_field().as_deref(), Some(field), "{}", reply.text());
        assert!(
            reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field.trim_start_matches("/1"))
        );
    };
    let mut bad = good_event("a");
    bad["subject"]["content"]["outcome"] = json!("skipped");
    check(api.send(post(&bad)).await, "/subject/content/outcome");
    let mut bad = good_event("b");
    bad["context"]["timestamp"] = json!("yesterday");
    check(api.send(post(&bad)).await, "/context/timestamp");
    let mut bad = good_event("c");
    bad["context"]["type"] = json!("dev.cdevents.nothing.happened.0.1.0");
    check(api.send(post(&bad)).await, "/context/type");
    check(api.send(post(&json!({"context": {}}))).await, "/context/type");
    // In a batch, the pointer starts at the event's index; nothing of the batch is stored.
    let mut bad = good_event("e");
    bad["subject"]["content"] = json!("not an object");
    check(
        api.send(post(&json!([good_event("d"), bad]))).await,
        "/1/subject/content",
    );
    let reply = api
        .send(Call::get("/api/v1/events?chain=chain-1").token(&api.reader))
        .await;
    assert_eq!(reply.json(), json!({"events": []}));

    for body in [json!("a string"), json!(42), json!(null)] {
        let reply = api.send(post(&body)).await;
        reply.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.error_code(), "invalid_body");
    }
    let reply = api
        .send(
            Call::post("/api/v1/events")
                .token(&api.reporter)
                .raw("application/json", "{\"context\":"),
        )
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "invalid_json");
    // Malformed inside an array, or after it.
    for body in ["[{\"context\": {}},]", "[{}] [", "[{\"a\": 1}, tru]", "", "  "] {
        let reply = api
            .send(
                Call::post("/api/v1/events")
                    .token(&api.reporter)
                    .raw("application/json", body),
            )
            .await;
        reply.expect(StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "invalid_json", "{body}");
        assert!(
            reply.error_message().contains("line 1 column"),
            "{body}: {}",
            reply.text()
        );
    }
    // An array of things that are not objects: the first one is named.
    let reply = api.send(post(&json!([7, "x"]))).await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_field().as_deref(), Some("/0"));
    assert!(
        reply.error_message().contains("is not a JSON object"),
        "{}",
        reply.text()
    );
    for query in ["", "?chain=", "?chain=a&other=b"] {
        let reply = api
            .send(Call::get(&format!("/api/v1/events{query}")).token(&api.reader))
            .await;
        reply.expect(StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "invalid_query", "{query}");
    }
    // Valid: stored.
    let reply = api.send(post(&good_event("ok"))).await;
    assert_eq!(
        reply.expect(StatusCode::OK).json(),
        json!({"received": 1, "stored": 1})
    );
}

#[tokio::test]
async fn a_runs_own_events_read_back_by_chain() {
    let api = Api::new().await;
    let mut run = gantry_test::RunBuilder::new("hello", 1);
    api.report(&run.complete(1, gantry_model::RunResult::Success))
        .await;
    let reply = api
        .send(Call::get(&format!("/api/v1/events?chain={}", run.id())).token(&api.reader))
        .await;
    let events = reply.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 7);
    assert_eq!(
        events[0]["context"]["type"],
        "dev.cdevents.pipelinerun.queued.0.3.0"
    );
    assert_eq!(
        events[6]["context"]["type"],
        "dev.cdevents.pipelinerun.finished.0.3.0"
    );
}
