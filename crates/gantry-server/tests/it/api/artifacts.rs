//! Artifact uploads by digest and downloads.

use axum::http::StatusCode;
use serde_json::json;

use gantry_test::run::sha256;

use crate::support::{Api, Call};

#[tokio::test]
async fn uploads_once_and_downloads() {
    let api = Api::new().await;
    let content = b"hello, artifact".repeat(10_000);
    let digest = sha256(&content);
    let put = |body: Vec<u8>| {
        Call::put(&format!("/api/v1/artifacts/{digest}"))
            .token(&api.reporter)
            .bytes(body)
    };
    let reply = api.send(put(content.clone())).await;
    reply.expect(StatusCode::CREATED);
    assert_eq!(
        reply.json(),
        json!({"sha256": digest, "size": content.len(), "created": true})
    );
    // Present already: acknowledged, not rewritten (not even read: a wrong body is not noticed).
    let reply = api.send(put(b"anything".to_vec())).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.json()["created"], false);
    let stored = api.store().artifacts().stored_at(&digest).unwrap();
    assert_eq!(std::fs::read(stored).unwrap(), content);

    let reply = api
        .send(Call::get(&format!("/api/v1/artifacts/{}", digest.to_uppercase())).token(&api.reader))
        .await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.body.as_ref(), content.as_slice());
    assert_eq!(reply.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        reply.header("content-length"),
        Some(content.len().to_string().as_str())
    );
    assert_eq!(
        reply.header("etag"),
        Some(format!("\"sha256:{digest}\"").as_str())
    );
}

#[tokio::test]
async fn refuses_bad_digests_wrong_content_and_missing_artifacts() {
    let api = Api::new().await;
    for bad in ["abc", "..%2F..%2Fetc%2Fpasswd", &"g".repeat(64)] {
        let reply = api
            .send(
                Call::put(&format!("/api/v1/artifacts/{bad}"))
                    .token(&api.reporter)
                    .bytes("x"),
            )
            .await;
        reply.expect(StatusCode::BAD_REQUEST);
        assert_eq!(reply.error_code(), "invalid_digest", "{bad}");
        let reply = api
            .send(Call::get(&format!("/api/v1/artifacts/{bad}")).token(&api.reader))
            .await;
        reply.expect(StatusCode::BAD_REQUEST);
    }
    let claimed = sha256(b"what was promised");
    let reply = api
        .send(
            Call::put(&format!("/api/v1/artifacts/{claimed}"))
                .token(&api.reporter)
                .bytes("something else"),
        )
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "digest_mismatch");
    let artifacts = api.store().artifacts();
    assert!(artifacts.size(&claimed).await.unwrap().is_none());
    let shard = artifacts.stored_at(&claimed).unwrap();
    let left: Vec<_> = std::fs::read_dir(shard.parent().unwrap())
        .map(|entries| entries.flatten().map(|entry| entry.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "no partial upload is left behind: {left:?}");

    let reply = api
        .send(Call::get(&format!("/api/v1/artifacts/{claimed}")).token(&api.reader))
        .await;
    reply.expect(StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
}

#[tokio::test]
async fn refuses_uploads_over_the_limit() {
    let api = Api::with(|state| state.max_upload_bytes(1000)).await;
    let content = vec![7_u8; 1001];
    let digest = sha256(&content);
    let url = format!("/api/v1/artifacts/{digest}");
    // Declared too large up front.
    let reply = api
        .send(Call::put(&url).token(&api.reporter).bytes(content.clone()))
        .await;
    reply.expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error_code(), "payload_too_large");
    // Found too large while streaming (no length declared).
    let chunks = vec![
        Ok::<_, std::io::Error>(content[..600].to_vec()),
        Ok(content[600..].to_vec()),
    ];
    let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
    let request = axum::http::Request::put(&url)
        .header("authorization", format!("Bearer {}", api.reporter))
        .body(body)
        .unwrap();
    let response = tower::ServiceExt::oneshot(api.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(api.store().artifacts().size(&digest).await.unwrap().is_none());
    // At the limit: fine.
    let content = vec![7_u8; 1000];
    let reply = api
        .send(
            Call::put(&format!("/api/v1/artifacts/{}", sha256(&content)))
                .token(&api.reporter)
                .bytes(content),
        )
        .await;
    reply.expect(StatusCode::CREATED);
}
