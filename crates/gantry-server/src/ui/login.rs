//! The `/login` form in the page shell every other page has: the top bar, the stylesheet, and a
//! form whose label, field and button stand apart.

use maud::{Markup, html};

use super::layout::{Nav, Page};

/// The whole login document: `problem` (why the last try failed) above the form, and `next`
/// (where to go once signed in) carried in a hidden field.
pub fn login_page(problem: Option<&str>, next: &str) -> Markup {
    let body = html! {
        section.login {
            h1 { "Sign in" }
            p.muted { "Paste an API token that may read (" code { "gantry token create" } " makes one)." }
            @if let Some(problem) = problem {
                p.alert.s-failure role="alert" { (problem) }
            }
            form.login-form method="post" action="/login" {
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                input type="hidden" name="next" value=(next);
                button type="submit" { "Log in" }
            }
        }
    };
    Page::new("Log in", Nav::None, body).without_session().render()
}
