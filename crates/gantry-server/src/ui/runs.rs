//! `/runs`: every run, newest first, filtered by app, branch and result with a plain GET form, 50
//! to a page; and the runs table that the app history page shares.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use gantry_store::{RunFilter, RunStatus, RunSummary};
use maud::{Markup, html};
use serde::Deserialize;

use super::badge;
use super::error::{UiError, UiResult};
use super::format;
use super::layout::{Nav, Page};
use super::pager::{FETCH_LIMIT, Pager};
use super::url;
use crate::state::AppState;

/// Every result a run can have, in the order the filter offers them.
const RESULTS: [RunStatus; 6] = [
    RunStatus::Running,
    RunStatus::Success,
    RunStatus::Failure,
    RunStatus::Cancelled,
    RunStatus::Interrupted,
    RunStatus::AgentLost,
];

/// The query string of `/runs`; every field is text, checked by hand so that a bad value gets a
/// page that says which one.
#[derive(Debug, Default, Deserialize)]
pub struct RunsQuery {
    app: Option<String>,
    branch: Option<String>,
    result: Option<String>,
    page: Option<String>,
}

/// The filters of `/runs`, checked.
struct Filters {
    app: String,
    branch: String,
    result: Option<RunStatus>,
}

impl Filters {
    fn parse(query: &RunsQuery) -> Result<Self, UiError> {
        let text = |value: &Option<String>| value.as_deref().map(str::trim).unwrap_or_default().to_owned();
        let result = match text(&query.result).as_str() {
            "" => None,
            other => Some(RunStatus::parse(other).ok_or_else(|| {
                UiError::bad_request(format!(
                    "`result` must be one of {}, not `{other}`.",
                    RESULTS.map(RunStatus::as_str).join(", ")
                ))
            })?),
        };
        Ok(Self {
            app: text(&query.app),
            branch: text(&query.branch),
            result,
        })
    }

    /// The link to page `page` of the runs these filters select.
    fn link(&self, page: u32) -> String {
        let page = if page > 1 { page.to_string() } else { String::new() };
        let result = self.result.map(RunStatus::as_str).unwrap_or_default();
        format!(
            "/runs{}",
            url::query(&[
                ("app", &self.app),
                ("branch", &self.branch),
                ("result", result),
                ("page", &page)
            ])
        )
    }

    fn any(&self) -> bool {
        !self.app.is_empty() || !self.branch.is_empty() || self.result.is_some()
    }
}

/// `GET /runs`
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> UiResult {
    let Query(query) = query.map_err(|rejection| UiError::bad_request(rejection.body_text()))?;
    let filters = Filters::parse(&query)?;
    let pager = Pager::parse(query.page.as_deref())?;
    let some = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let rows = state
        .store
        .list_runs(&RunFilter {
            app: some(&filters.app),
            branch: some(&filters.branch),
            result: filters.result,
            limit: Some(FETCH_LIMIT),
            offset: pager.offset(),
            ..RunFilter::default()
        })
        .await?;
    let (runs, older) = pager.split(rows);
    let now = Utc::now();
    let running = runs.iter().any(|run| run.result == RunStatus::Running);
    let body = html! {
        div.page-head {
            h1 { "Runs" }
        }
        form.filters method="get" action="/runs" {
            label { "App " input type="text" name="app" value=(filters.app) placeholder="any" size="14"; }
            label { "Branch " input type="text" name="branch" value=(filters.branch) placeholder="any" size="14"; }
            label {
                "Result "
                select name="result" {
                    option value="" selected[filters.result.is_none()] { "any" }
                    @for result in RESULTS {
                        option value=(result.as_str()) selected[filters.result == Some(result)] { (result.as_str()) }
                    }
                }
            }
            button type="submit" { "Filter" }
            @if filters.any() { a href="/runs" { "Clear" } }
        }
        @if runs.is_empty() {
            p.empty {
                @if pager.page > 1 { "No runs on this page. " a href=(filters.link(1)) { "Back to the newest" } "." }
                @else if filters.any() { "No runs match these filters." }
                @else { "No runs recorded yet. Runs appear here as soon as a pipeline runs against this server's store." }
            }
        } @else {
            (table(&runs, now, true))
        }
        (pager.links(older, |page| filters.link(page)))
    };
    Ok(Page::new("Runs", Nav::Runs, body)
        .refresh(running)
        .respond(StatusCode::OK))
}

/// A table of runs, newest first; `show_app` adds the app's name to each.
pub fn table(runs: &[RunSummary], now: DateTime<Utc>, show_app: bool) -> Markup {
    html! {
        div.table-wrap {
            table.runs {
                thead {
                    tr {
                        th { "Result" }
                        @if show_app { th { "App" } }
                        th.num { "Build" }
                        th { "Version" }
                        th { "Branch" }
                        th { "Revision" }
                        th { "Started" }
                        th.num { "Duration" }
                    }
                }
                tbody {
                    @for run in runs { (row(run, now, show_app)) }
                }
            }
        }
    }
}

fn row(run: &RunSummary, now: DateTime<Utc>, show_app: bool) -> Markup {
    let link = url::run(&run.id);
    html! {
        tr class=(badge::run_class(run.result)) {
            td { a href=(link) { (badge::run(run.result)) } }
            @if show_app { td { a href=(url::app(&run.app)) { (run.app) } } }
            td.num { a href=(link) { "#" (run.build) } }
            td { a href=(link) { (run.version) } (flags(run)) }
            td { @if let Some(branch) = &run.branch { span.branch { (branch) } } @else { span.muted { "—" } } }
            td { (revision(run)) }
            td { (format::time(run.started_at.unwrap_or(run.queued_at), now)) }
            td.num { (format::elapsed(run.started_at, run.duration_ms, run.result == RunStatus::Running, now)) }
        }
    }
}

/// The short revision in a `<code>`, the whole one on hover.
pub fn revision(run: &RunSummary) -> Markup {
    html! {
        @if let Some(revision) = &run.revision {
            code.sha title=(revision) { (format::short_sha(revision)) }
        } @else {
            span.muted { "—" }
        }
    }
}

/// Small tags after a version: untraceable, partial and mock runs stand out.
pub fn flags(run: &RunSummary) -> Markup {
    html! {
        @if !run.selection.is_all() {
            " " span.tag.tag-warning title={ "only part of the pipeline ran: " (run.selection) } { "partial" }
        }
        @if !run.traceable {
            " " span.tag.tag-warning title=[run.untraceable_reason.as_deref()] { "untraceable" }
        }
        @if run.mock {
            " " span.tag { "mock" }
        }
    }
}
