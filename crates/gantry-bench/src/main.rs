//! `gantry-bench`: the drivers behind the scripts in `benches/`. Each subcommand measures one
//! thing against a floor measured in the same run, over several rounds, and prints medians and
//! ratios; `BENCHMARKS.md` records what a run printed. Nothing here asserts a speed.
//!
//! - [`args`]: the command line.
//! - [`ingest`]: CDEvents per second through `POST /api/v1/events` vs plain SQLite inserts.
//! - [`allocate`]: build numbers from concurrent clients vs `/healthz` round trips.
//! - [`seed`]: a store with many realistic runs, recorded through [`gantry_store::Store`].
//! - [`latency`]: p50/p99 of the run list and run pages vs `/healthz`.
//! - [`fixtures`]: the runs and CDEvents the benchmarks send and store.
//! - [`client`]: the HTTP client and tokens; [`stats`]: medians and percentiles.

// Counts of requests and events become `f64` for rates; they stay far below 2^52.
#![allow(clippy::cast_precision_loss)]

mod allocate;
mod args;
mod client;
mod fixtures;
mod ingest;
mod latency;
mod seed;
mod stats;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Ingest(args) => ingest::run(&args).await,
            Command::Allocate(args) => allocate::run(&args).await,
            Command::Seed(args) => seed::run(&args).await,
            Command::Latency(args) => latency::run(&args).await,
        }
    })
}
