//! The stylesheet, the script and the icon, compiled into the binary and served under
//! `/assets/{file}`.
//!
//! Pages link them with a `?v=` fingerprint of their contents, so that a link with the current
//! fingerprint can be cached for a year and a new binary's assets are fetched at once.

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "gantry.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/gantry.css"),
    },
    Asset {
        name: "gantry.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/gantry.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../assets/favicon.svg"),
    },
];

/// A fingerprint of every asset together, computed at compile time.
const VERSION: u64 = fingerprint();

/// FNV-1a over every asset: small, `const`, and enough to tell two builds' assets apart.
const fn fingerprint() -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut asset = 0;
    while asset < ASSETS.len() {
        let body = ASSETS[asset].body;
        let mut index = 0;
        while index < body.len() {
            hash ^= body[index] as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            index += 1;
        }
        asset += 1;
    }
    hash
}

/// The URL of an asset, with the fingerprint that lets browsers cache it for good.
pub fn href(name: &str) -> String {
    format!("/assets/{name}?v={VERSION:016x}")
}

/// `GET /assets/{file}`
pub async fn serve(Path(file): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == file) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such asset\n",
        )
            .into_response();
    };
    let current = query.is_some_and(|query| query == format!("v={VERSION:016x}"));
    // A link with the current fingerprint never changes meaning; any other may, after an upgrade.
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{VERSION:016x}\"")) {
        headers.insert(header::ETAG, etag);
    }
    response
}
