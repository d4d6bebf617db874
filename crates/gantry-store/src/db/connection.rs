//! The one executor: an open database ([`Db`]), its write transactions ([`Tx`]), and the four
//! ways of running a statement ([`Statements`]) that every aggregate uses on either database.
//!
//! SQLite (the embedded default) is one file with WAL, shared safely by many processes; its
//! writes run in `BEGIN IMMEDIATE` transactions, so that SQLite's busy timeout queues concurrent
//! writers instead of failing one of them on lock upgrade. PostgreSQL is one database shared by
//! any number of server replicas, in its default read committed transactions: every write that
//! must not race is one statement with `ON CONFLICT` or a conditional `UPDATE`, which row locks
//! make atomic, or takes its rows `FOR UPDATE` before deciding.

use std::path::Path;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgPoolOptions, PgRow, PgTypeInfo};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{
    Arguments, Connection, Encode, FromRow, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection,
    SqlitePool, Transaction, Type,
};

use super::location::Location;
use super::sql::{Arg, Sql};
use crate::cdevent::timestamp;
use crate::error::StoreError;

/// Long enough for twenty processes writing to one SQLite file at once to take their turns.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_mins(1);

/// SQLite serializes writes anyway; a few connections let reads go on beside a write.
const SQLITE_CONNECTIONS: u32 = 4;

/// Connections to PostgreSQL per store: reads and writes of one process go on side by side.
const POSTGRES_CONNECTIONS: u32 = 10;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// An open database; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One write transaction; dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// A connection of the pool, for statements outside a transaction.
pub(crate) enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// The connection a statement runs on.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Db {
    /// Opens the database at `location` (`url` as given, for errors) and brings its schema up to
    /// date.
    pub(crate) async fn open(location: &Location, url: &str) -> Result<Self, StoreError> {
        match location {
            Location::Sqlite(path) => open_sqlite_patiently(path, url).await.map(Self::Sqlite),
            Location::Postgres(url) => open_postgres(url).await.map(Self::Postgres),
        }
    }

    /// Begins a write transaction.
    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        let begun = match self {
            Self::Sqlite(pool) => pool.begin_with("BEGIN IMMEDIATE").await.map(Tx::Sqlite),
            Self::Postgres(pool) => pool.begin().await.map(Tx::Postgres),
        };
        begun.map_err(StoreError::db("begin a write transaction"))
    }

    /// A connection for statements that need no transaction (each is atomic on its own).
    pub(crate) async fn connection(&self) -> Result<Pooled, StoreError> {
        let acquired = match self {
            Self::Sqlite(pool) => pool.acquire().await.map(Pooled::Sqlite),
            Self::Postgres(pool) => pool.acquire().await.map(Pooled::Postgres),
        };
        acquired.map_err(StoreError::db("connect to the database"))
    }

    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// How many times opening a SQLite file is tried when SQLite answers busy at once.
const SQLITE_OPEN_ATTEMPTS: u32 = 20;

/// Opens a SQLite store, trying again when SQLite refuses at once with "database is locked".
///
/// The busy timeout queues ordinary writers, but SQLite returns `SQLITE_BUSY` without waiting
/// where waiting could deadlock, which happens to processes that open a new file together: one
/// switches it to WAL or migrates it while another reads its schema. Such a refusal says nothing
/// about the file, so the whole open is tried again, a bounded number of times.
async fn open_sqlite_patiently(path: &Path, url: &str) -> Result<SqlitePool, StoreError> {
    let mut attempt = 1;
    loop {
        match open_sqlite(path, url).await {
            Err(error) if attempt < SQLITE_OPEN_ATTEMPTS && is_busy(&error) => {
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Whether opening failed on SQLite's "database is locked" (`SQLITE_BUSY`, extended codes
/// included).
fn is_busy(error: &StoreError) -> bool {
    let (StoreError::Connect { source, .. }
    | StoreError::Database { source, .. }
    | StoreError::Migrate {
        source: sqlx::migrate::MigrateError::Execute(source),
        ..
    }) = error
    else {
        return false;
    };
    let sqlx::Error::Database(database) = source else {
        return false;
    };
    database
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

async fn open_sqlite(path: &Path, url: &str) -> Result<SqlitePool, StoreError> {
    let connect = |source| StoreError::Connect {
        url: url.to_owned(),
        source,
    };
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // With WAL, NORMAL loses no committed data when a process dies (only on power loss) and
        // spares an fsync per commit.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true)
        // A multi-row insert keeps the pages it changes in a statement journal, so that a
        // failing row can undo the statement alone; SQLite writes that journal to a temporary
        // file past 64 KiB, which made a chatty task's log lines cost more in journal writes
        // than in the rows themselves. In memory, it holds a statement's pages (a few hundred
        // KiB at most) until the statement ends.
        .pragma("temp_store", "memory")
        // 8 MiB of pages (2 MiB by default) before a large transaction spills pages to the
        // WAL that it will write again; taken only as a connection needs it.
        .pragma("cache_size", "-8192");
    let pool = SqlitePoolOptions::new()
        .max_connections(SQLITE_CONNECTIONS)
        .connect_with(options)
        .await
        .map_err(connect)?;
    // SQLite's migrator takes no lock of its own: processes opening a new file at once would
    // both apply the first migration. One write transaction around it serializes them.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(connect)?;
    SQLITE_MIGRATOR
        .run_direct(&mut *tx)
        .await
        .map_err(|source| StoreError::Migrate {
            url: url.to_owned(),
            source,
        })?;
    tx.commit()
        .await
        .map_err(StoreError::db("commit the schema migration"))?;
    Ok(pool)
}

async fn open_postgres(url: &str) -> Result<PgPool, StoreError> {
    let connect = |source| StoreError::Connect {
        url: url.to_owned(),
        source,
    };
    // One plain connection first: a pool retries a refused or unknown database until its acquire
    // timeout, where this says at once what is wrong. The migrator takes PostgreSQL's advisory
    // lock, so replicas starting at once apply each migration once.
    let mut conn = PgConnection::connect(url).await.map_err(connect)?;
    POSTGRES_MIGRATOR
        .run_direct(&mut conn)
        .await
        .map_err(|source| StoreError::Migrate {
            url: url.to_owned(),
            source,
        })?;
    let _ = conn.close().await;
    PgPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS)
        .connect(url)
        .await
        .map_err(connect)
}

impl Tx {
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
        .map_err(StoreError::db("commit a write transaction"))
    }

    /// Rolls back at once: dropping only queues the rollback, and SQLite's write lock or
    /// PostgreSQL's row locks would stay until the connection is next used.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await,
            Self::Postgres(tx) => tx.rollback().await,
        }
        .map_err(StoreError::db("roll back a write transaction"))
    }
}

/// What a row can be read into on both databases: a `#[derive(sqlx::FromRow)]` struct, or a
/// tuple such as `(i64,)` for one column.
pub(crate) trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<R> Record for R where R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// Running statements, in a transaction ([`Tx`]) or on a connection of the pool ([`Pooled`]).
/// `what` names the operation in the error (`"record a run's result"`).
pub(crate) trait Statements: Send {
    fn conn(&mut self) -> Conn<'_>;

    /// Runs a statement; how many rows it changed.
    async fn execute(
        &mut self,
        what: &'static str,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<u64, StoreError> {
        let done = match self.conn() {
            Conn::Sqlite(conn) => sqlx::query_with(sql.sqlite, sqlite_args(what, args)?)
                .execute(conn)
                .await
                .map(|done| done.rows_affected()),
            Conn::Postgres(conn) => sqlx::query_with(sql.postgres, postgres_args(what, args)?)
                .execute(conn)
                .await
                .map(|done| done.rows_affected()),
        };
        done.map_err(StoreError::db(what))
    }

    /// Every row the query returns.
    async fn fetch_all<R: Record>(
        &mut self,
        what: &'static str,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<Vec<R>, StoreError> {
        let rows = match self.conn() {
            Conn::Sqlite(conn) => {
                sqlx::query_as_with(sql.sqlite, sqlite_args(what, args)?)
                    .fetch_all(conn)
                    .await
            }
            Conn::Postgres(conn) => {
                sqlx::query_as_with(sql.postgres, postgres_args(what, args)?)
                    .fetch_all(conn)
                    .await
            }
        };
        rows.map_err(StoreError::db(what))
    }

    /// The row of a query that returns at most one (by a key, or `RETURNING` of one row).
    async fn fetch_optional<R: Record>(
        &mut self,
        what: &'static str,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<Option<R>, StoreError> {
        Ok(self.fetch_all(what, sql, args).await?.into_iter().next())
    }

    /// The row of a query that returns exactly one; none is an error.
    async fn fetch_one<R: Record>(
        &mut self,
        what: &'static str,
        sql: Sql<'_>,
        args: &[Arg<'_>],
    ) -> Result<R, StoreError> {
        self.fetch_optional(what, sql, args)
            .await?
            .ok_or_else(|| StoreError::db(what)(sqlx::Error::RowNotFound))
    }
}

impl Statements for Tx {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(tx) => Conn::Sqlite(tx),
            Self::Postgres(tx) => Conn::Postgres(tx),
        }
    }
}

impl Statements for Pooled {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(conn) => Conn::Sqlite(conn),
            Self::Postgres(conn) => Conn::Postgres(conn),
        }
    }
}

/// The arguments as SQLite stores them: times as text (see `migrations/sqlite`), JSON as text.
fn sqlite_args<'a>(what: &'static str, args: &[Arg<'a>]) -> Result<SqliteArguments<'a>, StoreError> {
    let mut bound = SqliteArguments::default();
    for arg in args {
        match *arg {
            Arg::Text(text) => bound.add(text),
            Arg::Int(value) => bound.add(value),
            Arg::Bool(value) => bound.add(value),
            Arg::Time(at) => bound.add(at.map(timestamp)),
            Arg::Json(text) => bound.add(text),
        }
        .map_err(|err| StoreError::db(what)(sqlx::Error::Encode(err)))?;
    }
    Ok(bound)
}

/// The arguments as PostgreSQL stores them: `TIMESTAMPTZ` and `JSONB`.
fn postgres_args(what: &'static str, args: &[Arg<'_>]) -> Result<PgArguments, StoreError> {
    let mut bound = PgArguments::default();
    for arg in args {
        match *arg {
            Arg::Text(text) => bound.add(text),
            Arg::Int(value) => bound.add(value),
            Arg::Bool(value) => bound.add(value),
            Arg::Time(at) => bound.add(at),
            Arg::Json(text) => bound.add(JsonText(text)),
        }
        .map_err(|err| StoreError::db(what)(sqlx::Error::Encode(err)))?;
    }
    Ok(bound)
}

/// JSON text bound as `JSONB` as it is, without parsing it again (the recorder made it, or the
/// store validated it against its schema).
struct JsonText<'a>(&'a str);

impl Type<Postgres> for JsonText<'_> {
    fn type_info() -> PgTypeInfo {
        <sqlx::types::Json<()> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for JsonText<'_> {
    fn encode_by_ref(
        &self,
        buf: &mut PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        // The binary format of `JSONB`: a version byte, then the text.
        buf.push(1);
        buf.extend_from_slice(self.0.as_bytes());
        Ok(sqlx::encode::IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection as _, SqliteConnection};

    use super::*;

    /// A real "database is locked" from SQLite counts as busy; another database error does not.
    #[tokio::test]
    async fn busy_is_told_from_other_errors() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("busy.db"))
            .create_if_missing(true)
            .busy_timeout(Duration::ZERO);
        let mut holder = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut holder).await.unwrap();
        let mut other = SqliteConnection::connect_with(&options).await.unwrap();
        let locked = sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .unwrap_err();
        let locked = StoreError::Connect {
            url: "sqlite://busy.db".to_owned(),
            source: locked,
        };
        assert!(is_busy(&locked), "{locked:?}");
        let syntax = sqlx::query("SELEC 1").execute(&mut other).await.unwrap_err();
        assert!(!is_busy(&StoreError::db("select")(syntax)));
    }
}
