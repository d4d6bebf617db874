//! The event streams behind the live pages: `/ui/runs/{id}/status` sends a run page's changing
//! parts when they change, and `/ui/runs/{id}/follow/{*path}` sends a task's new log lines.
//!
//! Both read the store (every other server and agent records into it, so it is the one place that
//! knows) when it says something was recorded ([`Store::subscribe_recorded`]: at once for what
//! this process records and, on PostgreSQL, for what any replica records), send HTML rendered by
//! the same code as the pages, and end with a `done` event once there is nothing more to come. On
//! SQLite, which cannot tell of other processes' records, they also look every [`FALLBACK_LOOK`].
//! A stream ends with its client too, and when the server shuts down, so that graceful shutdown
//! never waits on an open page.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use futures_util::stream::{self, Stream, StreamExt as _};
use gantry_store::{RunStatus, Store};
use maud::{Markup, html};
use serde::Deserialize;
use tokio::sync::watch;

use super::badge;
use super::error::UiError;
use super::log::{self, HtmlLog};
use super::run::{Fragments, fingerprint};
use crate::log_text::Attempts;
use crate::state::AppState;

/// How often the streams look at a store that cannot tell of other processes' records (SQLite,
/// which a `gantry run` on the same file may write to).
const FALLBACK_LOOK: Duration = Duration::from_secs(1);

/// How long a browser waits before reconnecting a dropped stream.
const RETRY: Duration = Duration::from_secs(2);

/// Lines a single `lines` event carries at most.
const FOLLOW_PAGE: u32 = 1000;

/// The query string of the status stream.
#[derive(Debug, Default, Deserialize)]
pub struct StatusQuery {
    /// The fingerprint of what the page shows; nothing is sent until the run differs from it.
    since: Option<String>,
}

/// Where a status stream is.
struct StatusState {
    store: Store,
    /// Marked changed when the store records something.
    recorded: watch::Receiver<u64>,
    id: String,
    /// The fingerprint of what the client shows.
    shown: Option<String>,
    first: bool,
    done: bool,
}

/// `GET /ui/runs/{id}/status`: `update` events with the run page's header, graph and artifacts
/// as HTML, each time they change, until the run has finished.
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    let Query(query) = query.map_err(|rejection| UiError::bad_request(rejection.body_text()))?;
    let detail = state
        .store
        .find_run(&id)
        .await?
        .ok_or_else(|| UiError::no_run(&id))?;
    let shutdown = state.shutdown.clone().cancelled_owned();
    let start = StatusState {
        recorded: state.store.subscribe_recorded(),
        store: state.store,
        id: detail.summary.id,
        shown: query.since,
        first: true,
        done: false,
    };
    let events = stream::unfold(start, |mut state| async move {
        if state.done {
            return None;
        }
        loop {
            if !std::mem::take(&mut state.first) {
                next_record(&state.store, &mut state.recorded).await;
            }
            // Seen before reading, so that what is recorded during the read wakes the next wait.
            let _ = state.recorded.borrow_and_update();
            let detail = match state.store.find_run(&state.id).await {
                Ok(Some(detail)) => detail,
                Ok(None) => return None,
                Err(error) => {
                    tracing::warn!(error = %error, run = %state.id, "web UI: failed to poll a run's status");
                    continue;
                }
            };
            let done = detail.summary.result != RunStatus::Running;
            let current = fingerprint(&detail);
            if state.shown.as_deref() == Some(current.as_str()) && !done {
                continue;
            }
            let changed = state.shown.as_deref() != Some(current.as_str());
            let mut update =
                serde_json::json!({ "fingerprint": current, "result": detail.summary.result, "done": done });
            if changed {
                let parts = Fragments::render(&detail, Utc::now());
                update["header"] = parts.header.into_string().into();
                update["graph"] = parts.graph.into_string().into();
                update["artifacts"] = parts.artifacts.into_string().into();
            }
            state.shown = Some(current);
            state.done = done;
            let event = Event::default()
                .event("update")
                .retry(RETRY)
                .data(update.to_string());
            return Some((Ok(event), state));
        }
    });
    Ok(Sse::new(events.take_until(shutdown)).keep_alive(KeepAlive::default()))
}

/// The query string of the follow stream.
#[derive(Debug, Default, Deserialize)]
pub struct FollowQuery {
    /// The number of the last line the client has.
    after: Option<String>,
}

/// Where a follow stream is.
struct FollowState {
    store: Store,
    /// Marked changed when the store records something.
    recorded: watch::Receiver<u64>,
    run_id: String,
    path: String,
    after: u64,
    /// Writes the lines, with a header when a new attempt starts.
    log: HtmlLog,
    /// The task has finished: send what is left, then `done`.
    finishing: bool,
    done: bool,
}

/// `GET /ui/runs/{id}/follow/{*path}?after=SEQ`: `lines` events with the task's log lines after
/// `SEQ` as HTML (each event's id is its last line's number, so a reconnecting browser goes on
/// where it was), then `done` with the task's final status once it has finished.
pub async fn follow(
    State(state): State<AppState>,
    Path((id, path)): Path<(String, String)>,
    query: Result<Query<FollowQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    let Query(query) = query.map_err(|rejection| UiError::bad_request(rejection.body_text()))?;
    // A reconnecting browser says where it got to; that wins over the page's first position.
    let resumed = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let after = match resumed.or(query.after).as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| UiError::bad_request(format!("`after` must be a line number, not `{text}`.")))?,
    };
    let detail = log::find_task(&state.store, &id, &path).await?;
    let mut html_log = HtmlLog::new(Attempts::of(&state.store, &detail, &path).await?);
    if after > 0 {
        // The attempt of the last line the browser has, so that the next attempt's header shows.
        let last = state
            .store
            .task_log(&detail.summary.id, &path, after - 1, 1)
            .await?;
        html_log.previous = last.first().map_or(0, |line| line.attempt);
    }
    let shutdown = state.shutdown.clone().cancelled_owned();
    let start = FollowState {
        recorded: state.store.subscribe_recorded(),
        store: state.store,
        run_id: detail.summary.id,
        path,
        after,
        log: html_log,
        finishing: false,
        done: false,
    };
    let events = stream::unfold(start, |mut state| async move {
        if state.done {
            return None;
        }
        loop {
            // Seen before reading, so that what is recorded during the read wakes the next wait.
            let _ = state.recorded.borrow_and_update();
            match state
                .store
                .task_log(&state.run_id, &state.path, state.after, FOLLOW_PAGE)
                .await
            {
                Ok(lines) if !lines.is_empty() => {
                    let newest = lines.iter().map(|line| line.attempt).max().unwrap_or(1);
                    if newest > state.log.previous.max(state.log.attempts.started) {
                        // A new attempt began: read again how the earlier ones ended.
                        if let Ok(attempts) =
                            Attempts::read(&state.store, &state.run_id, &state.path, newest).await
                        {
                            state.log.attempts = attempts;
                        }
                    }
                    let mut html = String::with_capacity(lines.len() * 80);
                    state.log.lines(&lines, &mut html);
                    state.after = lines.last().map_or(state.after, |line| line.seq);
                    let event = Event::default()
                        .event("lines")
                        .id(state.after.to_string())
                        .retry(RETRY)
                        .data(html);
                    return Some((Ok(event), state));
                }
                Ok(_) if state.finishing => {
                    let status = task_status(&state.store, &state.run_id, &state.path).await;
                    // Never empty: a browser ignores an event without data.
                    let badge = status.map_or_else(
                        || html! { span.badge.s-skipped { "not run" } }.into_string(),
                        Markup::into_string,
                    );
                    state.done = true;
                    return Some((Ok(Event::default().event("done").data(badge)), state));
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error, run = %state.run_id, task = %state.path, "web UI: failed to follow a log");
                }
            }
            // Caught up: the task may have finished since the lines were read; if so, read once
            // more, since its last lines were recorded before its end.
            if finished(&state.store, &state.run_id, &state.path).await {
                state.finishing = true;
                continue;
            }
            next_record(&state.store, &mut state.recorded).await;
        }
    });
    Ok(Sse::new(events.take_until(shutdown)).keep_alive(KeepAlive::default()))
}

/// Waits until the store may hold something new: it recorded something, or, when it cannot
/// tell of other processes' records, [`FALLBACK_LOOK`] passed.
async fn next_record(store: &Store, recorded: &mut watch::Receiver<u64>) {
    if store.hears_other_writers() {
        if recorded.changed().await.is_err() {
            // The store is gone (the server is stopping): looking again finds that out.
            tokio::time::sleep(FALLBACK_LOOK).await;
        }
    } else {
        let _ = tokio::time::timeout(FALLBACK_LOOK, recorded.changed()).await;
    }
}

/// The task's status, where it is recorded.
async fn task_status(store: &Store, run_id: &str, path: &str) -> Option<Markup> {
    let detail = store.find_run(run_id).await.ok().flatten()?;
    detail
        .tasks
        .iter()
        .find(|task| task.path == path)
        .map(badge::record)
}

/// Whether nothing more will be written to the task's log: it has finished, or its run has (a
/// task that never ran has no more to say either). A run that vanished has finished too.
async fn finished(store: &Store, run_id: &str, path: &str) -> bool {
    match store.find_run(run_id).await {
        Ok(Some(detail)) => {
            detail.summary.result != RunStatus::Running
                || detail
                    .tasks
                    .iter()
                    .find(|task| task.path == path)
                    .is_some_and(|task| badge::is_finished(task.status))
        }
        Ok(None) => true,
        Err(_) => false,
    }
}
