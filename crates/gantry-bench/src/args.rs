//! The command line of `gantry-bench`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gantry-bench",
    about = "Benchmark drivers for Gantry (see BENCHMARKS.md)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// CDEvents per second through `POST /api/v1/events` vs inserting the same rows into SQLite.
    Ingest(IngestArgs),
    /// Build numbers from concurrent clients vs as many `/healthz` round trips; checks that
    /// every number is unique and none is skipped.
    Allocate(AllocateArgs),
    /// Fills a SQLite store with realistic runs, recorded through the store.
    Seed(SeedArgs),
    /// p50/p99 of the run list, run and UI pages vs `/healthz`.
    Latency(LatencyArgs),
}

/// Where the server under test is, and the admin token it was started with.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server's base url.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The bootstrap admin token the server was started with; the benchmark makes tokens of the
    /// scope it needs with it.
    #[arg(long, env = "GANTRY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// CDEvents sent each round.
    #[arg(long, default_value_t = 40_000)]
    pub events: usize,
    /// CDEvents per request.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// A directory for the floor's SQLite file and the in-process store of the breakdown.
    #[arg(long)]
    pub scratch: PathBuf,
}

#[derive(Debug, Args)]
pub struct AllocateArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Build numbers each client asks for, one request after the other.
    #[arg(long, default_value_t = 100)]
    pub per_client: usize,
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// What the figures are labelled with (the database).
    #[arg(long, default_value = "server")]
    pub label: String,
    /// The server's store: when given, each round also allocates as many numbers straight
    /// through `Store::allocate_build` in this process, with the same concurrency.
    #[arg(long)]
    pub db: Option<String>,
    /// The store's artifacts, a directory or `s3://BUCKET/PREFIX` (a PostgreSQL store needs
    /// them to open).
    #[arg(long)]
    pub artifacts: Option<gantry_store::ArtifactLocation>,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The SQLite store to fill: `sqlite://PATH`.
    #[arg(long)]
    pub db: String,
    #[arg(long, default_value_t = 100_000)]
    pub runs: usize,
    #[arg(long, default_value_t = 8)]
    pub apps: usize,
    /// Runs recorded per transaction.
    #[arg(long, default_value_t = 1_000)]
    pub batch_runs: usize,
}

#[derive(Debug, Args)]
pub struct LatencyArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[arg(long, default_value_t = 8)]
    pub rounds: usize,
    /// Requests to each page per round, one after the other on one connection.
    #[arg(long, default_value_t = 25)]
    pub requests: usize,
    /// Time a page may take per round before the round moves on (at least 3 requests are
    /// made), so that a slow page does not take the whole run.
    #[arg(long, default_value_t = 1500)]
    pub budget_ms: u64,
    /// The p99 each page should stay under, in milliseconds.
    #[arg(long, default_value_t = 50.0)]
    pub target_ms: f64,
}
