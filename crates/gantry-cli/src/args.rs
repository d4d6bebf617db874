//! The command line, as clap types. Every flag here is documented in `docs/cli.md`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Gantry: pipelines as code, one build data repository, safe deployments.
#[derive(Debug, Parser)]
#[command(
    name = "gantry",
    version,
    about = "Gantry: pipelines as code, one build data repository, safe deployments.",
    max_term_width = 100
)]
pub struct Cli {
    /// Run as if gantry was started in DIR.
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline of this repository and record the run.
    Run(RunArgs),
    /// Print what would run and in which order; nothing is executed or recorded.
    Plan(PlanArgs),
    /// List recorded runs, newest first.
    History(HistoryArgs),
    /// Show one run: its stages, tasks, artifacts and traceability.
    Show(ShowArgs),
    /// Print the log of a run, or of one of its tasks.
    Logs(LogsArgs),
    /// Write a commented starter `gantry.yml` fitted to this repository.
    Init(InitArgs),
    /// Print the JSON Schema of the pipeline file.
    Schema,
    /// Serve the build data repository: the HTTP API and the web UI.
    Server(ServerArgs),
    /// Take jobs from a server's queue and run them, until stopped.
    Agent(AgentArgs),
    /// Start a local server with the web UI on an embedded store and run this pipeline once.
    Up(UpArgs),
    /// Send the events that `gantry run --server` kept in the spool while the server was away.
    Sync(SyncArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Fetch the artifacts of recorded runs.
    #[command(subcommand)]
    Artifact(ArtifactCommand),
    /// Manage users: the people tokens act for.
    #[command(subcommand)]
    User(UserCommand),
}

impl Command {
    /// Whether the command prints JSON on stdout (`--json`): an invalid pipeline file is then
    /// reported there too, as JSON.
    pub fn prints_json(&self) -> bool {
        match self {
            Command::Run(args) => args.json,
            Command::Plan(args) => args.json,
            _ => false,
        }
    }
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The address to listen on.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "GANTRY_LISTEN"
    )]
    pub listen: std::net::SocketAddr,
    /// The store: `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB` (env
    /// `GANTRY_DB`) [default: `.gantry/gantry.db` of the current project, which must exist].
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Where artifacts are kept: a directory, or `s3://BUCKET/PREFIX` in an S3-compatible
    /// object store (credentials, region and endpoint from the standard `AWS_*` variables);
    /// required with PostgreSQL, the same for every replica [default with SQLite:
    /// `artifacts/` beside the database].
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX", env = "GANTRY_ARTIFACTS")]
    pub artifacts: Option<gantry_store::ArtifactLocation>,
    /// Let anyone read (API and web UI) without a token.
    #[arg(long)]
    pub anonymous_read: bool,
    /// The largest artifact upload accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = gantry_server::DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
    /// Believe the `X-Forwarded-Proto` header of requests: the server is reached only through
    /// a reverse proxy that sets it (and removes a client's own). A browser that logged in over
    /// HTTPS then gets a `Secure` cookie.
    #[arg(long)]
    pub trust_proxy: bool,
    /// How long an agent keeps a job without a heartbeat; past it, the job goes back to the
    /// queue as a new attempt, and the lost attempt's run is recorded `agent_lost`.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration_arg)]
    pub job_lease: std::time::Duration,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The server to take jobs from (env `GANTRY_SERVER`).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// A token with the `agent` scope (env `GANTRY_TOKEN`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The agent's name on the server [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// What the agent offers, as `name=value` pairs separated by commas (`os=linux,arch=x86_64`);
    /// it takes only jobs whose labels it all has.
    #[arg(long, value_name = "K=V,...")]
    pub labels: Vec<String>,
    /// How many jobs it runs at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub concurrency: usize,
    /// Where it caches repositories and checks jobs out [default: `~/.cache/gantry/agent`].
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    #[command(flatten)]
    pub log: LogArgs,
}

/// The server's log, on stderr.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// `text` for people, or `json` (one object a line) for log shippers. What is logged is
    /// chosen by `RUST_LOG` [default: `info` for `gantry server`, `warn` for `gantry up`].
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text, env = "GANTRY_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// The address to listen on [default: 127.0.0.1:8080, or the next free port up to 8099].
    #[arg(long, value_name = "ADDR", env = "GANTRY_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only serve; do not run the pipeline of the current directory.
    #[arg(long)]
    pub no_run: bool,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Send to this server instead of the one each run was reported to (env `GANTRY_SERVER`).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once and never stored.
    Create(TokenCreateArgs),
    /// List the tokens (never their secrets).
    List(TokenListArgs),
    /// Revoke a token: requests with it are refused from then on.
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A unique name saying who or what uses the token.
    #[arg(long)]
    pub name: String,
    /// Comma-separated scopes: `read`, `report`, `agent`, `admin`.
    #[arg(long, value_delimiter = ',', default_value = "read")]
    pub scopes: Vec<String>,
    /// The user the token acts for, added before with `gantry user add`; without it the token
    /// is a machine token (a CI service, an agent), named by itself.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    #[command(flatten)]
    pub source: AdminSourceArgs,
}

#[derive(Debug, Args)]
pub struct TokenListArgs {
    #[command(flatten)]
    pub source: AdminSourceArgs,
    /// Print JSON (the API's token list).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token's name.
    pub name: String,
    #[command(flatten)]
    pub source: AdminSourceArgs,
}

#[derive(Debug, Subcommand)]
pub enum ArtifactCommand {
    /// Download an artifact of a run into a file, checked against its recorded sha256.
    Get(ArtifactGetArgs),
}

#[derive(Debug, Args)]
pub struct ArtifactGetArgs {
    /// The run: its id (or a unique prefix of it) or `APP#BUILD`.
    pub run: String,
    /// The artifact's path, as `gantry show RUN` lists it.
    pub path: String,
    /// The file to write (`-`: stdout) [default: the artifact's file name, in the current
    /// directory].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user, whom tokens can then act for (`gantry token create --user NAME`).
    Add(UserAddArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// A unique name: letters, digits, `-`, `_`, `.` and `@`, up to 64.
    pub name: String,
    /// The user's email address.
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Where the pipeline file and its library are.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// The pipeline file [default: `gantry.yml` or `.gantry.yml` at the repository root].
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The pipeline library: prefab pipelines, fragments and task templates.
    #[arg(long, value_name = "DIR", env = "GANTRY_LIBRARY")]
    pub library: Option<PathBuf>,
}

/// Which part of the pipeline to run.
#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// Run everything up to and including this stage or task (name or `stage/task`).
    #[arg(long, value_name = "NAME", conflicts_with = "only")]
    pub to: Option<String>,
    /// Run just this stage or task (no setup, no finally).
    #[arg(long, value_name = "NAME")]
    pub only: Option<String>,
    /// The branch to plan for [default: the checked-out branch].
    #[arg(long, value_name = "BRANCH", env = "GANTRY_BRANCH")]
    pub branch: Option<String>,
}

/// Where the build data repository is.
///
/// `--db` and `--server` (where a command has it) take their environment variables from
/// [`gantry_runner::Environment`], not from clap: a flag on the command line wins over either
/// variable, so that `--db` works in a shell that exports `GANTRY_SERVER`, and the reverse.
/// Both flags at once are an error.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The build data repository: `sqlite://PATH`, a path or `postgres://…` (env
    /// `GANTRY_DB`) [default: `.gantry/gantry.db` of the current project].
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
}

/// Where the admin commands (`token`) act: the server's store itself, or a server's API.
#[derive(Debug, Args)]
pub struct AdminSourceArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Act through this Gantry server's API instead of on a store (env `GANTRY_SERVER`; the
    /// token comes from `GANTRY_TOKEN` and needs the `admin` scope).
    #[arg(long, value_name = "URL", conflicts_with = "db")]
    pub server: Option<String>,
}

/// Where the read commands find runs: the local build data repository, or a server.
#[derive(Debug, Args)]
pub struct SourceArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Read the runs of this Gantry server instead of the local store (env `GANTRY_SERVER`; the
    /// token comes from `GANTRY_TOKEN`).
    #[arg(long, value_name = "URL", conflicts_with = "db")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Report the run to this Gantry server (build number, events, logs, artifacts) instead of
    /// the local store (env `GANTRY_SERVER`); the token comes from `GANTRY_TOKEN`.
    #[arg(long, value_name = "URL", conflicts_with = "db")]
    pub server: Option<String>,
    /// Replace every task by a stand-in that succeeds (or fails, with `--fail`).
    #[arg(long)]
    pub mock: bool,
    /// With `--mock`: the stand-in of this task fails (name or path; repeatable).
    #[arg(long, value_name = "NAME", requires = "mock")]
    pub fail: Vec<String>,
    /// Print the run's events as JSON lines on stdout instead of the terminal view.
    #[arg(long)]
    pub json: bool,
    /// How many tasks may run at once [default: the number of CPUs].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// A file of `NAME=VALUE` lines with secret values (else they come from the environment).
    #[arg(long, value_name = "FILE")]
    pub secrets_file: Option<PathBuf>,
    /// Refuse to start unless the run is traceable to a pushed, clean revision.
    #[arg(long)]
    pub require_traceable: bool,
    /// How long a task has to stop after SIGTERM before it is killed.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration_arg)]
    pub grace: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Only runs of this app.
    #[arg(long)]
    pub app: Option<String>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The run: its id (or a unique prefix of it) or `APP#BUILD`.
    pub run: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The run: its id (or a unique prefix of it) or `APP#BUILD`.
    pub run: String,
    /// Only this task (name or path).
    pub task: Option<String>,
    /// Start each line with the time it was written (RFC 3339, UTC, milliseconds).
    #[arg(long)]
    pub timestamps: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write `gantry.yml` into.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

fn parse_duration_arg(text: &str) -> Result<std::time::Duration, String> {
    gantry_model::parse_duration(text)
}
