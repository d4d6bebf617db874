//! The bodies of `/healthz` and `/readyz`: plain text, for load balancers and people alike.
//! A server that is not ready answers `503` with an [`crate::ErrorBody`] instead.

/// The body of `GET /healthz`: the process answers.
pub const HEALTHY: &str = "ok\n";

/// The body of `GET /readyz` when the server can serve.
pub const READY: &str = "ready\n";
