//! Fills a SQLite store with realistic runs for the latency benchmark: `runs` runs of `apps`
//! apps (the first apps busier than the last), five minutes apart and oldest first, each with
//! ten tasks in four stages, a few log lines and its CDEvents, recorded through
//! [`Store::record`] exactly as `gantry run` records them, many runs per transaction.

use std::time::Instant;

use anyhow::bail;
use chrono::{DateTime, Duration, Utc};
use gantry_model::RunEvent;
use gantry_store::{RunFilter, Store};

use crate::args::SeedArgs;
use crate::fixtures::{Dice, RunSpec};

/// The apps' names; the first ones get the most runs.
const APPS: &[&str] = &[
    "storefront",
    "payments",
    "search",
    "accounts",
    "catalog",
    "notifications",
    "reports",
    "gateway",
    "billing",
    "inventory",
    "shipping",
    "analytics",
];

pub async fn run(args: &SeedArgs) -> anyhow::Result<()> {
    if args.apps == 0 || args.apps > APPS.len() {
        bail!("--apps must be between 1 and {}", APPS.len());
    }
    let store = Store::open(&args.db).await?;
    let existing = store
        .list_runs(&RunFilter {
            limit: Some(1),
            ..RunFilter::default()
        })
        .await?;
    if !existing.is_empty() {
        bail!("`{}` has runs already: seed a new store", args.db);
    }
    let start = Instant::now();
    let mut dice = Dice::new(0x00c0_ffee);
    // The newest run is an hour ago; the oldest about a year before it for 100,000 runs.
    let spacing = Duration::minutes(5);
    let first: DateTime<Utc> =
        Utc::now() - Duration::hours(1) - spacing * i32::try_from(args.runs).unwrap_or(i32::MAX);
    let mut recorded = 0;
    let mut events_recorded = 0;
    let mut batch: Vec<RunEvent> = Vec::new();
    for index in 0..args.runs {
        // Weights 1/1, 1/2, 1/3, ...: a few busy apps and a tail of quieter ones.
        let app = APPS[pick_app(&mut dice, args.apps)];
        // As `gantry run` does: the number first, from the store, which records only runs with
        // numbers it handed out.
        let build = store.allocate_build(app).await?;
        let queued_at = first + spacing * i32::try_from(index).unwrap_or(i32::MAX);
        let spec = RunSpec::draw(&mut dice, app, build, queued_at);
        batch.extend(spec.events(&mut dice));
        recorded += 1;
        if recorded % args.batch_runs == 0 || recorded == args.runs {
            store.record(&batch).await?;
            events_recorded += batch.len();
            batch.clear();
            if recorded % (args.batch_runs * 10) == 0 || recorded == args.runs {
                eprintln!(
                    "seeded {recorded} runs, {events_recorded} events, {:.0} s",
                    start.elapsed().as_secs_f64()
                );
            }
        }
    }
    store.close().await;
    println!(
        "seeded {recorded} runs of {} apps ({events_recorded} run events) in {:.0} s",
        args.apps,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn pick_app(dice: &mut Dice, apps: usize) -> usize {
    // Harmonic weights in integers: the app of rank r (from 1) has 27720 / r, 27720 being the
    // least common multiple of 1 to 12.
    let weights: Vec<u64> = (1..=apps as u64).map(|rank| 27_720 / rank).collect();
    let mut roll = dice.below(weights.iter().sum());
    for (app, weight) in weights.iter().enumerate() {
        if roll < *weight {
            return app;
        }
        roll -= weight;
    }
    apps - 1
}
