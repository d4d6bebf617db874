//! `/runs/{id}/tasks/{*path}`: a task's log, streamed to the browser while it is read from the
//! store a page of lines at a time, so that a 50 MB log never sits in memory whole. Each line has
//! its number (a link to itself) and stderr lines are marked. While the task runs, the script
//! follows the log from the last line sent (see [`super::live`]).
//!
//! `?format=text` streams the same log as plain text.

use std::convert::Infallible;
use std::fmt::Write as _;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use futures_util::stream::{self, Stream};
use gantry_model::LogStream;
use gantry_store::{LogLine, RunDetail, Store, TaskStatus};
use maud::{Escaper, html};
use serde::Deserialize;

use super::badge;
use super::error::{UiError, UiResult};
use super::format;
use super::graph;
use super::layout::{self, Nav, Page};
use super::url;
use crate::log_text::{Attempts, TextLog, TextOptions};
use crate::state::AppState;

/// Lines read from the store at a time: big enough that a long log takes few queries, small
/// enough that a page of them is a modest chunk of the response.
pub const LOG_PAGE: u32 = 5000;

/// Where the streamed lines go in the rendered page.
const LINES_MARKER: &str = "\u{0}gantry-log-lines\u{0}";

/// Stands in the page's tail for the number of the last line sent, known only at the end.
const AFTER_MARKER: &str = "\u{0}gantry-log-after\u{0}";

/// The query string of a log page.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    format: Option<String>,
    /// Plain text: start each line with its time.
    timestamps: Option<bool>,
}

/// `GET /runs/{id}/tasks/{*path}`
pub async fn page(
    State(state): State<AppState>,
    Path((id, path)): Path<(String, String)>,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> UiResult {
    let Query(query) = query.map_err(|rejection| UiError::bad_request(rejection.body_text()))?;
    let text = match query.format.as_deref().unwrap_or_default() {
        "" | "html" => false,
        "text" => true,
        other => {
            return Err(UiError::bad_request(format!(
                "`format` must be `html` or `text`, not `{other}`."
            )));
        }
    };
    let detail = find_task(&state.store, &id, &path).await?;
    if detail.summary.id != id {
        let canonical = url::task_log(&detail.summary.id, &path);
        let query = if text { "?format=text" } else { "" };
        return Ok(Redirect::to(&format!("{canonical}{query}")).into_response());
    }
    let run_id = detail.summary.id.clone();
    let attempts = Attempts::of(&state.store, &detail, &path).await?;
    if text {
        let options = TextOptions {
            timestamps: query.timestamps.unwrap_or(false),
        };
        let log = TextLog::new(attempts, options, String::new());
        return Ok(text_response(state.store, run_id, path, log));
    }
    let record = detail.tasks.iter().find(|task| task.path == path);
    let status = record.map(|task| task.status);
    let following = status.is_none_or(|status| !badge::is_finished(status))
        && detail.summary.result == gantry_store::RunStatus::Running;
    let now = Utc::now();
    let run = &detail.summary;
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/" { "Apps" } " / "
            a href=(url::app(&run.app)) { (run.app) } " / "
            a href=(url::run(&run.id)) { @if let Some(version) = format::version(run) { (version) " " } "#" (run.build) } " / "
            span aria-current="page" { (path) }
        }
        div.log-head {
            div.run-title {
                h1 { code { (path) } }
                span #task-status { @match record {
                    Some(record) => (badge::record(record)),
                    None if following => (badge::task(TaskStatus::Pending)),
                    None => span.badge.s-skipped { "not run" },
                } }
            }
            p.muted {
                @if let Some(task) = record {
                    @if task.started_at.is_some() {
                        (format::elapsed(task.started_at, task.duration_ms, task.status == TaskStatus::Running, now))
                    }
                    @if let Some(code) = task.exit_code { " · exit " (code) }
                    @if task.attempts > 1 { " · " (task.attempts) " attempts" }
                    @if let Some(reason) = &task.skip_reason { " · skipped: " (reason) }
                    " · "
                }
                a href=(url::run(&run.id)) { "back to the run" }
                " · "
                a href={ (url::task_log(&run.id, &path)) "?format=text" } { "plain text" }
            }
        }
        input #log-times .switch type="checkbox";
        label.switch-label for="log-times" title="Show when each line was written (UTC)" { "Times" }
        div.log-box {
            div #log .log { (layout::marker(LINES_MARKER)) }
            div #log-state
                data-after=(AFTER_MARKER)
                data-follow-url=[following.then(|| url::follow(&run.id, &path))] {
                @if following { p.following { span.spinner {} "Following the log as the task runs…" } }
            }
        }
    };
    let title = format!("{path} · {} #{}", run.app, run.build);
    let (head, tail) = Page::new(title, Nav::Runs, body)
        .refresh(following)
        .render_split(LINES_MARKER);
    let stream = html_stream(state.store, run_id, path, head, tail, HtmlLog::new(attempts));
    Ok(layout::html_response(StatusCode::OK, Body::from_stream(stream)))
}

/// The run of a log page, if it has the task `path` (recorded, or in its definition).
pub async fn find_task(store: &Store, id: &str, path: &str) -> Result<RunDetail, UiError> {
    let detail = store.find_run(id).await?.ok_or_else(|| UiError::no_run(id))?;
    if !graph::knows_task(&detail, path) {
        let run = detail.summary.id.clone();
        return Err(UiError::not_found(
            "Task not found",
            html! {
                p { "Run " a href=(url::run(&run)) { code { (detail.summary.app) " #" (detail.summary.build) } }
                    " has no task " code { (path) } "." }
            },
        ));
    }
    Ok(detail)
}

/// Where a streamed log is.
enum Phase {
    Head(String, HtmlLog),
    Lines { after: u64, log: HtmlLog },
    Tail { after: u64 },
    Done,
}

/// The page: its head, the lines page by page, and its tail with the last line's number.
fn html_stream(
    store: Store,
    run_id: String,
    path: String,
    head: String,
    tail: String,
    log: HtmlLog,
) -> impl Stream<Item = Result<String, Infallible>> {
    stream::unfold(Phase::Head(head, log), move |phase| {
        let (store, run_id, path, tail) = (store.clone(), run_id.clone(), path.clone(), tail.clone());
        async move {
            match phase {
                Phase::Head(head, log) => Some((Ok(head), Phase::Lines { after: 0, log })),
                Phase::Lines { after, mut log } => {
                    match store.task_log(&run_id, &path, after, LOG_PAGE).await {
                        Ok(lines) => {
                            let last = lines.last().map_or(after, |line| line.seq);
                            let mut chunk = String::with_capacity(lines.len() * 80);
                            log.lines(&lines, &mut chunk);
                            let next = if lines.len() < LOG_PAGE as usize {
                                log.end(&mut chunk);
                                Phase::Tail { after: last }
                            } else {
                                Phase::Lines { after: last, log }
                            };
                            Some((Ok(chunk), next))
                        }
                        Err(error) => {
                            tracing::error!(error = %error, run = %run_id, task = %path, "web UI: failed to read a task's log");
                            let notice = "<div class=\"l e notice\">The rest of the log could not be read; try again in a moment.</div>";
                            Some((Ok(notice.to_owned()), Phase::Tail { after }))
                        }
                    }
                }
                Phase::Tail { after } => {
                    Some((Ok(tail.replace(AFTER_MARKER, &after.to_string())), Phase::Done))
                }
                Phase::Done => None,
            }
        }
    })
}

/// The log as plain text, streamed the same way.
fn text_response(store: Store, run_id: String, path: String, log: TextLog) -> Response {
    let stream = stream::unfold(Some((0_u64, log)), move |state| {
        let (store, run_id, path) = (store.clone(), run_id.clone(), path.clone());
        async move {
            let (after, mut log) = state?;
            match store.task_log(&run_id, &path, after, LOG_PAGE).await {
                Ok(lines) => {
                    let mut chunk = String::with_capacity(lines.len() * 80);
                    log.lines(&lines, &mut chunk);
                    let next = if lines.len() >= LOG_PAGE as usize {
                        Some((lines.last().map_or(after, |line| line.seq), log))
                    } else {
                        log.end(&mut chunk);
                        None
                    };
                    Some((Ok::<_, Infallible>(chunk), next))
                }
                Err(error) => {
                    tracing::error!(error = %error, run = %run_id, task = %path, "web UI: failed to read a task's log");
                    Some((Ok("\n[the rest of the log could not be read]\n".to_owned()), None))
                }
            }
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The most of one line a log page shows; the rest is in the plain-text log. A minified bundle
/// or a base64 dump printed on one line would otherwise make the page megabytes of one `div`.
const MAX_SHOWN_LINE: usize = 16 * 1024;

/// A task's log as HTML, page by page: one `div` a line, with its number as a link to itself
/// and its time (shown when the reader asks, see the page's "Times" switch), stderr lines
/// marked `e`, terminal escape sequences left out, lines beyond [`MAX_SHOWN_LINE`] bytes cut
/// with a note; for a task tried more than once, a header before each attempt's lines saying
/// how it ended, as [`TextLog`](crate::log_text::TextLog) writes it in text.
#[derive(Debug)]
pub struct HtmlLog {
    pub attempts: Attempts,
    /// The attempt of the last line written; 0 before the first.
    pub previous: u32,
}

impl HtmlLog {
    pub fn new(attempts: Attempts) -> Self {
        Self {
            attempts,
            previous: 0,
        }
    }

    pub fn lines(&mut self, lines: &[LogLine], out: &mut String) {
        for line in lines {
            for attempt in self.attempts.starting(self.previous, line.attempt) {
                self.header(attempt, out);
            }
            self.previous = self.previous.max(line.attempt);
            render_line(line, out);
        }
    }

    /// The headers of attempts that wrote nothing after the last line.
    pub fn end(&mut self, out: &mut String) {
        for attempt in self.attempts.remaining(self.previous) {
            self.header(attempt, out);
        }
    }

    fn header(&self, attempt: u32, out: &mut String) {
        let _ = write!(
            out,
            "<div class=\"l attempt\" id=\"A{attempt}\"><a href=\"#A{attempt}\"></a><span>── "
        );
        let _ = Escaper::new(out).write_str(&self.attempts.header(attempt));
        out.push_str(" ──</span></div>\n");
    }
}

fn render_line(line: &LogLine, out: &mut String) {
    let (class, title) = match line.stream {
        LogStream::Stdout => ("l", ""),
        LogStream::Stderr => ("l e", " title=\"stderr\""),
    };
    let seq = line.seq;
    let _ = write!(
        out,
        "<div class=\"{class}\" id=\"L{seq}\"{title}><a href=\"#L{seq}\">{seq}</a><time datetime=\"{}\">{}</time><span>",
        line.at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        line.at.format("%H:%M:%S%.3f"),
    );
    let text = plain(&line.line);
    let mut shown = text.len().min(MAX_SHOWN_LINE);
    while !text.is_char_boundary(shown) {
        shown -= 1;
    }
    let _ = Escaper::new(out).write_str(&text[..shown]);
    if shown < text.len() {
        // Relative: the task's log page, as text (live lines land on the same page).
        let _ = write!(
            out,
            "<em class=\"cut\"> … {} more of this line in the <a href=\"?format=text\">plain-text log</a></em>",
            super::format::size(u64::try_from(text.len() - shown).unwrap_or(u64::MAX))
        );
    }
    out.push_str("</span></div>\n");
}

/// A line as a terminal would leave it: colour and cursor escape sequences removed, and only
/// what follows the last carriage return (progress bars redraw a line with them).
fn plain(line: &str) -> std::borrow::Cow<'_, str> {
    let line = line.trim_end_matches('\r');
    let line = line.rsplit_once('\r').map_or(line, |(_, last)| last);
    if !line.contains('\u{1b}') {
        return line.into();
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(char) = chars.next() {
        if char != '\u{1b}' {
            out.push(char);
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates up to a final byte in `@`..=`~`.
            Some('[') => {
                for next in chars.by_ref() {
                    if ('@'..='~').contains(&next) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or the string terminator `ESC \`.
            Some(']') => {
                while let Some(next) = chars.next() {
                    if next == '\u{7}' {
                        break;
                    }
                    if next == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn plain_drops_escape_sequences_and_redrawn_text() {
        let check = |line: &str, expect: &str| assert_eq!(plain(line), expect, "{line:?}");
        check("plain", "plain");
        check("\u{1b}[1;32mok\u{1b}[0m done", "ok done");
        check("\u{1b}]0;title\u{7}text", "text");
        check("\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\", "link");
        check("10%\r50%\r100%", "100%");
        check("line\r", "line");
        check("\u{1b}", "");
    }

    #[test]
    fn lines_are_numbered_escaped_and_marked() {
        let at = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 3).unwrap();
        let line = |seq, stream, text: &str| LogLine {
            seq,
            stream,
            line: text.into(),
            at,
            attempt: 1,
        };
        let mut out = String::new();
        HtmlLog::new(Attempts::default()).lines(
            &[
                line(1, LogStream::Stdout, "<script>alert(1)</script>"),
                line(2, LogStream::Stderr, "oops & co"),
            ],
            &mut out,
        );
        assert_eq!(
            out,
            "<div class=\"l\" id=\"L1\"><a href=\"#L1\">1</a><time datetime=\"2025-06-01T12:00:03.000Z\">12:00:03.000</time><span>&lt;script&gt;alert(1)&lt;/script&gt;</span></div>\n\
             <div class=\"l e\" id=\"L2\" title=\"stderr\"><a href=\"#L2\">2</a><time datetime=\"2025-06-01T12:00:03.000Z\">12:00:03.000</time><span>oops &amp; co</span></div>\n"
        );
    }

    #[test]
    fn a_huge_line_is_cut_at_a_character_boundary_with_a_note() {
        // Two-byte characters, so that the cut falls inside one unless it is moved back.
        let text = "é".repeat(MAX_SHOWN_LINE);
        let mut out = String::new();
        HtmlLog::new(Attempts::default()).lines(
            &[LogLine {
                seq: 1,
                stream: LogStream::Stdout,
                line: text.clone(),
                at: Utc::now(),
                attempt: 1,
            }],
            &mut out,
        );
        assert!(out.len() < MAX_SHOWN_LINE + 300, "{}", out.len());
        assert!(
            out.contains("… 16.0 KiB more of this line in the <a href=\"?format=text\">plain-text log</a>"),
            "{}",
            &out[out.len() - 200..]
        );
    }
}
