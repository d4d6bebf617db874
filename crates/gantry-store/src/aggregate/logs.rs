//! Task logs: the `task_logs` table, one row per line of a task's output, numbered 1, 2, 3, ...
//! per task without a gap, so that a reader can follow a log from any line number.
//!
//! Schema: `migrations/*/0001_build_data.sql` and `0011_log_attempts.sql`.

use chrono::{DateTime, Utc};
use gantry_model::LogStream;

use crate::db::{Arg, Db, Sql, Statement, Statements, Tx, insert_chunks};
use crate::error::StoreError;
use crate::query::{LogLine, RunLogLine, corrupt, unsigned};

/// A line of a task's output to append to its log, numbered already.
#[derive(Debug)]
pub(crate) struct NewLogLine<'a> {
    pub task_id: i64,
    pub seq: i64,
    /// Unique per line: the `task_output` event's id and the line's index in it (`ID:N`).
    pub event_id: String,
    pub stream: &'static str,
    pub line: &'a str,
    pub at: DateTime<Utc>,
    /// The attempt of the task that wrote it.
    pub attempt: u32,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LogRow {
    pub path: String,
    pub seq: i64,
    pub stream: String,
    pub line: String,
    pub at: DateTime<Utc>,
    pub attempt: i64,
}

/// The `SELECT` of [`LogRow`]s, a task's lines with its path, for `concat!`.
macro_rules! log_rows {
    () => {
        "SELECT t.path, l.seq, l.stream, l.line, l.at, l.attempt FROM tasks t JOIN task_logs l ON l.task_id = t.id"
    };
}

impl Db {
    /// Up to `limit` lines of a task's log after line `after_seq`.
    pub(crate) async fn task_log(
        &self,
        run_id: &str,
        path: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<LogRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "read a task's log",
                Sql::both(concat!(
                    log_rows!(),
                    " WHERE t.run_id = $1 AND t.path = $2 AND l.seq > $3 ORDER BY l.seq LIMIT $4"
                )),
                &[run_id.into(), path.into(), after_seq.into(), limit.into()],
            )
            .await
    }

    /// Every line of a run, task by task in the order they started.
    pub(crate) async fn run_log(&self, run_id: &str) -> Result<Vec<LogRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "read a run's log",
                Sql::both(concat!(log_rows!(), " WHERE t.run_id = $1 ORDER BY t.id, l.seq")),
                &[run_id.into()],
            )
            .await
    }
}

impl Tx {
    /// The number of a task's last line, 0 when it has none yet.
    pub(crate) async fn last_log_seq(&mut self, task_id: i64) -> Result<i64, StoreError> {
        let (last,): (i64,) = self
            .fetch_one(
                "find a task's last log line",
                Sql::both("SELECT COALESCE(MAX(seq), 0) FROM task_logs WHERE task_id = $1"),
                &[task_id.into()],
            )
            .await?;
        Ok(last)
    }

    /// Inserts lines numbered by the caller (after [`Tx::last_log_seq`], in the transaction
    /// that claimed their events, so that nothing else numbers them meanwhile). A few
    /// multi-row statements, not one a line: a statement costs a round trip to sqlx's SQLite
    /// thread each.
    pub(crate) async fn append_logs(&mut self, lines: &[NewLogLine<'_>]) -> Result<(), StoreError> {
        for chunk in insert_chunks(lines) {
            let mut insert = Statement::new(
                "INSERT INTO task_logs (task_id, seq, stream, line, at, event_id, attempt) VALUES ",
            );
            insert.values(chunk, |line| {
                [
                    Arg::from(line.task_id),
                    line.seq.into(),
                    line.stream.into(),
                    line.line.into(),
                    line.at.into(),
                    line.event_id.as_str().into(),
                    line.attempt.into(),
                ]
            });
            self.execute("append to a task's log", insert.sql(), &insert.args)
                .await?;
        }
        Ok(())
    }
}

impl LogRow {
    pub(crate) fn into_run_line(self) -> Result<RunLogLine, StoreError> {
        let stream = match self.stream.as_str() {
            "stdout" => LogStream::Stdout,
            "stderr" => LogStream::Stderr,
            other => return Err(corrupt("log stream", format!("`{other}` is not a stream"))),
        };
        Ok(RunLogLine {
            path: self.path,
            line: LogLine {
                seq: unsigned(self.seq, "log sequence number")?,
                stream,
                line: self.line,
                at: self.at,
                attempt: u32::try_from(self.attempt).map_err(|_| {
                    corrupt(
                        "log line's attempt",
                        format!("{} is not an attempt", self.attempt),
                    )
                })?,
            },
        })
    }
}

/// How a [`LogStream`] is stored.
pub(crate) fn stream_name(stream: LogStream) -> &'static str {
    match stream {
        LogStream::Stdout => "stdout",
        LogStream::Stderr => "stderr",
    }
}
