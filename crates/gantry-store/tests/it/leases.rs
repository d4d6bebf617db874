//! Leases on both backends: acquired by one holder, refused to others, renewed only by the
//! holder under the current fencing number, expired, re-acquired with a higher fencing number,
//! released; and the sweep of reported runs, once per expiry however many replicas sweep.
//! Times are given, never waited for.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gantry_store::{LeaseError, RunStatus, TaskStatus, run_resource, validate_cdevent};
use gantry_test::{RecordAllocated, RunBuilder, TestStore};
use sqlx::Connection;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(seconds)
}

const TTL: Duration = Duration::seconds(60);

async fn leases_are_held_renewed_expired_and_fenced(test: TestStore) {
    let store = &test.store;
    let a = store.acquire_lease("job:1", "agent-a", TTL, at(0)).await.unwrap();
    assert_eq!(
        (a.holder.as_str(), a.fencing, a.expires_at),
        ("agent-a", 1, at(60))
    );
    assert_eq!(store.lease("job:1").await.unwrap(), Some(a.clone()));

    // Held: nobody else acquires it.
    let refused = store
        .acquire_lease("job:1", "agent-b", TTL, at(30))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, LeaseError::Held { holder, expires_at, .. } if holder == "agent-a" && *expires_at == at(60)),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("held by `agent-a`"), "{refused}");
    // Its holder acquiring it again (restarted, say) gets a new fencing number; the old one is
    // refused from then on.
    let restarted = store.acquire_lease("job:1", "agent-a", TTL, at(1)).await.unwrap();
    assert_eq!((restarted.fencing, restarted.expires_at), (2, at(61)));
    assert!(matches!(
        store.renew_lease(&a, TTL, at(2)).await,
        Err(LeaseError::Lost {
            fencing: 1,
            current: Some(2),
            ..
        })
    ));
    let a = restarted;

    // Renewed by its holder; a renewal by another, or under another fencing number, is refused.
    let a = store.renew_lease(&a, TTL, at(30)).await.unwrap();
    assert_eq!((a.fencing, a.expires_at), (2, at(90)));
    let mut b = a.clone();
    b.holder = "agent-b".into();
    assert!(matches!(
        store.renew_lease(&b, TTL, at(31)).await,
        Err(LeaseError::Lost { current: Some(2), .. })
    ));
    // A renewal never moves the expiry back.
    assert_eq!(
        store
            .renew_lease(&a, Duration::seconds(1), at(31))
            .await
            .unwrap()
            .expires_at,
        at(90)
    );

    // Expired: someone else acquires it with a higher fencing number, and the old holder is
    // refused from then on, saying so.
    let b = store
        .acquire_lease("job:1", "agent-b", TTL, at(90))
        .await
        .unwrap();
    assert_eq!(
        (b.holder.as_str(), b.fencing, b.expires_at),
        ("agent-b", 3, at(150))
    );
    let stale = store.renew_lease(&a, TTL, at(91)).await.unwrap_err();
    assert!(
        matches!(
            &stale,
            LeaseError::Lost {
                fencing: 2,
                current: Some(3),
                ..
            }
        ),
        "{stale:?}"
    );
    assert_eq!(
        stale.to_string(),
        "`agent-a` no longer holds `job:1` under fencing number 2 (its fencing number is now 3)"
    );
    assert!(matches!(
        store.release_lease(&a).await,
        Err(LeaseError::Lost { .. })
    ));

    // Released: free at once, and the next acquisition's fencing number goes on increasing.
    store.release_lease(&b).await.unwrap();
    assert_eq!(store.lease("job:1").await.unwrap(), None);
    assert!(matches!(
        store.renew_lease(&b, TTL, at(100)).await,
        Err(LeaseError::Lost { .. })
    ));
    let a = store
        .acquire_lease("job:1", "agent-a", TTL, at(100))
        .await
        .unwrap();
    assert_eq!(a.fencing, 4);

    // Other resources are leased apart.
    let other = store
        .acquire_lease("job:2", "agent-b", TTL, at(100))
        .await
        .unwrap();
    assert_eq!(other.fencing, 1);
    assert!(matches!(
        store.renew_lease(&b, TTL, at(100)).await,
        Err(LeaseError::Lost { current: Some(4), .. })
    ));
    assert_eq!(store.lease("job:1").await.unwrap(), Some(a));
}

async fn the_sweep_takes_each_expired_lease_once(test: TestStore) {
    let store = &test.store;
    let early = store.acquire_lease("job:early", "a", TTL, at(0)).await.unwrap();
    let renewed = store.acquire_lease("job:renewed", "b", TTL, at(0)).await.unwrap();
    store.acquire_lease("job:late", "c", TTL, at(50)).await.unwrap();
    store
        .acquire_lease("run:other-kind", "d", TTL, at(0))
        .await
        .unwrap();
    // `_` and `%` in a prefix are matched as they are.
    assert!(store.expired_leases("job_", at(60)).await.unwrap().is_empty());

    let expired = store.expired_leases("job:", at(60)).await.unwrap();
    assert_eq!(expired, [early.clone(), renewed.clone()]);

    // Between the listing and the sweep, one holder renews: its lease is kept.
    store.renew_lease(&renewed, TTL, at(60)).await.unwrap();
    assert!(store.expire_lease(&early, at(60)).await.unwrap());
    assert!(
        !store.expire_lease(&renewed, at(60)).await.unwrap(),
        "renewed meanwhile"
    );
    assert!(!store.expire_lease(&early, at(60)).await.unwrap(), "only once");
    assert_eq!(store.lease("job:early").await.unwrap(), None);
    assert!(matches!(
        store.renew_lease(&early, TTL, at(61)).await,
        Err(LeaseError::Lost { .. })
    ));
    assert_eq!(
        store.lease("job:renewed").await.unwrap().unwrap().expires_at,
        at(120)
    );
    let names: Vec<String> = store
        .expired_leases("job:", at(110))
        .await
        .unwrap()
        .into_iter()
        .map(|lease| lease.resource)
        .collect();
    assert_eq!(names, ["job:late"]);
}

/// Records a running run reported by `holder`, holding its lease from `at(0)`; returns its id.
async fn reported_run(test: &TestStore, holder: &str, finished: bool) -> String {
    let build = test.store.allocate_build("hello").await.unwrap();
    let mut run = RunBuilder::new("hello", build);
    let mut events = vec![
        run.queued(),
        run.started(),
        run.stage_started("build"),
        run.task_started("build/compile"),
    ];
    if finished {
        events.push(run.finished(gantry_model::RunResult::Success));
    }
    test.store.record_allocated(&events).await.unwrap();
    test.store
        .acquire_lease(&run_resource(&run.run_id.0), holder, TTL, at(0))
        .await
        .unwrap();
    run.run_id.0
}

async fn runs_whose_lease_expired_are_interrupted_once(test: TestStore) {
    let silent = reported_run(&test, "ci-1", false).await;
    let renewed = reported_run(&test, "ci-2", false).await;
    let finished = reported_run(&test, "ci-3", true).await;
    let lease = test.store.lease(&run_resource(&renewed)).await.unwrap().unwrap();
    test.store.renew_lease(&lease, TTL, at(50)).await.unwrap();

    let mut interrupted = test.store.interrupt_expired_runs(at(60)).await.unwrap();
    interrupted.sort();
    assert_eq!(interrupted, std::slice::from_ref(&silent));
    let detail = |id: String| {
        let store = test.store.clone();
        async move { store.find_run(&id).await.unwrap().unwrap() }
    };
    let run = detail(silent.clone()).await;
    assert_eq!(run.summary.result, RunStatus::Interrupted);
    assert_eq!(run.tasks[0].status, TaskStatus::Interrupted);
    let events = test.store.events_for_chain(&silent).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["customData"]["result"], "interrupted");
    assert_eq!(last["subject"]["content"]["outcome"], "error");
    validate_cdevent(last).unwrap();
    assert_eq!(detail(renewed.clone()).await.summary.result, RunStatus::Running);
    // A finished run's lease left behind is taken, the run stays as it ended.
    assert_eq!(detail(finished.clone()).await.summary.result, RunStatus::Success);
    assert_eq!(test.store.lease(&run_resource(&finished)).await.unwrap(), None);
    assert!(
        test.store
            .interrupt_expired_runs(at(60))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        test.store.interrupt_expired_runs(at(110)).await.unwrap(),
        [renewed]
    );
}

/// A reported run's events are recorded under its lease: the first batch acquires it, later
/// ones renew it with the fencing number given; a stale or foreign report records nothing.
async fn reports_are_recorded_under_the_run_lease(test: TestStore) {
    let store = &test.store;
    let build = store.allocate_build("hello").await.unwrap();
    let mut run = RunBuilder::new("hello", build);
    let id = run.run_id.0.clone();
    let first = [run.queued(), run.started()];
    let lease = store
        .record_held(&id, &first, "ci", None, TTL, at(0))
        .await
        .unwrap();
    assert_eq!(
        (lease.resource.clone(), lease.holder.as_str(), lease.fencing),
        (run_resource(&id), "ci", 1)
    );
    let detail = store.find_run(&id).await.unwrap().unwrap();
    assert_eq!(detail.owner, None, "no owner process: the lease stands for it");
    assert_eq!(detail.last_contact_at, Some(at(0)));
    // Recovery leaves it to its lease.
    assert!(store.recover_interrupted().await.unwrap().is_empty());

    let renewed = store
        .record_held(&id, &[run.stage_started("build")], "ci", Some(1), TTL, at(30))
        .await
        .unwrap();
    assert_eq!((renewed.fencing, renewed.expires_at), (1, at(90)));

    // Another client may not report it while the lease holds.
    let held = store
        .record_held(
            &id,
            &[run.task_started("build/compile")],
            "other",
            None,
            TTL,
            at(40),
        )
        .await
        .unwrap_err();
    assert!(matches!(held, LeaseError::Held { .. }), "{held:?}");

    // Expired and taken over: the first client's late report is refused, and not recorded.
    let taken = store
        .record_held(&id, &[], "other", None, TTL, at(100))
        .await
        .unwrap();
    assert_eq!(taken.fencing, 2);
    let late = run.finished(gantry_model::RunResult::Success);
    let stale = store
        .record_held(&id, std::slice::from_ref(&late), "ci", Some(1), TTL, at(101))
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            LeaseError::Lost {
                fencing: 1,
                current: Some(2),
                ..
            }
        ),
        "{stale:?}"
    );
    let detail = store.find_run(&id).await.unwrap().unwrap();
    assert_eq!(detail.summary.result, RunStatus::Running);
    assert!(detail.tasks.is_empty(), "the refused batches recorded nothing");
}

/// Two replicas sweeping at once: each expired run is interrupted by exactly one of them, with
/// exactly one `pipelinerun.finished`.
async fn replicas_sweeping_at_once_interrupt_each_run_once(test: TestStore) {
    let mut runs = Vec::new();
    for index in 0..20 {
        runs.push(reported_run(&test, &format!("ci-{index}"), false).await);
    }
    let mut sweeps = Vec::new();
    for _ in 0..2 {
        let replica = test.open_another().await;
        sweeps.push(tokio::spawn(async move {
            replica.interrupt_expired_runs(at(60)).await.unwrap()
        }));
    }
    let first = sweeps.remove(0).await.unwrap();
    let second = sweeps.remove(0).await.unwrap();
    let mut all: Vec<String> = first.iter().chain(&second).cloned().collect();
    all.sort();
    runs.sort();
    assert_eq!(all, runs, "each run once: {first:?} {second:?}");
    for run in &runs {
        let finishes = test
            .store
            .events_for_chain(run)
            .await
            .unwrap()
            .iter()
            .filter(|event| event["context"]["type"] == "dev.cdevents.pipelinerun.finished.0.3.0")
            .count();
        assert_eq!(finishes, 1, "{run}");
    }
}

/// Writes runs as a server before leases left them: reported runs owned by "remote client".
async fn runs_before_leases(url: &str) {
    let sqlite = !url.starts_with("postgres");
    let migrator = crate::migrations_before(url, "0009").await;
    let insert = "INSERT INTO runs (id, app, version, build, traceable, mock, pipeline, result, queued_at,
                                    last_contact_at, owner_host, owner_pid) VALUES
         ('heard', 'hello', '1', 1, FALSE, FALSE, '{}', 'running', '2030-01-01T00:00:00.000000Z',
          '2030-01-01T00:00:10.500000Z', 'remote client', 0),
         ('quiet', 'hello', '2', 2, FALSE, FALSE, '{}', 'running', '2030-01-01T00:00:00.000000Z',
          NULL, 'remote client', 0),
         ('done', 'hello', '3', 3, FALSE, FALSE, '{}', 'success', '2030-01-01T00:00:00.000000Z',
          NULL, 'remote client', 0),
         ('local', 'hello', '4', 4, FALSE, FALSE, '{}', 'running', '2030-01-01T00:00:00.000000Z',
          NULL, 'build-host', 42)";
    if sqlite {
        let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        migrator.run(&mut conn).await.unwrap();
        sqlx::raw_sql(insert).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        migrator.run(&mut conn).await.unwrap();
        sqlx::raw_sql(insert).execute(&mut conn).await.unwrap();
    }
}

/// Reported runs still running when a store is migrated hold a lease from then on, expiring
/// the default two minutes after their client was last heard from; no other run has one.
async fn reported_runs_of_older_stores_hold_leases(test: TestStore) {
    let store = &test.store;
    let heard = store.lease("run:heard").await.unwrap().unwrap();
    assert_eq!((heard.holder.as_str(), heard.fencing), ("remote client", 1));
    assert_eq!(heard.expires_at, at(130) + Duration::milliseconds(500));
    let quiet = store.lease("run:quiet").await.unwrap().unwrap();
    assert_eq!(quiet.expires_at, at(120));
    assert_eq!(store.lease("run:done").await.unwrap(), None);
    assert_eq!(store.lease("run:local").await.unwrap(), None);

    assert_eq!(store.interrupt_expired_runs(at(125)).await.unwrap(), ["quiet"]);
    let status = |id: &'static str| async move { store.find_run(id).await.unwrap().unwrap().summary.result };
    assert_eq!(status("quiet").await, RunStatus::Interrupted);
    assert_eq!(status("heard").await, RunStatus::Running);
    assert_eq!(status("local").await, RunStatus::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reported_runs_of_older_stores_hold_leases() {
    reported_runs_of_older_stores_hold_leases(TestStore::sqlite_prepared(runs_before_leases).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reported_runs_of_older_stores_hold_leases() {
    if let Some(test) = TestStore::postgres_prepared(runs_before_leases).await {
        reported_runs_of_older_stores_hold_leases(test).await;
    }
}

gantry_test::on_both_backends!(
    leases_are_held_renewed_expired_and_fenced,
    reports_are_recorded_under_the_run_lease,
    the_sweep_takes_each_expired_lease_once,
    runs_whose_lease_expired_are_interrupted_once,
    replicas_sweeping_at_once_interrupt_each_run_once,
);
