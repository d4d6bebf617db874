//! Content-addressed artifacts: `PUT /api/v1/artifacts/{sha256}` uploads a file under its
//! digest, `GET` downloads it, both streamed, whichever artifact store the server has (a
//! directory or an S3-compatible bucket, [`gantry_store::ArtifactStore`]).
//!
//! An upload is hashed and counted as it streams into the store, and becomes visible under its
//! digest only once the digest is right, so the content under a digest is always complete and
//! correct. A digest stored already is acknowledged without reading the body (the bytes are
//! the same by definition).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use gantry_api::{ArtifactStored, ErrorBody};
use gantry_store::ArtifactError;

use crate::error::AppError;
use crate::extract::ApiPath;
use crate::openapi::Binary;
use crate::state::AppState;

/// Uploads an artifact; the body is the file's bytes.
#[utoipa::path(
    put,
    path = "/api/v1/artifacts/{sha256}",
    operation_id = "upload_artifact",
    tag = "artifacts",
    params(("sha256" = String, Path, description = "The file's sha256, 64 hexadecimal digits")),
    request_body(content = Binary, content_type = "application/octet-stream", description = "The file"),
    responses(
        (status = 201, description = "Stored", body = ArtifactStored),
        (status = 200, description = "Stored already; the body was not read", body = ArtifactStored),
        (status = 400, description = "Not a digest, or the content does not have it", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token may not report", body = ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    ApiPath(sha256): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let limit = state.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let artifacts = state.store.artifacts();
    // A body declared too large is refused before it is read, unless the digest is stored
    // already (then the body is not read either).
    if declared.is_some_and(|length| length > limit) && artifacts.size(&sha256).await?.is_none() {
        return Err(AppError::too_large(limit));
    }
    let content = body.into_data_stream().map_err(|error| ArtifactError::Source {
        from: "the request".into(),
        source: std::io::Error::other(error),
    });
    let stored = artifacts.put(&sha256, content, limit).await?;
    let status = if stored.created {
        tracing::info!(sha256 = %stored.sha256, size = stored.size, "stored an artifact");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let stored = ArtifactStored {
        sha256: stored.sha256,
        size: stored.size,
        created: stored.created,
    };
    Ok((status, Json(stored)).into_response())
}

/// Downloads an artifact.
#[utoipa::path(
    get,
    path = "/api/v1/artifacts/{sha256}",
    operation_id = "download_artifact",
    tag = "artifacts",
    params(("sha256" = String, Path, description = "The file's sha256, 64 hexadecimal digits")),
    responses(
        (status = 200, description = "The file", body = Binary, content_type = "application/octet-stream"),
        (status = 400, description = "Not a digest", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No artifact has this digest", body = ErrorBody),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    ApiPath(sha256): ApiPath<String>,
) -> Result<Response, AppError> {
    let reader = state
        .store
        .artifacts()
        .get(&sha256)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no artifact has sha256 {sha256}")))?;
    let size = reader.size;
    let mut response = Body::from_stream(reader.content).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"sha256:{}\"", sha256.to_ascii_lowercase())) {
        headers.insert(header::ETAG, etag);
    }
    // The content under a digest never changes.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(response)
}
