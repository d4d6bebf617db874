//! `/runs/{id}`: one run, with its header (app, version, build, result, revision, branch,
//! traceability, times), the stage graph as the pipeline was when it ran, and its artifacts;
//! and `/apps/{app}/builds/{build}`, which redirects to it.
//!
//! The three parts are rendered by [`Fragments`], so that the live status stream sends the very
//! HTML the page was made of when something changes.

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::{DateTime, Utc};
use gantry_store::{RunDetail, RunStatus};
use maud::{Markup, html};

use super::badge;
use super::error::{UiError, UiResult};
use super::format;
use super::graph;
use super::layout::{Nav, Page};
use super::runs;
use super::url;
use crate::state::AppState;

/// `GET /runs/{id}`: `id` may also be a unique prefix of a run id, or `APP#BUILD`; both
/// redirect to the run's own URL.
pub async fn page(State(state): State<AppState>, Path(id): Path<String>) -> UiResult {
    let detail = state
        .store
        .find_run(&id)
        .await?
        .ok_or_else(|| UiError::no_run(&id))?;
    if detail.summary.id != id {
        return Ok(Redirect::to(&url::run(&detail.summary.id)).into_response());
    }
    let now = Utc::now();
    let running = detail.summary.result == RunStatus::Running;
    let parts = Fragments::render(&detail, now);
    let run = &detail.summary;
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/" { "Apps" } " / " a href=(url::app(&run.app)) { (run.app) } " / "
            span aria-current="page" { @if let Some(version) = format::version(run) { (version) " " } "#" (run.build) }
        }
        div #run data-status-url=[running.then(|| url::run_status(&run.id))] data-fingerprint=(fingerprint(&detail)) {
            div #run-header { (parts.header) }
            section.panel {
                h2 { "Pipeline" }
                div #graph .graph { (parts.graph) }
            }
            section.panel {
                h2 { "Artifacts" }
                div #artifacts { (parts.artifacts) }
            }
        }
    };
    let title = format::run_name(run);
    Ok(Page::new(title, Nav::Runs, body)
        .refresh(running)
        .wide(true)
        .respond(StatusCode::OK))
}

/// `GET /apps/{app}/builds/{build}`: redirects to the run's page.
pub async fn by_build(State(state): State<AppState>, Path((app, build)): Path<(String, String)>) -> UiResult {
    let not_found = || {
        UiError::not_found(
            "Build not found",
            html! { p { "No build " code { (build) } " is recorded for " a href=(url::app(&app)) { code { (app) } } "." } },
        )
    };
    let number = build.parse::<u64>().map_err(|_| not_found())?;
    let detail = state
        .store
        .find_run(&format!("{app}#{number}"))
        .await?
        .ok_or_else(not_found)?;
    Ok(Redirect::to(&url::run(&detail.summary.id)).into_response())
}

/// The parts of the run page that change while the run goes on.
pub struct Fragments {
    pub header: Markup,
    pub graph: Markup,
    pub artifacts: Markup,
}

impl Fragments {
    pub fn render(detail: &RunDetail, now: DateTime<Utc>) -> Self {
        Self {
            header: header(detail, now),
            graph: graph::render(detail, now),
            artifacts: artifacts(detail),
        }
    }
}

/// What changes the page when it changes: statuses, attempts, ends, artifacts. Times that tick
/// (elapsed durations) are left out, since the script ticks them itself.
pub fn fingerprint(detail: &RunDetail) -> String {
    let mut hasher = DefaultHasher::new();
    let run = &detail.summary;
    (run.result.as_str(), run.started_at, run.finished_at).hash(&mut hasher);
    for stage in &detail.stages {
        (
            &stage.name,
            stage.status.as_str(),
            stage.started_at,
            stage.finished_at,
        )
            .hash(&mut hasher);
    }
    for task in &detail.tasks {
        let times = (task.started_at, task.finished_at);
        (
            &task.path,
            task.status.as_str(),
            task.attempts,
            task.exit_code,
            task.allowed_failure,
            times,
        )
            .hash(&mut hasher);
    }
    for artifact in &detail.artifacts {
        (&artifact.task_path, &artifact.name, &artifact.sha256).hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

fn header(detail: &RunDetail, now: DateTime<Utc>) -> Markup {
    let run = &detail.summary;
    let culprit = graph::culprit(detail);
    html! {
        div.run-title {
            h1 {
                (run.app) " "
                @if let Some(version) = format::version(run) { span.version { (version) } } @else { span.version { "#" (run.build) } }
            }
            (badge::run(run.result))
        }
        dl.facts {
            div { dt { "Build" } dd.num { "#" (run.build) } }
            div { dt { "Revision" } dd { (runs::revision(run)) } }
            div {
                dt { "Branch" }
                dd { @if let Some(branch) = &run.branch { span.branch { (branch) } } @else { span.muted { "—" } } }
            }
            div {
                dt { "Traceable" }
                dd {
                    @if run.traceable {
                        span.ok { "yes" }
                    } @else {
                        span.tag.tag-warning { "untraceable" }
                        @if let Some(reason) = &run.untraceable_reason { " " span.reason { (reason) } }
                    }
                }
            }
            div { dt { "Queued" } dd { (format::time(run.queued_at, now)) } }
            div { dt { "Started" } dd { @if let Some(at) = run.started_at { (format::time(at, now)) } @else { span.muted { "—" } } } }
            div { dt { "Finished" } dd { @if let Some(at) = run.finished_at { (format::time(at, now)) } @else { span.muted { "—" } } } }
            div { dt { "Duration" } dd.num { (format::elapsed(run.started_at, run.duration_ms, run.result == RunStatus::Running, now)) } }
            @if !run.selection.is_all() {
                div {
                    dt { "Ran" }
                    dd { span.tag.tag-warning { "partial" } " " code { (run.selection) } }
                }
            }
            @if run.mock { div { dt { "Mode" } dd { span.tag { "mock" } } } }
            @if let Some(runner) = &detail.runner {
                div { dt { "Ran on" } dd { code { (runner.host) } span.muted { " pid " (runner.pid) } } }
            } @else if let Some(owner) = detail.owner.as_ref().filter(|owner| owner.pid != 0) {
                div { dt { "Ran on" } dd { code { (owner.host) } span.muted { " pid " (owner.pid) } } }
            } @else if detail.owner.is_some() {
                // Reported over the API by a client that did not say where it ran.
                div { dt { "Ran on" } dd { span.muted { "a client of this server" } } }
            }
            div { dt { "Run id" } dd { code.run-id { (run.id) } } }
        }
        @if let Some(task) = culprit {
            div.alert.s-failure {
                "Failed at "
                a href=(url::task_log(&run.id, &task.path)) { code { (task.path) } }
                @if let Some(code) = task.exit_code { " (exit " (code) ")" }
                " · "
                a href=(url::task_log(&run.id, &task.path)) { "see its log →" }
            }
        }
    }
}

fn artifacts(detail: &RunDetail) -> Markup {
    html! {
        @if detail.artifacts.is_empty() {
            p.muted { "No artifacts" @if detail.summary.result == RunStatus::Running { " yet" } "." }
        } @else {
            div.table-wrap {
                table.artifacts {
                    thead { tr { th { "Name" } th { "Task" } th.num { "Size" } th { "SHA-256" } } }
                    tbody {
                        @for artifact in &detail.artifacts {
                            tr {
                                td { code { (artifact.name) } }
                                td { a href=(url::task_log(&detail.summary.id, &artifact.task_path)) { (artifact.task_path) } }
                                td.num title={ (artifact.size) " bytes" } { (format::size(artifact.size)) }
                                td { code.digest { (artifact.sha256) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
