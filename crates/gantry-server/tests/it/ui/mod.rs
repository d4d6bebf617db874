//! The web UI: its pages, streams and assets through the whole router with `oneshot`, and in a
//! real headless Chromium.

mod browser;
mod output;
mod pages;
