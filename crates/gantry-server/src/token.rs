//! [`create_token`]: a token from scope names, for a user or a machine, for
//! `gantry token create` (which writes to the store directly, without a running server).

use gantry_store::{Scope, Store, TokenError};

/// A token that could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateTokenError {
    #[error("`{scope}` is not a scope: use read, report or admin")]
    UnknownScope { scope: String },
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Creates the token `name` with the scopes named in `scopes` (`read`, `report`, `admin`; each
/// also allows the ones before it), acting for `user` (who must exist) or, without one, a
/// machine token; returns its secret, shown once.
pub async fn create_token<S: AsRef<str>>(
    store: &Store,
    name: &str,
    scopes: &[S],
    user: Option<&str>,
) -> Result<String, CreateTokenError> {
    let scopes = parse_scopes(scopes)?;
    Ok(store.create_token_for(name, &scopes, user).await?)
}

/// Scope names, trimmed; `a,b` in one item is taken as two.
pub fn parse_scopes<S: AsRef<str>>(names: &[S]) -> Result<Vec<Scope>, CreateTokenError> {
    names
        .iter()
        .flat_map(|name| name.as_ref().split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            Scope::parse(name).ok_or_else(|| CreateTokenError::UnknownScope {
                scope: name.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scope_names() {
        assert_eq!(
            parse_scopes(&["read", " report "]).unwrap(),
            [Scope::Read, Scope::Report]
        );
        assert_eq!(
            parse_scopes(&["read,admin"]).unwrap(),
            [Scope::Read, Scope::Admin]
        );
        assert!(
            matches!(parse_scopes(&["root"]), Err(CreateTokenError::UnknownScope { scope }) if scope == "root")
        );
        assert!(parse_scopes::<&str>(&[]).unwrap().is_empty());
    }
}
