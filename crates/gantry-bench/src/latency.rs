//! Page latency on a big store: p50 and p99 of the run list (first page, filtered pages, a deep
//! offset, a time window), one run, the apps, and the web UI's pages, against the floor,
//! `GET /healthz` on the same connection.
//!
//! One client, one request at a time, so that a figure is the time of one request and not of a
//! queue. Pages take turns: each round makes `requests` requests to each page (fewer when a page
//! is slow, see `--budget-ms`), so that a noisy moment of the machine spreads over all of them.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

use crate::args::LatencyArgs;
use crate::client::Api;
use crate::stats::percentile;

/// A page to measure.
struct Page {
    label: String,
    /// `None` for the floor, `/healthz`, sent without a token.
    path: Option<String>,
    /// Milliseconds of each request.
    samples: Vec<f64>,
}

impl Page {
    fn new(label: &str, path: Option<String>) -> Self {
        Self {
            label: label.to_owned(),
            path,
            samples: Vec::new(),
        }
    }
}

pub async fn run(args: &LatencyArgs) -> anyhow::Result<()> {
    let api = Api::connect(&args.server, "latency", &["read"]).await?;
    let mut pages = pages(&api).await?;
    for page in &pages {
        fetch(&api, page).await.with_context(|| page.label.clone())?;
    }
    let budget = Duration::from_millis(args.budget_ms);
    for _ in 0..args.rounds {
        for page in &mut pages {
            let start = Instant::now();
            for made in 0..args.requests {
                if made >= 3 && start.elapsed() > budget {
                    break;
                }
                let request = Instant::now();
                fetch(&api, page).await?;
                page.samples.push(request.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    let floor = percentile(&pages[0].samples, 50.0);
    println!("one client, one request at a time; {} rounds", args.rounds);
    println!(
        "{:<44} {:>5} {:>9} {:>9} {:>10}  p99 < {} ms",
        "page", "n", "p50 ms", "p99 ms", "p50/floor", args.target_ms
    );
    for page in &pages {
        let (p50, p99) = (percentile(&page.samples, 50.0), percentile(&page.samples, 99.0));
        let verdict = match (&page.path, p99 < args.target_ms) {
            (None, _) => "(floor)",
            (Some(_), true) => "yes",
            (Some(_), false) => "NO",
        };
        println!(
            "{:<44} {:>5} {:>9.2} {:>9.2} {:>10.1}  {verdict}",
            page.label,
            page.samples.len(),
            p50,
            p99,
            p50 / floor
        );
    }
    Ok(())
}

async fn fetch(api: &Api, page: &Page) -> anyhow::Result<()> {
    match &page.path {
        None => api.healthz().await,
        Some(path) => api.get(path).await.map(|_| ()),
    }
}

/// The pages, with ids, apps and times taken from the store through the API.
async fn pages(api: &Api) -> anyhow::Result<Vec<Page>> {
    let apps = api.get_json("/api/v1/apps").await?;
    let mut apps: Vec<(String, u64)> = apps["apps"]
        .as_array()
        .context("no `apps`")?
        .iter()
        .filter_map(|app| Some((app["name"].as_str()?.to_owned(), app["runs"].as_u64()?)))
        .collect();
    apps.sort_by_key(|(_, runs)| std::cmp::Reverse(*runs));
    let (busiest, total) = (
        apps.first().context("the store has no runs")?.0.clone(),
        apps.iter().map(|(_, runs)| runs).sum::<u64>(),
    );
    let run_at = async |offset: u64| -> anyhow::Result<Value> {
        let page = api
            .get_json(&format!("/api/v1/runs?limit=1&offset={offset}"))
            .await?;
        Ok(page["runs"][0].clone())
    };
    let newest = run_at(0).await?;
    let middle = run_at(total / 2).await?;
    let older = run_at(total / 2 + 100).await?;
    let id = |run: &Value| run["id"].as_str().unwrap_or_default().to_owned();
    let time = |run: &Value| run["queued_at"].as_str().unwrap_or_default().replace('+', "%2B");
    let last_page = total.div_ceil(50);
    let path = |path: String| Some(path);
    Ok(vec![
        Page::new("GET /healthz (floor)", None),
        Page::new("API /api/v1/runs (first page)", path("/api/v1/runs".into())),
        Page::new(
            "API /api/v1/runs?app=A&result=failure",
            path(format!("/api/v1/runs?app={busiest}&result=failure")),
        ),
        Page::new(
            "API /api/v1/runs?branch=B (a rare branch)",
            path("/api/v1/runs?branch=feature%2Fchange-7".into()),
        ),
        Page::new(
            "API /api/v1/runs?offset=N-50 (deep)",
            path(format!("/api/v1/runs?offset={}", total.saturating_sub(50))),
        ),
        Page::new(
            "API /api/v1/runs?since&until (mid-history)",
            path(format!(
                "/api/v1/runs?since={}&until={}",
                time(&older),
                time(&middle)
            )),
        ),
        Page::new(
            "API /api/v1/runs/{id} (newest)",
            path(format!("/api/v1/runs/{}", id(&newest))),
        ),
        Page::new(
            "API /api/v1/runs/{id} (mid-history)",
            path(format!("/api/v1/runs/{}", id(&middle))),
        ),
        Page::new("API /api/v1/apps", path("/api/v1/apps".into())),
        Page::new("UI /runs", path("/runs".into())),
        Page::new(
            "UI /runs?page=N (last page)",
            path(format!("/runs?page={last_page}")),
        ),
        Page::new("UI /runs/{id}", path(format!("/runs/{}", id(&newest)))),
        Page::new("UI / (apps overview)", path("/".into())),
        Page::new("UI /apps/{app} (busiest app)", path(format!("/apps/{busiest}"))),
    ])
}
