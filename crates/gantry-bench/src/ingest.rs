//! Event ingest: CDEvents per second through `POST /api/v1/events` (batches from concurrent
//! clients) against the floor, the same rows inserted straight into SQLite with one prepared
//! statement in one transaction, in a table of the same shape as the store's `events`.
//!
//! Each round makes a new corpus, inserts it at the floor, then sends it to the server; the
//! figures are medians over the rounds. A breakdown follows each round: the server's steps
//! timed alone in this process on the same corpus (splitting a body into its events' texts as
//! the handler does, parsing each event, schema validation, the store's `record_cdevents` on a
//! scratch store, and an insert alone through sqlx, many rows a statement as the store does it
//! and one statement per row), to say where the time goes.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use gantry_store::{Store, validate_cdevent};
use reqwest::StatusCode;
use serde_json::Value;
use serde_json::value::RawValue;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::args::IngestArgs;
use crate::client::Api;
use crate::fixtures;
use crate::stats::median;

/// The store's `events` table and its index, as `migrations/sqlite` creates them.
const EVENTS_TABLE: &str = "
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    chain_id  TEXT,
    type      TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    json      TEXT NOT NULL
);
CREATE INDEX events_by_chain ON events (chain_id, timestamp, seq);";

/// The store's own statement.
const INSERT: &str = "INSERT INTO events (id, chain_id, type, timestamp, json) VALUES (?1, ?2, ?3, ?4, ?5)
                      ON CONFLICT (id) DO NOTHING";

/// One `events` row, as the store would write it.
struct Row {
    id: String,
    chain_id: Option<String>,
    kind: String,
    timestamp: String,
    json: String,
}

impl Row {
    fn of(event: &Value) -> anyhow::Result<Self> {
        let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
        let timestamp = text("/context/timestamp")
            .and_then(|time| DateTime::parse_from_rfc3339(&time).ok())
            .context("an event without a timestamp")?
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Micros, true);
        Ok(Self {
            id: text("/context/id").context("an event without an id")?,
            chain_id: text("/context/chainId"),
            kind: text("/context/type").context("an event without a type")?,
            timestamp,
            json: event.to_string(),
        })
    }
}

/// What one round measured, in seconds for the whole corpus.
#[derive(Debug, Default)]
struct Round {
    /// The floor: rusqlite, one prepared statement, one transaction.
    floor: f64,
    /// Through the server.
    server: f64,
    /// The breakdown, each step alone in this process: splitting the request bodies into their
    /// events' texts, as the handler does.
    split: f64,
    /// Parsing each event's text into a `Value`, as the store does to validate it.
    parse: f64,
    /// Validating every event against its schema.
    validate: f64,
    /// The store's `record_cdevents`, one call per batch (parsing, validation, inserts).
    record: f64,
    /// An insert alone through sqlx with `MULTI_ROW` rows per statement, as the store does.
    multi_row: f64,
    /// The same rows through sqlx, one statement per row.
    row_by_row: f64,
}

/// Rows per statement of the multi-row insert, as the store's.
const MULTI_ROW: usize = 100;

pub async fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let api = Api::connect(&args.server, "ingest", &["report"]).await?;
    std::fs::create_dir_all(&args.scratch)?;
    let floor_path = args.scratch.join("floor.db");
    remove_database(&floor_path)?;
    let mut floor = open_floor(&floor_path)?;
    let scratch_store = args.scratch.join("store");
    let _ = std::fs::remove_dir_all(&scratch_store);
    let store = Store::open(&format!("sqlite://{}", scratch_store.join("gantry.db").display())).await?;
    let row_by_row = open_sqlx(&args.scratch.join("row-by-row.db")).await?;
    let multi_row = open_sqlx(&args.scratch.join("multi-row.db")).await?;

    println!(
        "{} CDEvents a round in batches of {}, {} clients, {} rounds (SQLite, loopback)",
        args.events, args.batch, args.clients, args.rounds
    );
    println!(
        "{:>6} {:>11} {:>11} {:>6} | µs/event: {:>6} {:>6} {:>8} {:>7} {:>9} {:>9}",
        "round",
        "floor ev/s",
        "server ev/s",
        "ratio",
        "split",
        "parse",
        "validate",
        "record",
        "sqlx x100",
        "sqlx rows"
    );
    let mut rounds = Vec::with_capacity(args.rounds);
    let mut event_bytes = 0;
    for round in 0..args.rounds {
        let corpus = fixtures::cdevents(args.events, round as u64 + 1);
        let rows = corpus.iter().map(Row::of).collect::<anyhow::Result<Vec<_>>>()?;
        let bodies = corpus
            .chunks(args.batch)
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()?;
        let mut measured = Round::default();
        event_bytes = bodies.iter().map(Vec::len).sum::<usize>() / args.events;

        let start = Instant::now();
        insert_floor(&mut floor, &rows)?;
        measured.floor = start.elapsed().as_secs_f64();

        let sending = bodies.clone();
        let start = Instant::now();
        let stored = send(&api, sending, args.clients).await?;
        measured.server = start.elapsed().as_secs_f64();
        if stored != args.events {
            bail!("the server stored {stored} of {} new events", args.events);
        }

        measured.split = time(|| {
            for body in &bodies {
                let events: Vec<&RawValue> = serde_json::from_slice(body)?;
                std::hint::black_box(events);
            }
            Ok(())
        })?;
        let texts: Vec<String> = rows.iter().map(|row| row.json.clone()).collect();
        measured.parse = time(|| {
            for text in &texts {
                let _: Value = serde_json::from_str(text)?;
            }
            Ok(())
        })?;
        measured.validate = time(|| {
            for event in &corpus {
                validate_cdevent(event)?;
            }
            Ok(())
        })?;
        let start = Instant::now();
        for chunk in texts.chunks(args.batch) {
            store.record_cdevents(chunk).await?;
        }
        measured.record = start.elapsed().as_secs_f64();
        let start = Instant::now();
        for chunk in rows.chunks(args.batch) {
            insert_multi_row(&multi_row, chunk).await?;
        }
        measured.multi_row = start.elapsed().as_secs_f64();
        let start = Instant::now();
        for chunk in rows.chunks(args.batch) {
            insert_row_by_row(&row_by_row, chunk).await?;
        }
        measured.row_by_row = start.elapsed().as_secs_f64();

        print_round(&(round + 1).to_string(), &measured, args.events);
        rounds.push(measured);
    }
    let pick = |get: fn(&Round) -> f64| median(&rounds.iter().map(get).collect::<Vec<_>>());
    let medians = Round {
        floor: pick(|round| round.floor),
        server: pick(|round| round.server),
        split: pick(|round| round.split),
        parse: pick(|round| round.parse),
        validate: pick(|round| round.validate),
        record: pick(|round| round.record),
        multi_row: pick(|round| round.multi_row),
        row_by_row: pick(|round| round.row_by_row),
    };
    print_round("median", &medians, args.events);
    let per_event = |secs: f64| secs * 1e6 / args.events as f64;
    println!("a CDEvent is {event_bytes} bytes of JSON on average");
    println!(
        "server: {:.0} events/s (target >= 20000); server time / floor time: {:.2} (target <= 3)",
        args.events as f64 / medians.server,
        medians.server / medians.floor,
    );
    println!(
        "per event: server wall time {:.1} µs; its CPU work ≈ split the body {:.1} (in the handler) + \
         record_cdevents {:.1} (parse {:.1}, validate {:.1}, insert) = {:.1} µs; floor {:.1} µs",
        per_event(medians.server),
        per_event(medians.split),
        per_event(medians.record),
        per_event(medians.parse),
        per_event(medians.validate),
        per_event(medians.split + medians.record),
        per_event(medians.floor),
    );
    println!(
        "an insert alone through sqlx: {:.1} µs with {MULTI_ROW} rows a statement (as the store), \
         {:.1} µs one statement per row",
        per_event(medians.multi_row),
        per_event(medians.row_by_row),
    );
    store.close().await;
    row_by_row.close().await;
    multi_row.close().await;
    Ok(())
}

fn print_round(label: &str, round: &Round, events: usize) {
    let rate = |secs: f64| events as f64 / secs;
    let per_event = |secs: f64| secs * 1e6 / events as f64;
    println!(
        "{label:>6} {:>11.0} {:>11.0} {:>6.2} |           {:>6.1} {:>6.1} {:>8.1} {:>7.1} {:>9.1} {:>9.1}",
        rate(round.floor),
        rate(round.server),
        round.server / round.floor,
        per_event(round.split),
        per_event(round.parse),
        per_event(round.validate),
        per_event(round.record),
        per_event(round.multi_row),
        per_event(round.row_by_row),
    );
}

fn time(work: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let start = Instant::now();
    work()?;
    Ok(start.elapsed().as_secs_f64())
}

/// Posts every body, `clients` requests at a time; how many events the server stored as new.
async fn send(api: &Api, bodies: Vec<Vec<u8>>, clients: usize) -> anyhow::Result<usize> {
    // The bodies left to send, shared by the clients: each takes the next when it is free.
    let queue = Arc::new(Mutex::new(bodies));
    let mut workers = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (api, queue) = (api.clone(), Arc::clone(&queue));
        workers.push(tokio::spawn(async move {
            let mut stored = 0;
            loop {
                let Some(body) = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop() else {
                    return anyhow::Ok(stored);
                };
                let answer = api.post("/api/v1/events", Some(body), StatusCode::OK).await?;
                stored += answer["stored"].as_u64().context("no `stored` in the answer")?;
            }
        }));
    }
    let mut stored = 0;
    for worker in workers {
        stored += worker.await??;
    }
    Ok(usize::try_from(stored)?)
}

/// The floor's database, with the store's settings: WAL, `synchronous = NORMAL`.
fn open_floor(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(path)?;
    connection.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    connection.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    connection.execute_batch(EVENTS_TABLE)?;
    Ok(connection)
}

/// Every row with one prepared statement in one transaction.
fn insert_floor(connection: &mut rusqlite::Connection, rows: &[Row]) -> anyhow::Result<()> {
    let tx = connection.transaction()?;
    {
        let mut insert = tx.prepare(INSERT)?;
        for row in rows {
            insert.execute((&row.id, &row.chain_id, &row.kind, &row.timestamp, &row.json))?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// A database opened as the store opens its own (WAL, `synchronous = NORMAL`), with the
/// `events` table.
async fn open_sqlx(path: &Path) -> anyhow::Result<SqlitePool> {
    remove_database(path)?;
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    sqlx::raw_sql(EVENTS_TABLE).execute(&pool).await?;
    Ok(pool)
}

/// One statement per row, in one write transaction.
async fn insert_row_by_row(pool: &SqlitePool, rows: &[Row]) -> anyhow::Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for row in rows {
        sqlx::query(INSERT)
            .bind(&row.id)
            .bind(&row.chain_id)
            .bind(&row.kind)
            .bind(&row.timestamp)
            .bind(&row.json)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// [`MULTI_ROW`] rows a statement, in one write transaction, as the store inserts.
async fn insert_multi_row(pool: &SqlitePool, rows: &[Row]) -> anyhow::Result<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for chunk in rows.chunks(MULTI_ROW) {
        let mut insert =
            QueryBuilder::<Sqlite>::new("INSERT INTO events (id, chain_id, type, timestamp, json) ");
        insert.push_values(chunk, |mut values, row| {
            values
                .push_bind(&row.id)
                .push_bind(&row.chain_id)
                .push_bind(&row.kind)
                .push_bind(&row.timestamp)
                .push_bind(&row.json);
        });
        insert.push(" ON CONFLICT (id) DO NOTHING");
        insert.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn remove_database(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        match std::fs::remove_file(&file) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
            _ => {}
        }
    }
    Ok(())
}
