//! [`Metrics`]: what `/metrics` tells Prometheus, in its text exposition format.
//!
//! | metric | source |
//! | --- | --- |
//! | `gantry_runs_total{result}` | runs this server saw finish: a `run_finished` event it recorded for a run that was still running, or a run it marked `interrupted` (at start, or when its client's lease ran out) |
//! | `gantry_task_duration_seconds` | task attempts whose `task_started` and `task_finished` events this server both received |
//! | `gantry_http_requests_total{method,route,status}` | every request; `route` is the matched route template (`/api/v1/runs/{id}`), never the raw path |
//! | `gantry_http_request_duration_seconds{route}` | time to the response head (a streamed body goes on after it) |
//! | `gantry_store_operation_duration_seconds{operation}` | store calls made by the API |
//!
//! Counters are per process: with several replicas, sum them in the query.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use gantry_model::{RunEvent, RunEventKind};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::state::AppState;

/// Task starts waiting for their finish are forgotten beyond this many (a client that never
/// sends the finishes must not grow the map forever).
const MAX_PENDING_TASKS: usize = 100_000;

/// The route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// The server's metrics; shared by every request.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    runs: Family<ResultLabels, Counter>,
    task_duration: Histogram,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram>,
    store_duration: Family<OperationLabels, Histogram>,
    /// When each task attempt started, by (run, path, attempt), until its finish arrives. A
    /// mutex: held only to insert or remove one entry, never across an await.
    task_starts: Mutex<HashMap<(String, String, u32), DateTime<Utc>>>,
}

/// 5 ms to ~82 s: HTTP requests and store operations.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let runs = Family::<ResultLabels, Counter>::default();
        registry.register(
            "gantry_runs",
            "Runs this server saw finish, by result",
            runs.clone(),
        );
        // 100 ms to ~3.6 hours.
        let task_duration = Histogram::new(exponential_buckets(0.1, 2.0, 18));
        registry.register_with_unit(
            "gantry_task_duration",
            "Duration of task attempts reported to this server",
            Unit::Seconds,
            task_duration.clone(),
        );
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "gantry_http_requests",
            "HTTP requests, by method, route template and status",
            http_requests.clone(),
        );
        let http_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(request_histogram as fn() -> _);
        registry.register_with_unit(
            "gantry_http_request_duration",
            "Time to answer an HTTP request (to the response head), by route template",
            Unit::Seconds,
            http_duration.clone(),
        );
        let store_duration =
            Family::<OperationLabels, Histogram>::new_with_constructor(request_histogram as fn() -> _);
        registry.register_with_unit(
            "gantry_store_operation_duration",
            "Duration of build data store operations, by operation",
            Unit::Seconds,
            store_duration.clone(),
        );
        Self {
            registry,
            runs,
            task_duration,
            http_requests,
            http_duration,
            store_duration,
            task_starts: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `operation` against the store, timing it as `name`.
    pub async fn time_store<T>(&self, name: &'static str, operation: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let output = operation.await;
        self.store_duration
            .get_or_create(&OperationLabels { operation: name })
            .observe(start.elapsed().as_secs_f64());
        output
    }

    /// Counts a run that finished with `result`.
    pub fn run_finished(&self, result: &str) {
        self.runs
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts runs that finished with `result`, `count` of them.
    pub fn runs_finished(&self, result: &str, count: u64) {
        self.runs
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc_by(count);
    }

    /// Takes note of task starts and observes the duration of task attempts that finished,
    /// from events just recorded.
    pub fn observe_task_events(&self, events: &[RunEvent]) {
        let Ok(mut starts) = self.task_starts.lock() else {
            return;
        };
        for event in events {
            match &event.kind {
                RunEventKind::TaskStarted { path, attempt } if starts.len() < MAX_PENDING_TASKS => {
                    starts.insert((event.run_id.0.clone(), path.0.clone(), *attempt), event.at);
                }
                RunEventKind::TaskFinished { path, attempt, .. } => {
                    let key = (event.run_id.0.clone(), path.0.clone(), *attempt);
                    if let Some(started) = starts.remove(&key) {
                        let millis = (event.at - started).num_milliseconds().max(0);
                        // Precision is not at stake: durations are far below 2^52 ms.
                        #[allow(clippy::cast_precision_loss)]
                        self.task_duration.observe(millis as f64 / 1000.0);
                    }
                }
                RunEventKind::RunFinished { .. } => {
                    let run = &event.run_id.0;
                    starts.retain(|(run_id, _, _), _| run_id != run);
                }
                _ => {}
            }
        }
    }

    /// Counts one answered request.
    fn request_done(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let route = route.to_owned();
        self.http_requests
            .get_or_create(&RequestLabels {
                method: method_label(method),
                route: route.clone(),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a `String` cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// The same metrics in Prometheus's older text format (0.0.4), for tools that read only
    /// it (`promtool check metrics`): there a counter's family is named with its `_total`,
    /// and there are no `# UNIT` or `# EOF` lines.
    pub fn encode_prometheus_text(&self) -> String {
        to_prometheus_text(&self.encode())
    }
}

/// Rewrites OpenMetrics text as Prometheus text 0.0.4 (only what this registry produces:
/// counters, histograms, no exemplars).
fn to_prometheus_text(open_metrics: &str) -> String {
    let mut out = String::with_capacity(open_metrics.len());
    // A family's `# HELP` comes before its `# TYPE`, which says whether to rename it.
    let mut help: Option<(&str, &str)> = None;
    for line in open_metrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = rest.split_once(' ').or(Some((rest, "")));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (name, kind) = match kind {
                "counter" => (format!("{name}_total"), "counter"),
                "unknown" => (name.to_owned(), "untyped"),
                other => (name.to_owned(), other),
            };
            if let Some((_, text)) = help.take() {
                out.push_str(&format!("# HELP {name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            continue;
        }
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Standard methods by name, anything else as `other`: the label stays bounded.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts and times every request by its matched route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    state.metrics.request_done(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`: every metric in the text exposition format: OpenMetrics 1.0 (which
/// Prometheus asks for), or Prometheus text 0.0.4 when `Accept` asks for `text/plain` and not
/// for OpenMetrics (as `promtool check metrics` reads it).
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "health",
    responses((status = 200, description = "The metrics, in the OpenMetrics text format, or in Prometheus text 0.0.4 \
               when `Accept` asks for `text/plain` and not for OpenMetrics",
               content((String = "application/openmetrics-text"), (String = "text/plain"))))
)]
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let (text, content_type) = if accept.contains("text/plain") && !accept.contains("openmetrics") {
        (
            state.metrics.encode_prometheus_text(),
            "text/plain; version=0.0.4; charset=utf-8",
        )
    } else {
        (
            state.metrics.encode(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    };
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use gantry_model::{RunId, TaskPath};

    use super::*;

    fn event(run: &str, second: u32, kind: RunEventKind) -> RunEvent {
        RunEvent {
            id: format!("{run}-{second}"),
            run_id: RunId(run.into()),
            at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, second).unwrap(),
            kind,
        }
    }

    #[test]
    fn observes_task_attempts_from_start_to_finish_once() {
        let metrics = Metrics::new();
        let path = TaskPath("build/compile".into());
        let started = event(
            "r",
            1,
            RunEventKind::TaskStarted {
                path: path.clone(),
                attempt: 1,
            },
        );
        let finished = event(
            "r",
            4,
            RunEventKind::TaskFinished {
                path,
                attempt: 1,
                outcome: gantry_model::TaskOutcome::Success,
                exit_code: Some(0),
                will_retry: false,
                allowed_failure: false,
            },
        );
        metrics.observe_task_events(std::slice::from_ref(&started));
        metrics.observe_task_events(std::slice::from_ref(&finished));
        // Sent again: already observed.
        metrics.observe_task_events(&[finished]);
        let text = metrics.encode();
        assert!(text.contains("gantry_task_duration_seconds_count 1"), "{text}");
        assert!(text.contains("gantry_task_duration_seconds_sum 3.0"), "{text}");
    }

    #[test]
    fn counts_requests_by_route_template() {
        let metrics = Metrics::new();
        metrics.request_done(&Method::GET, "/api/v1/runs/{id}", 200, 0.01);
        metrics.request_done(&Method::from_bytes(b"BREW").unwrap(), UNMATCHED, 404, 0.01);
        metrics.run_finished("success");
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"gantry_http_requests_total{method="GET",route="/api/v1/runs/{id}",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"method="other",route="unmatched",status="404""#),
            "{text}"
        );
        assert!(
            text.contains(r#"gantry_runs_total{result="success"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("gantry_http_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
