//! A real S3-compatible server for the artifact tests: moto in server mode (from `PyPI`, installed
//! by `scripts/install-deps`), started on a free loopback port and stopped when dropped.
//!
//! Without moto a test prints SKIPPED and passes, except under CI (`CI` set), where it fails.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use gantry_store::{ArtifactLocation, S3Location};
use gantry_test::free_port;

use crate::support::server::{read, send};

/// How long moto may take to answer after it was started.
const STARTUP: Duration = Duration::from_mins(1);

/// A running moto server.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts moto, or says loudly why not (`None`); fails when `CI` is set and it is missing.
    pub async fn start() -> Option<Self> {
        Self::start_with(&[]).await
    }

    /// Starts moto checking credentials like AWS does (every key pair is unknown to it).
    pub async fn start_checking_credentials() -> Option<Self> {
        Self::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]).await
    }

    async fn start_with(env: &[(&str, &str)]) -> Option<Self> {
        let port = free_port().to_string();
        let launchers: [(&str, &[&str]); 2] = [("moto_server", &[]), ("python3", &["-m", "moto.server"])];
        let mut why = Vec::new();
        for (program, prefix) in launchers {
            let spawned = Command::new(program)
                .args(prefix)
                .args(["-H", "127.0.0.1", "-p", &port])
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(error) => {
                    why.push(format!("`{program}`: {error}"));
                    continue;
                }
            };
            let mut moto = Self {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            match moto.wait_until_up().await {
                Ok(()) => return Some(moto),
                Err(reason) => why.push(format!("`{program}`: {reason}")),
            }
        }
        let message = format!(
            "moto (an S3-compatible test server) could not be started ({}); run `scripts/install-deps`",
            why.join("; ")
        );
        gantry_test::skip_or_fail(&message);
        None
    }

    async fn wait_until_up(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}"));
            }
            let address = self.endpoint.trim_start_matches("http://").to_owned();
            if tokio::net::TcpStream::connect(&address).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > STARTUP {
                return Err(format!("no answer on {address} within {STARTUP:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `s3://bucket/prefix` on this server, with test credentials.
    pub fn location(&self, bucket: &str, prefix: &str) -> ArtifactLocation {
        ArtifactLocation::S3(
            S3Location::new(bucket, prefix)
                .with_setting("AWS_ENDPOINT_URL", &self.endpoint)
                .with_setting("AWS_ALLOW_HTTP", "true")
                .with_setting("AWS_REGION", "us-east-1")
                .with_setting("AWS_ACCESS_KEY_ID", "gantry-test-key")
                .with_setting("AWS_SECRET_ACCESS_KEY", "gantry-test-secret"),
        )
    }

    /// Creates a bucket (moto takes unsigned requests unless it checks credentials).
    pub async fn create_bucket(&self, bucket: &str) {
        let (status, body) = self.call(Method::PUT, &format!("/{bucket}")).await;
        assert!(status.is_success(), "create bucket {bucket}: {status} {body}");
    }

    /// The keys in `bucket`, and the multipart uploads still open in it.
    pub async fn contents(&self, bucket: &str) -> (Vec<String>, Vec<String>) {
        let (status, listing) = self.call(Method::GET, &format!("/{bucket}?list-type=2")).await;
        assert_eq!(status, StatusCode::OK, "{listing}");
        let (status, uploads) = self.call(Method::GET, &format!("/{bucket}?uploads")).await;
        assert_eq!(status, StatusCode::OK, "{uploads}");
        (elements(&listing, "Key"), elements(&uploads, "UploadId"))
    }

    async fn call(&self, method: Method, path: &str) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.endpoint))
            .body(Body::empty())
            .unwrap();
        let (status, body) = read(send(request).await).await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The texts of every `<name>` element of an XML document (enough for S3's listings).
fn elements(xml: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(text, _)| text.to_owned()))
        .collect()
}
