//! A real headless Chromium, driven over WebDriver by Debian's `chromedriver`, pointed at the
//! router served on a loopback port.
//!
//! Where Chromium or its driver is missing, [`Browser::start`] says so loudly and returns `None`,
//! and the test returns early; under CI (`CI` set) it fails instead, so that the browser tests
//! never silently stop running there: `scripts/install-deps` installs both, and CI runs it
//! first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::Router;
use fantoccini::{Client, ClientBuilder, Locator};
use gantry_test::free_port;
use hyper_util::client::legacy::connect::HttpConnector;
use tempfile::TempDir;
use tokio::sync::{Mutex, MutexGuard};

/// One browser at a time: each is a few processes, and the machine has two cores.
static ONE_AT_A_TIME: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

/// Serves `router` on `127.0.0.1:0` in the background; returns the base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

/// A headless Chromium session; the driver is stopped when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
    _turn: MutexGuard<'static, ()>,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium with a fresh profile, or explains why it
    /// cannot and returns `None`.
    pub async fn start() -> Option<Self> {
        let (Some(chromium), Some(chromedriver)) = (find_chromium(), find_chromedriver()) else {
            gantry_test::skip_or_fail(
                "the web UI's browser tests need Chromium and chromedriver, and this machine \
                 lacks one of them (looked for `chromium` and `chromedriver` on PATH and in \
                 /usr/lib/chromium); install them with `scripts/install-deps` (Debian's \
                 `chromium` and `chromium-driver` packages)",
            );
            return None;
        };
        let turn = ONE_AT_A_TIME.lock().await;
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start `{}`: {error}", chromedriver.display()));
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-dev-shm-usage",
                    "--hide-scrollbars",
                    "--force-color-profile=srgb",
                    "--window-size=1360,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = loop {
            match builder.connect(&url).await {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => {
                    panic!("failed to start a Chromium session: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Some(Self {
            client,
            driver,
            _profile: profile,
            _turn: turn,
        })
    }

    /// Waits up to ten seconds for `check` to hold, polling the page.
    pub async fn wait_until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut(Client) -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check(self.client.clone()).await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the first element matching `css`, if there is one.
    pub async fn text(&self, css: &str) -> Option<String> {
        text_of(&self.client, css).await
    }

    /// Leaves a mark on the page that a reload would wipe out; see
    /// [`Browser::assert_not_reloaded`].
    pub async fn mark_page(&self) {
        self.client
            .execute("window.notReloaded = true;", vec![])
            .await
            .unwrap();
    }

    /// That the page marked by [`Browser::mark_page`] is still the same page.
    pub async fn assert_not_reloaded(&self) {
        let still_there = self
            .client
            .execute("return window.notReloaded === true;", vec![])
            .await
            .unwrap();
        assert_eq!(
            still_there,
            serde_json::Value::Bool(true),
            "the page was reloaded"
        );
    }

    /// Ends the session.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The text of the first element matching `css` on `client`'s page.
pub async fn text_of(client: &Client, css: &str) -> Option<String> {
    client.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

/// The `class` attribute of the first element matching `css`.
pub async fn class_of(client: &Client, css: &str) -> Option<String> {
    client
        .find(Locator::Css(css))
        .await
        .ok()?
        .attr("class")
        .await
        .ok()?
}

fn find_chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| on_path(name))
}

fn find_chromedriver() -> Option<PathBuf> {
    on_path("chromedriver").or_else(|| {
        let debian = Path::new("/usr/lib/chromium/chromedriver");
        debian.is_file().then(|| debian.to_path_buf())
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
