//! Artifacts in an S3-compatible bucket (a real moto server): a run recorded straight into a
//! store keeps its artifacts there, uploads through the API land there and download byte for
//! byte, a wrong digest leaves nothing visible, two servers share one bucket, and a bucket that
//! cannot be used stops the server at startup with an error that names it.

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use gantry_model::RunEventKind;
use gantry_model::TaskPath;
use gantry_server::{Server, ServerConfig};
use gantry_store::{ArtifactStore, Store, StoreOptions};
use serde_json::Value;

use gantry_test::run::sha256;
use gantry_test::{RunBuilder, TestStore};

use crate::support::Running;
use crate::support::moto::Moto;
use crate::support::server::{read, report, send};

const ADMIN: &str = "s3-test-admin-secret-0123456789abcdef";

/// Larger than one part of a multipart upload (5 MiB), so that parts are really sent apart.
fn big_content() -> Vec<u8> {
    (0..12 * 1024 * 1024_u32)
        .map(|index| index.wrapping_mul(2_654_435_761).to_le_bytes()[1])
        .collect()
}

async fn server(moto: &Moto, bucket: &str) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), TestStore::url_in(&dir));
    config.artifacts = Some(moto.location(bucket, "ci/artifacts"));
    config.admin_token = Some(ADMIN.to_owned());
    (Running::with(config).await, dir)
}

async fn put(server: &Running, digest: &str, content: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::PUT)
        .uri(server.url(&format!("/api/v1/artifacts/{digest}")))
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/octet-stream")
        .body(Body::from(content))
        .unwrap();
    let (status, body) = read(send(request).await).await;
    (status, serde_json::from_slice(&body).unwrap())
}

async fn get(server: &Running, path: &str) -> (StatusCode, Bytes) {
    let request = Request::builder()
        .uri(server.url(path))
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    read(send(request).await).await
}

#[tokio::test]
async fn a_run_recorded_locally_keeps_its_artifacts_in_the_bucket() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    moto.create_bucket("gantry-local").await;
    let location = moto.location("gantry-local", "team");
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        artifacts: Some(location.clone()),
    };
    let store = Store::open_with(&TestStore::url_in(&dir), &options)
        .await
        .unwrap();
    let built = dir.path().join("hello");
    std::fs::write(&built, b"hello from a local run").unwrap();
    let digest = sha256(b"hello from a local run");

    let mut run = RunBuilder::new("hello", store.allocate_build("hello").await.unwrap());
    let events = [
        run.queued(),
        run.started(),
        run.event(RunEventKind::ArtifactPackaged {
            path: TaskPath("build/compile".into()),
            name: "hello".into(),
            source: built.display().to_string(),
            size: 22,
            sha256: digest.clone(),
        }),
    ];
    store.record(&events).await.unwrap();

    let detail = store.find_run(run.id()).await.unwrap().unwrap();
    let [artifact] = detail.artifacts.as_slice() else {
        panic!("{:?}", detail.artifacts)
    };
    let key = format!("team/sha256/{}/{digest}", &digest[..2]);
    assert_eq!(
        artifact.path.display().to_string(),
        format!("s3://gantry-local/{key}")
    );
    assert_eq!(moto.contents("gantry-local").await, (vec![key], vec![]));
    assert!(
        !dir.path().join("data/artifacts").exists(),
        "nothing is kept beside the database"
    );
    // Another process reading the same bucket finds the same bytes.
    let elsewhere = ArtifactStore::open(location).await.unwrap();
    let reader = elsewhere.get(&digest).await.unwrap().unwrap();
    assert_eq!(reader.size, 22);
    let content: Vec<Bytes> = futures_util::TryStreamExt::try_collect(reader.content)
        .await
        .unwrap();
    assert_eq!(content.concat(), b"hello from a local run");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_through_the_api_land_in_the_bucket_and_download_byte_for_byte() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    moto.create_bucket("gantry-api").await;
    let (mut server, _dir) = server(&moto, "gantry-api").await;
    let content = big_content();
    let digest = sha256(&content);

    let (status, body) = put(&server, &digest, content.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["size"], content.len());
    let key = format!("ci/artifacts/sha256/{}/{digest}", &digest[..2]);
    assert_eq!(moto.contents("gantry-api").await, (vec![key.clone()], vec![]));

    let (status, downloaded) = get(&server, &format!("/api/v1/artifacts/{digest}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        downloaded.as_ref() == content.as_slice(),
        "the same bytes come back"
    );

    // A run that packaged it is recorded against the copy in the bucket.
    let mut run = RunBuilder::new("hello", 1);
    let events = [
        run.queued(),
        run.started(),
        run.artifact("build/compile", "hello", &content),
    ];
    report(&server, ADMIN, &events).await;
    let (status, body) = get(&server, &format!("/api/v1/runs/{}", run.id())).await;
    assert_eq!(status, StatusCode::OK);
    let detail: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(detail["artifacts"][0]["sha256"], digest.as_str());
    assert_eq!(
        detail["artifacts"][0]["download"],
        format!("/api/v1/artifacts/{digest}").as_str()
    );
    assert_eq!(moto.contents("gantry-api").await, (vec![key], vec![]));
    server.shut_down();
    server.stopped().await;
}

#[tokio::test]
async fn a_wrong_digest_is_refused_and_nothing_becomes_visible() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    moto.create_bucket("gantry-mismatch").await;
    let (mut server, _dir) = server(&moto, "gantry-mismatch").await;
    let claimed = sha256(b"what was promised");

    let (status, body) = put(&server, &claimed, big_content()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "digest_mismatch");
    assert_eq!(moto.contents("gantry-mismatch").await, (vec![], vec![]));
    let (status, _) = get(&server, &format!("/api/v1/artifacts/{claimed}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The right content is accepted afterwards.
    let (status, body) = put(&server, &claimed, b"what was promised".to_vec()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server.shut_down();
    server.stopped().await;
}

#[tokio::test]
async fn two_servers_share_one_bucket() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    moto.create_bucket("gantry-shared").await;
    let (mut uploader, _a) = server(&moto, "gantry-shared").await;
    let (mut reader, _b) = server(&moto, "gantry-shared").await;
    let content = b"built once, promoted as the same bytes".to_vec();
    let digest = sha256(&content);

    let (status, _) = put(&uploader, &digest, content.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, downloaded) = get(&reader, &format!("/api/v1/artifacts/{digest}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(downloaded.as_ref(), content.as_slice());
    // Content-addressed: the other server has it already, and does not write it again.
    let (status, body) = put(&reader, &digest, content).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["created"], false);
    assert_eq!(moto.contents("gantry-shared").await.0.len(), 1);
    for server in [&mut uploader, &mut reader] {
        server.shut_down();
    }
    uploader.stopped().await;
    reader.stopped().await;
}

#[tokio::test]
async fn a_bucket_that_cannot_be_used_stops_the_server_at_startup() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), TestStore::url_in(&dir));
    config.artifacts = Some(moto.location("gantry-no-such-bucket", "ci"));
    let error = Server::bind(config).await.unwrap_err();
    let message = gantry_server::error::chain(&error);
    for expected in [
        "failed to open the artifact store `s3://gantry-no-such-bucket/ci`",
        "bucket `gantry-no-such-bucket`",
        "listing it failed",
        "the bucket does not exist",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }

    let Some(checking) = Moto::start_checking_credentials().await else {
        return;
    };
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), TestStore::url_in(&dir));
    config.artifacts = Some(checking.location("gantry-guarded", ""));
    let error = Server::bind(config).await.unwrap_err();
    let message = gantry_server::error::chain(&error);
    for expected in [
        "bucket `gantry-guarded`",
        "listing it failed",
        "the credentials were refused",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    assert!(!message.contains("gantry-test-secret"), "{message}");
}
