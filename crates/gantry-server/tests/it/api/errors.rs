//! The error body every failure shares, as a client reads it: one snapshot per kind of refusal.

use serde_json::json;

use crate::support::{Api, Call};

#[tokio::test]
async fn errors_share_one_shape() {
    let api = Api::new().await;
    let _redacted = gantry_test::redacted(&[]).bind_to_scope();
    let reply = api
        .send(Call::get("/api/v1/runs/no-such-run").token(&api.reader))
        .await;
    insta::assert_json_snapshot!("not_found", reply.transcript());
    let reply = api.send(Call::get("/api/v1/runs")).await;
    insta::assert_json_snapshot!("unauthorized", reply.transcript());
    let reply = api.send(Call::get("/api/v1/tokens").token(&api.reader)).await;
    insta::assert_json_snapshot!("forbidden", reply.transcript());
    // Run events without their envelope's version, as a client older than the envelope sends.
    let reply = api
        .send(
            Call::post("/api/v1/runs/some-run/events")
                .token(&api.reporter)
                .json(&json!([])),
        )
        .await;
    insta::assert_json_snapshot!("unsupported_version", reply.transcript());
    let reply = api
        .send(Call::delete("/api/v1/tokens/admin").token(&api.admin))
        .await;
    insta::assert_json_snapshot!("conflict", reply.transcript());
}
