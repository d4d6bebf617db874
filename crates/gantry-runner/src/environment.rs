//! [`Environment`]: what the process environment says about where runs go, read once.
//!
//! The variables are read in one place (by whoever owns the process, through
//! [`Environment::read`]), and every command and the runner take their answers from this type,
//! so that a flag beats its variable the same way everywhere.

use crate::server::{ServerSettings, Token};

/// The server to report to or read from.
pub const SERVER_VARIABLE: &str = "GANTRY_SERVER";
/// The API token presented to the server.
pub const TOKEN_VARIABLE: &str = "GANTRY_TOKEN";
/// The build data repository used without a server.
pub const DB_VARIABLE: &str = "GANTRY_DB";
/// Where a store's artifacts are kept when it has no file to keep them beside (PostgreSQL).
pub const ARTIFACTS_VARIABLE: &str = "GANTRY_ARTIFACTS";

/// `GANTRY_SERVER`, `GANTRY_TOKEN`, `GANTRY_DB` and `GANTRY_ARTIFACTS`; an empty variable counts
/// as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    pub server: Option<String>,
    pub token: Option<Token>,
    pub db: Option<String>,
    pub artifacts: Option<String>,
}

impl Environment {
    /// Reads the variables through `lookup` (the process environment, or a table in tests).
    pub fn read(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let value = |name| lookup(name).filter(|value: &String| !value.is_empty());
        Self {
            server: value(SERVER_VARIABLE),
            token: value(TOKEN_VARIABLE).and_then(Token::new),
            db: value(DB_VARIABLE),
            artifacts: value(ARTIFACTS_VARIABLE),
        }
    }

    /// The server chosen by `flag` (`--server`), else by `GANTRY_SERVER` unless a store was
    /// named on the command line (`--db`): a flag beats either variable, so `--db` works in a
    /// shell that exports `GANTRY_SERVER`. The token is `GANTRY_TOKEN`'s.
    pub fn server(&self, flag: Option<&str>, db_flag: bool) -> Option<ServerSettings> {
        let url = match (flag, db_flag) {
            (Some(url), _) => url.to_owned(),
            (None, true) => return None,
            (None, false) => self.server.clone()?,
        };
        Some(self.server_at(url))
    }

    /// The server at `url` (one a spooled run was reported to, say), with `GANTRY_TOKEN`.
    pub fn server_at(&self, url: impl Into<String>) -> ServerSettings {
        ServerSettings::new(url, self.token.clone())
    }

    /// The store chosen by `flag` (`--db`), else by `GANTRY_DB`.
    pub fn db(&self, flag: Option<&str>) -> Option<String> {
        flag.map(str::to_owned).or_else(|| self.db.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(pairs: &[(&str, &str)]) -> Environment {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Environment::read(|name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    }

    #[test]
    fn the_server_flag_beats_the_environment_and_db_silences_it() {
        let env = environment(&[("GANTRY_SERVER", "http://env:1"), ("GANTRY_TOKEN", "secret-1")]);
        let url = |flag: Option<&str>, db| env.server(flag, db).map(|server| server.url);
        // (--server, --db given) → the server used
        let rows: [(Option<&str>, bool, Option<&str>); 4] = [
            (Some("http://flag:2"), false, Some("http://flag:2")),
            (Some("http://flag:2"), true, Some("http://flag:2")),
            (None, false, Some("http://env:1")),
            (None, true, None),
        ];
        for (flag, db, expect) in rows {
            assert_eq!(
                url(flag, db).as_deref(),
                expect,
                "--server {flag:?}, --db given: {db}"
            );
        }
        let chosen = env.server(Some("http://flag:2"), false).unwrap();
        assert_eq!(
            chosen.token,
            Token::new("secret-1"),
            "the token goes with any server"
        );
        assert_eq!(env.server_at("http://spooled:3").token, Token::new("secret-1"));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let env = environment(&[("GANTRY_SERVER", ""), ("GANTRY_TOKEN", ""), ("GANTRY_DB", "")]);
        assert_eq!(env, Environment::default());
        assert_eq!(env.server(None, false), None);
        assert_eq!(environment(&[]), Environment::default());
    }

    #[test]
    fn the_db_flag_beats_gantry_db() {
        let env = environment(&[("GANTRY_DB", "sqlite://env.db")]);
        assert_eq!(
            env.db(Some("sqlite://flag.db")).as_deref(),
            Some("sqlite://flag.db")
        );
        assert_eq!(env.db(None).as_deref(), Some("sqlite://env.db"));
        assert_eq!(environment(&[]).db(None), None);
    }

    #[test]
    fn a_token_never_shows_in_debug_output() {
        let env = environment(&[
            ("GANTRY_SERVER", "http://env:1"),
            ("GANTRY_TOKEN", "gantry_s3cr3t"),
        ]);
        let shown = format!("{env:?} {:?}", env.server(None, false));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("Token(***)"), "{shown}");
    }
}
