//! Jira's paging styles (see ../shared/jira/rest-export.md §3) as pure "what next" decisions,
//! so the rules are tested without a server:
//! - never stop just because a page is short (Jira caps `maxResults` without notice);
//! - stop on `isLast`, on a missing `nextPageToken`, or on an empty page.

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};

/// How an endpoint pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStyle {
    /// A: `{startAt, maxResults, total?, isLast?, values: []}`.
    PageBean,
    /// B: `{startAt, maxResults, total, <array>: []}` with no `isLast` (comments, worklogs).
    LegacyOffset(&'static str),
    /// C: `{nextPageToken?, isLast?, <array>: []}` (search/jql, changelog/bulkfetch).
    Token(&'static str),
    /// D: a bare array with `startAt`/`maxResults` parameters (users/search).
    BareArray,
}

/// Where the next page starts, or the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Offset(u64),
    Token(String),
    Done,
}

/// One page, split into its items and what to ask for next.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Value>,
    pub next: Next,
}

fn bad_shape(what: &str, detail: &str) -> Error {
    Error::new(
        ErrorKind::JiraServer,
        format!("Jira sent a reply we could not read for {what} ({detail})."),
    )
}

fn take_array(v: &mut Value, key: &str, what: &str) -> Result<Vec<Value>> {
    match v.get_mut(key).map(Value::take) {
        Some(Value::Array(a)) => Ok(a),
        Some(Value::Null) | None => Ok(Vec::new()),
        Some(_) => Err(bad_shape(what, &format!("`{key}` is not a list"))),
    }
}

/// Splits a decoded page and decides what comes next. `start_at` is the offset this page was
/// requested at (ignored by token paging).
pub fn read_page(style: PageStyle, mut body: Value, start_at: u64, what: &str) -> Result<Page> {
    match style {
        PageStyle::PageBean => {
            let is_last = body.get("isLast").and_then(Value::as_bool);
            let items = take_array(&mut body, "values", what)?;
            let next = if is_last == Some(true) || items.is_empty() {
                Next::Done
            } else {
                Next::Offset(start_at + items.len() as u64)
            };
            Ok(Page { items, next })
        }
        PageStyle::LegacyOffset(key) => {
            let total = body.get("total").and_then(Value::as_u64);
            let items = take_array(&mut body, key, what)?;
            let end = start_at + items.len() as u64;
            // No isLast here; `total` is the only end marker besides an empty page.
            let next = match total {
                _ if items.is_empty() => Next::Done,
                Some(t) if end >= t => Next::Done,
                _ => Next::Offset(end),
            };
            Ok(Page { items, next })
        }
        PageStyle::Token(key) => {
            let is_last = body.get("isLast").and_then(Value::as_bool);
            let token = body
                .get("nextPageToken")
                .and_then(Value::as_str)
                .map(str::to_string);
            let items = take_array(&mut body, key, what)?;
            let next = token_next(is_last, token, items.is_empty());
            Ok(Page { items, next })
        }
        PageStyle::BareArray => {
            let items = match body {
                Value::Array(a) => a,
                _ => return Err(bad_shape(what, "expected a list")),
            };
            let next = if items.is_empty() {
                Next::Done
            } else {
                Next::Offset(start_at + items.len() as u64)
            };
            Ok(Page { items, next })
        }
    }
}

/// Style C's rule, for callers that decode such a page into their own type: the end on
/// `isLast`, on an empty page, or on a missing (or empty) `nextPageToken`.
pub fn token_next(is_last: Option<bool>, token: Option<String>, page_is_empty: bool) -> Next {
    match token.filter(|t| !t.is_empty()) {
        _ if is_last == Some(true) || page_is_empty => Next::Done,
        Some(t) => Next::Token(t),
        None => Next::Done,
    }
}

/// Adds `startAt`/`maxResults` to a path that may already carry a query.
pub fn with_offset(path: &str, start_at: u64, max_results: u32) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}startAt={start_at}&maxResults={max_results}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_bean_stops_on_is_last_or_empty_never_on_a_short_page() {
        let p = read_page(
            PageStyle::PageBean,
            json!({"startAt":0,"maxResults":50,"values":[1,2],"isLast":false}),
            0,
            "x",
        )
        .unwrap();
        assert_eq!(p.next, Next::Offset(2), "a short page is not the end");
        let p = read_page(
            PageStyle::PageBean,
            json!({"values":[1],"isLast":true}),
            10,
            "x",
        )
        .unwrap();
        assert_eq!(p.next, Next::Done);
        let p = read_page(PageStyle::PageBean, json!({"values":[]}), 10, "x").unwrap();
        assert_eq!(p.next, Next::Done);
        // No isLast and no total (Agile sprints): keep going until an empty page.
        let p = read_page(PageStyle::PageBean, json!({"values":[1,2,3]}), 3, "x").unwrap();
        assert_eq!(p.next, Next::Offset(6));
        assert_eq!(p.items.len(), 3);
    }

    #[test]
    fn legacy_offset_uses_total_and_empty_pages() {
        let st = PageStyle::LegacyOffset("comments");
        let p = read_page(
            st,
            json!({"startAt":0,"maxResults":100,"total":250,"comments":vec![0;100]}),
            0,
            "x",
        )
        .unwrap();
        assert_eq!(p.next, Next::Offset(100));
        let p = read_page(
            st,
            json!({"startAt":200,"total":250,"comments":vec![0;50]}),
            200,
            "x",
        )
        .unwrap();
        assert_eq!(p.next, Next::Done);
        // A capped page (Jira returned fewer than asked) is not the end while total says more.
        let p = read_page(
            st,
            json!({"startAt":0,"total":250,"comments":vec![0;20]}),
            0,
            "x",
        )
        .unwrap();
        assert_eq!(p.next, Next::Offset(20));
        let p = read_page(st, json!({"startAt":40,"total":250,"comments":[]}), 40, "x").unwrap();
        assert_eq!(
            p.next,
            Next::Done,
            "an empty page ends even if total disagrees"
        );
    }

    #[test]
    fn token_paging_stops_on_is_last_missing_token_or_empty() {
        let st = PageStyle::Token("issues");
        let p = read_page(
            st,
            json!({"issues":[1],"nextPageToken":"abc","isLast":false}),
            0,
            "x",
        )
        .unwrap();
        assert_eq!(p.next, Next::Token("abc".into()));
        let p = read_page(
            st,
            json!({"issues":[1],"nextPageToken":"abc","isLast":true}),
            0,
            "x",
        )
        .unwrap();
        assert_eq!(p.next, Next::Done);
        let p = read_page(st, json!({"issues":[1]}), 0, "x").unwrap();
        assert_eq!(p.next, Next::Done);
        let p = read_page(st, json!({"issues":[1],"nextPageToken":null}), 0, "x").unwrap();
        assert_eq!(p.next, Next::Done);
        let p = read_page(st, json!({"issues":[],"nextPageToken":"abc"}), 0, "x").unwrap();
        assert_eq!(p.next, Next::Done);
    }

    #[test]
    fn bare_arrays_page_until_empty() {
        let p = read_page(PageStyle::BareArray, json!([1, 2]), 1000, "x").unwrap();
        assert_eq!(p.next, Next::Offset(1002));
        let p = read_page(PageStyle::BareArray, json!([]), 1002, "x").unwrap();
        assert_eq!(p.next, Next::Done);
        assert!(read_page(PageStyle::BareArray, json!({"a":1}), 0, "x").is_err());
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        let e = read_page(PageStyle::PageBean, json!({"values": 3}), 0, "the users").unwrap_err();
        assert_eq!(e.kind, ErrorKind::JiraServer);
        assert!(e.message().contains("the users"));
    }

    #[test]
    fn offsets_join_existing_queries() {
        assert_eq!(with_offset("/a", 5, 50), "/a?startAt=5&maxResults=50");
        assert_eq!(
            with_offset("/a?x=1", 0, 50),
            "/a?x=1&startAt=0&maxResults=50"
        );
    }
}
