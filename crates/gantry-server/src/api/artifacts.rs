//! Content-addressed artifacts: `PUT /api/v1/artifacts/{sha256}` uploads a file under its
//! digest, `GET` downloads it.
//!
//! An upload streams to a temporary file in the artifact directory while it is hashed and
//! counted, and is renamed into place only once its digest is right, so a file under a digest
//! is always complete and correct. A digest stored already is acknowledged without reading
//! the body (the bytes are the same by definition).

use std::path::{Path, PathBuf};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use gantry_api::{ArtifactStored, ErrorBody};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::AppError;
use crate::extract::ApiPath;
use crate::openapi::Binary;
use crate::state::AppState;

/// Where uploads are written before they are renamed into place, inside the artifact
/// directory so that the rename never crosses file systems.
pub const UPLOADS_DIR: &str = ".uploads";

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
    let target = state.store.artifact_file(&sha256)?;
    let digest = sha256.to_ascii_lowercase();
    if let Ok(metadata) = tokio::fs::metadata(&target).await
        && metadata.is_file()
    {
        let stored = ArtifactStored {
            sha256: digest,
            size: metadata.len(),
            created: false,
        };
        return Ok((StatusCode::OK, Json(stored)).into_response());
    }
    let limit = state.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(AppError::too_large(limit));
    }
    let uploads = state.store.artifact_dir().join(UPLOADS_DIR);
    tokio::fs::create_dir_all(&uploads)
        .await
        .map_err(|error| AppError::internal("create the upload directory", &error))?;
    let partial = Partial(uploads.join(format!("{}.partial", uuid::Uuid::new_v4())));
    let (size, actual) = receive(body, &partial.0, limit).await?;
    if actual != digest {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "digest_mismatch",
            format!("the uploaded content has sha256 {actual}, not {digest}"),
        ));
    }
    if let Some(dir) = target.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|error| AppError::internal("create an artifact directory", &error))?;
    }
    // Another upload of the same digest may land first; the bytes are the same.
    tokio::fs::rename(&partial.0, &target)
        .await
        .map_err(|error| AppError::internal("move an upload into place", &error))?;
    tracing::info!(sha256 = %digest, size, "stored an artifact");
    let stored = ArtifactStored {
        sha256: digest,
        size,
        created: true,
    };
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

/// Streams `body` into a new file at `path`, returning its size and sha256.
async fn receive(body: Body, path: &Path, limit: u64) -> Result<(u64, String), AppError> {
    let write_error = |error: std::io::Error| AppError::internal("write an upload", &error);
    let mut file = tokio::fs::File::create(path).await.map_err(write_error)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|error| AppError::bad_request(format!("the upload was cut short: {error}")))?;
        size = size.saturating_add(chunk.len() as u64);
        if size > limit {
            return Err(AppError::too_large(limit));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(write_error)?;
    }
    file.flush().await.map_err(write_error)?;
    file.sync_all().await.map_err(write_error)?;
    Ok((size, hex::encode(hasher.finalize())))
}

/// An upload's temporary file, removed unless it was renamed into place.
struct Partial(PathBuf);

impl Drop for Partial {
    fn drop(&mut self) {
        // Gone already once renamed; otherwise an unfinished upload that must not linger.
        let _ = std::fs::remove_file(&self.0);
    }
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
    let not_found = || AppError::not_found(format!("no artifact has sha256 {sha256}"));
    let path = state.store.artifact_path(&sha256)?.ok_or_else(not_found)?;
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(error) => return Err(AppError::internal("open an artifact", &error)),
    };
    let size = file
        .metadata()
        .await
        .map_err(|error| AppError::internal("read an artifact", &error))?
        .len();
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
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
