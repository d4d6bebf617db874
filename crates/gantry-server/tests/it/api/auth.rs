//! Tokens and scopes on every route, anonymous reading, and the browser's login cookie.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Api, Call};

/// One route of each kind, with the scope it needs.
fn routes() -> Vec<(Call, &'static str)> {
    let digest = "0".repeat(64);
    vec![
        (Call::get("/api/v1/runs"), "read"),
        (Call::get("/api/v1/apps"), "read"),
        (Call::get("/api/v1/events?chain=x"), "read"),
        (Call::get(&format!("/api/v1/artifacts/{digest}")), "read"),
        (Call::post("/api/v1/apps/hello/builds"), "report"),
        (
            Call::post("/api/v1/runs/r/events").json(&json!({"version": 2, "events": []})),
            "report",
        ),
        (Call::post("/api/v1/events").json(&json!([])), "report"),
        (
            Call::put(&format!("/api/v1/artifacts/{digest}")).bytes(""),
            "report",
        ),
        (Call::get("/api/v1/tokens"), "admin"),
        (
            Call::post("/api/v1/tokens").json(&json!({"name": "x", "scopes": ["read"]})),
            "admin",
        ),
        (Call::delete("/api/v1/tokens/nobody"), "admin"),
    ]
}

fn rank(scope: &str) -> u8 {
    match scope {
        "read" => 1,
        "report" => 2,
        _ => 3,
    }
}

#[tokio::test]
async fn every_route_checks_its_scope() {
    let api = Api::new().await;
    for (index, (_, needed)) in routes().into_iter().enumerate() {
        for (token, held) in [
            (&api.reader, "read"),
            (&api.reporter, "report"),
            (&api.admin, "admin"),
        ] {
            let (call, _) = routes().swap_remove(index);
            let reply = api.send(call.token(token)).await;
            if rank(held) >= rank(needed) {
                assert!(
                    !matches!(reply.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                    "route {index} with {held}: {} {}",
                    reply.status,
                    reply.text()
                );
            } else {
                reply.expect(StatusCode::FORBIDDEN);
                assert_eq!(reply.error_code(), "forbidden");
            }
            assert!(!reply.status.is_server_error(), "route {index}: {}", reply.text());
        }
        let (call, _) = routes().swap_remove(index);
        let reply = api.send(call).await;
        reply.expect(StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error_code(), "unauthorized");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer realm=\"gantry\""));
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_before_any_token_is_asked_for() {
    let api = Api::new().await;
    // The method table of a route is no secret (the OpenAPI document is public): a wrong method
    // answers 405 with or without a token, with a bad one, and on public routes too.
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/runs", "GET,HEAD"),
        (Method::PUT, "/api/v1/openapi.json", "GET,HEAD"),
        (Method::GET, "/api/v1/apps/hello/builds", "POST"),
        (Method::PUT, "/api/v1/tokens", "GET,HEAD,POST"),
        (Method::POST, "/api/v1/tokens/ci", "DELETE"),
        (Method::POST, "/runs", "GET,HEAD"),
    ] {
        for token in [None, Some("gantry_not-a-token"), Some(api.reader.as_str())] {
            let call = Call::new(method.clone(), path);
            let call = match token {
                Some(token) => call.token(token),
                None => call,
            };
            let reply = api.send(call).await;
            reply.expect(StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(reply.error_code(), "method_not_allowed", "{method} {path}");
            let mut allowed: Vec<&str> = reply
                .header("allow")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .collect();
            allowed.sort_unstable();
            assert_eq!(allowed.join(","), allow, "{method} {path} with {token:?}");
            assert!(reply.header("www-authenticate").is_none(), "{method} {path}");
        }
    }
    // A page a browser asks for with a wrong method is not sent to the login form either.
    let reply = api.send(Call::post("/runs").header("accept", "text/html")).await;
    reply.expect(StatusCode::METHOD_NOT_ALLOWED);
    // The right method still needs its token, and an unknown path is still a 401 without one.
    for call in [
        Call::get("/api/v1/runs"),
        Call::delete("/api/v1/tokens/ci"),
        Call::get("/api/v1/nope"),
    ] {
        api.send(call).await.expect(StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn refuses_unknown_revoked_and_malformed_tokens() {
    let api = Api::new().await;
    for authorization in [
        "Bearer gantry_not-a-token",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "gibberish",
    ] {
        let reply = api
            .send(Call::get("/api/v1/runs").header("authorization", authorization))
            .await;
        reply.expect(StatusCode::UNAUTHORIZED);
        assert_eq!(reply.error_code(), "unauthorized");
    }
    assert!(api.store().revoke_token("reader").await.unwrap());
    api.send(Call::get("/api/v1/runs").token(&api.reader))
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anonymous_reading_opens_reads_only() {
    let api = Api::with(|state| state.anonymous_read(true)).await;
    for (index, (call, needed)) in routes().into_iter().enumerate() {
        let reply = api.send(call).await;
        if needed == "read" {
            assert!(
                !matches!(reply.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                "route {index}"
            );
        } else {
            reply.expect(StatusCode::UNAUTHORIZED);
        }
    }
    api.send(Call::get("/").header("accept", "text/html"))
        .await
        .expect(StatusCode::OK);
    // A bad bearer token is still refused: the client should learn it is wrong.
    api.send(Call::get("/api/v1/runs").token("gantry_wrong"))
        .await
        .expect(StatusCode::UNAUTHORIZED);
    // A stale cookie is not: the pages still show.
    api.send(Call::get("/api/v1/runs").header("cookie", "gantry_token=stale"))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn pages_send_browsers_to_the_login_form() {
    let api = Api::new().await;
    let reply = api
        .send(Call::get("/runs?app=hello").header("accept", "text/html,*/*"))
        .await;
    reply.expect(StatusCode::SEE_OTHER);
    assert_eq!(reply.header("location"), Some("/login?next=/runs%3Fapp%3Dhello"));
    // Not a browser: a 401 in the error shape.
    api.send(Call::get("/runs"))
        .await
        .expect(StatusCode::UNAUTHORIZED);
    // The API never redirects.
    let reply = api
        .send(Call::get("/api/v1/runs").header("accept", "text/html"))
        .await;
    reply.expect(StatusCode::UNAUTHORIZED);

    let form = api.send(Call::get("/login?next=/runs")).await;
    form.expect(StatusCode::OK);
    assert!(
        form.text().contains(r#"name="token""#) && form.text().contains(r#"value="/runs""#),
        "{}",
        form.text()
    );
}

#[tokio::test]
async fn login_sets_a_cookie_that_authorizes_and_logout_clears_it() {
    let api = Api::new().await;
    let body = format!("token={}&next=%2Fruns", api.reader);
    let reply = api
        .send(Call::post("/login").raw("application/x-www-form-urlencoded", body))
        .await;
    reply.expect(StatusCode::SEE_OTHER);
    assert_eq!(reply.header("location"), Some("/runs"));
    let cookie = reply.header("set-cookie").unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap();
    assert_eq!(pair, format!("gantry_token={}", api.reader));
    api.send(Call::get("/api/v1/runs").header("cookie", pair))
        .await
        .expect(StatusCode::OK);
    api.send(
        Call::get("/")
            .header("cookie", pair)
            .header("accept", "text/html"),
    )
    .await
    .expect(StatusCode::OK);
    // The cookie holds the reader's token: it may not report.
    api.send(Call::post("/api/v1/apps/a/builds").header("cookie", pair))
        .await
        .expect(StatusCode::FORBIDDEN);

    let reply = api.send(Call::post("/logout")).await;
    reply.expect(StatusCode::SEE_OTHER);
    assert!(reply.header("set-cookie").unwrap().contains("Max-Age=0"));

    // Never to another site.
    let body = format!("token={}&next=%2F%2Fevil.example", api.reader);
    let reply = api
        .send(Call::post("/login").raw("application/x-www-form-urlencoded", body))
        .await;
    assert_eq!(reply.header("location"), Some("/"));
}

#[tokio::test]
async fn login_refuses_bad_tokens() {
    let api = Api::new().await;
    let login = |token: &str| {
        Call::post("/login").raw(
            "application/x-www-form-urlencoded",
            format!("token={token}&next=%2F"),
        )
    };
    let reply = api.send(login("gantry_wrong")).await;
    reply.expect(StatusCode::UNAUTHORIZED);
    assert!(reply.header("set-cookie").is_none());
    assert!(reply.text().contains("not valid"));
    api.send(login("")).await.expect(StatusCode::BAD_REQUEST);
    api.send(Call::post("/login").raw("application/x-www-form-urlencoded", "nothing=here"))
        .await
        .expect(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tokens_record_when_they_were_used() {
    let api = Api::new().await;
    let before = api.store().list_tokens().await.unwrap();
    assert!(before.iter().all(|token| token.last_used_at.is_none()));
    api.send(Call::get("/api/v1/runs").token(&api.reader))
        .await
        .expect(StatusCode::OK);
    let after = api.store().list_tokens().await.unwrap();
    let reader = after.iter().find(|token| token.name == "reader").unwrap();
    assert!(reader.last_used_at.is_some());
}
