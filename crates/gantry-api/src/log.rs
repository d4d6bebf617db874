//! The live log (`GET /api/v1/runs/{id}/logs` with `Accept: text/event-stream` or
//! `?follow=true`): server-sent events, each with an `event` name, an `id` and JSON `data`.
//!
//! - `event: line`, `data:` a [`LogLine`], `id:` how far the stream got: for one task the
//!   line's `seq`; for a whole run, `INDEX:SEQ` pairs joined by `,` (the last line sent of each
//!   task, by its index in the run's task list). A client reconnecting with that id as
//!   `Last-Event-ID` gets exactly the lines it missed.
//! - `event: end`, `data:` a [`LogEnd`]: the run has finished and every line was sent.

use chrono::{DateTime, Utc};
use gantry_model::LogStream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::run::RunStatus;

/// The `data` of a `line` event: one line of a task's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogLine {
    /// The task's path.
    pub path: String,
    /// 1 for the task's first line, then 2, 3, ... without a gap.
    #[schema(minimum = 1)]
    pub seq: u64,
    #[schema(value_type = crate::model_schema::LogStream)]
    pub stream: LogStream,
    /// Secrets already masked, without its line ending.
    pub line: String,
    pub at: DateTime<Utc>,
    /// The attempt of the task that wrote it: 1, then 2, 3, ... when the task was retried.
    #[serde(default = "first_attempt")]
    #[schema(minimum = 1)]
    pub attempt: u32,
}

fn first_attempt() -> u32 {
    1
}

/// The `data` of the `end` event: how the run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogEnd {
    pub result: RunStatus,
}

/// One server-sent event of a followed log, as the OpenAPI document describes the
/// `text/event-stream` body (a stream of these, in the SSE text format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogEvent {
    /// `line` for a line, `end` once.
    #[schema(pattern = "^(line|end)$")]
    pub event: String,
    /// Of a `line` event: the position to resume from (`Last-Event-ID`); `end` has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// JSON: a `LogLine` for `line`, a `LogEnd` for `end`.
    pub data: String,
}
