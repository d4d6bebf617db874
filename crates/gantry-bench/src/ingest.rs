//! Event ingest: CDEvents per second through `POST /api/v1/events` (batches from concurrent
//! clients) against the floor, the same rows inserted straight into SQLite with one prepared
//! statement in one transaction, in a table of the same shape as the store's `events`.
//!
//! Each round makes a new corpus, inserts it at the floor, then sends it to the server; the
//! figures are medians over the rounds. A breakdown follows each round: the server's steps
//! timed alone in this process on the same corpus (JSON parsing, schema validation, and the
//! store's `record_cdevents` on a scratch store), to say where the time goes.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use gantry_store::{Store, validate_cdevent};
use reqwest::StatusCode;
use serde_json::Value;

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

/// What one round measured, in seconds.
struct Round {
    floor: f64,
    server: f64,
    parse: f64,
    validate: f64,
    record: f64,
}

pub async fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let api = Api::connect(&args.server, "ingest", &["report"]).await?;
    std::fs::create_dir_all(&args.scratch)?;
    let floor_path = args.scratch.join("floor.db");
    remove_database(&floor_path)?;
    let mut floor = open_floor(&floor_path)?;
    let scratch_store = args.scratch.join("store");
    let _ = std::fs::remove_dir_all(&scratch_store);
    let store = Store::open(&format!("sqlite://{}", scratch_store.join("gantry.db").display())).await?;

    println!(
        "{} CDEvents a round in batches of {}, {} clients, {} rounds (SQLite, loopback)",
        args.events, args.batch, args.clients, args.rounds
    );
    println!(
        "{:>5} {:>14} {:>14} {:>6} | breakdown, µs/event: {:>6} {:>9} {:>15}",
        "round", "floor ev/s", "server ev/s", "ratio", "parse", "validate", "record_cdevents"
    );
    let mut rounds = Vec::with_capacity(args.rounds);
    for round in 0..args.rounds {
        let corpus = fixtures::cdevents(args.events, round as u64 + 1);
        let rows = corpus.iter().map(Row::of).collect::<anyhow::Result<Vec<_>>>()?;
        let bodies = corpus
            .chunks(args.batch)
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()?;

        let start = Instant::now();
        insert_floor(&mut floor, &rows)?;
        let floor_secs = start.elapsed().as_secs_f64();

        let sending = bodies.clone();
        let start = Instant::now();
        let stored = send(&api, sending, args.clients).await?;
        let server_secs = start.elapsed().as_secs_f64();
        if stored != args.events {
            bail!("the server stored {stored} of {} new events", args.events);
        }

        let measured = Round {
            floor: floor_secs,
            server: server_secs,
            parse: time(|| {
                for body in &bodies {
                    let _: Value = serde_json::from_slice(body)?;
                }
                Ok(())
            })?,
            validate: time(|| {
                for event in &corpus {
                    validate_cdevent(event)?;
                }
                Ok(())
            })?,
            record: {
                let start = Instant::now();
                for chunk in corpus.chunks(args.batch) {
                    store.record_cdevents(chunk).await?;
                }
                start.elapsed().as_secs_f64()
            },
        };
        print_round(&(round + 1).to_string(), &measured, args.events);
        rounds.push(measured);
    }
    let pick = |get: fn(&Round) -> f64| median(&rounds.iter().map(get).collect::<Vec<_>>());
    let medians = Round {
        floor: pick(|round| round.floor),
        server: pick(|round| round.server),
        parse: pick(|round| round.parse),
        validate: pick(|round| round.validate),
        record: pick(|round| round.record),
    };
    print_round("median", &medians, args.events);
    let per_event = |secs: f64| secs * 1e6 / args.events as f64;
    println!(
        "server time / floor time: {:.2} (target <= 3); server: {:.0} events/s (target >= 20000)",
        medians.server / medians.floor,
        args.events as f64 / medians.server
    );
    println!(
        "server CPU per event ≈ parse + 2 × validate (handler, then store) + store: {:.1} µs; \
         record_cdevents without its validation: {:.1} µs; floor: {:.1} µs",
        per_event(medians.parse) + per_event(medians.validate) + per_event(medians.record),
        per_event(medians.record) - per_event(medians.validate),
        per_event(medians.floor),
    );
    store.close().await;
    Ok(())
}

fn print_round(label: &str, round: &Round, events: usize) {
    let rate = |secs: f64| events as f64 / secs;
    let per_event = |secs: f64| secs * 1e6 / events as f64;
    println!(
        "{label:>6} {:>14.0} {:>14.0} {:>6.2} | {:>27.1} {:>9.1} {:>15.1}",
        rate(round.floor),
        rate(round.server),
        round.server / round.floor,
        per_event(round.parse),
        per_event(round.validate),
        per_event(round.record),
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
