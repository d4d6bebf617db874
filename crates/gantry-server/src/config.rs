//! [`ServerConfig`]: what `gantry server` and `gantry up` tell the server.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use gantry_store::ArtifactLocation;

/// Artifact uploads larger than this are refused unless configured otherwise (1 GiB).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1024 * 1024 * 1024;

/// How long a run reported over the API stays `running` without news from its client.
pub const DEFAULT_REMOTE_LEASE: Duration = Duration::from_mins(2);

/// How long an agent keeps a job without a heartbeat before the job goes back to the queue.
pub const DEFAULT_JOB_LEASE: Duration = Duration::from_mins(1);

/// How often each replica looks for runs whose lease ran out.
pub const DEFAULT_LEASE_SWEEP: Duration = Duration::from_secs(30);

/// How to run a server.
#[derive(Clone)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free one ([`crate::Server::local_addr`] says which).
    pub listen: SocketAddr,
    /// The build data store: `sqlite://PATH` or `postgres://…`.
    pub db_url: String,
    /// Where artifacts are kept: a directory or `s3://BUCKET/PREFIX`. Required for a
    /// PostgreSQL store (every replica must see the same artifacts: a shared directory, or one
    /// bucket); for SQLite, `artifacts/` beside the database file when `None`.
    pub artifacts: Option<ArtifactLocation>,
    /// Let anyone read (GET API routes and every UI page) without a token. Reporting and
    /// administration always need one.
    pub anonymous_read: bool,
    /// The secret of the bootstrap admin token (`GANTRY_ADMIN_TOKEN`), used only when the store
    /// has no admin token yet; a random one is made when `None`.
    pub admin_token: Option<String>,
    /// The largest artifact upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// A run reported over the API whose client has not been heard from (events or
    /// heartbeats) for this long is marked `interrupted`: its client died.
    pub remote_lease: Duration,
    /// How often this server looks for such runs.
    pub lease_sweep: Duration,
    /// A job whose agent has not been heard from for this long goes back to the queue, as a
    /// new attempt (`gantry server --job-lease`).
    pub job_lease: Duration,
    /// The server is reached only through a reverse proxy that sets `X-Forwarded-Proto` (and
    /// drops a client's own): a browser that logged in over HTTPS gets a `Secure` cookie.
    pub trust_proxy: bool,
}

impl ServerConfig {
    /// A configuration with defaults: artifacts beside a SQLite store, no anonymous reading,
    /// a random bootstrap token, [`DEFAULT_MAX_UPLOAD_BYTES`], [`DEFAULT_REMOTE_LEASE`] swept
    /// every [`DEFAULT_LEASE_SWEEP`], no proxy trusted.
    pub fn new(listen: SocketAddr, db_url: impl Into<String>) -> Self {
        Self {
            listen,
            db_url: db_url.into(),
            artifacts: None,
            anonymous_read: false,
            admin_token: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            remote_lease: DEFAULT_REMOTE_LEASE,
            lease_sweep: DEFAULT_LEASE_SWEEP,
            job_lease: DEFAULT_JOB_LEASE,
            trust_proxy: false,
        }
    }
}

/// Whether `url` names a PostgreSQL database (which has no file to keep artifacts beside).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Never prints the admin token.
impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("db_url", &redact_password(&self.db_url))
            .field("artifacts", &self.artifacts)
            .field("anonymous_read", &self.anonymous_read)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<redacted>"))
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("remote_lease", &self.remote_lease)
            .field("lease_sweep", &self.lease_sweep)
            .field("job_lease", &self.job_lease)
            .field("trust_proxy", &self.trust_proxy)
            .finish()
    }
}

/// `scheme://user:<redacted>@host/…`: a database url as it may be shown.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:<redacted>{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_database_passwords() {
        let check = |url: &str, expect: &str| assert_eq!(redact_password(url), expect, "{url}");
        check(
            "postgres://gantry:s3cret@db:5432/gantry",
            "postgres://gantry:<redacted>@db:5432/gantry",
        );
        check("postgres://gantry@db/gantry", "postgres://gantry@db/gantry");
        check(
            "sqlite:///var/lib/gantry/gantry.db",
            "sqlite:///var/lib/gantry/gantry.db",
        );
        check("gantry.db", "gantry.db");
    }

    #[test]
    fn tells_postgres_urls() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("postgresql://u@h/db"));
        assert!(!is_postgres_url("sqlite://gantry.db"));
        assert!(!is_postgres_url("postgres.db"));
    }

    #[test]
    fn debug_hides_the_admin_token() {
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), "postgres://u:pw@h/db");
        config.admin_token = Some("the-admin-secret-value".into());
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("the-admin-secret-value") && !shown.contains("pw@"),
            "{shown}"
        );
    }
}
