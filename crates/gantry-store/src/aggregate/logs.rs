//! Task logs: the `task_logs` table, one row per line of a task's output, numbered 1, 2, 3, ...
//! per task without a gap, so that a reader can follow a log from any line number.
//!
//! Schema: `migrations/*/0001_build_data.sql`.

use chrono::{DateTime, Utc};
use gantry_model::LogStream;

use crate::db::{Arg, Db, Sql, Statement, Statements, Tx, insert_chunks};
use crate::error::StoreError;
use crate::query::{LogLine, RunLogLine, corrupt, unsigned};

/// A line of a task's output to append to its log.
#[derive(Debug)]
pub(crate) struct NewLogLine<'a> {
    pub task_id: i64,
    /// The `task_output` event's id: a line whose event was recorded before is left out.
    pub event_id: &'a str,
    pub stream: &'static str,
    pub line: &'a str,
    pub at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LogRow {
    pub path: String,
    pub seq: i64,
    pub stream: String,
    pub line: String,
    pub at: DateTime<Utc>,
}

/// The `SELECT` of [`LogRow`]s, a task's lines with its path, for `concat!`.
macro_rules! log_rows {
    () => {
        "SELECT t.path, l.seq, l.stream, l.line, l.at FROM tasks t JOIN task_logs l ON l.task_id = t.id"
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
    /// Appends each line after its task's last one, in order, leaving out the lines whose event
    /// was recorded already (so that a task's lines stay numbered 1, 2, 3, ...). The lines'
    /// event ids are distinct. A few multi-row statements, not one a line: a statement costs a
    /// round trip to sqlx's SQLite thread each.
    pub(crate) async fn append_logs(&mut self, lines: &[NewLogLine<'_>]) -> Result<(), StoreError> {
        for chunk in insert_chunks(lines) {
            // Numbered after the window: rows left out (recorded before) take no number. Both
            // databases read the whole SELECT (and the table as it was) before inserting.
            let numbered: Vec<(i64, &NewLogLine<'_>)> = (0..).zip(chunk).collect();
            let mut insert = Statement::new("WITH v (n, task_id, stream, line, at, event_id) AS (VALUES ");
            insert
                .values(&numbered, |(n, line)| {
                    [
                        Arg::from(*n),
                        line.task_id.into(),
                        line.stream.into(),
                        line.line.into(),
                        line.at.into(),
                        line.event_id.into(),
                    ]
                })
                .push(
                    ") INSERT INTO task_logs (task_id, seq, stream, line, at, event_id)
                     SELECT v.task_id,
                            (SELECT COALESCE(MAX(l.seq), 0) FROM task_logs l WHERE l.task_id = v.task_id)
                              + ROW_NUMBER() OVER (PARTITION BY v.task_id ORDER BY v.n),
                            v.stream, v.line, v.at, v.event_id
                     FROM v
                     WHERE NOT EXISTS (SELECT 1 FROM task_logs d WHERE d.event_id = v.event_id)
                     ON CONFLICT (event_id) DO NOTHING",
                );
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
