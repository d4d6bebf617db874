//! A client of the Gantry server, for `gantry run --server` and `gantry sync`.
//!
//! - [`client`]: [`Client`], the HTTP API calls (build numbers, run events, artifacts).
//! - [`spool`]: [`Spool`], a run's events kept on disk until the server has them.
//! - [`uploader`]: [`Uploader`], which spools every event first, then sends what the server does
//!   not have yet, in order, and keeps going when the server is away; while the run is live it
//!   keeps the run's lease on the server with heartbeats.
//!
//! The server records events idempotently by id, so sending an event twice is harmless: that is
//! what makes "send everything not yet acknowledged, again" a correct retry strategy.

pub mod client;
pub mod spool;
pub mod uploader;

pub use client::{Client, ClientError, TextBody, encode};
pub use spool::{Spool, SpoolError, SpooledRun};
pub use uploader::{HEARTBEAT_INTERVAL, SendError, UploadSummary, Uploader, send};
