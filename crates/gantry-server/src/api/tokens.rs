//! API tokens, for admins: `POST /api/v1/tokens` creates one and shows its secret once,
//! `GET /api/v1/tokens` lists them (never a secret), `DELETE /api/v1/tokens/{name}` revokes one
//! (never the last admin token).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gantry_api::{CreatedToken, ErrorBody, NewToken, TokenList};

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
        (status = 400, description = "A bad name, or no scope", body = ErrorBody),
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
        .time_store("create_token", state.store.create_token(&new.name, &scopes))
        .await?;
    let by = principal
        .as_ref()
        .and_then(|principal| principal.name().map(str::to_owned));
    tracing::info!(token = %new.name, by = by.as_deref().unwrap_or("-"), "created a token");
    let mut scopes = new.scopes;
    scopes.sort_unstable();
    scopes.dedup();
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            name: new.name,
            scopes,
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
