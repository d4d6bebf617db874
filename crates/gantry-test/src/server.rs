//! A real `gantry server` process on the loopback, and plain HTTP reads of it.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::project::gantry_binary;

/// The bootstrap admin token every [`ServerProcess`] is started with.
pub const ADMIN: &str = "gantry-test-admin-token-0123456789";

/// A port of the loopback that was free a moment ago, for a process that must be told its port
/// before it starts (`gantry up --listen`). Prefer `127.0.0.1:0` wherever the process can say
/// which port it took.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on the loopback")
        .port()
}

/// `GET URL` with curl, with a bearer token when given: the body. Fails the test on an error
/// status, with what curl said.
pub fn http_get(url: &str, token: Option<&str>) -> Vec<u8> {
    let mut curl = Command::new("curl");
    curl.args(["--silent", "--show-error", "--fail"]);
    if let Some(token) = token {
        curl.arg("-H").arg(format!("Authorization: Bearer {token}"));
    }
    let output = curl.arg(url).output().expect("curl runs");
    assert!(
        output.status.success(),
        "GET {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A `gantry server` process started with the [`ADMIN`] token, stopped with SIGTERM on drop.
pub struct ServerProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub url: String,
}

impl ServerProcess {
    /// Spawns `gantry server --listen ADDR --db DB EXTRA...`; [`ServerProcess::ready`] waits
    /// until it listens (spawn several first to start them at once).
    pub fn spawn(listen: &str, db: &str, extra: &[&OsStr]) -> Child {
        Command::new(gantry_binary())
            .args(["server", "--listen", listen, "--db", db])
            .args(extra)
            .env("GANTRY_ADMIN_TOKEN", ADMIN)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry server starts")
    }

    /// Waits for the line saying where the server listens.
    pub fn ready(mut child: Child) -> Self {
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("the server's stdout is piped"))
            .read_line(&mut first)
            .expect("the server's first line");
        let url = first.trim().rsplit(' ').next().unwrap_or_default().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "the server did not start: {first:?}"
        );
        Self { child, url }
    }

    /// A server on a SQLite store at `db`, on `port` of the loopback (0: any free one).
    pub fn start(db: &Path, port: u16) -> Self {
        let db = format!("sqlite://{}", db.display());
        Self::ready(Self::spawn(&format!("127.0.0.1:{port}"), &db, &[]))
    }

    /// Stops the server with SIGTERM, as an operator would, and waits for it.
    pub fn stop(&mut self) {
        terminate(&mut self.child);
    }

    /// `GET PATH` with the admin token: the body's bytes.
    pub fn get_bytes(&self, path: &str) -> Vec<u8> {
        http_get(&format!("{}{path}", self.url), Some(ADMIN))
    }

    /// `GET PATH` with the admin token, parsed as JSON.
    pub fn get(&self, path: &str) -> serde_json::Value {
        serde_json::from_slice(&self.get_bytes(path)).expect("a JSON body")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends SIGTERM to `child` and waits for it to end.
pub fn terminate(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
    let _ = child.wait();
}
