//! The page shell every UI page shares: the head with the embedded stylesheet and script, the top
//! bar with the product name, the navigation and who is signed in, and the headers an HTML
//! response carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::assets;
use super::viewer::{Looking, Viewer};
use crate::auth::query_encode;

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Apps,
    Runs,
    Queue,
    Agents,
    None,
}

/// One page, before it is wrapped in the shell.
pub struct Page {
    /// What the tab says, before ` · Gantry`.
    pub title: String,
    pub nav: Nav,
    /// Reload every few seconds when scripts are off: the page shows something still running.
    pub refresh: bool,
    /// Show who is signed in at the right of the top bar (not on the login page itself).
    pub session: bool,
    /// Let the page use the whole window's width (the run page, for wide pipelines).
    pub wide: bool,
    pub body: Markup,
}

impl Page {
    pub fn new(title: impl Into<String>, nav: Nav, body: Markup) -> Self {
        Self {
            title: title.into(),
            nav,
            refresh: false,
            session: true,
            wide: false,
            body,
        }
    }

    /// Sets whether the page reloads itself when scripts are off.
    #[must_use]
    pub fn refresh(mut self, refresh: bool) -> Self {
        self.refresh = refresh;
        self
    }

    /// Leaves out who is signed in from the top bar.
    #[must_use]
    pub fn without_session(mut self) -> Self {
        self.session = false;
        self
    }

    /// Sets whether the page may use the whole window's width.
    #[must_use]
    pub fn wide(mut self, wide: bool) -> Self {
        self.wide = wide;
        self
    }

    /// The whole document.
    pub fn render(self) -> Markup {
        let nav_link = |nav: Nav, href: &str, label: &str| {
            html! {
                a href=(href) aria-current=[(self.nav == nav).then_some("page")] { (label) }
            }
        };
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="color-scheme" content="light dark";
                    title { (self.title) " · Gantry" }
                    link rel="stylesheet" href=(assets::href("gantry.css"));
                    link rel="icon" type="image/svg+xml" href=(assets::href("favicon.svg"));
                    script src=(assets::href("gantry.js")) defer {}
                    @if self.refresh {
                        noscript { meta http-equiv="refresh" content="10"; }
                    }
                }
                body {
                    header.topbar {
                        a.brand href="/" {
                            img src=(assets::href("favicon.svg")) alt="" width="22" height="22";
                            "Gantry"
                        }
                        nav aria-label="Main" {
                            (nav_link(Nav::Apps, "/", "Apps"))
                            (nav_link(Nav::Runs, "/runs", "Runs"))
                            (nav_link(Nav::Queue, "/queue", "Queue"))
                            (nav_link(Nav::Agents, "/agents", "Agents"))
                        }
                        @if self.session {
                            @if let Some(looking) = Looking::current() {
                                (session(&looking))
                            }
                        }
                    }
                    main.wide[self.wide] { (self.body) }
                }
            }
        }
    }

    /// The document as a response with `status`.
    pub fn respond(self, status: StatusCode) -> Response {
        html_response(status, self.render().into_string())
    }

    /// The document cut in two where `marker` stands in the body, for a page whose middle is
    /// streamed: the text before the marker and the text after it.
    pub fn render_split(self, marker: &str) -> (String, String) {
        let text = self.render().into_string();
        match text.split_once(marker) {
            Some((head, tail)) => (head.to_owned(), tail.to_owned()),
            None => (text, String::new()),
        }
    }
}

/// The right end of the top bar: who is signed in and a button to sign out, or a link to sign
/// in when reading without a token.
fn session(looking: &Looking) -> Markup {
    html! {
        div.session {
            @match &looking.viewer {
                Viewer::Session { name } => {
                    span.who { "Signed in as " strong { (name) } }
                    form.signout method="post" action="/logout" {
                        button type="submit" { "Sign out" }
                    }
                }
                Viewer::Bearer { name } => {
                    span.who { "Token " strong { (name) } }
                }
                Viewer::Anonymous => {
                    a.signin href={ "/login?next=" (query_encode(&looking.here)) } { "Sign in" }
                }
            }
        }
    }
}

/// Marks a place in a page's body where [`Page::render_split`] cuts it.
pub fn marker(marker: &str) -> Markup {
    PreEscaped(marker.to_owned())
}

/// An HTML body with the headers every page carries: no caching (pages show live data), and a
/// content security policy that allows only the embedded assets.
pub fn html_response(status: StatusCode, body: impl IntoResponse) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    response
}
