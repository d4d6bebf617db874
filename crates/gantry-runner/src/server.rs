//! [`ServerSettings`]: a Gantry server to report to or read from, and the token to show it.

use std::fmt;

use gantry_client::Client;

use crate::Error;

/// An API token's secret. Its `Debug` and `Display` never show it, so that settings can be
/// logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token's secret; `None` when empty (an empty variable means no token).
    pub fn new(secret: impl Into<String>) -> Option<Self> {
        let secret = secret.into();
        (!secret.is_empty()).then_some(Self(secret))
    }

    /// The secret itself, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// A server and the token to present to it, resolved from flags and the environment once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// `http://HOST:PORT` or `https://…`.
    pub url: String,
    pub token: Option<Token>,
}

impl ServerSettings {
    pub fn new(url: impl Into<String>, token: Option<Token>) -> Self {
        Self {
            url: url.into(),
            token,
        }
    }

    /// A client of the server; a malformed URL is the caller's to fix.
    pub fn client(&self) -> Result<Client, Error> {
        Client::new(
            &self.url,
            self.token.as_ref().map(|token| token.expose().to_owned()),
        )
        .map_err(|err| Error::refused(err.to_string()))
    }
}
