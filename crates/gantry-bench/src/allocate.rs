//! Build number allocation: `clients` concurrent clients each asking `per_client` times for the
//! next build number of one app (`POST /api/v1/apps/{app}/builds`), against the floor, as many
//! `GET /healthz` round trips with the same concurrency (the HTTP cost alone). Given the
//! server's store, each round also allocates through `Store::allocate_build` in this process
//! with the same concurrency: the database's share, without HTTP and authentication.
//!
//! Every round uses a new app and checks what the store promises: the numbers handed out are
//! exactly 1 to `clients × per_client`, each once.

use std::time::Instant;

use anyhow::{Context as _, bail};
use gantry_store::{Store, StoreOptions};
use reqwest::StatusCode;

use crate::args::AllocateArgs;
use crate::client::Api;
use crate::stats::median;

/// What each client asks for, again and again.
#[derive(Debug, Clone)]
enum Ask {
    Healthz,
    /// The next build number, at this path.
    Build(String),
    /// The next build number of this app, from the store itself.
    Store(Store, String),
}

pub async fn run(args: &AllocateArgs) -> anyhow::Result<()> {
    let api = Api::connect(&args.server, "allocate", &["report"]).await?;
    let store = match &args.db {
        Some(url) => {
            let options = StoreOptions {
                artifacts: args.artifacts.clone(),
            };
            Some(Store::open_with(url, &options).await?)
        }
        None => None,
    };
    let total = args.clients * args.per_client;
    // A name of its own for each invocation: a store used before keeps its numbers.
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
    println!(
        "{}: {} clients × {} build numbers = {total} a round, {} rounds",
        args.label, args.clients, args.per_client, args.rounds
    );
    println!(
        "{:>6} {:>12} {:>14} {:>6} {:>14}  check",
        "round", "healthz/s", "allocations/s", "ratio", "store alone/s"
    );
    let rate = |secs: f64| total as f64 / secs;
    let (mut floors, mut allocations, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let start = Instant::now();
        fan_out(&api, args, &Ask::Healthz).await?;
        let floor = start.elapsed().as_secs_f64();

        let app = format!("bench-{nonce}-{round}");
        let start = Instant::now();
        let numbers = fan_out(&api, args, &Ask::Build(format!("/api/v1/apps/{app}/builds"))).await?;
        let allocating = start.elapsed().as_secs_f64();
        check(numbers, total).with_context(|| format!("round {round}, app `{app}`"))?;
        let alone = match &store {
            Some(store) => {
                let app = format!("{app}-store");
                let start = Instant::now();
                let numbers = fan_out(&api, args, &Ask::Store(store.clone(), app.clone())).await?;
                let secs = start.elapsed().as_secs_f64();
                check(numbers, total).with_context(|| format!("round {round}, app `{app}`"))?;
                direct.push(rate(secs));
                format!("{:>14.0}", rate(secs))
            }
            None => format!("{:>14}", "-"),
        };

        floors.push(rate(floor));
        allocations.push(rate(allocating));
        println!(
            "{round:>6} {:>12.0} {:>14.0} {:>6.2} {alone}  {total} unique, 1..={total}, no gap",
            rate(floor),
            rate(allocating),
            allocating / floor
        );
    }
    let (floor, allocated) = (median(&floors), median(&allocations));
    let alone = if direct.is_empty() {
        format!("{:>14}", "-")
    } else {
        format!("{:>14.0}", median(&direct))
    };
    println!(
        "{:>6} {floor:>12.0} {allocated:>14.0} {:>6.2} {alone}",
        "median",
        floor / allocated
    );
    println!("ratio: time to allocate over HTTP / time for as many /healthz round trips");
    if let Some(store) = store {
        store.close().await;
    }
    Ok(())
}

/// `clients` tasks, each asking `per_client` times, one request after the other; every
/// build number received.
async fn fan_out(api: &Api, args: &AllocateArgs, ask: &Ask) -> anyhow::Result<Vec<u64>> {
    let mut clients = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let (api, ask, times) = (api.clone(), ask.clone(), args.per_client);
        clients.push(tokio::spawn(async move {
            let mut numbers = Vec::with_capacity(times);
            for _ in 0..times {
                match &ask {
                    Ask::Healthz => api.healthz().await?,
                    Ask::Build(path) => {
                        let answer = api.post(path, None, StatusCode::CREATED).await?;
                        numbers.push(answer["build"].as_u64().context("no `build` in the answer")?);
                    }
                    Ask::Store(store, app) => numbers.push(store.allocate_build(app).await?),
                }
            }
            anyhow::Ok(numbers)
        }));
    }
    let mut numbers = Vec::new();
    for client in clients {
        numbers.extend(client.await??);
    }
    Ok(numbers)
}

/// The numbers are exactly `1..=total`, each once.
fn check(mut numbers: Vec<u64>, total: usize) -> anyhow::Result<()> {
    if numbers.len() != total {
        bail!("{} build numbers received, {total} asked for", numbers.len());
    }
    numbers.sort_unstable();
    let duplicates = numbers.windows(2).filter(|pair| pair[0] == pair[1]).count();
    if duplicates > 0 {
        bail!("{duplicates} build numbers were handed out twice");
    }
    let expected = 1..=total as u64;
    if numbers.first() != Some(expected.start()) || numbers.last() != Some(expected.end()) {
        bail!(
            "the numbers run from {:?} to {:?}, not 1 to {total}: a gap",
            numbers.first(),
            numbers.last()
        );
    }
    Ok(())
}
