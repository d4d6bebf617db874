//! What the server's tests share beyond the `gantry-test` kit (stores, run and pipeline
//! builders, snapshot redactions come from there).
//!
//! - [`api`]: the router under test on a kit store with a token of each scope ([`Api`]), and
//!   requests and replies ([`Call`], [`Reply`]).
//! - [`server`]: a real server on a free loopback port ([`Running`]) and a client of it.
//! - [`sse`]: server-sent events, parsed.
//! - [`page`]: the UI's pages read through the router ([`page::Page`]), and HTML laid out for
//!   snapshots.
//! - [`demo`]: the UI's demo data: apps with a history, a running run, a wide pipeline.
//! - [`moto`]: a real S3-compatible server; [`browser`]: a real headless Chromium.

pub mod api;
pub mod browser;
pub mod demo;
pub mod moto;
pub mod page;
pub mod server;
pub mod sse;

pub use api::{Api, Call, Reply};
pub use server::{PATIENCE, Running};
pub use sse::parse_sse;
