//! Query-string parsing and offset paging (`page`, `per_page`, `next_page` URLs) shared
//! by the sandbox's list and search endpoints.

use axum::http::{header, HeaderMap};
use std::collections::BTreeMap;

/// Most records on one page.
pub const MAX_PER_PAGE: usize = 100;
/// Most records one search can page through (Zendesk: 1,000).
pub const MAX_SEARCH_RESULTS: usize = 1000;

/// The query string as key → last value (bounded: at most 32 parameters kept).
pub fn params(raw: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .take(32)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: usize,
    /// Records per page.
    pub per_page: usize,
}

impl Page {
    /// Read `page` and `per_page` (`per_page` is clamped to 1..=100).
    pub fn from_params(p: &BTreeMap<String, String>) -> Result<Self, &'static str> {
        let num = |k: &str, default: usize| match p.get(k) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<usize>()
                .map_err(|_| "page and per_page must be numbers"),
        };
        let page = num("page", 1)?.max(1);
        let per_page = num("per_page", MAX_PER_PAGE)?.clamp(1, MAX_PER_PAGE);
        Ok(Self { page, per_page })
    }

    /// The index of the first record of the page (saturating).
    pub fn offset(&self) -> usize {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// This page's slice of `items`.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self.offset().min(items.len());
        let end = start.saturating_add(self.per_page).min(items.len());
        items.get(start..end).unwrap_or(&[])
    }
}

fn host(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost")
}

/// `next_page` and `previous_page` URLs for `path`, keeping the other parameters.
pub fn links(
    headers: &HeaderMap,
    path: &str,
    params: &BTreeMap<String, String>,
    page: Page,
    total: usize,
    cap: usize,
) -> (Option<String>, Option<String>) {
    let url_for = |n: usize| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.iter().filter(|(k, _)| k.as_str() != "page") {
            s.append_pair(k, v);
        }
        s.append_pair("page", &n.to_string());
        format!("http://{}{path}?{}", host(headers), s.finish())
    };
    let next_end = page.offset().saturating_add(page.per_page);
    let next = (next_end < total.min(cap)).then(|| url_for(page.page + 1));
    let prev = (page.page > 1).then(|| url_for(page.page - 1));
    (next, prev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_links() {
        let mut p = params(Some("query=type%3Aticket&per_page=2&page=2&x=%zz"));
        let page = Page::from_params(&p).unwrap();
        assert_eq!(
            page,
            Page {
                page: 2,
                per_page: 2
            }
        );
        assert_eq!(page.slice(&[1, 2, 3, 4, 5]), &[3, 4]);
        assert_eq!(
            Page {
                page: 9,
                per_page: 2
            }
            .slice(&[1, 2, 3]),
            &[] as &[i32]
        );
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        let (next, prev) = links(&h, "/api/v2/search.json", &p, page, 5, 1000);
        assert_eq!(
            next.as_deref(),
            Some("http://127.0.0.1:8080/api/v2/search.json?per_page=2&query=type%3Aticket&x=%25zz&page=3")
        );
        assert!(prev.unwrap().ends_with("page=1"));
        let (next, _) = links(
            &h,
            "/x",
            &p,
            Page {
                page: 3,
                per_page: 2,
            },
            5,
            1000,
        );
        assert_eq!(next, None);
        p.insert("per_page".into(), "abc".into());
        assert!(Page::from_params(&p).is_err());
        p.insert("per_page".into(), "100000".into());
        p.insert("page".into(), "0".into());
        assert_eq!(
            Page::from_params(&p).unwrap(),
            Page {
                page: 1,
                per_page: 100
            }
        );
    }
}
