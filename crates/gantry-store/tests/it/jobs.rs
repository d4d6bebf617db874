//! The job queue on both backends: jobs go to agents with their labels, once each; a lease
//! kept by heartbeats; a job whose agent is lost queued again as a new attempt, recorded as a
//! run of its own, the lost one kept as `agent_lost`; late reports of a lost agent refused.
//! Times are given, never waited for.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use gantry_model::{RunId, RunResult};
use gantry_store::{JobError, JobState, Labels, LeaseError, NewJob, RunStatus, Trigger};
use gantry_test::{RunBuilder, TestStore};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(seconds)
}

const TTL: Duration = Duration::seconds(60);

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn job(app: Option<&str>, needs: &[(&str, &str)]) -> NewJob {
    NewJob {
        app: app.map(str::to_owned),
        repository: "https://git.example/hello.git".to_owned(),
        revision: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        branch: Some("main".to_owned()),
        labels: labels(needs),
        trigger: Trigger {
            kind: "api".to_owned(),
            by: Some("token:ci".to_owned()),
            detail: None,
        },
    }
}

/// The events of attempt `run_id` of build `build` of `app`, as its agent sends them.
fn run_of(app: &str, build: u64, run_id: &str) -> RunBuilder {
    let mut run = RunBuilder::new(app, build);
    run.run_id = RunId(run_id.to_owned());
    run
}

async fn jobs_go_to_agents_with_their_labels_and_finish_once(test: TestStore) {
    let store = &test.store;
    let mac = store
        .queue_job(&job(Some("hello"), &[("os", "mac")]), at(0))
        .await
        .unwrap();
    let any = store.queue_job(&job(None, &[]), at(1)).await.unwrap();
    assert_eq!(
        (mac.state, mac.build, mac.attempts),
        (JobState::Queued, Some(1), 0)
    );
    assert_eq!((any.app.as_deref(), any.build), (None, None));

    // A linux agent skips the mac job, and takes the one it can run.
    let linux = labels(&[("os", "linux")]);
    let taken = store
        .take_job("linux-1", &linux, Some("1.0"), TTL, at(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.job.id, any.id);
    assert_eq!((taken.job.state, taken.job.attempts), (JobState::Leased, 1));
    assert_eq!(taken.lease.holder, "linux-1");
    assert_eq!(taken.lease.expires_at, at(62));
    assert!(
        store
            .take_job("linux-2", &linux, None, TTL, at(3))
            .await
            .unwrap()
            .is_none()
    );

    // It learns the app from the checkout, and the job its build number.
    let fencing = taken.lease.fencing;
    let start = store.start_job(&any.id, fencing, "hello").await.unwrap();
    assert_eq!((start.run_id.as_str(), start.build), (any.run_id.as_str(), 2));
    let (kept, cancel) = store
        .keep_job(&any.id, fencing, false, TTL, at(30))
        .await
        .unwrap();
    assert_eq!((kept.expires_at, cancel), (at(90), false));
    // Under another fencing number, nothing.
    assert!(matches!(
        store.keep_job(&any.id, fencing + 1, false, TTL, at(31)).await,
        Err(JobError::Lease(LeaseError::Lost { .. }))
    ));

    let done = store
        .complete_job(&any.id, fencing, RunResult::Success, at(40))
        .await
        .unwrap();
    assert_eq!(
        (done.state, done.result.as_deref()),
        (JobState::Finished, Some("success"))
    );
    assert!(matches!(
        store
            .complete_job(&any.id, fencing, RunResult::Failure, at(41))
            .await,
        Err(JobError::Lease(LeaseError::Lost { .. }))
    ));
    let attempts = store.job_attempts(&any.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome.as_deref(), Some("success"));

    // A mac agent takes the mac job; one queued for another app is refused its checkout.
    let mac_agent = labels(&[("os", "mac"), ("arch", "arm64")]);
    let taken = store
        .take_job("mac-1", &mac_agent, None, TTL, at(50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.job.id, mac.id);
    let refused = store
        .start_job(&mac.id, taken.lease.fencing, "other")
        .await
        .unwrap_err();
    assert!(matches!(refused, JobError::AppMismatch { .. }), "{refused:?}");

    let agents = store.agents().await.unwrap();
    let names: Vec<_> = agents
        .iter()
        .map(|agent| (agent.name.as_str(), agent.jobs.len()))
        .collect();
    assert_eq!(names, [("linux-1", 0), ("linux-2", 0), ("mac-1", 1)]);
    assert_eq!(agents[0].version.as_deref(), Some("1.0"));
    assert_eq!(agents[2].labels, mac_agent);
}

async fn a_lost_agent_s_job_runs_again_as_a_new_run(test: TestStore) {
    let store = &test.store;
    let queued = store.queue_job(&job(Some("hello"), &[]), at(0)).await.unwrap();
    let first = store
        .take_job("a", &Labels::new(), None, TTL, at(1))
        .await
        .unwrap()
        .unwrap();
    let start = store
        .start_job(&queued.id, first.lease.fencing, "hello")
        .await
        .unwrap();
    let mut run = run_of("hello", start.build, &start.run_id);
    let events = [
        run.queued(),
        run.started(),
        run.task_started("build/compile"),
        run.output("build/compile", "one"),
    ];
    let run_lease = store
        .record_held(&start.run_id, &events, "agent-token", None, TTL, at(2))
        .await
        .unwrap();

    // Renewed meanwhile: nothing to sweep.
    assert!(store.requeue_lost_jobs(at(60)).await.unwrap().is_empty());
    // Expired: queued again, once, however many replicas sweep.
    let other = test.open_another().await;
    let (one, two) = tokio::join!(store.requeue_lost_jobs(at(62)), other.requeue_lost_jobs(at(62)));
    let mut swept = one.unwrap();
    swept.extend(two.unwrap());
    assert_eq!(swept, std::slice::from_ref(&queued.id));

    let again = store.job(&queued.id).await.unwrap().unwrap();
    assert_eq!(
        (again.state, again.attempts, again.build),
        (JobState::Queued, 1, Some(1))
    );
    assert_ne!(again.run_id, start.run_id, "the next attempt is another run");
    let lost = store.find_run(&start.run_id).await.unwrap().unwrap();
    assert_eq!(lost.summary.result, RunStatus::AgentLost);

    // The lost agent is refused everything from now on, recording nothing.
    let late = [run.task_finished("build/compile", gantry_model::TaskOutcome::Success)];
    assert!(matches!(
        store
            .record_held(
                &start.run_id,
                &late,
                "agent-token",
                Some(run_lease.fencing),
                TTL,
                at(63)
            )
            .await,
        Err(LeaseError::Lost { .. })
    ));
    assert!(matches!(
        store
            .record_held(&start.run_id, &late, "agent-token", None, TTL, at(63))
            .await,
        Err(LeaseError::Closed { .. })
    ));
    assert!(matches!(
        store
            .keep_job(&queued.id, first.lease.fencing, false, TTL, at(63))
            .await,
        Err(JobError::Lease(LeaseError::Lost { .. }))
    ));
    assert!(matches!(
        store
            .complete_job(&queued.id, first.lease.fencing, RunResult::Success, at(63))
            .await,
        Err(JobError::Lease(LeaseError::Lost { .. }))
    ));

    // Another agent runs it as a new run with the same build number, and finishes it.
    let second = store
        .take_job("b", &Labels::new(), None, TTL, at(64))
        .await
        .unwrap()
        .unwrap();
    assert!(second.lease.fencing > first.lease.fencing);
    assert_eq!(second.job.attempts, 2);
    let restart = store
        .start_job(&queued.id, second.lease.fencing, "hello")
        .await
        .unwrap();
    assert_eq!(
        (restart.run_id.as_str(), restart.build),
        (again.run_id.as_str(), 1)
    );
    let mut rerun = run_of("hello", restart.build, &restart.run_id);
    let events = rerun.complete(2, RunResult::Success);
    store
        .record_held(&restart.run_id, &events, "agent-token", None, TTL, at(65))
        .await
        .unwrap();
    store
        .complete_job(&queued.id, second.lease.fencing, RunResult::Success, at(66))
        .await
        .unwrap();

    // Both attempts stay in the history, apart; `hello#1` names the one that holds the number.
    let attempts = store.job_attempts(&queued.id).await.unwrap();
    let outcomes: Vec<_> = attempts
        .iter()
        .map(|attempt| (attempt.agent.as_str(), attempt.outcome.as_deref()))
        .collect();
    assert_eq!(outcomes, [("a", Some("agent_lost")), ("b", Some("success"))]);
    let lost = store.find_run(&start.run_id).await.unwrap().unwrap();
    assert_eq!(lost.tasks.len(), 1, "the lost attempt's task stays its own");
    let by_build = store.find_run("hello#1").await.unwrap().unwrap();
    assert_eq!(by_build.summary.id, restart.run_id);
    assert_eq!(by_build.summary.result, RunStatus::Success);
}

async fn a_cancelled_job_is_never_taken_and_a_held_one_hears_it(test: TestStore) {
    let store = &test.store;
    let waiting = store.queue_job(&job(Some("hello"), &[]), at(0)).await.unwrap();
    let running = store.queue_job(&job(Some("hello"), &[]), at(1)).await.unwrap();
    assert!(store.cancel_job(&waiting.id, at(2)).await.unwrap());
    let taken = store
        .take_job("a", &Labels::new(), None, TTL, at(3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.job.id, running.id);
    assert!(store.cancel_job(&running.id, at(4)).await.unwrap());
    let (_, cancel) = store
        .keep_job(&running.id, taken.lease.fencing, false, TTL, at(5))
        .await
        .unwrap();
    assert!(cancel);
    let done = store
        .complete_job(&running.id, taken.lease.fencing, RunResult::Cancelled, at(6))
        .await
        .unwrap();
    assert_eq!(done.state, JobState::Cancelled);
    assert_eq!(
        store.job(&waiting.id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    assert!(!store.cancel_job(&waiting.id, at(7)).await.unwrap());
}

/// Many agents asking at once, through several handles (replicas): every job goes to exactly
/// one of them.
async fn many_agents_at_once_take_every_job_once(test: TestStore) {
    const JOBS: usize = 40;
    const AGENTS: usize = 8;
    for index in 0..JOBS {
        let seconds = i64::try_from(index).unwrap();
        test.store
            .queue_job(&job(Some("hello"), &[]), at(seconds))
            .await
            .unwrap();
    }
    let mut agents = Vec::new();
    for agent in 0..AGENTS {
        let store = if agent % 2 == 0 {
            test.store.clone()
        } else {
            test.open_another().await
        };
        agents.push(tokio::spawn(async move {
            let mut taken = Vec::new();
            while let Some(lease) = store
                .take_job(&format!("agent-{agent}"), &Labels::new(), None, TTL, at(100))
                .await
                .unwrap()
            {
                taken.push(lease.job.id);
            }
            taken
        }));
    }
    let mut all = Vec::new();
    for agent in agents {
        all.extend(agent.await.unwrap());
    }
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), JOBS, "every job handed out once: {all:?}");
    assert_eq!(distinct.len(), JOBS);
    assert!(
        test.store
            .jobs(Some(JobState::Queued), 100)
            .await
            .unwrap()
            .is_empty()
    );
}

gantry_test::on_both_backends!(
    jobs_go_to_agents_with_their_labels_and_finish_once,
    a_lost_agent_s_job_runs_again_as_a_new_run,
    a_cancelled_job_is_never_taken_and_a_held_one_hears_it,
    many_agents_at_once_take_every_job_once,
);
