//! Build numbers: atomic per app, never twice, never a gap, across handles and processes.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::TestStore;
use gantry_store::{Store, StoreOptions};
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
        artifact_dir: std::env::var_os("GANTRY_STORE_TEST_ARTIFACTS").map(PathBuf::from),
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
                    "allocate_in_child_process",
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

on_both_backends!(
    twenty_stores_on_one_database_allocate_every_number_once,
    twenty_processes_allocate_every_number_once,
    numbers_are_per_app_and_survive_reopening
);
