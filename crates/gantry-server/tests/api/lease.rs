//! The lease of runs reported over the API: batches and heartbeats renew it under its fencing
//! number, a stale number is refused, and a sweep marks the runs whose lease expired
//! `interrupted`; with real servers, on one SQLite file and on two replicas of one PostgreSQL
//! database sweeping at once while a client keeps its run through the other replica.

use std::time::Duration;

use axum::http::StatusCode;
use gantry_model::RunResult;
use gantry_server::ServerConfig;
use gantry_store::{ArtifactLocation, RunStatus};

use crate::harness::{Api, Call, RunBuilder, db_url};
use crate::socket::{PATIENCE, Running, read, report, request, send};
use gantry_test::PostgresDatabase;

fn heartbeat(run_id: &str) -> Call {
    Call::post(&format!("/api/v1/runs/{run_id}/heartbeat"))
}

#[tokio::test]
async fn a_heartbeat_renews_a_runs_lease() {
    let api = Api::new().await;
    let mut run = RunBuilder::new("hello", 1);
    api.report(&[run.queued(), run.started()]).await;
    let first = api.store().find_run(&run.run_id).await.unwrap().unwrap();
    let reported = first.last_contact_at.expect("events are contact");

    tokio::time::sleep(Duration::from_millis(20)).await;
    let reply = api.send(heartbeat(&run.run_id).token(&api.reporter)).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["result"], "running");
    assert_eq!(reply.json()["lease_seconds"], 120);
    let renewed = api.store().find_run(&run.run_id).await.unwrap().unwrap();
    assert!(renewed.last_contact_at.unwrap() > reported, "{renewed:?}");

    // Only a reporter may; only for a run that exists; a finished run says so.
    let reply = api.send(heartbeat(&run.run_id).token(&api.reader)).await;
    reply.expect(StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "forbidden");
    let reply = api.send(heartbeat(&run.run_id)).await;
    reply.expect(StatusCode::UNAUTHORIZED);
    let reply = api.send(heartbeat("no-such-run").token(&api.reporter)).await;
    reply.expect(StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
    api.report(&[run.finished(RunResult::Success)]).await;
    let reply = api.send(heartbeat(&run.run_id).token(&api.reporter)).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["result"], "success");
}

fn batch(run_id: &str, events: &[gantry_model::RunEvent]) -> Call {
    Call::post(&format!("/api/v1/runs/{run_id}/events"))
        .json(&gantry_api::RunEventBatch::new(events.to_vec()))
}

#[tokio::test]
async fn a_report_under_a_stale_fencing_number_is_refused() {
    let api = Api::new().await;
    let other = api
        .store()
        .create_token("other", &[gantry_store::Scope::Report])
        .await
        .unwrap();
    api.store().allocate_build("hello").await.unwrap();
    let mut run = RunBuilder::new("hello", 1);
    let id = run.run_id.clone();

    // The first batch acquires the lease for its token; later ones renew it by number.
    let reply = api.send(batch(&id, &[run.queued()]).token(&api.reporter)).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["lease"]["holder"], "reporter");
    assert_eq!(reply.json()["lease"]["fencing"], 1);
    let reply = api
        .send(
            batch(&id, &[run.started()])
                .token(&api.reporter)
                .header("gantry-lease-fencing", "1"),
        )
        .await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["lease"]["fencing"], 1);

    // Another token may not report the run while the lease holds.
    let reply = api
        .send(batch(&id, &[run.output("build/compile", "hello")]).token(&other))
        .await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "lease_held");
    assert!(
        reply.error_message().contains("held by `reporter`"),
        "{}",
        reply.text()
    );

    // The same token without a number (a client that restarted) takes a new one; the old
    // number is refused from then on, and its batch is not recorded.
    let reply = api.send(batch(&id, &[]).token(&api.reporter)).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["lease"]["fencing"], 2);
    let late = api
        .send(
            batch(&id, &[run.task_started("build/compile")])
                .token(&api.reporter)
                .header("gantry-lease-fencing", "1"),
        )
        .await;
    late.expect(StatusCode::CONFLICT);
    assert_eq!(late.error_code(), "lease_lost");
    assert!(
        late.error_message().contains("no longer holds `run:")
            && late
                .error_message()
                .contains("fencing number 1 (its fencing number is now 2)"),
        "{}",
        late.text()
    );
    let detail = api.store().find_run(&id).await.unwrap().unwrap();
    assert!(detail.tasks.is_empty(), "{detail:?}");

    // Heartbeats likewise; without a number they renew the lease the token holds.
    let reply = api
        .send(
            heartbeat(&id)
                .token(&api.reporter)
                .header("gantry-lease-fencing", "1"),
        )
        .await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "lease_lost");
    let reply = api
        .send(
            heartbeat(&id)
                .token(&api.reporter)
                .header("gantry-lease-fencing", "2"),
        )
        .await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["lease"]["fencing"], 2);
    let reply = api.send(heartbeat(&id).token(&api.reporter)).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["lease"]["fencing"], 2);
    let reply = api.send(heartbeat(&id).token(&other)).await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "lease_held");

    // A number that is not one is bad input.
    let reply = api
        .send(
            batch(&id, &[])
                .token(&api.reporter)
                .header("gantry-lease-fencing", "soon"),
        )
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert!(
        reply.error_message().contains("gantry-lease-fencing"),
        "{}",
        reply.text()
    );
}

#[tokio::test]
async fn a_sweep_interrupts_only_runs_silent_past_the_lease() {
    let api = Api::with(|state| state.remote_lease(Duration::from_millis(300))).await;
    let mut silent = RunBuilder::new("hello", 1);
    api.report(&[
        silent.queued(),
        silent.started(),
        silent.task_started("build/compile"),
    ])
    .await;
    let mut kept = RunBuilder::new("hello", 2);
    api.report(&[kept.queued(), kept.started()]).await;
    // A run of a local `gantry run`, recorded straight into the store: its process is checked
    // by pid, never by lease.
    assert_eq!(api.store().allocate_build("hello").await.unwrap(), 3);
    let mut local = RunBuilder::new("hello", 3);
    api.store().record(&[local.queued()]).await.unwrap();
    assert_eq!(gantry_server::lease::sweep_once(&api.state).await, 0, "all fresh");

    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        api.send(heartbeat(&kept.run_id).token(&api.reporter))
            .await
            .expect(StatusCode::OK);
    }
    assert_eq!(gantry_server::lease::sweep_once(&api.state).await, 1);
    let status = |id: String| {
        let store = api.store().clone();
        async move { store.find_run(&id).await.unwrap().unwrap().summary.result }
    };
    assert_eq!(status(silent.run_id.clone()).await, RunStatus::Interrupted);
    assert_eq!(status(kept.run_id.clone()).await, RunStatus::Running);
    assert_eq!(status(local.run_id.clone()).await, RunStatus::Running);
    let detail = api
        .send(Call::get(&format!("/api/v1/runs/{}", silent.run_id)).token(&api.reader))
        .await
        .json();
    assert_eq!(detail["tasks"][0]["status"], "interrupted");
    let finished = detail["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        finished["context"]["type"],
        "dev.cdevents.pipelinerun.finished.0.3.0"
    );
    assert_eq!(finished["subject"]["content"]["outcome"], "error");
    let metrics = api.send(Call::get("/metrics")).await.text();
    assert!(
        metrics.contains(r#"gantry_runs_total{result="interrupted"} 1"#),
        "{metrics}"
    );
    // A client that comes back late finds its run ended: its finish changes nothing.
    api.report(&[silent.finished(RunResult::Success)]).await;
    assert_eq!(status(silent.run_id.clone()).await, RunStatus::Interrupted);
}

/// How many runs a replica counted `interrupted`, from its metrics.
fn interrupted(server: &Running) -> u64 {
    server
        .metrics()
        .lines()
        .find_map(|line| line.strip_prefix(r#"gantry_runs_total{result="interrupted"} "#))
        .map_or(0, |count| count.parse().unwrap())
}

async fn leased(db_url: &str, artifacts: Option<&std::path::Path>) -> Running {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), db_url);
    config.artifacts = artifacts.map(|dir| ArtifactLocation::Dir(dir.to_path_buf()));
    config.admin_token = Some("lease-test-admin-secret-0123456789".to_owned());
    config.remote_lease = Duration::from_secs(1);
    config.lease_sweep = Duration::from_millis(50);
    Running::with(config).await
}

/// Checks that `servers` counted `expected` runs interrupted between them. A server counts its
/// runs once its sweep is through them all: this waits for that, then lets a few more sweeps go
/// by, which must find nothing.
async fn counted(servers: &[&Running], expected: u64) {
    let total = || servers.iter().map(|server| interrupted(server)).sum::<u64>();
    let give_up = tokio::time::Instant::now() + PATIENCE;
    while total() < expected {
        assert!(tokio::time::Instant::now() < give_up, "only {} counted", total());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(total(), expected, "each run counted once");
}

/// Waits until every run in `ids` is interrupted.
async fn all_interrupted(server: &Running, ids: &[String]) {
    let give_up = tokio::time::Instant::now() + PATIENCE;
    for id in ids {
        loop {
            let run = server.store.find_run(id).await.unwrap().unwrap();
            if run.summary.result == RunStatus::Interrupted {
                break;
            }
            assert!(
                tokio::time::Instant::now() < give_up,
                "{id} was never interrupted"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_server_sweeps_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = leased(&db_url(&dir), None).await;
    let token = "lease-test-admin-secret-0123456789";
    let mut run = RunBuilder::new("hello", 1);
    report(&server, token, &[run.queued(), run.started()]).await;
    all_interrupted(&server, std::slice::from_ref(&run.run_id)).await;
    counted(&[&server], 1).await;
    server.shut_down();
    server.stopped().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_sweeping_one_postgres_database_interrupt_each_run_once() {
    let Some(database) = PostgresDatabase::create().await else {
        return;
    };
    let artifacts = tempfile::tempdir().unwrap();
    let (mut a, mut b) = tokio::join!(
        leased(&database.url, Some(artifacts.path())),
        leased(&database.url, Some(artifacts.path()))
    );
    let token = "lease-test-admin-secret-0123456789";
    // A run reported to one replica whose client keeps it through the other: neither sweeps it.
    let mut kept = RunBuilder::new("hello", 11);
    let mut ids = Vec::new();
    for build in 1..=10 {
        let mut run = RunBuilder::new("hello", build);
        let server = if build % 2 == 0 { &a } else { &b };
        report(server, token, &[run.queued(), run.started()]).await;
        ids.push(run.run_id);
    }
    report(&a, token, &[kept.queued(), kept.started()]).await;
    let heartbeats = {
        let url = b.url(&format!("/api/v1/runs/{}/heartbeat", kept.run_id));
        tokio::spawn(async move {
            loop {
                let (status, body) = read(
                    send(request(
                        axum::http::Method::POST,
                        &url,
                        token,
                        axum::body::Body::empty(),
                    ))
                    .await,
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    all_interrupted(&a, &ids).await;
    counted(&[&a, &b], 10).await;
    heartbeats.abort();
    let kept_run = b.store.find_run(&kept.run_id).await.unwrap().unwrap();
    assert_eq!(
        kept_run.summary.result,
        RunStatus::Running,
        "renewed through the other replica"
    );
    for id in &ids {
        let events = a.store.events_for_chain(id).await.unwrap();
        let finishes = events
            .iter()
            .filter(|event| event["context"]["type"] == "dev.cdevents.pipelinerun.finished.0.3.0")
            .count();
        assert_eq!(finishes, 1, "{id}");
    }
    a.shut_down();
    b.shut_down();
    a.stopped().await;
    b.stopped().await;
}
