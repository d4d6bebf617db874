//! The model's tests against its files: the fixture pipelines and their snapshots, odd input
//! that must not panic, the examples of the docs, and the checked-in JSON Schema. One test
//! binary for the crate.

mod docs;
mod fixture_files;
mod fixtures;
mod odd_input;
mod schema;
