//! The engine end to end: real `bash` processes, every event collected and checked.
//!
//! Order and concurrency are asserted from the events' timestamps, never from how long a test
//! slept.

mod harness;

mod artifacts;
mod cancellation;
mod context;
mod mock;
mod order;
mod output;
mod processes;
mod retries;
mod variables;
