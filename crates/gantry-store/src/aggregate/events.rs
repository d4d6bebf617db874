//! Events: the CDEvents stored (`events`: Gantry's own, one per state change of a run, and other
//! tools'), and the ids of the run events already applied (`recorded_events`), which make
//! recording idempotent.
//!
//! Schema: `migrations/*/0001_build_data.sql`.

use chrono::{DateTime, Utc};

use crate::db::{Arg, Db, Sql, Statement, Statements, Tx, insert_chunks};
use crate::error::StoreError;

/// A CDEvent to store.
#[derive(Debug)]
pub(crate) struct NewEvent<'a> {
    pub id: &'a str,
    pub chain_id: Option<&'a str>,
    /// `context.type`.
    pub kind: String,
    pub timestamp: DateTime<Utc>,
    /// The event as JSON: the text received, for other tools' events.
    pub json: String,
}

impl Db {
    /// The JSON texts of a chain's events, in time order (arrival order for equal times).
    pub(crate) async fn events_for_chain(&self, chain_id: &str) -> Result<Vec<String>, StoreError> {
        let texts: Vec<(String,)> = self
            .connection()
            .await?
            .fetch_all(
                "read events",
                Sql::both(
                    "SELECT CAST(json AS TEXT) FROM events WHERE chain_id = $1 ORDER BY timestamp, seq",
                ),
                &[chain_id.into()],
            )
            .await?;
        Ok(texts.into_iter().map(|(text,)| text).collect())
    }

    /// The JSON texts of a chain's events of one type, in time order.
    pub(crate) async fn events_for_chain_of_type(
        &self,
        chain_id: &str,
        kind: &str,
    ) -> Result<Vec<String>, StoreError> {
        let texts: Vec<(String,)> = self
            .connection()
            .await?
            .fetch_all(
                "read events",
                Sql::both(
                    "SELECT CAST(json AS TEXT) FROM events WHERE chain_id = $1 AND type = $2 ORDER BY timestamp, seq",
                ),
                &[chain_id.into(), kind.into()],
            )
            .await?;
        Ok(texts.into_iter().map(|(text,)| text).collect())
    }
}

impl Tx {
    /// Marks a state-change event as applied; `false` when it already was.
    pub(crate) async fn claim(
        &mut self,
        id: &str,
        run_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .execute(
                "record an event id",
                Sql::both(
                    "INSERT INTO recorded_events (id, run_id, kind, at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                ),
                &[id.into(), run_id.into(), kind.into(), at.into()],
            )
            .await?;
        Ok(claimed == 1)
    }

    /// Stores the events in order, leaving out those whose id is stored already, in a few
    /// multi-row statements; returns how many were stored.
    pub(crate) async fn insert_events(&mut self, events: &[NewEvent<'_>]) -> Result<u64, StoreError> {
        let mut stored = 0;
        for chunk in insert_chunks(events) {
            let mut insert =
                Statement::new("INSERT INTO events (id, chain_id, type, timestamp, json) VALUES ");
            insert
                .values(chunk, |event| {
                    [
                        Arg::from(event.id),
                        event.chain_id.into(),
                        event.kind.as_str().into(),
                        event.timestamp.into(),
                        Arg::Json(&event.json),
                    ]
                })
                .push(" ON CONFLICT (id) DO NOTHING");
            stored += self.execute("store CDEvents", insert.sql(), &insert.args).await?;
        }
        Ok(stored)
    }
}

impl Db {
    /// Tells every listening store on a PostgreSQL database that run events were recorded; on
    /// SQLite, whose other writers listen to nothing, does nothing.
    pub(crate) async fn notify_recorded(&self, channel: &'static str) -> Result<(), StoreError> {
        if let Db::Postgres(_) = self {
            self.connection()
                .await?
                .execute(
                    "tell listening replicas of recorded events",
                    Sql::both("SELECT pg_notify($1, '')"),
                    &[channel.into()],
                )
                .await?;
        }
        Ok(())
    }

    /// On PostgreSQL, relays the database's notifications of recorded run events into
    /// `recorded`; on SQLite, does nothing.
    pub(crate) async fn listen(&self, recorded: &crate::notify::Recorded) -> Result<(), StoreError> {
        match self {
            Db::Postgres(pool) => recorded
                .listen(pool)
                .await
                .map_err(StoreError::db("listen for the records of other replicas")),
            Db::Sqlite(_) => Ok(()),
        }
    }
}
