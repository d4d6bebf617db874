//! A statement as the aggregates write it: SQL text for each database ([`Sql`]), and its
//! arguments as plain values ([`Arg`]) that [`crate::db::Statements`] binds the way each database
//! stores them.
//!
//! Most SQL is the same on both databases and is written once ([`Sql::both`]); where the
//! dialects differ (a collation, a row lock), both texts stand side by side ([`Sql::each`]).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

/// The text of one statement for each database; placeholders are `$1`, `$2`, ... on both.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sql<'s> {
    pub(crate) sqlite: &'s str,
    pub(crate) postgres: &'s str,
}

impl<'s> Sql<'s> {
    /// SQL both databases take as it is.
    pub(crate) const fn both(text: &'s str) -> Self {
        Self {
            sqlite: text,
            postgres: text,
        }
    }

    /// SQL in each database's dialect.
    pub(crate) const fn each(sqlite: &'s str, postgres: &'s str) -> Self {
        Self { sqlite, postgres }
    }
}

/// A value to bind. Times and JSON are where the databases differ: SQLite keeps times as
/// fixed-format UTC text and JSON as text, PostgreSQL as `TIMESTAMPTZ` and `JSONB`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Bool(bool),
    Time(Option<DateTime<Utc>>),
    /// JSON text, stored as it is.
    Json(&'a str),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Self::Text(Some(text))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(text: &'a String) -> Self {
        Self::Text(Some(text))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(text: Option<&'a str>) -> Self {
        Self::Text(text)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(text: &'a Option<String>) -> Self {
        Self::Text(text.as_deref())
    }
}

impl From<i64> for Arg<'_> {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(value: Option<i64>) -> Self {
        Self::Int(value)
    }
}

impl From<i32> for Arg<'_> {
    fn from(value: i32) -> Self {
        Self::Int(Some(i64::from(value)))
    }
}

impl From<Option<i32>> for Arg<'_> {
    fn from(value: Option<i32>) -> Self {
        Self::Int(value.map(i64::from))
    }
}

impl From<u32> for Arg<'_> {
    fn from(value: u32) -> Self {
        Self::Int(Some(i64::from(value)))
    }
}

/// Build numbers, sizes and offsets: both databases store them as signed 64-bit integers. A
/// number past `i64::MAX` (never stored) becomes `i64::MAX`, which then matches nothing.
impl From<u64> for Arg<'_> {
    fn from(value: u64) -> Self {
        Self::Int(Some(i64::try_from(value).unwrap_or(i64::MAX)))
    }
}

impl From<bool> for Arg<'_> {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<DateTime<Utc>> for Arg<'_> {
    fn from(at: DateTime<Utc>) -> Self {
        Self::Time(Some(at))
    }
}

impl From<Option<DateTime<Utc>>> for Arg<'_> {
    fn from(at: Option<DateTime<Utc>>) -> Self {
        Self::Time(at)
    }
}

/// A statement built as it goes (filters, multi-row `VALUES`): each bound value written as
/// the next `$n` (PostgreSQL), or as a plain `?` (SQLite).
///
/// Why two texts: sqlx binds a SQLite statement's `$n` by asking SQLite each parameter's name,
/// which SQLite finds by a linear search of the statement's names, so binding a multi-row
/// insert of a few hundred `$n` took most of the time of inserting it; plain `?` are bound by
/// position, with no name to search.
#[derive(Debug, Default)]
pub(crate) struct Statement<'a> {
    /// With `$n` placeholders.
    pub(crate) text: String,
    /// The same with `?` placeholders (every value is bound once, in order).
    sqlite: String,
    pub(crate) args: Vec<Arg<'a>>,
}

impl<'a> Statement<'a> {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            sqlite: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text (which holds no placeholder: values are bound with [`Statement::bind`]).
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self.sqlite.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub(crate) fn bind(&mut self, arg: impl Into<Arg<'a>>) -> &mut Self {
        self.args.push(arg.into());
        let _ = write!(self.text, "${}", self.args.len());
        self.sqlite.push('?');
        self
    }

    /// Appends `(…), (…), …`: one parenthesized tuple of placeholders for each row's values.
    pub(crate) fn values<T, const N: usize>(
        &mut self,
        rows: &'a [T],
        row: impl Fn(&'a T) -> [Arg<'a>; N],
    ) -> &mut Self {
        for (index, item) in rows.iter().enumerate() {
            self.push(if index == 0 { "(" } else { ", (" });
            for (column, arg) in row(item).into_iter().enumerate() {
                if column > 0 {
                    self.push(", ");
                }
                self.bind(arg);
            }
            self.push(")");
        }
        self
    }

    /// The statement's text for each database.
    pub(crate) fn sql(&self) -> Sql<'_> {
        Sql::each(&self.sqlite, &self.text)
    }
}

/// The most rows one multi-row `INSERT` takes; six parameters a row stays far below both
/// databases' limits on parameters a statement.
const ROWS_PER_INSERT: usize = 100;

/// Splits `rows` into the chunks of multi-row `INSERT`s: as many of [`ROWS_PER_INSERT`] as fit,
/// then powers of two. Each size is a different statement, so a database's cache of prepared
/// statements holds at most eight shapes of each insert however the batches are sized.
pub(crate) fn insert_chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = if rest.len() >= ROWS_PER_INSERT {
            ROWS_PER_INSERT
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, after) = rest.split_at(size);
        rest = after;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_and_positional_for_sqlite() {
        let rows = [(1, "a"), (2, "b")];
        let mut statement = Statement::new("INSERT INTO t (n, s) VALUES ");
        statement.values(&rows, |(n, s)| [Arg::from(*n), Arg::from(*s)]);
        statement.push(" ON CONFLICT DO NOTHING");
        let sql = statement.sql();
        assert_eq!(
            sql.postgres,
            "INSERT INTO t (n, s) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            sql.sqlite,
            "INSERT INTO t (n, s) VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING"
        );
        assert_eq!(statement.args.len(), 4);
    }

    #[test]
    fn insert_chunks_cover_every_row_in_few_sizes() {
        for len in [0, 1, 2, 3, 7, 99, 100, 101, 250, 1000, 1234] {
            let rows: Vec<usize> = (0..len).collect();
            let chunks: Vec<&[usize]> = insert_chunks(&rows).collect();
            assert_eq!(chunks.concat(), rows, "{len}");
            for chunk in chunks {
                assert!(
                    chunk.len() == ROWS_PER_INSERT || chunk.len().is_power_of_two(),
                    "{len}"
                );
            }
        }
    }

    #[test]
    fn statements_number_their_placeholders() {
        let rows = [("a", 1_i64), ("b", 2)];
        let mut statement = Statement::new("INSERT INTO t (name, n) VALUES ");
        statement
            .values(&rows, |(name, n)| [Arg::from(*name), Arg::from(*n)])
            .push(" ON CONFLICT DO NOTHING");
        assert_eq!(
            statement.text,
            "INSERT INTO t (name, n) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(statement.args.len(), 4);

        let mut filter = Statement::new("SELECT 1 WHERE TRUE");
        filter
            .push(" AND app = ")
            .bind("hello")
            .push(" LIMIT ")
            .bind(5_u32);
        assert_eq!(filter.text, "SELECT 1 WHERE TRUE AND app = $1 LIMIT $2");
    }
}
