//! `GET /api/v1/runs/{id}/logs`: a run's log (every task, each line prefixed with its task's
//! path) or one task's (`?task=PATH`).
//!
//! As `text/plain`, the log is streamed page by page from the store, so a huge log is never
//! held in memory. With `Accept: text/event-stream` or `?follow=true` it is a live stream of
//! server-sent events: a `line` event per line (`{"path", "seq", "stream", "line", "at"}`), then
//! one `end` event (`{"result"}`) once the run has finished and every line was sent.
//!
//! Each event's id says how far the client got, so that a reconnecting client (which sends it
//! back as `Last-Event-ID`) gets exactly the lines it missed: for one task, the line's `seq`;
//! for a whole run, `INDEX:SEQ` pairs joined by `,`, the last line sent of each task by the
//! task's index in the run's task list (tasks run in parallel, so one number cannot say it).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use gantry_api::{ErrorBody, LogEnd, LogEvent};
use gantry_store::{RunDetail, RunStatus, Store};
use serde::Deserialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use utoipa::IntoParams;

use super::runs::find_run;
use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery};
use crate::log_text::{Attempts, TextLog, TextOptions};
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::wire;

/// Lines read from the store at a time.
const PAGE: u32 = 1000;

/// How often a follower looks for lines recorded by other processes that the store does not hear
/// of (on SQLite); lines recorded through this store, or on PostgreSQL by any replica, wake it at
/// once.
const POLL: Duration = Duration::from_millis(500);

/// Which log, and how.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// One task's log: its path (`build/compile`), or its name when that is unique in the run.
    task: Option<String>,
    /// Follow the log live (server-sent events); by default, when `Accept` asks for
    /// `text/event-stream`.
    follow: Option<bool>,
    /// Text: start each line with its time (RFC 3339, UTC, milliseconds).
    timestamps: Option<bool>,
}

/// A run's log, or one task's; whole, or followed live.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}/logs",
    operation_id = "run_logs",
    tag = "runs",
    params(
        ("id" = String, Path, description = "A run id, a unique prefix of one, or `APP#BUILD` (as `APP%23BUILD`)"),
        LogsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "When following: the id of the last event received"),
    ),
    responses(
        (status = 200, description = "The log as text (`PATH │ LINE` per line for a whole run), or a live stream of \
         server-sent events: `event: line` with `id` (the position to resume from, sent back as `Last-Event-ID`) and \
         `data` a `LogLine`, then one `event: end` with `data` a `LogEnd`",
         content((String = "text/plain"), (LogEvent = "text/event-stream"))),
        (status = 400, description = "A bad query parameter or `Last-Event-ID`", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such run, or no such task in it", body = ErrorBody),
    )
)]
pub async fn logs(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogsQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let run = find_run(&state, &id).await?;
    let follow = query.follow.unwrap_or_else(|| wants_event_stream(&headers));
    let task = query
        .task
        .as_deref()
        .map(|task| resolve_task(&run, task, follow))
        .transpose()?;
    if follow {
        let cursor = Cursor::parse(headers.get("last-event-id"), task.is_some())?;
        let follower = Follower {
            store: state.store.clone(),
            metrics: state.metrics.clone(),
            run_id: run.summary.id,
            task,
            cursor,
            recorded: state.store.subscribe_recorded(),
            shutdown: state.shutdown.clone(),
            done: false,
        };
        return Ok(Sse::new(follower.events())
            .keep_alive(KeepAlive::default())
            .into_response());
    }
    let paths = match task {
        Some(path) => vec![path],
        None => run.tasks.iter().map(|task| task.path.clone()).collect(),
    };
    let mut logs = Vec::with_capacity(paths.len());
    let options = TextOptions {
        timestamps: query.timestamps.unwrap_or(false),
    };
    for path in paths {
        let attempts = Attempts::of(&state.store, &run, &path).await?;
        let prefix = if query.task.is_none() {
            format!("{path} │ ")
        } else {
            String::new()
        };
        logs.push((path, TextLog::new(attempts, options, prefix)));
    }
    Ok(text(state.store, run.summary.id, logs))
}

fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"))
}

/// The path of the task `name` names in `run`: its path, or its unique last segment. A task
/// not seen yet may still come while the run goes on, so a follower may wait for it.
fn resolve_task(run: &RunDetail, name: &str, follow: bool) -> Result<String, AppError> {
    let paths: Vec<&str> = run.tasks.iter().map(|task| task.path.as_str()).collect();
    if paths.contains(&name) {
        return Ok(name.to_owned());
    }
    let matches: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|path| path.rsplit('/').next() == Some(name))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] if follow && run.summary.result == RunStatus::Running => Ok(name.to_owned()),
        [] => Err(AppError::not_found(format!(
            "run `{}` has no task `{name}`; its tasks are: {}",
            run.summary.id,
            paths.join(", ")
        ))),
        several => Err(AppError::bad_request(format!(
            "`{name}` names several tasks: {}; use the task's full path",
            several.join(", ")
        ))),
    }
}

/// Streams the log of each task, task after task, one store page at a time.
fn text(store: Store, run_id: String, logs: Vec<(String, TextLog)>) -> Response {
    struct Reader {
        store: Store,
        run_id: String,
        logs: std::vec::IntoIter<(String, TextLog)>,
        /// The task being read, and its last line sent.
        current: Option<(String, TextLog)>,
        after: u64,
    }
    let mut logs = logs.into_iter();
    let reader = Reader {
        store,
        run_id,
        current: logs.next(),
        logs,
        after: 0,
    };
    let chunks = stream::unfold(reader, |mut reader| async move {
        let (path, log) = reader.current.as_mut()?;
        let lines = match reader
            .store
            .task_log(&reader.run_id, path, reader.after, PAGE)
            .await
        {
            Ok(lines) => lines,
            Err(error) => {
                tracing::error!(error = %crate::error::chain(&error), run = %reader.run_id, "failed to read a log");
                // Ending the body with an error tells the client the log is cut short.
                reader.current = None;
                return Some((Err(std::io::Error::other("failed to read the log")), reader));
            }
        };
        let mut chunk = String::new();
        log.lines(&lines, &mut chunk);
        match lines.last() {
            // A full page may have more after it.
            Some(last) if lines.len() == PAGE as usize => reader.after = last.seq,
            // A short page is the task's last.
            _ => {
                log.end(&mut chunk);
                reader.current = reader.logs.next();
                reader.after = 0;
            }
        }
        Some((Ok(Bytes::from(chunk)), reader))
    });
    let mut response = Body::from_stream(chunks).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// How far a follower got: the last line sent of each task.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    /// Following one task: its last line's seq.
    Task(u64),
    /// Following a whole run: by task index (in the run's task list), the last seq sent.
    Run(BTreeMap<usize, u64>),
}

impl Cursor {
    fn parse(header: Option<&HeaderValue>, one_task: bool) -> Result<Self, AppError> {
        let text = header
            .map(|value| value.to_str().unwrap_or("\u{0}"))
            .unwrap_or_default()
            .trim();
        let invalid =
            || AppError::bad_request(format!("`Last-Event-ID: {text}` is not an id this stream sent"));
        if one_task {
            return if text.is_empty() {
                Ok(Self::Task(0))
            } else {
                text.parse().map(Self::Task).map_err(|_| invalid())
            };
        }
        let mut positions = BTreeMap::new();
        for pair in text.split(',').filter(|pair| !pair.is_empty()) {
            let (index, seq) = pair.split_once(':').ok_or_else(invalid)?;
            positions.insert(
                index.parse().map_err(|_| invalid())?,
                seq.parse().map_err(|_| invalid())?,
            );
        }
        Ok(Self::Run(positions))
    }

    /// The id of an event sent at this position.
    fn id(&self) -> String {
        match self {
            Self::Task(seq) => seq.to_string(),
            Self::Run(positions) => {
                let pairs: Vec<String> = positions
                    .iter()
                    .map(|(index, seq)| format!("{index}:{seq}"))
                    .collect();
                pairs.join(",")
            }
        }
    }
}

/// A live follow of a run's or a task's log.
struct Follower {
    store: Store,
    metrics: std::sync::Arc<Metrics>,
    run_id: String,
    /// The task followed; the whole run when `None`.
    task: Option<String>,
    cursor: Cursor,
    /// Marked changed when this server records events.
    recorded: watch::Receiver<u64>,
    shutdown: CancellationToken,
    done: bool,
}

/// What one look at the store found.
enum Look {
    Events(Vec<Event>),
    /// Nothing new; more may come.
    Nothing,
    /// The run is over and every line was sent.
    Finished(RunStatus),
}

impl Follower {
    fn events(self) -> impl Stream<Item = Result<Event, Infallible>> {
        stream::unfold(self, |mut follower| async move {
            if follower.done {
                return None;
            }
            loop {
                if follower.shutdown.is_cancelled() {
                    return None;
                }
                match follower.look().await {
                    Ok(Look::Events(events)) => return Some((events, follower)),
                    Ok(Look::Finished(result)) => {
                        follower.done = true;
                        let end = LogEnd {
                            result: wire::run_status(result),
                        };
                        let end = Event::default()
                            .event("end")
                            .data(serde_json::to_string(&end).unwrap_or_default());
                        return Some((vec![end], follower));
                    }
                    Ok(Look::Nothing) => {}
                    Err(error) => {
                        tracing::warn!(error = %error, run = %follower.run_id, "failed to read a followed log; retrying");
                    }
                }
                tokio::select! {
                    _ = follower.recorded.changed() => {}
                    () = tokio::time::sleep(POLL) => {}
                    () = follower.shutdown.cancelled() => return None,
                }
            }
        })
        .flat_map(|events| stream::iter(events.into_iter().map(Ok)))
    }

    /// Reads what was recorded since the last look.
    async fn look(&mut self) -> Result<Look, AppError> {
        // The run's state first: lines recorded before it finished are then all readable below.
        let run = self
            .metrics
            .time_store("find_run", self.store.find_run(&self.run_id))
            .await?;
        let run = run.ok_or_else(|| AppError::not_found(format!("run `{}` is gone", self.run_id)))?;
        let paths: Vec<(usize, String)> = match &self.task {
            Some(path) => vec![(0, path.clone())],
            None => run
                .tasks
                .iter()
                .map(|task| task.path.clone())
                .enumerate()
                .collect(),
        };
        let mut events = Vec::new();
        let mut more = false;
        for (index, path) in paths {
            let after = match &self.cursor {
                Cursor::Task(seq) => *seq,
                Cursor::Run(positions) => positions.get(&index).copied().unwrap_or(0),
            };
            let lines = self
                .metrics
                .time_store("task_log", self.store.task_log(&self.run_id, &path, after, PAGE))
                .await?;
            more |= lines.len() == PAGE as usize;
            for line in lines {
                match &mut self.cursor {
                    Cursor::Task(seq) => *seq = line.seq,
                    Cursor::Run(positions) => {
                        positions.insert(index, line.seq);
                    }
                }
                let line = wire::log_line(path.clone(), line);
                let data = serde_json::to_string(&line)
                    .map_err(|error| AppError::internal("encode a log line", &error))?;
                events.push(Event::default().event("line").id(self.cursor.id()).data(data));
            }
        }
        Ok(if !events.is_empty() {
            Look::Events(events)
        } else if run.summary.result != RunStatus::Running && !more {
            Look::Finished(run.summary.result)
        } else {
            Look::Nothing
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_event_ids() {
        let parse =
            |text: &str, one_task: bool| Cursor::parse(Some(&HeaderValue::from_str(text).unwrap()), one_task);
        assert_eq!(Cursor::parse(None, true).unwrap(), Cursor::Task(0));
        assert_eq!(Cursor::parse(None, false).unwrap(), Cursor::Run(BTreeMap::new()));
        assert_eq!(parse("42", true).unwrap(), Cursor::Task(42));
        let run = parse("0:12,3:4", false).unwrap();
        assert_eq!(run, Cursor::Run(BTreeMap::from([(0, 12), (3, 4)])));
        assert_eq!(run.id(), "0:12,3:4");
        assert_eq!(parse(&run.id(), false).unwrap(), run);
        for bad in ["x", "-1", "1:2"] {
            assert!(parse(bad, true).is_err(), "{bad}");
        }
        for bad in ["x", "1", "1:x", "a:1"] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
    }
}
