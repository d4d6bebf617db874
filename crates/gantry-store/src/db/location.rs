//! Where the database is: the url given to [`crate::Store::open`], parsed.

use std::path::PathBuf;

use crate::error::StoreError;

/// Where the database is, parsed from the url given to [`crate::Store::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// `sqlite://PATH`, `sqlite:PATH` or a bare path.
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = match url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Some(path) => path,
            None if url.contains("://") => {
                return Err(invalid("the scheme is neither `sqlite` nor `postgres`"));
            }
            None => url,
        };
        // Options are set by the store itself; a query string would be taken as part of the name.
        if path.contains('?') {
            return Err(invalid("a sqlite url takes no options"));
        }
        if path.is_empty() || path == ":memory:" {
            return Err(invalid(
                "a file path is needed (the store keeps artifacts beside it)",
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let check = |url: &str, expect: Option<Location>| {
            assert_eq!(Location::parse(url).ok(), expect, "{url}");
        };
        let sqlite = |path: &str| Some(Location::Sqlite(PathBuf::from(path)));
        check(
            "sqlite:///var/lib/gantry/gantry.db",
            sqlite("/var/lib/gantry/gantry.db"),
        );
        check("sqlite://gantry.db", sqlite("gantry.db"));
        check("sqlite:gantry.db", sqlite("gantry.db"));
        check("/tmp/x/gantry.db", sqlite("/tmp/x/gantry.db"));
        check(".gantry/gantry.db", sqlite(".gantry/gantry.db"));
        check(
            "postgres://u@h/db",
            Some(Location::Postgres("postgres://u@h/db".into())),
        );
        check("mysql://h/db", None);
        check("sqlite://", None);
        check("sqlite::memory:", None);
        check("sqlite://x.db?mode=ro", None);
        check("", None);
    }
}
