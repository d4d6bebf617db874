//! The HTTP API, driven through the router (`oneshot`) on a real store, and over a real socket
//! where the transport matters (live logs, graceful shutdown, concurrent servers, and replicas on
//! one PostgreSQL database), and artifacts in a real S3-compatible server (moto).

mod artifacts;
mod auth;
mod errors;
mod events;
mod health;
mod lease;
mod log_secrecy;
mod logs;
mod openapi;
mod permissions;
mod principals;
mod queue;
mod replicas;
mod runs;
mod s3;
mod secure_cookie;
mod socket;
mod tokens;
