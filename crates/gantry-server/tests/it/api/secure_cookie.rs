//! The login cookie is `Secure` when the browser came over HTTPS: as a trusted reverse proxy
//! says in `X-Forwarded-Proto` (`--trust-proxy`), never on a client's own word.

use axum::http::StatusCode;

use crate::support::{Api, Call};

/// The `Set-Cookie` of logging in with the reader's token, with `X-Forwarded-Proto: proto`.
async fn login_cookie(api: &Api, proto: Option<&str>) -> String {
    let mut call = Call::post("/login").raw(
        "application/x-www-form-urlencoded",
        format!("token={}", api.reader),
    );
    if let Some(proto) = proto {
        call = call.header("x-forwarded-proto", proto);
    }
    let reply = api.send(call).await;
    reply.expect(StatusCode::SEE_OTHER);
    reply.header("set-cookie").expect("a cookie").to_owned()
}

fn is_secure(cookie: &str) -> bool {
    cookie.split(';').any(|attribute| attribute.trim() == "Secure")
}

#[tokio::test]
async fn a_trusted_proxy_saying_https_makes_the_cookie_secure() {
    let api = Api::with(|state| state.trust_proxy(true)).await;
    assert!(is_secure(&login_cookie(&api, Some("https")).await));
    assert!(!is_secure(&login_cookie(&api, Some("http")).await));
    assert!(!is_secure(&login_cookie(&api, None).await));
}

#[tokio::test]
async fn without_trust_proxy_the_header_is_not_believed() {
    let api = Api::new().await;
    let cookie = login_cookie(&api, Some("https")).await;
    assert!(!is_secure(&cookie), "{cookie}");
    assert!(!is_secure(&login_cookie(&api, None).await));
}
