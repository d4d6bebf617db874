//! Build numbers, reporting run events, and reading runs back.

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use gantry_model::{RunResult, TaskOutcome};
use serde_json::{Value, json};

use gantry_test::RunBuilder;

use crate::support::{Api, Call};

#[tokio::test]
async fn allocates_build_numbers_per_app() {
    let api = Api::new().await;
    let allocate = |app: &str| Call::post(&format!("/api/v1/apps/{app}/builds")).token(&api.reporter);
    let reply = api.send(allocate("hello")).await;
    reply.expect(StatusCode::CREATED);
    assert_eq!(reply.json(), json!({"app": "hello", "build": 1}));
    assert_eq!(api.send(allocate("hello")).await.json()["build"], 2);
    assert_eq!(
        api.send(allocate("my%20app")).await.json(),
        json!({"app": "my app", "build": 1})
    );
    for bad in ["%2F", "a%2Fb", "%20", "tab%09"] {
        let reply = api.send(allocate(bad)).await;
        reply.expect(StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "bad_request", "{bad}");
    }
    let reply = api.send(allocate("%FF")).await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "invalid_path");
}

#[tokio::test]
async fn a_reported_run_reads_back_whole() {
    let api = Api::new().await;
    let artifact = b"the binary";
    let sha256 = api.upload(artifact).await;
    let mut run = RunBuilder::new("hello", 7);
    let mut events = vec![run.queued(), run.started()];
    events.extend(run.task("build/compile", 3));
    events.push(run.artifact("build/compile", "target/release/hello", artifact));
    events.extend(run.task("test/unit", 1));
    events.push(run.finished(RunResult::Success));
    api.report(&events).await;
    // Sent again (a client retrying): nothing changes.
    api.report(&events).await;

    let reply = api
        .send(Call::get(&format!("/api/v1/runs/{}", run.id())).token(&api.reader))
        .await;
    reply.expect(StatusCode::OK);
    let detail = reply.json();
    assert_eq!(detail["id"], run.id());
    // Its shape: the run, its pipeline, stages, tasks, artifacts and CDEvents.
    {
        let _redacted = gantry_test::redacted(&[]).bind_to_scope();
        insta::assert_json_snapshot!("run_document", detail);
    }
    let artifact = &detail["artifacts"][0];
    assert_eq!(artifact["sha256"], sha256.as_str());
    assert!(
        artifact.get("path").is_none(),
        "server paths stay on the server: {artifact}"
    );
    let events = detail["events"].as_array().unwrap();
    assert!(events.iter().all(|event| event["context"]["chainId"] == run.id()));
    assert!(
        events
            .iter()
            .any(|event| event["context"]["type"] == "dev.cdevents.artifact.packaged.0.3.0")
    );
    assert_eq!(
        events.len(),
        8,
        "queued, started, 2 × (task started, finished), artifact, finished"
    );
    let log = api
        .store()
        .task_log(run.id(), "build/compile", 0, 100)
        .await
        .unwrap();
    assert_eq!(log.len(), 3, "recording twice appends no line twice");

    // By APP#BUILD and by a unique prefix of the id.
    for query in ["hello%237", &run.id()[..30]] {
        let reply = api
            .send(Call::get(&format!("/api/v1/runs/{query}")).token(&api.reader))
            .await;
        assert_eq!(reply.expect(StatusCode::OK).json()["id"], run.id());
    }
    // The app is listed with its newest run.
    let apps = api
        .send(Call::get("/api/v1/apps").token(&api.reader))
        .await
        .json();
    assert_eq!(apps["apps"][0]["name"], "hello");
    assert_eq!(apps["apps"][0]["last_run"]["id"], run.id());
    let _redacted = gantry_test::redacted(&[]).bind_to_scope();
    insta::assert_json_snapshot!("apps", apps);
}

#[tokio::test]
async fn unknown_and_ambiguous_runs() {
    let api = Api::new().await;
    for odd in ["%00", "%20", &"f".repeat(5000), "a%23b%23c", "%23"] {
        for suffix in ["", "/logs", "/logs?follow=true"] {
            let reply = api
                .send(Call::get(&format!("/api/v1/runs/{odd}{suffix}")).token(&api.reader))
                .await;
            reply.expect(StatusCode::NOT_FOUND);
            assert_eq!(reply.error_code(), "not_found");
        }
    }
    let reply = api
        .send(Call::get("/api/v1/runs/%C3%28").token(&api.reader))
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "invalid_path");
    let reply = api.send(Call::get("/api/v1/runs/0000").token(&api.reader)).await;
    reply.expect(StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
    let mut first = RunBuilder::new("hello", 1);
    let mut second = RunBuilder::new("hello", 2);
    second.run_id.0 = format!("{}-b", first.id());
    first.run_id.0 = format!("{}-a", first.id());
    api.report(&[first.queued()]).await;
    api.report(&[second.queued()]).await;
    let prefix = &first.id()[..first.id().len() - 2];
    let reply = api
        .send(Call::get(&format!("/api/v1/runs/{prefix}")).token(&api.reader))
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "ambiguous_run");
}

#[tokio::test]
async fn refuses_bad_batches_of_run_events() {
    let api = Api::new().await;
    let mut run = RunBuilder::new("hello", 1);
    let post = |body: Call| body.token(&api.reporter);
    let url = format!("/api/v1/runs/{}/events", run.id());

    // Malformed JSON, wrong types, not JSON at all.
    let reply = api
        .send(post(Call::post(&url).raw("application/json", "[{")))
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "invalid_json");
    assert!(
        reply.error_message().starts_with("the body is not valid JSON"),
        "{reply:?}"
    );
    let batch = |events: Value| json!({"version": 2, "events": events});
    let reply = api
        .send(post(Call::post(&url).json(&batch(json!({"not": "an array"})))))
        .await;
    reply.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error_code(), "invalid_body");
    assert!(reply.error_message().contains("expected an array"), "{reply:?}");
    assert_eq!(reply.error_field().as_deref(), Some("/events"));
    let mut wrong = serde_json::to_value(run.started()).unwrap();
    wrong["at"] = json!(42);
    let reply = api
        .send(post(Call::post(&url).json(&batch(json!([run.queued(), wrong])))))
        .await;
    reply.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error_code(), "invalid_body");
    assert_eq!(reply.error_field().as_deref(), Some("/events/1/at"));
    let reply = api
        .send(post(Call::post(&url).json(&json!({"events": []}))))
        .await;
    reply.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error_field().as_deref(), Some("/version"));

    // Another version of run events, or none (a bare array, from a client older than the
    // envelope): refused, naming both versions and which side to upgrade.
    let reply = api
        .send(post(Call::post(&url).json(&json!([run.queued()]))))
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "unsupported_version");
    assert!(
        reply.error_message().contains("reads run events version 2"),
        "{reply:?}"
    );
    assert!(
        reply
            .error_message()
            .contains("upgrade the gantry that sends them"),
        "{reply:?}"
    );
    let reply = api
        .send(post(
            Call::post(&url).json(&json!({"version": 3, "events": [{"new": 1}]})),
        ))
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "unsupported_version");
    assert!(
        reply
            .error_message()
            .contains("version 3; this side reads version 2"),
        "{reply:?}"
    );
    assert!(reply.error_message().contains("upgrade this server"), "{reply:?}");
    let reply = api.send(post(Call::post(&url).raw("text/plain", "[]"))).await;
    reply.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.error_code(), "unsupported_media_type");

    // Too large.
    let huge = format!("[{}]", " ".repeat(33 * 1024 * 1024));
    let reply = api
        .send(post(Call::post(&url).raw("application/json", huge)))
        .await;
    reply.expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error_code(), "payload_too_large");

    // Events of another run.
    let other = RunBuilder::new("hello", 2).queued();
    let reply = api
        .send(post(Call::post(&url).json(&batch(json!([run.queued(), other])))))
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_field().as_deref(), Some("/events/1/run_id"));

    // A run whose `run_queued` never came.
    let reply = api
        .send(post(Call::post(&url).json(&batch(json!([run.started()])))))
        .await;
    reply.expect(StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");

    // An artifact that was not uploaded first: refused, naming the digest; nothing recorded.
    let queued = run.queued();
    let artifact = run.artifact("build/compile", "out.bin", b"never uploaded");
    let digest = match &artifact.kind {
        gantry_model::RunEventKind::ArtifactPackaged { sha256, .. } => sha256.clone(),
        _ => unreachable!(),
    };
    let reply = api
        .send(post(
            Call::post(&url).json(&batch(json!([queued.clone(), artifact]))),
        ))
        .await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "artifact_missing");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&digest)
    );
    assert!(api.store().find_run(run.id()).await.unwrap().is_none());

    // An artifact whose size is not the uploaded one's; and one with a bad digest.
    api.upload(b"uploaded").await;
    let mut lying = run.artifact("build/compile", "out.bin", b"uploaded");
    if let gantry_model::RunEventKind::ArtifactPackaged { size, .. } = &mut lying.kind {
        *size = 1;
    }
    let reply = api
        .send(post(
            Call::post(&url).json(&batch(json!([queued.clone(), lying]))),
        ))
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_field().as_deref(), Some("/events/1/size"));
    let mut bad = run.artifact("build/compile", "out.bin", b"uploaded");
    if let gantry_model::RunEventKind::ArtifactPackaged { sha256, .. } = &mut bad.kind {
        *sha256 = "../../etc/passwd".into();
    }
    let reply = api
        .send(post(Call::post(&url).json(&batch(json!([queued, bad])))))
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "invalid_digest");
    assert_eq!(reply.error_field().as_deref(), Some("/events/1/sha256"));
}

/// `app#build result` of each run of a page, and its `next_offset`.
async fn page(api: &Api, query: &str) -> (Vec<String>, Value) {
    let reply = api
        .send(Call::get(&format!("/api/v1/runs{query}")).token(&api.reader))
        .await;
    let page = reply.expect(StatusCode::OK).json();
    let runs = page["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            format!(
                "{}#{} {}",
                run["app"].as_str().unwrap(),
                run["build"],
                run["result"].as_str().unwrap()
            )
        })
        .collect();
    (runs, page["next_offset"].clone())
}

#[tokio::test]
async fn lists_runs_filtered_and_paged() {
    let api = Api::new().await;
    let day = |day: u32| Utc.with_ymd_and_hms(2025, 6, day, 12, 0, 0).unwrap();
    let plan = [
        ("hello", 1, "main", Some(RunResult::Success), 1),
        ("hello", 2, "main", Some(RunResult::Failure), 2),
        ("world", 1, "dev", Some(RunResult::Success), 3),
        ("hello", 3, "dev", None, 4),
    ];
    for (app, build, branch, result, on) in plan {
        let mut run = RunBuilder::new(app, build).branch(branch).at(day(on));
        let mut events = vec![run.queued(), run.started()];
        if let Some(result) = result {
            events.push(run.finished(result));
        }
        api.report(&events).await;
    }
    let all = [
        "hello#3 running",
        "world#1 success",
        "hello#2 failure",
        "hello#1 success",
    ];
    assert_eq!(
        page(&api, "").await,
        (all.map(String::from).to_vec(), Value::Null)
    );
    assert_eq!(
        page(&api, "?app=hello&result=success").await.0,
        ["hello#1 success"]
    );
    assert_eq!(
        page(&api, "?branch=dev").await.0,
        ["hello#3 running", "world#1 success"]
    );
    assert_eq!(
        page(&api, "?limit=2").await,
        (all[..2].iter().map(|s| (*s).to_owned()).collect(), json!(2))
    );
    assert_eq!(
        page(&api, "?limit=2&offset=2").await,
        (all[2..].iter().map(|s| (*s).to_owned()).collect(), Value::Null)
    );
    assert_eq!(
        page(&api, "?since=2025-06-02T00:00:00Z&until=2025-06-04T00:00:00Z")
            .await
            .0,
        ["world#1 success", "hello#2 failure"]
    );
    assert_eq!(page(&api, "?since=2025-06-02T12:00:00%2B00:00").await.0, all[..3]);
    assert_eq!(
        page(&api, "?until=2025-06-02T12:00:00Z").await.0,
        ["hello#1 success"]
    );
    assert_eq!(
        page(&api, "?since=2025-06-01T00:00:00Z&limit=1&offset=1").await,
        (vec![all[1].to_owned()], json!(2))
    );
    assert_eq!(
        page(&api, "?app=hello&since=2025-06-02T00:00:00Z&limit=5")
            .await
            .0,
        ["hello#3 running", "hello#2 failure"]
    );
    assert!(page(&api, "?app=nobody").await.0.is_empty());
    // The page's shape.
    let whole = api
        .send(Call::get("/api/v1/runs?limit=2").token(&api.reader))
        .await
        .json();
    {
        let _redacted = gantry_test::redacted(&[]).bind_to_scope();
        insta::assert_json_snapshot!("runs_page", whole);
    }

    for bad in [
        "?limit=0",
        "?limit=501",
        "?limit=-1",
        "?limit=ten",
        "?offset=-5",
        "?result=nope",
        "?since=yesterday",
        "?since=2025-06-03T00:00:00Z&until=2025-06-01T00:00:00Z",
        "?colour=blue",
    ] {
        let reply = api
            .send(Call::get(&format!("/api/v1/runs{bad}")).token(&api.reader))
            .await;
        reply.expect(StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "invalid_query", "{bad}");
    }
}

#[tokio::test]
async fn task_failures_and_results_are_recorded() {
    let api = Api::new().await;
    let mut run = RunBuilder::new("hello", 1);
    let events = vec![
        run.queued(),
        run.started(),
        run.task_started("build/compile"),
        run.output("build/compile", "boom"),
        run.task_finished("build/compile", TaskOutcome::Failure),
        run.finished(RunResult::Failure),
    ];
    api.report(&events).await;
    let detail = api
        .send(Call::get(&format!("/api/v1/runs/{}", run.id())).token(&api.reader))
        .await
        .json();
    assert_eq!(detail["result"], "failure");
    assert_eq!(detail["tasks"][0]["status"], "failure");
    assert_eq!(detail["tasks"][0]["exit_code"], 1);
}

#[tokio::test]
async fn build_numbers_never_allocated_or_taken_are_refused() {
    let api = Api::new().await;
    let post = |events: &[gantry_model::RunEvent]| {
        Call::post(&format!("/api/v1/runs/{}/events", events[0].run_id))
            .token(&api.reporter)
            .json(&gantry_api::RunEventBatch::new(events.to_vec()))
    };
    api.send(Call::post("/api/v1/apps/p1/builds").token(&api.reporter))
        .await
        .expect(StatusCode::CREATED);
    api.send(Call::post("/api/v1/apps/p1/builds").token(&api.reporter))
        .await
        .expect(StatusCode::CREATED);
    let mut early = RunBuilder::new("p1", 7);
    let reply = api.send(post(&[early.queued()])).await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "build_refused");
    let message = reply.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("p1#7") && message.contains("never allocated"),
        "{message}"
    );
    api.send(Call::get("/api/v1/runs/p1%237").token(&api.reader))
        .await
        .expect(StatusCode::NOT_FOUND);

    let mut first = RunBuilder::new("p1", 2);
    api.report(&[first.queued()]).await;
    let mut second = RunBuilder::new("p1", 2);
    let reply = api.send(post(&[second.queued(), second.started()])).await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "build_refused");
    assert!(reply.text().contains(first.id()), "{}", reply.text());
    // The counter goes on past every number handed out; p1#2 names one run.
    let reply = api
        .send(Call::post("/api/v1/apps/p1/builds").token(&api.reporter))
        .await;
    assert_eq!(reply.json()["build"], 3);
    let reply = api
        .send(Call::get("/api/v1/runs/p1%232").token(&api.reader))
        .await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["id"], first.id());
}

/// A mock run's tasks were stand-ins: it is no build of its app, whatever number it carries,
/// so the API refuses it and records nothing of it.
#[tokio::test]
async fn mock_runs_are_refused() {
    let api = Api::new().await;
    api.send(Call::post("/api/v1/apps/p1/builds").token(&api.reporter))
        .await
        .expect(StatusCode::CREATED);
    let mut mock = RunBuilder::new("p1", 1);
    let mut queued = mock.queued();
    if let gantry_model::RunEventKind::RunQueued(info) = &mut queued.kind {
        info.mock = true;
    }
    let reply = api
        .send(
            Call::post(&format!("/api/v1/runs/{}/events", mock.id()))
                .token(&api.reporter)
                .json(&gantry_api::RunEventBatch::new(vec![queued, mock.started()])),
        )
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "mock_run");
    assert!(api.store().find_run(mock.id()).await.unwrap().is_none());
}
