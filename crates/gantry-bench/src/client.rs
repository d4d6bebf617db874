//! The HTTP client every benchmark uses, and the tokens it sends.
//!
//! One `reqwest` client with a connection pool as large as the most concurrent benchmark, so
//! that connections are opened once and reused: what is measured is requests, not handshakes.
//! The floors go through the same client, so its own cost is in both sides of every ratio.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::args::ServerArgs;

/// A server under test, with a token of the scope the benchmark needs.
#[derive(Debug, Clone)]
pub struct Api {
    http: Client,
    base: String,
    /// `Bearer …` for the benchmark's token.
    authorization: String,
}

impl Api {
    /// Makes a token with `scopes` on the server (with its admin token), named after the
    /// benchmark and unique, and waits until the server answers `/readyz`.
    pub async fn connect(server: &ServerArgs, purpose: &str, scopes: &[&str]) -> anyhow::Result<Self> {
        let http = Client::builder()
            .pool_max_idle_per_host(256)
            // A redirect (to `/login`, say) is an answer to report, not one to follow.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_mins(2))
            .build()?;
        let base = server.url.trim_end_matches('/').to_owned();
        wait_ready(&http, &base).await?;
        let name = format!(
            "bench-{purpose}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let response = http
            .post(format!("{base}/api/v1/tokens"))
            .bearer_auth(&server.admin_token)
            .json(&json!({ "name": name, "scopes": scopes }))
            .send()
            .await
            .context("failed to create a token")?;
        let status = response.status();
        let body: Value = response.json().await.context("failed to read the new token")?;
        if status != StatusCode::CREATED {
            bail!("creating a token answered {status}: {body}");
        }
        let secret = body["secret"].as_str().context("the new token has no secret")?;
        Ok(Self {
            http,
            base,
            authorization: format!("Bearer {secret}"),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` with the token, reading the body in full; its length. Fails on any status
    /// but 200.
    pub async fn get(&self, path: &str) -> anyhow::Result<usize> {
        self.get_body(path).await.map(|body| body.len())
    }

    async fn get_body(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self
            .http
            .get(self.url(path))
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("GET {path}: body"))?;
        if status != StatusCode::OK {
            bail!("GET {path} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body.into())
    }

    /// `GET path` as JSON.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let body = self.get_body(path).await?;
        serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
    }

    /// `POST path` with a JSON body (or none); the answer's JSON when its status is `expect`.
    pub async fn post(&self, path: &str, body: Option<Vec<u8>>, expect: StatusCode) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .post(self.url(path))
            .header(reqwest::header::AUTHORIZATION, &self.authorization);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().await.with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("POST {path}: body"))?;
        if status != expect {
            bail!(
                "POST {path} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        serde_json::from_slice(&body).with_context(|| format!("POST {path}: not JSON"))
    }

    /// `GET /healthz` (no token), the floor of every HTTP benchmark: a round trip through the
    /// same client, connection and router that does no work.
    pub async fn healthz(&self) -> anyhow::Result<()> {
        let response = self.http.get(self.url("/healthz")).send().await?;
        let status = response.status();
        response.bytes().await?;
        if status != StatusCode::OK {
            bail!("/healthz answered {status}");
        }
        Ok(())
    }
}

/// Waits up to a minute for `/readyz` to answer 200.
async fn wait_ready(http: &Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        match http.get(format!("{base}/readyz")).send().await {
            Ok(response) if response.status() == StatusCode::OK => return Ok(()),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Ok(response) => bail!("{base}/readyz answered {}", response.status()),
            Err(err) => return Err(err).with_context(|| format!("{base} does not answer")),
        }
    }
}
