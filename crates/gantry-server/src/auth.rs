//! Who may do what: API tokens with scopes, checked on every route by one middleware
//! ([`require`]), and the tiny `/login` form that lets a browser hold a token in a cookie.
//!
//! A token is sent as `Authorization: Bearer TOKEN`, or by a browser as the `gantry_token`
//! cookie (`HttpOnly`, `SameSite=Strict`) that `POST /login` sets and `POST /logout` clears.
//! Each route needs the permission declared where it is registered (`router.rs`), read
//! from the table of [`Permissions`]: `read` for what the API and the UI show, `report` for
//! what clients send (build numbers, run events, artifacts, CDEvents), `admin` for tokens, and
//! nothing for health, metrics, the OpenAPI document, the login form and the UI's static
//! assets. With `anonymous_read`, reading needs no token either. A route without a declared
//! permission is refused to everyone.
//!
//! Refusals: no or a bad token is a 401 for the API (JSON) and a redirect to `/login` for a
//! page a browser asked for; a token without the scope is a 403. A method the route does not
//! take never gets here: the router answers it with a 405 first (see `router.rs`). Secrets are
//! never logged.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use gantry_store::{Scope, TokenRecord};
use maud::Markup;
use serde::Deserialize;

use crate::error::AppError;
use crate::permission::Permissions;
use crate::state::AppState;

/// The cookie holding a browser's token.
pub const COOKIE: &str = "gantry_token";

/// How long a browser keeps its login (30 days).
const COOKIE_MAX_AGE_SECONDS: u32 = 30 * 24 * 60 * 60;

/// Who is asking; in every authorized request's extensions, for handlers that care (approvals
/// and the audit log name it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person, through one of their tokens.
    User { name: String, token: TokenRecord },
    /// A token of no user: a CI service, an agent; named by the token.
    Machine(TokenRecord),
    /// No token (allowed only where `anonymous_read` opens reading).
    Anonymous,
}

/// How a request's token came, beside its [`Principal`] in the request's extensions: a
/// browser's login cookie can be signed out of, a bearer token cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Bearer,
    Cookie,
}

impl Principal {
    /// The principal a token speaks for: its user's, else the token itself as a machine.
    pub fn of(token: TokenRecord) -> Self {
        match token.user.clone() {
            Some(name) => Self::User { name, token },
            None => Self::Machine(token),
        }
    }

    /// The token, if there is one.
    pub fn token(&self) -> Option<&TokenRecord> {
        match self {
            Self::User { token, .. } | Self::Machine(token) => Some(token),
            Self::Anonymous => None,
        }
    }

    /// The name an audit trail records: the user's name, `token:NAME` for a machine token, or
    /// `anonymous`. User and token names cannot hold a `:`, so the three never collide.
    pub fn audit_name(&self) -> String {
        match self {
            Self::User { name, .. } => name.clone(),
            Self::Machine(token) => format!("token:{}", token.name),
            Self::Anonymous => "anonymous".to_owned(),
        }
    }
}

/// A secret presented with a request.
struct Credential {
    secret: String,
    from_cookie: bool,
}

/// The bearer token, else the cookie's.
fn credential(headers: &HeaderMap) -> Option<Credential> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?.trim();
        let (scheme, secret) = text.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| Credential {
            secret: secret.trim().to_owned(),
            from_cookie: false,
        });
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| Credential {
            secret: cookie_decode(value),
            from_cookie: true,
        })
}

/// Middleware: lets a request through only with what its route needs, as `permissions` says;
/// a path that matches no route needs the fallback's permission.
pub async fn require(
    State((state, permissions)): State<(AppState, Arc<Permissions>)>,
    mut request: Request,
    next: Next,
) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let permission = match &matched {
        Some(route) => permissions.get(request.method(), route),
        None => Some(permissions.fallback()),
    };
    let route = matched.unwrap_or_else(|| request.uri().path().to_owned());
    let Some(permission) = permission else {
        // A route registered without a permission is a mistake in the route table; it stays
        // closed rather than open to everyone.
        tracing::error!(route, method = %request.method(), "refused a request: the route declares no permission");
        return AppError::forbidden("this route declares no permission, so nobody may use it")
            .into_response();
    };
    let Some(needed) = permission.scope() else {
        return next.run(request).await;
    };
    let mut source = None;
    let principal = match credential(request.headers()) {
        None => Principal::Anonymous,
        Some(credential) => match state
            .metrics
            .time_store("authenticate", state.store.authenticate(&credential.secret))
            .await
        {
            Ok(Some(token)) => {
                source = Some(if credential.from_cookie {
                    TokenSource::Cookie
                } else {
                    TokenSource::Bearer
                });
                Principal::of(token)
            }
            // A stale cookie is as good as none: with anonymous reading the pages still show.
            Ok(None) if credential.from_cookie => Principal::Anonymous,
            Ok(None) => {
                tracing::info!(route, "refused a request with an unknown or revoked token");
                return AppError::unauthorized("the token is not valid (unknown or revoked)").into_response();
            }
            Err(error) => return AppError::from(error).into_response(),
        },
    };
    let allowed = match principal.token() {
        None => needed == Scope::Read && state.anonymous_read,
        Some(token) => token.allows(needed),
    };
    if !allowed {
        let wants_page = !route.starts_with("/api/") && accepts_html(request.headers());
        return match principal.token() {
            None if wants_page => {
                let here = request
                    .uri()
                    .path_and_query()
                    .map_or("/", |target| target.as_str());
                Redirect::to(&format!("/login?next={}", query_encode(here))).into_response()
            }
            None => AppError::unauthorized(format!(
                "this route needs a token with the `{needed}` scope: send `Authorization: Bearer TOKEN`"
            ))
            .into_response(),
            Some(token) => {
                tracing::info!(route, token = %token.name, principal = %principal.audit_name(), %needed, "refused a request: missing scope");
                AppError::forbidden(format!(
                    "token `{}` lacks the `{needed}` scope this route needs",
                    token.name
                ))
                .into_response()
            }
        };
    }
    if let Some(token) = principal.token() {
        tracing::debug!(token = %token.name, principal = %principal.audit_name(), "authorized");
    }
    request.extensions_mut().insert(principal);
    if let Some(source) = source {
        request.extensions_mut().insert(source);
    }
    next.run(request).await
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    token: String,
    next: Option<String>,
}

/// `GET /login`: a form to paste a token into.
pub(crate) async fn login_form(query: Result<Query<LoginQuery>, QueryRejection>) -> Response {
    let next = query.ok().and_then(|Query(query)| query.next);
    page(StatusCode::OK, None, next.as_deref())
}

/// `POST /login`: checks the token and, if it may read, keeps it in the browser's cookie.
pub(crate) async fn login(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return page(
            StatusCode::BAD_REQUEST,
            Some("Paste a token into the field."),
            None,
        );
    };
    let next = form.next.as_deref();
    let secret = form.token.trim();
    if secret.is_empty() {
        return page(
            StatusCode::BAD_REQUEST,
            Some("Paste a token into the field."),
            next,
        );
    }
    let token = match state.store.authenticate(secret).await {
        Ok(Some(token)) => token,
        Ok(None) => {
            return page(
                StatusCode::UNAUTHORIZED,
                Some("That token is not valid (unknown or revoked)."),
                next,
            );
        }
        Err(error) => return AppError::from(error).into_response(),
    };
    if !token.allows(Scope::Read) {
        return page(StatusCode::FORBIDDEN, Some("That token may not read."), next);
    }
    tracing::info!(token = %token.name, principal = %Principal::of(token.clone()).audit_name(), "browser logged in");
    let secure = over_https(&uri, &headers, state.trust_proxy);
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_SECONDS}{}",
        cookie_encode(secret),
        if secure { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(safe_next(next)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Whether a request came over HTTPS: to this server directly, or, when `trust_proxy`, to a
/// reverse proxy that says so in `X-Forwarded-Proto` (its first value: the client's side).
/// Without `trust_proxy` the header is the client's word, and is not taken.
fn over_https(uri: &Uri, headers: &HeaderMap, trust_proxy: bool) -> bool {
    if uri.scheme_str() == Some("https") {
        return true;
    }
    trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|proto| proto.to_str().ok())
            .and_then(|proto| proto.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// `POST /logout`: forgets the browser's token.
pub(crate) async fn logout() -> Response {
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("gantry_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

/// Where to go after logging in: a path on this server, never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => next,
        _ => "/",
    }
}

fn page(status: StatusCode, problem: Option<&str>, next: Option<&str>) -> Response {
    let markup: Markup = crate::ui::login_page(problem, safe_next(next));
    let mut response = (status, markup).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Percent-encodes what a cookie value may not hold (and `%` itself).
fn cookie_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let plain =
            matches!(byte, 0x21 | 0x23..=0x24 | 0x26..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E);
        if plain {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn cookie_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok());
        match (bytes[index], hex.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a path and query to carry it in a query parameter.
pub(crate) fn query_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_tokens_then_cookies() {
        let headers = |pairs: &[(header::HeaderName, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(name.clone(), HeaderValue::from_str(value).unwrap());
            }
            map
        };
        let secret =
            |map: HeaderMap| credential(&map).map(|credential| (credential.secret, credential.from_cookie));
        assert_eq!(
            secret(headers(&[(header::AUTHORIZATION, "Bearer abc")])),
            Some(("abc".into(), false))
        );
        assert_eq!(
            secret(headers(&[(header::AUTHORIZATION, "bearer  abc ")])),
            Some(("abc".into(), false))
        );
        assert_eq!(secret(headers(&[(header::AUTHORIZATION, "Basic abc")])), None);
        assert_eq!(
            secret(headers(&[(header::COOKIE, "a=b; gantry_token=x%3By")])),
            Some(("x;y".into(), true))
        );
        assert_eq!(secret(headers(&[(header::COOKIE, "a=b")])), None);
        assert_eq!(secret(HeaderMap::new()), None);
    }

    #[test]
    fn https_is_the_request_s_own_scheme_or_a_trusted_proxy_s_word() {
        let check = |uri: &str, forwarded: Option<&str>, trust_proxy: bool, expect: bool| {
            let mut headers = HeaderMap::new();
            if let Some(proto) = forwarded {
                headers.insert("x-forwarded-proto", HeaderValue::from_str(proto).unwrap());
            }
            let uri: Uri = uri.parse().unwrap();
            assert_eq!(
                over_https(&uri, &headers, trust_proxy),
                expect,
                "{uri} {forwarded:?} trust_proxy={trust_proxy}"
            );
        };
        check("/login", None, false, false);
        check("/login", None, true, false);
        check("https://ci.example/login", None, false, true);
        check("/login", Some("https"), false, false);
        check("/login", Some("https"), true, true);
        check("/login", Some("HTTPS"), true, true);
        check("/login", Some("https, http"), true, true);
        check("/login", Some("http, https"), true, false);
        check("/login", Some("http"), true, false);
    }

    #[test]
    fn cookie_values_round_trip() {
        for value in [
            "gantry_0123abcd",
            "with space; and \"quotes\", commas\\ and %",
            "ünïcode",
        ] {
            let encoded = cookie_encode(value);
            assert!(
                HeaderValue::from_str(&format!("{COOKIE}={encoded}")).is_ok(),
                "{encoded}"
            );
            assert!(!encoded.contains([';', ' ', ',', '"']), "{encoded}");
            assert_eq!(cookie_decode(&encoded), value);
        }
    }

    #[test]
    fn principals_name_a_user_a_machine_or_nobody() {
        let token = |user: Option<&str>| TokenRecord {
            name: "laptop".to_owned(),
            scopes: vec![Scope::Read],
            user: user.map(str::to_owned),
            created_at: chrono::Utc::now(),
            last_used_at: None,
        };
        let user = Principal::of(token(Some("alice")));
        assert!(matches!(&user, Principal::User { name, .. } if name == "alice"));
        assert_eq!(user.audit_name(), "alice");
        assert_eq!(user.token().map(|token| token.name.as_str()), Some("laptop"));
        let machine = Principal::of(token(None));
        assert!(matches!(machine, Principal::Machine(_)));
        assert_eq!(machine.audit_name(), "token:laptop");
        assert_eq!(Principal::Anonymous.audit_name(), "anonymous");
        assert_eq!(Principal::Anonymous.token(), None);
    }

    #[test]
    fn goes_back_only_to_this_server() {
        assert_eq!(safe_next(Some("/runs?app=x")), "/runs?app=x");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(query_encode("/runs?app=a b&x=1"), "/runs%3Fapp%3Da%20b%26x%3D1");
    }
}
