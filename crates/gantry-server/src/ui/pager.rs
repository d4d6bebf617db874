//! [`Pager`]: newer/older pagination over a list of runs, newest first.
//!
//! A page asks the store for one row more than it shows, to know whether an older page exists
//! without counting, so a page costs the same at the 10th run of an app or the 10,000th.

use maud::{Markup, html};

use super::error::UiError;

/// Runs shown on one page.
pub const PAGE_SIZE: u32 = 50;

/// How many rows to ask for: one more than a page, to know whether there is an older page.
pub const FETCH_LIMIT: u32 = PAGE_SIZE + 1;

/// Which page of a list is shown (1: the newest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pager {
    pub page: u32,
}

impl Pager {
    /// The page named by a `page` query parameter: absent or empty for the first.
    pub fn parse(text: Option<&str>) -> Result<Self, UiError> {
        let text = text.map(str::trim).unwrap_or_default();
        if text.is_empty() {
            return Ok(Self { page: 1 });
        }
        let page = text
            .parse::<u32>()
            .ok()
            .filter(|page| *page >= 1)
            .ok_or_else(|| {
                UiError::bad_request(format!("`page` must be a whole number from 1 on, not `{text}`."))
            })?;
        if (page - 1).checked_mul(PAGE_SIZE).is_none() {
            return Err(UiError::bad_request(format!(
                "page {page} is past the end of any list."
            )));
        }
        Ok(Self { page })
    }

    /// How many rows come before this page.
    pub fn offset(self) -> u32 {
        (self.page - 1).saturating_mul(PAGE_SIZE)
    }

    /// This page's rows, and whether an older page exists.
    #[allow(clippy::unused_self)] // reads as a step of paging: `pager.split(rows)`
    pub fn split<T>(self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let older = rows.len() > PAGE_SIZE as usize;
        rows.truncate(PAGE_SIZE as usize);
        (rows, older)
    }

    /// The newer/older links; `link(page)` makes the URL of a page.
    pub fn links(self, older: bool, link: impl Fn(u32) -> String) -> Markup {
        html! {
            nav.pager aria-label="Pages" {
                @if self.page > 1 {
                    a rel="prev" href=(link(self.page - 1)) { "← Newer" }
                } @else {
                    span.disabled { "← Newer" }
                }
                span.muted { "page " (self.page) }
                @if older {
                    a rel="next" href=(link(self.page + 1)) { "Older →" }
                } @else {
                    span.disabled { "Older →" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_page_numbers() {
        let check = |text: Option<&str>, expect: Option<u32>| {
            assert_eq!(
                Pager::parse(text).ok().map(|pager| pager.page),
                expect,
                "{text:?}"
            );
        };
        check(None, Some(1));
        check(Some(""), Some(1));
        check(Some("3"), Some(3));
        check(Some(" 2 "), Some(2));
        check(Some("0"), None);
        check(Some("-1"), None);
        check(Some("abc"), None);
        check(Some("99999999999"), None);
        check(Some("4294967295"), None);
    }

    #[test]
    fn offsets_and_splits() {
        let pager = Pager { page: 3 };
        assert_eq!(pager.offset(), 100);
        let (rows, older) = pager.split((0..51).collect::<Vec<_>>());
        assert_eq!((rows.len(), older), (50, true));
        let (rows, older) = pager.split((0..7).collect::<Vec<_>>());
        assert_eq!((rows.len(), older), (7, false));
    }
}
