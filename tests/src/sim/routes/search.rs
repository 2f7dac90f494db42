//! Issue search (token paging), bulk issue fetch and bulk changelog fetch.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bad_request, who, Ctx, Params, St};
use crate::sim::model::ID0;
use crate::sim::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/rest/api/3/search/jql", get(search_get).post(search_post))
        .route("/rest/api/3/issue/bulkfetch", post(bulk_issues))
        .route("/rest/api/3/changelog/bulkfetch", post(bulk_changelog))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    jql: Option<String>,
    next_page_token: Option<String>,
    max_results: Option<u64>,
    fields: Option<Vec<String>>,
    expand: Option<String>,
}

async fn search_get(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    let body = SearchBody {
        jql: q.get("jql").map(String::from),
        next_page_token: q.get("nextPageToken").map(String::from),
        max_results: q.get("maxResults").and_then(|m| m.parse().ok()),
        fields: q
            .get("fields")
            .map(|f| f.split(',').map(|x| x.trim().to_string()).collect()),
        expand: q.get("expand").map(String::from),
    };
    search(&s, &h, body)
}

async fn search_post(State(s): St, h: HeaderMap, Json(body): Json<SearchBody>) -> Response {
    search(&s, &h, body)
}

fn token(p: u64, after: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("sim1:{p}:{after}"))
}

fn untoken(t: &str) -> Option<(u64, u64)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut it = text.strip_prefix("sim1:")?.split(':');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Understands `project = <id|key> [ORDER BY id [ASC]]` only; anything else is a 400.
fn parse_jql(s: &SimState, ctx: &Ctx, jql: &str) -> Result<u64, Response> {
    let lower = jql.to_lowercase();
    let (cond, order) = match lower.find(" order by ") {
        Some(i) => (&jql[..i], Some(lower[i + 10..].trim().to_string())),
        None => (jql, None),
    };
    if cond.trim().is_empty() {
        return Err(bad_request("Unbounded JQL queries are not allowed here. Please add a search restriction to your query."));
    }
    if let Some(o) = order {
        if o != "id" && o != "id asc" {
            return Err(bad_request(&format!(
                "Error in the JQL Query: the simulator only orders by id ascending, not '{o}'."
            )));
        }
    }
    let rest = cond.trim();
    let value = rest
        .get(..7)
        .filter(|k| k.eq_ignore_ascii_case("project"))
        .and_then(|_| rest[7..].trim_start().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"'));
    let Some(value) = value.filter(|v| !v.is_empty() && !v.contains(' ')) else {
        return Err(bad_request(&format!("Error in the JQL Query: the simulator only supports 'project = X ORDER BY id', not '{jql}'.")));
    };
    match s.site.project_index(value) {
        Some(p) if s.site.may_browse(p, ctx.admin()) => Ok(p),
        _ => Err(bad_request(&format!(
            "The value '{value}' does not exist for the field 'project'."
        ))),
    }
}

/// Keeps the requested fields of an issue bean (`*all`/`*navigable` keep all, `-x` drops x).
pub fn select_fields(mut bean: Value, fields: &[String]) -> Value {
    let all = fields.is_empty() || fields.iter().any(|f| f == "*all" || f == "*navigable");
    if let Some(f) = bean.get_mut("fields").and_then(Value::as_object_mut) {
        if !all {
            f.retain(|k, _| fields.iter().any(|x| x == k));
        }
        for x in fields.iter().filter_map(|x| x.strip_prefix('-')) {
            f.remove(x);
        }
    }
    bean
}

/// Style C: `nextPageToken` and `isLast`, no total. 5000 per page for id/key only, else 100.
fn search(s: &SimState, h: &HeaderMap, body: SearchBody) -> Response {
    let ctx = match who(s, h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let p = match parse_jql(s, &ctx, body.jql.as_deref().unwrap_or("")) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let fields = body.fields.unwrap_or_else(|| vec!["id".into()]);
    let ids_only = fields.iter().all(|f| f == "id" || f == "key");
    let cap = if ids_only { 5000 } else { 100 };
    let max = body.max_results.unwrap_or(50).clamp(1, cap) as usize;
    let after = match body.next_page_token.as_deref() {
        None | Some("") => None,
        Some(t) => match untoken(t) {
            Some((tp, after)) if tp == p => Some(after),
            _ => return bad_request("The provided next page token is invalid or expired."),
        },
    };
    let listed: Vec<u64> = s
        .site
        .project_issues(p)
        .into_iter()
        .filter(|&i| after.is_none_or(|a| i > a))
        .collect();
    let page = &listed[..listed.len().min(max)];
    let is_last = page.len() == listed.len();
    let issues: Vec<Value> = page
        .iter()
        .map(|&i| {
            if ids_only {
                let mut v = json!({"id": (ID0 + i).to_string()});
                if fields.iter().any(|f| f == "key") {
                    v["key"] = json!(s.site.issue_key(i));
                }
                v
            } else {
                select_fields(
                    s.site
                        .issue_bean(i, Some(ctx.index), body.expand.as_deref()),
                    &fields,
                )
            }
        })
        .collect();
    let mut out = json!({"issues": issues, "isLast": is_last});
    if let (false, Some(&last)) = (is_last, page.last()) {
        out["nextPageToken"] = json!(token(p, last));
    }
    ctx.ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkBody {
    issue_ids_or_keys: Vec<String>,
    fields: Option<Vec<String>>,
    expand: Option<Vec<String>>,
}

/// Up to 100 issues, ascending by id; the ones it cannot return go to `issueErrors`.
async fn bulk_issues(State(s): St, h: HeaderMap, Json(b): Json<BulkBody>) -> Response {
    let ctx = match who(&s, &h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if b.issue_ids_or_keys.is_empty() || b.issue_ids_or_keys.len() > 100 {
        return bad_request("issueIdsOrKeys must contain between 1 and 100 items.");
    }
    let mut found = vec![];
    let mut errors = vec![];
    for id in &b.issue_ids_or_keys {
        match s.site.live(id).filter(|&i| s.site.may_browse(s.site.project_of(i), ctx.admin())) {
            Some(i) => found.push(i),
            None => errors.push(json!({"id": id, "errorMessage": "Issue does not exist or you do not have permission to see it."})),
        }
    }
    found.sort_unstable();
    found.dedup();
    let expand = b.expand.map(|e| e.join(","));
    let fields = b.fields.unwrap_or_default();
    let issues: Vec<Value> = found
        .into_iter()
        .map(|i| {
            select_fields(
                s.site.issue_bean(i, Some(ctx.index), expand.as_deref()),
                &fields,
            )
        })
        .collect();
    ctx.ok(json!({"issues": issues, "issueErrors": errors}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangelogBody {
    issue_ids_or_keys: Vec<String>,
    field_ids: Option<Vec<String>>,
    max_results: Option<u64>,
    next_page_token: Option<String>,
}

/// Style C over several issues: `maxResults` histories per page (default 1000, max 10000).
async fn bulk_changelog(State(s): St, h: HeaderMap, Json(b): Json<ChangelogBody>) -> Response {
    let ctx = match who(&s, &h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if b.issue_ids_or_keys.is_empty() || b.issue_ids_or_keys.len() > 1000 {
        return bad_request("issueIdsOrKeys must contain between 1 and 1000 items.");
    }
    if b.field_ids.as_ref().is_some_and(|f| f.len() > 10) {
        return bad_request("fieldIds must contain at most 10 items.");
    }
    let mut issues: Vec<u64> = b
        .issue_ids_or_keys
        .iter()
        .filter_map(|id| s.site.live(id))
        .filter(|&i| s.site.may_browse(s.site.project_of(i), ctx.admin()))
        .collect();
    issues.sort_unstable();
    issues.dedup();
    let (mut pos, mut offset) = match b.next_page_token.as_deref() {
        None | Some("") => (0, 0),
        Some(t) => match untoken(t) {
            Some(x) => (x.0 as usize, x.1 as usize),
            None => return bad_request("The provided next page token is invalid or expired."),
        },
    };
    let mut budget = b.max_results.unwrap_or(1000).clamp(1, 10_000) as usize;
    let mut out = vec![];
    let mut next = None;
    while pos < issues.len() {
        if budget == 0 {
            next = Some(token(pos as u64, offset as u64));
            break;
        }
        let i = issues[pos];
        let hist: Vec<Value> = s
            .site
            .changelog_of(i)
            .into_iter()
            .filter(|h| match &b.field_ids {
                None => true,
                Some(f) => h["items"].as_array().is_some_and(|it| {
                    it.iter()
                        .any(|x| f.iter().any(|f| x["fieldId"] == json!(f)))
                }),
            })
            .collect();
        let total = hist.len();
        let take: Vec<Value> = hist.into_iter().skip(offset).take(budget).collect();
        let taken = take.len();
        budget -= taken;
        if taken > 0 {
            out.push(json!({"issueId": (ID0 + i).to_string(), "changeHistories": take}));
        }
        if offset + taken < total {
            offset += taken;
            next = Some(token(pos as u64, offset as u64));
            break;
        }
        pos += 1;
        offset = 0;
    }
    let mut body = json!({"issueChangeLogs": out});
    if let Some(t) = next {
        body["nextPageToken"] = json!(t);
    }
    ctx.ok(body)
}
