//! [`Client`]: the server's HTTP API as typed calls.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gantry_api::{BuildAllocated, ErrorBody, EventsRecorded, FENCING_HEADER, Heartbeat, RunEventBatch};
use gantry_model::RunEvent;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long a connection may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one request may take (artifact uploads are exempt: they may be large).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed call to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid server URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The server could not be reached (or did not answer in time): worth retrying later.
    #[error("server `{url}` is unreachable: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error: retrying the same request will not help.
    #[error("server refused {what}: {status} {message}")]
    Refused {
        what: String,
        status: u16,
        message: String,
    },
    #[error("failed to read `{path}`")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ClientError {
    /// Whether the server was away (as opposed to answering no).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
            || matches!(self, Self::Refused { status, .. } if *status >= 500)
    }
}

/// The server's API, with a token.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
    /// The fencing number of each run's lease, as the server last gave it; shared by clones
    /// (the heartbeats go on beside the uploads), sent back with every later call for the run.
    fencing: Arc<Mutex<HashMap<String, u64>>>,
}

impl Client {
    /// A client of the server at `url` (`http://HOST:PORT`, with or without a trailing `/`).
    pub fn new(url: &str, token: Option<String>) -> Result<Self, ClientError> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::InvalidUrl {
                url: url.to_owned(),
                reason: "it must start with `http://` or `https://`".to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("gantry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| ClientError::InvalidUrl {
                url: url.to_owned(),
                reason: err.to_string(),
            })?;
        Ok(Self {
            base,
            token,
            http,
            fencing: Arc::default(),
        })
    }

    /// The server's URL, as given.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Allocates the app's next build number.
    pub async fn allocate_build(&self, app: &str) -> Result<u64, ClientError> {
        let url = format!("{}/api/v1/apps/{}/builds", self.base, encode(app));
        let response = self.send(self.http.post(&url).timeout(REQUEST_TIMEOUT)).await?;
        let response = check(response, "the build number").await?;
        let body: BuildAllocated = response.json().await.map_err(|source| self.unreachable(source))?;
        Ok(body.build)
    }

    /// Sends a batch of one run's events (the server ignores those it has already), in the
    /// versioned envelope, under the run's lease: the first batch acquires it, later ones renew
    /// it with the fencing number the server gave. A `409` (`lease_lost`) means the server gave
    /// the run up (or another client took it): it records no more of this client's events.
    pub async fn post_run_events(&self, run_id: &str, events: &[RunEvent]) -> Result<(), ClientError> {
        let url = format!("{}/api/v1/runs/{}/events", self.base, encode(run_id));
        let batch = RunEventBatch::new(events.to_vec());
        let request = self.fenced(self.http.post(&url), run_id).timeout(REQUEST_TIMEOUT);
        let request = match serde_json::to_vec(&batch) {
            Ok(body) => with_body(request, body),
            // What cannot be encoded is left to reqwest, which says why.
            Err(_) => request.json(&batch),
        };
        let response = self.send(request).await?;
        let response = check(response, "the run's events").await?;
        if let Ok(recorded) = response.json::<EventsRecorded>().await {
            self.hold(run_id, recorded.lease.fencing);
        }
        Ok(())
    }

    /// Tells the server that the run is still live, renewing its lease: a run whose lease
    /// expires is marked `interrupted`.
    pub async fn heartbeat(&self, run_id: &str) -> Result<(), ClientError> {
        let url = format!("{}/api/v1/runs/{}/heartbeat", self.base, encode(run_id));
        let request = self.fenced(self.http.post(&url), run_id);
        let response = self.send(request.timeout(REQUEST_TIMEOUT)).await?;
        let response = check(response, "the heartbeat").await?;
        if let Ok(Heartbeat {
            lease: Some(lease), ..
        }) = response.json::<Heartbeat>().await
        {
            self.hold(run_id, lease.fencing);
        }
        Ok(())
    }

    /// `request` with the fencing number of the run's lease, once the server gave one.
    fn fenced(&self, request: reqwest::RequestBuilder, run_id: &str) -> reqwest::RequestBuilder {
        let fencing = self
            .fencing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(run_id)
            .copied();
        match fencing {
            Some(fencing) => request.header(FENCING_HEADER, fencing),
            None => request,
        }
    }

    /// Notes the fencing number the server gave the run's lease.
    fn hold(&self, run_id: &str, fencing: u64) {
        self.fencing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(run_id.to_owned(), fencing);
    }

    /// Uploads an artifact by digest, streaming the file.
    pub async fn upload_artifact(&self, sha256: &str, path: &Path) -> Result<(), ClientError> {
        let io = |source| ClientError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let size = file.metadata().await.map_err(io)?.len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let url = format!("{}/api/v1/artifacts/{sha256}", self.base);
        let request = self
            .http
            .put(&url)
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(body);
        let response = self.send(request).await?;
        check(response, &format!("artifact sha256:{sha256}")).await?;
        Ok(())
    }

    /// Reads `path` (under the server's URL, with its query string, segments encoded with
    /// [`encode`]) and parses its JSON answer; `what` names it in errors.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, what: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self.send(self.http.get(&url).timeout(REQUEST_TIMEOUT)).await?;
        let response = check(response, what).await?;
        let text = response.text().await.map_err(|source| self.unreachable(source))?;
        serde_json::from_str(&text).map_err(|err| ClientError::Refused {
            what: what.to_owned(),
            status: 200,
            message: format!("the answer is not what this version of gantry reads: {err}"),
        })
    }

    /// Sends `body` as JSON to `path` (under the server's URL, segments encoded with
    /// [`encode`]) and parses the JSON answer; `what` names it in errors.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &str,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let request = self.http.post(&url).timeout(REQUEST_TIMEOUT).json(body);
        let response = check(self.send(request).await?, what).await?;
        let text = response.text().await.map_err(|source| self.unreachable(source))?;
        serde_json::from_str(&text).map_err(|err| ClientError::Refused {
            what: what.to_owned(),
            status: 200,
            message: format!("the answer is not what this version of gantry reads: {err}"),
        })
    }

    /// Like [`Client::post_json`], for a call whose answer may be `204 No Content` (`None`):
    /// a long poll, which may take up to `wait` on the server before it answers.
    pub async fn post_json_or_nothing<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &str,
        wait: Duration,
    ) -> Result<Option<T>, ClientError> {
        let url = format!("{}{path}", self.base);
        let request = self.http.post(&url).timeout(wait + REQUEST_TIMEOUT).json(body);
        let response = check(self.send(request).await?, what).await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let text = response.text().await.map_err(|source| self.unreachable(source))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|err| ClientError::Refused {
                what: what.to_owned(),
                status: 200,
                message: format!("the answer is not what this version of gantry reads: {err}"),
            })
    }

    /// Deletes what `path` names (under the server's URL, segments encoded with [`encode`]);
    /// `what` names it in errors.
    pub async fn delete(&self, path: &str, what: &str) -> Result<(), ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self.send(self.http.delete(&url).timeout(REQUEST_TIMEOUT)).await?;
        check(response, what).await?;
        Ok(())
    }

    /// Reads `path` as a body that may be long (a log): its chunks come as they arrive, with no
    /// time limit on the whole.
    pub async fn get_text(&self, path: &str, what: &str) -> Result<TextBody, ClientError> {
        self.get_stream(path, what).await
    }

    /// Reads `path` as a body of any length and content (an artifact), chunk by chunk as it
    /// arrives, with no time limit on the whole.
    pub async fn get_stream(&self, path: &str, what: &str) -> Result<TextBody, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self.send(self.http.get(&url)).await?;
        let response = check(response, what).await?;
        Ok(TextBody {
            response,
            base: self.base.clone(),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request.send().await.map_err(|source| self.unreachable(source))
    }

    fn unreachable(&self, source: reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            url: self.base.clone(),
            source: source.without_url(),
        }
    }
}

/// A body read chunk by chunk, from [`Client::get_text`] or [`Client::get_stream`].
#[derive(Debug)]
pub struct TextBody {
    response: reqwest::Response,
    base: String,
}

impl TextBody {
    /// The next bytes of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        match self.response.chunk().await {
            Ok(chunk) => Ok(chunk.map(|bytes| bytes.to_vec())),
            Err(source) => Err(ClientError::Unreachable {
                url: self.base.clone(),
                source: source.without_url(),
            }),
        }
    }
}

/// Turns an error status into [`ClientError::Refused`], with the server's message.
async fn check(response: reqwest::Response, what: &str) -> Result<reqwest::Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    // Anything but the API's error shape (a proxy's page, a web server's 404) is not worth
    // printing whole: it says this URL is not a Gantry server's API.
    let message = serde_json::from_str::<ErrorBody>(&text).map_or_else(
        |_| {
            let reason = status.canonical_reason().unwrap_or("error");
            format!("{reason}, and not in the words of Gantry's API: is the URL a Gantry server's?")
        },
        |body| body.error.message,
    );
    Err(ClientError::Refused {
        what: what.to_owned(),
        status: status.as_u16(),
        message,
    })
}

/// Percent-encodes a path segment or a query value (app names and run ids are plain, but never
/// trust that): everything but unreserved characters.
pub fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Bodies at least this large are sent gzip-compressed: log lines shrink several times over,
/// and compressing a small body costs more than it saves.
const COMPRESS_FROM: usize = 64 * 1024;

/// `request` with a JSON `body`, gzip-compressed (`Content-Encoding: gzip`) when it is large.
fn with_body(request: reqwest::RequestBuilder, body: Vec<u8>) -> reqwest::RequestBuilder {
    use std::io::Write as _;
    let request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
    if body.len() < COMPRESS_FROM {
        return request.body(body);
    }
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    match encoder.write_all(&body).and_then(|()| encoder.finish()) {
        Ok(compressed) => request
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .body(compressed),
        Err(_) => request.body(body),
    }
}
