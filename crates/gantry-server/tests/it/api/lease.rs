//! The lease of runs reported over the API: batches and heartbeats renew it under its fencing
//! number, a stale number is refused, and a sweep marks the runs whose lease expired
//! `interrupted`; with real servers, on one SQLite file and on two replicas of one PostgreSQL
//! database sweeping at once while a client keeps its run through the other replica.
//!
//! Time is a [`ManualClock`] the tests move on: leases last their real two minutes, and nothing
//! waits for them to run out.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use gantry_model::RunResult;
use gantry_server::{DEFAULT_REMOTE_LEASE, ManualClock, ServerConfig};
use gantry_store::{ArtifactLocation, RunStatus};
use gantry_test::{PostgresDatabase, RunBuilder, TestStore};

use crate::support::server::{read, report, request, send};
use crate::support::{Api, Call, PATIENCE, Running};

fn heartbeat(run_id: &str) -> Call {
    Call::post(&format!("/api/v1/runs/{run_id}/heartbeat"))
}

/// A clock at a fixed time, for a test to move on.
fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap())
}

/// `by` as the store counts time.
fn later(by: Duration) -> chrono::Duration {
    chrono::Duration::from_std(by).unwrap()
}

gantry_test::on_both_backends!(
    a_heartbeat_renews_a_runs_lease,
    a_report_under_a_stale_fencing_number_is_refused,
    a_sweep_interrupts_only_runs_silent_past_the_lease,
);

async fn a_heartbeat_renews_a_runs_lease(test: TestStore) {
    let clock = clock();
    let api = Api::on_clock(test, &clock).await;
    let mut run = RunBuilder::new("hello", 1);
    api.report(&[run.queued(), run.started()]).await;
    let first = api.store().find_run(run.id()).await.unwrap().unwrap();
    let reported = first.last_contact_at.expect("events are contact");
    assert_eq!(reported, clock.now());

    clock.advance(chrono::Duration::seconds(20));
    let reply = api.send(heartbeat(run.id()).token(&api.reporter)).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["result"], "running");
    assert_eq!(reply.json()["lease_seconds"], 120);
    assert_eq!(
        reply.json()["lease"]["expires_at"],
        serde_json::to_value(clock.now() + later(DEFAULT_REMOTE_LEASE)).unwrap()
    );
    let renewed = api.store().find_run(run.id()).await.unwrap().unwrap();
    assert_eq!(renewed.last_contact_at, Some(clock.now()), "{renewed:?}");

    // Only a reporter may; only for a run that exists; a finished run says so.
    let reply = api.send(heartbeat(run.id()).token(&api.reader)).await;
    reply.expect(StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "forbidden");
    let reply = api.send(heartbeat(run.id())).await;
    reply.expect(StatusCode::UNAUTHORIZED);
    let reply = api.send(heartbeat("no-such-run").token(&api.reporter)).await;
    reply.expect(StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
    api.report(&[run.finished(RunResult::Success)]).await;
    let reply = api.send(heartbeat(run.id()).token(&api.reporter)).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["result"], "success");
}

fn batch(run_id: &str, events: &[gantry_model::RunEvent]) -> Call {
    Call::post(&format!("/api/v1/runs/{run_id}/events"))
        .json(&gantry_api::RunEventBatch::new(events.to_vec()))
}

async fn a_report_under_a_stale_fencing_number_is_refused(test: TestStore) {
    let api = Api::on(test).await;
    let other = api
        .store()
        .create_token("other", &[gantry_store::Scope::Report])
        .await
        .unwrap();
    api.store().allocate_build("hello").await.unwrap();
    let mut run = RunBuilder::new("hello", 1);
    let id = run.id().to_owned();

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

async fn a_sweep_interrupts_only_runs_silent_past_the_lease(test: TestStore) {
    let clock = clock();
    let api = Api::on_clock(test, &clock).await;
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

    // A lease's length passes in four steps, the kept run's client heard from at each.
    let step = later(DEFAULT_REMOTE_LEASE) / 4;
    for _ in 0..4 {
        assert_eq!(gantry_server::lease::sweep_once(&api.state).await, 0, "not yet");
        clock.advance(step);
        api.send(heartbeat(kept.id()).token(&api.reporter))
            .await
            .expect(StatusCode::OK);
    }
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(gantry_server::lease::sweep_once(&api.state).await, 1);
    let status = |id: String| {
        let store = api.store().clone();
        async move { store.find_run(&id).await.unwrap().unwrap().summary.result }
    };
    assert_eq!(status(silent.id().to_owned()).await, RunStatus::Interrupted);
    assert_eq!(status(kept.id().to_owned()).await, RunStatus::Running);
    assert_eq!(status(local.id().to_owned()).await, RunStatus::Running);
    let detail = api
        .send(Call::get(&format!("/api/v1/runs/{}", silent.id())).token(&api.reader))
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
    assert_eq!(status(silent.id().to_owned()).await, RunStatus::Interrupted);
}

/// The value of the metric `name` (with its labels) on `server`; 0 before it was counted.
fn metric(server: &Running, name: &str) -> u64 {
    server
        .metrics()
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0, |count| count.parse().unwrap())
}

/// How many runs a replica counted `interrupted`.
fn interrupted(server: &Running) -> u64 {
    metric(server, r#"gantry_runs_total{result="interrupted"}"#)
}

/// How many sweeps a replica made.
fn sweeps(server: &Running) -> u64 {
    metric(
        server,
        r#"gantry_store_operation_duration_seconds_count{operation="interrupt_expired_runs"}"#,
    )
}

const ADMIN: &str = "lease-test-admin-secret-0123456789";

/// A server whose lease path reads `clock`, sweeping every 50 ms.
async fn leased(db_url: &str, artifacts: Option<&std::path::Path>, clock: &ManualClock) -> Running {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), db_url);
    config.artifacts = artifacts.map(|dir| ArtifactLocation::Dir(dir.to_path_buf()));
    config.admin_token = Some(ADMIN.to_owned());
    config.lease_sweep = Duration::from_millis(50);
    Running::with_clock(config, clock.clock()).await
}

/// Polls `done` every 10 ms until it holds; fails after [`PATIENCE`], saying `what`.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let give_up = tokio::time::Instant::now() + PATIENCE;
    while !done().await {
        assert!(tokio::time::Instant::now() < give_up, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Checks that `servers` counted `expected` runs interrupted between them. A server counts its
/// runs once its sweep is through them all: this waits for that, then for two more sweeps of
/// each server, which must find nothing.
async fn counted(servers: &[&Running], expected: u64) {
    let total = || servers.iter().map(|server| interrupted(server)).sum::<u64>();
    until(&format!("counting {expected} runs interrupted"), async || {
        total() >= expected
    })
    .await;
    let before: Vec<u64> = servers.iter().map(|server| sweeps(server)).collect();
    until("two more sweeps", async || {
        servers
            .iter()
            .zip(&before)
            .all(|(server, before)| sweeps(server) >= before + 2)
    })
    .await;
    assert_eq!(total(), expected, "each run counted once");
}

/// Waits until every run in `ids` is interrupted.
async fn all_interrupted(server: &Running, ids: &[String]) {
    for id in ids {
        until(&format!("{id} interrupted"), async || {
            let run = server.store.find_run(id).await.unwrap().unwrap();
            run.summary.result == RunStatus::Interrupted
        })
        .await;
    }
}

#[tokio::test]
async fn a_server_sweeps_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut server = leased(&TestStore::url_in(&dir), None, &clock).await;
    let mut run = RunBuilder::new("hello", 1);
    report(&server, ADMIN, &[run.queued(), run.started()]).await;
    clock.advance(later(DEFAULT_REMOTE_LEASE) + chrono::Duration::seconds(1));
    all_interrupted(&server, &[run.id().to_owned()]).await;
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
    let clock = clock();
    let (mut a, mut b) = tokio::join!(
        leased(&database.url, Some(artifacts.path()), &clock),
        leased(&database.url, Some(artifacts.path()), &clock)
    );
    // A run reported to one replica whose client keeps it through the other: neither sweeps it.
    let mut kept = RunBuilder::new("hello", 11);
    let mut ids = Vec::new();
    for build in 1..=10 {
        let mut run = RunBuilder::new("hello", build);
        let server = if build % 2 == 0 { &a } else { &b };
        report(server, ADMIN, &[run.queued(), run.started()]).await;
        ids.push(run.id().to_owned());
    }
    report(&a, ADMIN, &[kept.queued(), kept.started()]).await;
    let heartbeat_url = b.url(&format!("/api/v1/runs/{}/heartbeat", kept.id()));
    let heartbeat = async move || {
        let call = request(
            axum::http::Method::POST,
            &heartbeat_url,
            ADMIN,
            axum::body::Body::empty(),
        );
        let (status, body) = read(send(call).await).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    };
    // Half a lease on, the client is heard from through B; it goes on being heard from while
    // the replicas sweep.
    clock.advance(later(DEFAULT_REMOTE_LEASE) / 2);
    heartbeat().await;
    let heartbeats = tokio::spawn(async move {
        loop {
            heartbeat().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    // Past the lease of the ten, within the kept run's.
    clock.advance(later(DEFAULT_REMOTE_LEASE) / 2 + chrono::Duration::seconds(1));
    all_interrupted(&a, &ids).await;
    counted(&[&a, &b], 10).await;
    heartbeats.abort();
    let kept_run = b.store.find_run(kept.id()).await.unwrap().unwrap();
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
