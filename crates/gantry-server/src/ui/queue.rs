//! `/queue`: the jobs waiting for an agent (how long, and why) and those running; `/agents`:
//! every agent the server heard from, with its labels, state and jobs. Both read what the API's
//! `GET /api/v1/queue` and `GET /api/v1/agents` answer.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use gantry_api::{AgentState, JobState};
use maud::{Markup, html};

use super::error::UiResult;
use super::format;
use super::layout::{Nav, Page};
use super::url;
use crate::state::AppState;

/// How many jobs the queue page lists at most, of each state.
const LIMIT: u32 = 200;

/// `GET /queue`
pub async fn queue(State(state): State<AppState>) -> UiResult {
    let page = crate::jobs::queue_page(&state, LIMIT).await?;
    let now = state.clock.now();
    let body = html! {
        div.page-head {
            h1 { "Queue" }
            p.muted { (format::count(u64::try_from(page.jobs.len()).unwrap_or(u64::MAX), "job", "jobs")) " waiting or running" }
        }
        @if page.jobs.is_empty() {
            section.empty {
                p { "No job is waiting or running." }
                p.muted { "Jobs are queued with " code { "POST /api/v1/queue" } "; agents (" code { "gantry agent" } ") take them." }
            }
        } @else {
            div.table-wrap {
                table.queue {
                    thead {
                        tr {
                            th { "State" }
                            th { "App" }
                            th { "Revision" }
                            th { "Branch" }
                            th { "Labels" }
                            th { "Queued" }
                            th { "Attempt" }
                            th { "Waiting for" }
                        }
                    }
                    tbody {
                        @for job in &page.jobs {
                            tr class=(if job.state == JobState::Queued { "s-pending" } else { "s-running" }) {
                                td { span.badge { (if job.state == JobState::Queued { "waiting" } else { "running" }) } }
                                td {
                                    @match (&job.app, job.build) {
                                        (Some(app), Some(build)) => { a href=(format!("/runs/{}", url::segment(&job.run_id))) { (app) " #" (build) } }
                                        (Some(app), None) => { (app) }
                                        _ => { span.muted { "from gantry.yml" } }
                                    }
                                }
                                td { code { (format::short_sha(&job.revision)) } " " span.muted { (job.repository) } }
                                td { @if let Some(branch) = &job.branch { span.branch { (branch) } } @else { span.muted { "—" } } }
                                td { (labels(&job.labels)) }
                                td { (format::time(job.queued_at, now)) }
                                td.num { (job.attempts) }
                                td {
                                    @if let Some(reason) = &job.waiting_for {
                                        (reason) " (" (format::duration(job.waiting_seconds.saturating_mul(1000))) ")"
                                    } @else if let Some(agent) = &job.agent {
                                        "running on " strong { (agent) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Page::new("Queue", Nav::Queue, body)
        .refresh(!page.jobs.is_empty())
        .respond(StatusCode::OK))
}

/// `GET /agents`
pub async fn agents(State(state): State<AppState>) -> UiResult {
    let agents = state.store.agents().await?;
    let now = state.clock.now();
    let agents: Vec<_> = agents
        .iter()
        .map(|agent| crate::jobs::agent_summary(&state, agent, now))
        .collect();
    let body = html! {
        div.page-head {
            h1 { "Agents" }
            p.muted { (format::count(u64::try_from(agents.len()).unwrap_or(u64::MAX), "agent", "agents")) }
        }
        @if agents.is_empty() {
            section.empty {
                p { "No agent has asked for work yet." }
                p.muted { "Start one with " code { "gantry agent --server URL --token TOKEN --labels os=linux" } "." }
            }
        } @else {
            div.table-wrap {
                table.agents {
                    thead {
                        tr {
                            th { "Agent" }
                            th { "State" }
                            th { "Labels" }
                            th { "Version" }
                            th { "Jobs" }
                            th { "Last seen" }
                        }
                    }
                    tbody {
                        @for agent in &agents {
                            tr class=(state_class(agent.state)) {
                                td { strong { (agent.name) } }
                                td { span.badge { (state_word(agent.state)) } }
                                td { (labels(&agent.labels)) }
                                td { @if let Some(version) = &agent.version { (version) } @else { span.muted { "—" } } }
                                td.num { (agent.jobs.len()) }
                                td { (format::time(agent.last_seen_at, now)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Page::new("Agents", Nav::Agents, body).respond(StatusCode::OK))
}

fn labels(labels: &BTreeMap<String, String>) -> Markup {
    html! {
        @if labels.is_empty() {
            span.muted { "any" }
        } @else {
            @for (name, value) in labels { code.label { (name) "=" (value) } " " }
        }
    }
}

fn state_class(state: AgentState) -> &'static str {
    match state {
        AgentState::Idle => "s-success",
        AgentState::Busy => "s-running",
        AgentState::Draining => "s-warning",
        AgentState::Lost => "s-failure",
    }
}

fn state_word(state: AgentState) -> &'static str {
    match state {
        AgentState::Idle => "idle",
        AgentState::Busy => "busy",
        AgentState::Draining => "draining",
        AgentState::Lost => "lost",
    }
}
