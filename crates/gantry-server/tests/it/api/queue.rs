//! The queue and the agent protocol through the router: who may queue, take and report jobs;
//! a lease request waiting for work woken by a job queued; a stale fencing number refused once
//! the sweep gave the job back to the queue; why a job waits, and what state an agent is in.
//!
//! Time is a [`ManualClock`] the tests move on: nothing waits for a lease to run out.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use gantry_server::ManualClock;
use gantry_store::Scope;
use gantry_test::TestStore;
use serde_json::{Value, json};

use crate::support::{Api, Call};

const REVISION: &str = "0123456789abcdef0123456789abcdef01234567";

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap())
}

fn lease_request(agent: &str, labels: &Value, wait_seconds: u32) -> Call {
    Call::post("/api/v1/agent/lease").json(&json!({
        "agent": agent, "labels": labels, "version": "1.0", "wait_seconds": wait_seconds
    }))
}

fn job_call(job: &str, what: &str, body: &Value) -> Call {
    Call::post(&format!("/api/v1/agent/jobs/{job}/{what}")).json(body)
}

gantry_test::on_both_backends!(a_job_is_queued_taken_kept_and_completed_once);

async fn a_job_is_queued_taken_kept_and_completed_once(test: TestStore) {
    let clock = clock();
    let api = Api::on_clock(test, &clock).await;
    let agent = api.store().create_token("agents", &[Scope::Agent]).await.unwrap();

    // Only an admin queues; readers see the queue; an agent's token reads nothing.
    let body = json!({ "repository": "https://git.example/hello.git", "revision": REVISION, "app": "hello", "labels": { "os": "linux" } });
    api.send(Call::post("/api/v1/queue").json(&body).token(&api.reporter))
        .await
        .expect(StatusCode::FORBIDDEN);
    let reply = api
        .send(
            Call::post("/api/v1/queue")
                .json(&json!({ "repository": "x", "revision": "main" }))
                .token(&api.admin),
        )
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_field().as_deref(), Some("/revision"));
    let reply = api
        .send(Call::post("/api/v1/queue").json(&body).token(&api.admin))
        .await;
    reply.expect(StatusCode::CREATED);
    let job = reply.json();
    assert_eq!(
        (job["state"].clone(), job["build"].clone()),
        (json!("queued"), json!(1))
    );
    assert_eq!(job["trigger"]["by"], "token:admin");
    assert_eq!(job["waiting_for"], "no agent has labels os=linux");
    let id = job["id"].as_str().unwrap().to_owned();
    api.send(Call::get("/api/v1/runs").token(&agent))
        .await
        .expect(StatusCode::FORBIDDEN);
    api.send(lease_request("a", &json!({}), 0).token(&api.reporter))
        .await
        .expect(StatusCode::FORBIDDEN);

    // An agent without the labels gets nothing; one with them gets the job.
    api.send(lease_request("mac", &json!({ "os": "mac" }), 0).token(&agent))
        .await
        .expect(StatusCode::NO_CONTENT);
    let queue = api.send(Call::get("/api/v1/queue").token(&api.reader)).await;
    assert_eq!(
        queue.json()["jobs"][0]["waiting_for"],
        "no agent has labels os=linux"
    );
    let reply = api
        .send(lease_request("linux", &json!({ "os": "linux", "arch": "x86_64" }), 0).token(&agent))
        .await;
    reply.expect(StatusCode::OK);
    let lease = reply.json();
    assert_eq!(
        (lease["job"].as_str(), lease["attempt"].clone()),
        (Some(id.as_str()), json!(1))
    );
    assert_eq!(lease["lease_seconds"], 60);
    let fencing = lease["fencing"].as_u64().unwrap();

    let reply = api
        .send(job_call(&id, "start", &json!({ "fencing": fencing, "app": "hello" })).token(&agent))
        .await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["build"], 1);
    assert_eq!(reply.json()["run_id"], job["run_id"]);
    let reply = api
        .send(job_call(&id, "start", &json!({ "fencing": fencing, "app": "other" })).token(&agent))
        .await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "app_mismatch");

    clock.advance(chrono::Duration::seconds(30));
    let reply = api
        .send(job_call(&id, "heartbeat", &json!({ "fencing": fencing })).token(&agent))
        .await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["cancel"], false);
    let agents = api
        .send(Call::get("/api/v1/agents").token(&api.reader))
        .await
        .json();
    let states: Vec<(Value, Value)> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|agent| (agent["name"].clone(), agent["state"].clone()))
        .collect();
    assert_eq!(
        states,
        [(json!("linux"), json!("busy")), (json!("mac"), json!("idle"))]
    );

    // Silent past its lease: the sweep gives the job back; the old holder is refused.
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(gantry_server::jobs::sweep_once(&api.state).await, 1);
    let stale = [
        ("heartbeat", json!({ "fencing": fencing })),
        ("complete", json!({ "fencing": fencing, "result": "success" })),
    ];
    for (what, body) in stale {
        let reply = api.send(job_call(&id, what, &body).token(&agent)).await;
        reply.expect(StatusCode::CONFLICT);
        assert_eq!(reply.error_code(), "lease_lost", "{what}");
    }
    let reply = api
        .send(lease_request("linux", &json!({ "os": "linux" }), 0).token(&agent))
        .await;
    reply.expect(StatusCode::OK);
    let again = reply.json();
    assert_eq!(again["attempt"], 2);
    let fencing = again["fencing"].as_u64().unwrap();
    let complete = json!({ "fencing": fencing, "result": "failure", "message": "no such commit" });
    let reply = api.send(job_call(&id, "complete", &complete).token(&agent)).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["state"], "finished");
    api.send(job_call(&id, "complete", &complete).token(&agent))
        .await
        .expect(StatusCode::CONFLICT);
    let queue = api.send(Call::get("/api/v1/queue").token(&api.reader)).await;
    assert_eq!(queue.json()["jobs"], json!([]));
}

/// A lease request waiting for work is answered as soon as a job is queued, not at its next look.
#[tokio::test]
async fn a_waiting_agent_is_woken_by_a_job_queued() {
    let api = Api::new().await;
    let agent = api.store().create_token("agents", &[Scope::Agent]).await.unwrap();
    let router = api.router.clone();
    let waiting = tokio::spawn({
        let request = lease_request("a", &json!({}), 20).token(&agent).build();
        async move { tower::ServiceExt::oneshot(router, request).await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = json!({ "repository": "https://git.example/hello.git", "revision": REVISION });
    api.send(Call::post("/api/v1/queue").json(&body).token(&api.admin))
        .await
        .expect(StatusCode::CREATED);
    let answered = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .expect("woken at once, not at the next look five seconds on")
        .unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
}
