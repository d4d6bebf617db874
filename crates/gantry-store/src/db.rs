//! The database under the store, SQLite or PostgreSQL, behind one executor.
//!
//! - [`location`]: which database a url names.
//! - [`sql`]: a statement's text for each database ([`Sql`]) and its arguments ([`Arg`]).
//! - [`connection`]: [`Db`], [`Tx`] and [`Statements`], which run statements on either.
//!
//! The aggregates ([`crate::aggregate`]) hold the SQL; nothing here knows a table.

mod connection;
mod location;
mod sql;

pub(crate) use connection::{Db, Statements, Tx};
pub(crate) use location::Location;
pub(crate) use sql::{Arg, Sql, Statement, insert_chunks};
