//! `/`: every app at a glance (its latest run and a trend strip of its last runs), and
//! `/apps/{app}`: one app's version history, page by page.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use gantry_store::{AppSummary, RunFilter, RunStatus, RunSummary};
use maud::{Markup, html};
use serde::Deserialize;

use super::badge;
use super::error::{UiError, UiResult};
use super::format;
use super::layout::{Nav, Page};
use super::pager::{FETCH_LIMIT, Pager};
use super::runs;
use super::url;
use crate::state::AppState;

/// How many runs the trend strip of an app shows.
const TREND_RUNS: u32 = 20;

/// `GET /`
pub async fn overview(State(state): State<AppState>) -> UiResult {
    let apps = state.store.apps().await?;
    let mut trends = Vec::with_capacity(apps.len());
    for app in &apps {
        let filter = RunFilter {
            app: Some(app.name.clone()),
            limit: Some(TREND_RUNS),
            ..RunFilter::default()
        };
        let mut runs = state.store.list_runs(&filter).await?;
        // Oldest on the left, so the strip reads like a timeline.
        runs.reverse();
        trends.push(runs);
    }
    let now = Utc::now();
    let running = apps.iter().any(|app| app.last_run.result == RunStatus::Running);
    let body = html! {
        div.page-head {
            h1 { "Apps" }
            @if !apps.is_empty() {
                p.muted { (format::count(u64::try_from(apps.len()).unwrap_or(u64::MAX), "app", "apps")) " · " (format::count(apps.iter().map(|app| app.runs).sum::<u64>(), "run", "runs")) }
            }
        }
        @if apps.is_empty() {
            section.empty {
                p { "No runs recorded yet." }
                p.muted { "Run a pipeline against this server's store (" code { "gantry run" } ") and it shows up here." }
            }
        } @else {
            div.table-wrap {
                table.apps {
                    thead {
                        tr {
                            th { "App" }
                            th { "Latest" }
                            th { "Version" }
                            th { "Branch" }
                            th { "Revision" }
                            th { "When" }
                            th.num { "Duration" }
                            th { "Last " (TREND_RUNS) " runs" }
                        }
                    }
                    tbody {
                        @for (app, trend) in apps.iter().zip(&trends) { (app_row(app, trend, now)) }
                    }
                }
            }
        }
    };
    Ok(Page::new("Apps", Nav::Apps, body)
        .refresh(running)
        .respond(StatusCode::OK))
}

fn app_row(app: &AppSummary, trend: &[RunSummary], now: DateTime<Utc>) -> Markup {
    let run = &app.last_run;
    let link = url::run(&run.id);
    html! {
        tr {
            td.app-name {
                a href=(url::app(&app.name)) { strong { (app.name) } }
                br; span.muted.small { (format::count(app.runs, "run", "runs")) }
            }
            td { a href=(link) title={ "Run #" (run.build) } { (badge::run(run.result)) } }
            td { a href=(link) { (run.version) } (runs::flags(run)) }
            td { @if let Some(branch) = &run.branch { span.branch { (branch) } } @else { span.muted { "—" } } }
            td { (runs::revision(run)) }
            td.when { (format::time_both(run.started_at.unwrap_or(run.queued_at), now)) }
            td.num { (format::elapsed(run.started_at, run.duration_ms, run.result == RunStatus::Running, now)) }
            td { (trend_strip(trend, now)) }
        }
    }
}

/// One coloured square per run, oldest first, each a link to its run.
fn trend_strip(runs: &[RunSummary], now: DateTime<Utc>) -> Markup {
    html! {
        ol.trend aria-label="Recent runs, oldest first" {
            @for run in runs {
                @let label = format!(
                    "#{}{} · {}{} · {}",
                    run.build,
                    format::version(run).map(|version| format!(" · {version}")).unwrap_or_default(),
                    run.result,
                    if run.selection.is_all() { String::new() } else { format!(" (partial: {})", run.selection) },
                    format::relative(run.started_at.unwrap_or(run.queued_at), now)
                );
                li { a class={ "sq " (badge::run_class(run.result)) } href=(url::run(&run.id)) title=(label) aria-label=(label) {} }
            }
        }
    }
}

/// The query string of `/apps/{app}`.
#[derive(Debug, Default, Deserialize)]
pub struct HistoryQuery {
    page: Option<String>,
}

/// `GET /apps/{app}`
pub async fn history(
    State(state): State<AppState>,
    Path(app): Path<String>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> UiResult {
    let Query(query) = query.map_err(|rejection| UiError::bad_request(rejection.body_text()))?;
    let pager = Pager::parse(query.page.as_deref())?;
    let filter = RunFilter {
        app: Some(app.clone()),
        limit: Some(FETCH_LIMIT),
        offset: pager.offset(),
        ..RunFilter::default()
    };
    let rows = state.store.list_runs(&filter).await?;
    if rows.is_empty() && pager.page == 1 {
        return Err(UiError::not_found(
            "App not found",
            html! {
                p { "No runs are recorded for an app named " code { (app) } "." }
                p { a href="/" { "See every app" } }
            },
        ));
    }
    let (runs, older) = pager.split(rows);
    let now = Utc::now();
    let running = runs.iter().any(|run| run.result == RunStatus::Running);
    let link = |page: u32| {
        let page = if page > 1 { page.to_string() } else { String::new() };
        format!("{}{}", url::app(&app), url::query(&[("page", &page)]))
    };
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/" { "Apps" } " / " span aria-current="page" { (app) } }
        div.page-head {
            h1 { (app) }
            p.muted { "Version history, newest first · " a href={ "/runs" (url::query(&[("app", &app)])) } { "filter these runs" } }
        }
        @if runs.is_empty() {
            p.empty { "No runs on this page. " a href=(link(1)) { "Back to the newest" } "." }
        } @else {
            (runs::table(&runs, now, false))
        }
        (pager.links(older, link))
    };
    Ok(Page::new(format!("{app} history"), Nav::Apps, body)
        .refresh(running)
        .respond(StatusCode::OK))
}
