//! Build numbers: atomic per app, never twice, never a gap, across handles and processes.

use std::collections::BTreeSet;

use gantry_store::{ArtifactLocation, Store, StoreError, StoreOptions};
use gantry_test::{RunBuilder, TestStore};
use sqlx::Connection;
use tokio::process::Command;

const STORES: usize = 20;
const EACH: usize = 10;

/// Twenty handles, each with its own connections, allocating at once.
async fn twenty_stores_on_one_database_allocate_every_number_once(test: TestStore) {
    let mut stores = Vec::new();
    for _ in 0..STORES {
        stores.push(test.open_another().await);
    }
    let handles: Vec<_> = stores
        .into_iter()
        .map(|store| {
            tokio::spawn(async move {
                let mut numbers = Vec::new();
                for _ in 0..EACH {
                    numbers.push((
                        store.allocate_build("hello").await.unwrap(),
                        store.allocate_build("world").await.unwrap(),
                    ));
                }
                numbers
            })
        })
        .collect();
    let mut hello = Vec::new();
    let mut world = Vec::new();
    for handle in handles {
        for (a, b) in handle.await.unwrap() {
            hello.push(a);
            world.push(b);
        }
    }
    let expected: Vec<u64> = (1..=u64::try_from(STORES * EACH).unwrap()).collect();
    hello.sort_unstable();
    world.sort_unstable();
    assert_eq!(hello, expected);
    assert_eq!(world, expected);
}

/// Twenty handles opening a new SQLite file at once: the first migration races too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_stores_open_a_new_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = TestStore::url_in(&dir);
    let handles: Vec<_> = (0..STORES)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                Store::open(&url)
                    .await
                    .unwrap()
                    .allocate_build("hello")
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for handle in handles {
        numbers.push(handle.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=u64::try_from(STORES).unwrap()).collect::<Vec<_>>());
}

/// Run by [`twenty_processes_allocate_every_number_once`] in child processes; does nothing
/// when run on its own.
#[tokio::test]
#[ignore = "a child of twenty_processes_allocate_every_number_once"]
async fn allocate_in_child_process() {
    let Ok(url) = std::env::var("GANTRY_STORE_TEST_URL") else {
        return;
    };
    let options = StoreOptions {
        artifacts: std::env::var_os("GANTRY_STORE_TEST_ARTIFACTS")
            .map(|dir| ArtifactLocation::Dir(dir.into())),
    };
    let store = Store::open_with(&url, &options).await.unwrap();
    for _ in 0..EACH {
        println!("build={}", store.allocate_build("hello").await.unwrap());
    }
}

/// Twenty processes, each with its own store, allocating at once.
async fn twenty_processes_allocate_every_number_once(test: TestStore) {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..STORES)
        .map(|_| {
            let mut child = Command::new(&exe);
            child
                .args([
                    "--exact",
                    "build_numbers::allocate_in_child_process",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("GANTRY_STORE_TEST_URL", test.url())
                .stdout(std::process::Stdio::piped());
            if let Some(artifacts) = test.artifact_dir() {
                child.env("GANTRY_STORE_TEST_ARTIFACTS", artifacts);
            }
            child.spawn().unwrap()
        })
        .collect();
    let mut numbers = Vec::new();
    for child in children {
        let output = child.wait_with_output().await.unwrap();
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        // The test harness may print its own words before the first line.
        let found = stdout
            .lines()
            .filter_map(|line| line.rsplit_once("build="))
            .map(|(_, n)| n.parse::<u64>().unwrap());
        numbers.extend(found);
    }
    let distinct: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(numbers.len(), STORES * EACH, "every child allocated");
    assert_eq!(distinct, (1..=u64::try_from(STORES * EACH).unwrap()).collect());
}

async fn numbers_are_per_app_and_survive_reopening(test: TestStore) {
    assert_eq!(test.store.allocate_build("hello").await.unwrap(), 1);
    assert_eq!(test.store.allocate_build("hello").await.unwrap(), 2);
    assert_eq!(test.store.allocate_build("world").await.unwrap(), 1);
    test.store.close().await;
    let again = test.open_another().await;
    assert_eq!(again.allocate_build("hello").await.unwrap(), 3);
    assert_eq!(again.allocate_build("").await.unwrap(), 1);
    again.close().await;
}

/// Whether recording failed because the build number was refused, with `reason` in the message.
fn refused(result: &Result<(), StoreError>, reason: &str) -> bool {
    matches!(result, Err(error @ StoreError::BuildRefused { .. }) if error.to_string().contains(reason))
}

async fn a_build_number_never_allocated_is_refused(test: TestStore) {
    let mut early = RunBuilder::new("hello", 7);
    assert!(refused(
        &test.store.record(&[early.queued()]).await,
        "no build number was allocated"
    ));
    assert_eq!(test.store.allocate_build("hello").await.unwrap(), 1);
    assert_eq!(test.store.allocate_build("hello").await.unwrap(), 2);
    assert!(refused(
        &test.store.record(&[early.queued()]).await,
        "never allocated (the last one allocated for `hello` is 2)"
    ));
    // Another app's counter does not count.
    assert_eq!(test.store.allocate_build("world").await.unwrap(), 1);
    let mut world = RunBuilder::new("hello", 3);
    assert!(refused(
        &test.store.record(&[world.queued()]).await,
        "never allocated"
    ));
    assert_eq!(test.store.find_run(&early.run_id.0).await.unwrap(), None);
    assert_eq!(test.store.find_run("hello#7").await.unwrap(), None);
    // Once allocated, the number is taken, and the counter never hands it out again.
    let mut run = RunBuilder::new("hello", 2);
    test.store.record(&[run.queued()]).await.unwrap();
    assert_eq!(test.store.allocate_build("hello").await.unwrap(), 3);
    assert_eq!(
        test.store.find_run("hello#2").await.unwrap().unwrap().summary.id,
        run.run_id.0
    );
}

/// A mock run is no build of its app, whatever number it carries (0, or one really allocated),
/// and nothing of it is recorded; 0 is no build number either.
async fn mock_runs_and_build_zero_are_refused(test: TestStore) {
    assert_eq!(test.store.allocate_build("hello").await.unwrap(), 1);
    for build in [0, 1] {
        let mut mock = RunBuilder::new("hello", build);
        let mut queued = mock.queued();
        if let gantry_model::RunEventKind::RunQueued(info) = &mut queued.kind {
            info.mock = true;
        }
        let result = test.store.record(&[queued, mock.started()]).await;
        assert!(
            matches!(&result, Err(error @ StoreError::MockRun { .. }) if error.to_string().contains("is a mock run")),
            "{result:?}"
        );
        assert_eq!(test.store.find_run(&mock.run_id.0).await.unwrap(), None);
    }
    let mut zero = RunBuilder::new("hello", 0);
    assert!(refused(
        &test.store.record(&[zero.queued()]).await,
        "build numbers start at 1"
    ));
    // The number the mock run carried is still free for the real run it was allocated to.
    let mut real = RunBuilder::new("hello", 1);
    test.store.record(&[real.queued()]).await.unwrap();
    let runs = test
        .store
        .list_runs(&gantry_store::RunFilter::default())
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
}

async fn a_build_number_another_run_has_is_refused(test: TestStore) {
    assert_eq!(test.store.allocate_build("hello").await.unwrap(), 1);
    let mut first = RunBuilder::new("hello", 1);
    let queued = first.queued();
    test.store.record(std::slice::from_ref(&queued)).await.unwrap();
    // The same run again, even under another event id, is no conflict.
    test.store.record(&[queued]).await.unwrap();
    test.store.record(&[first.queued()]).await.unwrap();
    let mut second = RunBuilder::new("hello", 1);
    let events = [second.queued(), second.started()];
    assert!(refused(
        &test.store.record(&events).await,
        &format!("run `{}` has that build number already", first.run_id)
    ));
    // Several handles at once: one run gets the number.
    assert_eq!(test.store.allocate_build("hello").await.unwrap(), 2);
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store = test.open_another().await;
        handles.push(tokio::spawn(async move {
            let mut run = RunBuilder::new("hello", 2);
            store.record(&[run.queued()]).await
        }));
    }
    let mut won = 0;
    for handle in handles {
        match handle.await.unwrap() {
            Ok(()) => won += 1,
            result => assert!(refused(&result, "has that build number already")),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(
        test.store.find_run("hello#1").await.unwrap().unwrap().summary.id,
        first.run_id.0
    );
    assert!(test.store.find_run("hello#2").await.unwrap().is_some());
}

/// A store written before build numbers were checked may hold two runs with one number, and a
/// number beyond its counter: the migration keeps them all and moves the counter past them.
async fn old_duplicate_builds_do_not_stop_the_migration(test: TestStore) {
    test.store.close().await;
    let (mock_and_pipeline, timestamp) = if test.is_postgres() {
        ("FALSE, '{}'", "'2024-05-01T12:00:00Z'")
    } else {
        ("0, '{}'", "'2024-05-01T12:00:00.000000Z'")
    };
    let statements = [
        "DROP TABLE run_builds".to_owned(),
        "DELETE FROM _sqlx_migrations WHERE version = 4".to_owned(),
        "INSERT INTO build_numbers (app, last) VALUES ('hello', 1)".to_owned(),
        format!(
            "INSERT INTO runs (id, app, version, build, traceable, mock, pipeline, queued_at)
             VALUES ('old-a', 'hello', '1', 1, {traceable}, {pipeline}, {timestamp}),
                    ('old-b', 'hello', '1', 1, {traceable}, {pipeline}, {timestamp}),
                    ('old-c', 'hello', '5', 5, {traceable}, {pipeline}, {timestamp}),
                    ('old-d', 'world', '2', 2, {traceable}, {pipeline}, {timestamp})",
            traceable = if test.is_postgres() { "FALSE" } else { "0" },
            pipeline = mock_and_pipeline,
        ),
    ];
    if test.is_postgres() {
        let mut db = sqlx::PgConnection::connect(&test.url()).await.unwrap();
        for statement in &statements {
            sqlx::query(statement).execute(&mut db).await.unwrap();
        }
        db.close().await.unwrap();
    } else {
        let mut db = sqlx::SqliteConnection::connect(&test.url()).await.unwrap();
        for statement in &statements {
            sqlx::query(statement).execute(&mut db).await.unwrap();
        }
        db.close().await.unwrap();
    }
    let store = test.open_another().await;
    assert!(matches!(
        store.find_run("hello#1").await,
        Err(StoreError::AmbiguousRun { .. })
    ));
    assert_eq!(
        store.find_run("hello#5").await.unwrap().unwrap().summary.id,
        "old-c"
    );
    assert_eq!(store.allocate_build("hello").await.unwrap(), 6);
    assert_eq!(store.allocate_build("world").await.unwrap(), 3);
    let mut run = RunBuilder::new("hello", 5);
    assert!(refused(&store.record(&[run.queued()]).await, "run `old-c` has"));
    let mut run = RunBuilder::new("hello", 1);
    assert!(refused(
        &store.record(&[run.queued()]).await,
        "has that build number already"
    ));
    let mut run = RunBuilder::new("hello", 6);
    store.record(&[run.queued()]).await.unwrap();
    store.close().await;
}

gantry_test::on_both_backends!(
    twenty_stores_on_one_database_allocate_every_number_once,
    twenty_processes_allocate_every_number_once,
    numbers_are_per_app_and_survive_reopening,
    a_build_number_never_allocated_is_refused,
    a_build_number_another_run_has_is_refused,
    mock_runs_and_build_zero_are_refused,
    old_duplicate_builds_do_not_stop_the_migration
);
