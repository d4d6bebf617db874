//! The store against real databases: every scenario on SQLite and on PostgreSQL (a database of
//! its own each). One test binary for the crate.

mod backend_schemas;
mod build_numbers;
mod cdevents;
mod leases;
mod record;
mod recovery;
mod token_backends;
mod users;
