//! API tokens, for admins: `POST /api/v1/tokens` creates one (a user's, or a machine token)
//! and shows its secret once, `GET /api/v1/tokens` lists them (never a secret),
//! `DELETE /api/v1/tokens/{name}` revokes one (never the last admin token). And for anyone who
//! may read: `GET /api/v1/whoami`, the principal the request's token speaks for.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gantry_api::{CreatedToken, ErrorBody, NewToken, PrincipalKind, TokenList, Whoami};

use crate::auth::Principal;
use crate::error::AppError;
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::wire;

/// Creates a token and returns its secret, this once.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    operation_id = "create_token",
    tag = "tokens",
    request_body = NewToken,
    responses(
        (status = 201, description = "Created; keep the secret, it is not shown again", body = CreatedToken),
        (status = 400, description = "A bad name, no scope, or an unknown user", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token is not an admin's", body = ErrorBody),
        (status = 409, description = "A token has this name", body = ErrorBody),
        (status = 422, description = "An unknown scope, or a missing field", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    ApiJson(new): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    let scopes: Vec<_> = new.scopes.iter().copied().map(wire::store_scope).collect();
    let secret = state
        .metrics
        .time_store(
            "create_token",
            state
                .store
                .create_token_for(&new.name, &scopes, new.user.as_deref()),
        )
        .await?;
    let by = principal.map_or_else(|| "-".to_owned(), |principal| principal.audit_name());
    tracing::info!(token = %new.name, user = new.user.as_deref().unwrap_or("-"), by, "created a token");
    let mut scopes = new.scopes;
    scopes.sort_unstable();
    scopes.dedup();
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            name: new.name,
            scopes,
            user: new.user,
            secret,
        }),
    ))
}

/// Every token, by name, without secrets.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    operation_id = "list_tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "The tokens", body = TokenList),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token is not an admin's", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<TokenList>, AppError> {
    let tokens = state
        .metrics
        .time_store("list_tokens", state.store.list_tokens())
        .await?;
    Ok(Json(TokenList {
        tokens: tokens.into_iter().map(wire::token_info).collect(),
    }))
}

/// Revokes a token: requests with it are refused from now on. The last token with the `admin`
/// scope cannot be revoked (409 `last_admin_token`): nobody could manage tokens over the API
/// after it.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{name}",
    operation_id = "revoke_token",
    tag = "tokens",
    params(("name" = String, Path, description = "The token's name")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token is not an admin's", body = ErrorBody),
        (status = 404, description = "No token has this name", body = ErrorBody),
        (status = 409, description = "The token is the last admin token; create another admin token first", body = ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    if state
        .metrics
        .time_store("revoke_token", state.store.revoke_token(&name))
        .await?
    {
        tracing::info!(token = %name, "revoked a token");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found(format!("no token is named `{name}`")))
    }
}

/// The principal the request's token speaks for: a user, a machine token, or nobody (where
/// anonymous reading is on).
#[utoipa::path(
    get,
    path = "/api/v1/whoami",
    operation_id = "whoami",
    tag = "tokens",
    responses(
        (status = 200, description = "Who the request speaks for", body = Whoami),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn whoami(principal: Option<axum::Extension<Principal>>) -> Json<Whoami> {
    let principal = principal.map_or(Principal::Anonymous, |axum::Extension(principal)| principal);
    let kind = match &principal {
        Principal::User { .. } => PrincipalKind::User,
        Principal::Machine(_) => PrincipalKind::Machine,
        Principal::Anonymous => PrincipalKind::Anonymous,
    };
    let token = principal.token();
    Json(Whoami {
        kind,
        name: principal.audit_name(),
        token: token.map(|token| token.name.clone()),
        scopes: token
            .map(|token| token.scopes.iter().copied().map(wire::scope).collect())
            .unwrap_or_default(),
    })
}
