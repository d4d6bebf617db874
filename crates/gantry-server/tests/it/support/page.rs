//! The UI's pages read through the router, and their HTML laid out one tag a line for a snapshot.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use gantry_server::AppState;
use gantry_test::TestStore;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The whole server's router in front of `test`'s store, readable without a token.
pub fn ui_router(test: &TestStore) -> Router {
    gantry_server::router::router(AppState::new(test.store.clone()).anonymous_read(true))
}

/// A response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// Fails with the page's text when `needle` is not on it.
    #[track_caller]
    pub fn has(&self, needle: &str) -> &Self {
        assert!(
            self.body.contains(needle),
            "expected `{needle}` on the page:\n{}",
            self.body
        );
        self
    }

    #[track_caller]
    pub fn lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.body.contains(needle),
            "expected no `{needle}` on the page:\n{}",
            self.body
        );
        self
    }

    /// The part of the page from the first `start` to the end of the element it opens (`start`
    /// begins with `<TAG`), laid out for a snapshot by [`html_lines`].
    #[track_caller]
    pub fn fragment(&self, start: &str) -> String {
        html_lines(element(&self.body, start))
    }
}

/// `GET uri` through `router`, read whole.
pub async fn get(router: &Router, uri: &str) -> Page {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// `GET uri` through `router` as a browser asks, with one extra header.
pub async fn get_with(router: &Router, uri: &str, header: (&str, &str)) -> Page {
    let request = Request::get(uri)
        .header(header.0, header.1)
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    send(router, request).await
}

async fn send(router: &Router, request: Request<Body>) -> Page {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// The element of `html` that begins at the first `start` (`<TAG …`), up to its closing tag,
/// counting the same tags nested in it.
#[track_caller]
pub fn element<'a>(html: &'a str, start: &str) -> &'a str {
    let begin = html
        .find(start)
        .unwrap_or_else(|| panic!("no `{start}` in:\n{html}"));
    let tag: String = start[1..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut depth = 0;
    let mut at = begin;
    loop {
        let next_open = find_tag(html, at + 1, &open);
        let next_close = at
            + html[at..]
                .find(&close)
                .unwrap_or_else(|| panic!("`{start}` is never closed"));
        match next_open {
            Some(open_at) if open_at < next_close => {
                depth += 1;
                at = open_at;
            }
            _ if depth == 0 => return &html[begin..next_close + close.len()],
            _ => {
                depth -= 1;
                at = next_close + 1;
            }
        }
    }
}

/// Where the next `<TAG` (followed by a space or `>`, so not a longer tag's name) is in `html`
/// from `from` on.
fn find_tag(html: &str, from: usize, open: &str) -> Option<usize> {
    let mut at = from;
    loop {
        let found = at + html[at..].find(open)?;
        let after = html[found + open.len()..].chars().next();
        if matches!(after, Some(' ' | '>')) {
            return Some(found);
        }
        at = found + 1;
    }
}

/// `html` with each tag on a line of its own, indented by how deep it is: a page's one long line
/// becomes a snapshot a change reads in.
pub fn html_lines(html: &str) -> String {
    const VOID: [&str; 8] = ["area", "br", "col", "hr", "img", "input", "link", "meta"];
    let mut lines = String::new();
    let mut depth = 0_usize;
    let mut rest = html;
    while !rest.is_empty() {
        let (piece, after) = match rest.find('<') {
            Some(0) => {
                let end = rest.find('>').map_or(rest.len(), |index| index + 1);
                rest.split_at(end)
            }
            Some(index) => rest.split_at(index),
            None => (rest, ""),
        };
        rest = after;
        if piece.trim().is_empty() {
            continue;
        }
        let name: String = piece
            .trim_start_matches(['<', '/'])
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let closing = piece.starts_with("</");
        if closing {
            depth = depth.saturating_sub(1);
        }
        lines.push_str(&"  ".repeat(depth));
        lines.push_str(piece.trim());
        lines.push('\n');
        let opening = piece.starts_with('<')
            && !closing
            && !piece.starts_with("<!")
            && !piece.ends_with("/>")
            && !VOID.contains(&name.as_str());
        if opening {
            depth += 1;
        }
    }
    lines
}
