//! One issue at a time: the issue itself (`GET /issue/{id}`, what per-issue backup scripts
//! use), and its sub-resources: comments and worklogs (style B), changelog (style A), remote
//! links, watchers, votes and properties (unpaged).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::search::select_fields;
use super::{not_found_msg, page_bean, who, Ctx, Params, St};
use crate::sim::model::ID0;
use crate::sim::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/rest/api/3/issue/{id}", get(one_issue))
        .route("/rest/api/3/issue/{id}/comment", get(comments))
        .route("/rest/api/3/issue/{id}/worklog", get(worklogs))
        .route("/rest/api/3/issue/{id}/changelog", get(changelog))
        .route("/rest/api/3/issue/{id}/remotelink", get(remote_links))
        .route("/rest/api/3/issue/{id}/watchers", get(watchers))
        .route("/rest/api/3/issue/{id}/votes", get(votes))
        .route("/rest/api/3/issue/{id}/properties", get(properties))
        .route("/rest/api/3/issue/{id}/properties/{key}", get(property))
}

pub fn no_issue() -> Response {
    not_found_msg("Issue does not exist or you do not have permission to see it.")
}

/// The caller and the issue index; 404 when deleted or not visible (Jira cannot tell which).
pub fn issue(s: &SimState, h: &HeaderMap, id: &str) -> Result<(Ctx, u64), Response> {
    let ctx = who(s, h)?;
    match s.site.live(id) {
        Some(i) if s.site.may_browse(s.site.project_of(i), ctx.admin()) => Ok((ctx, i)),
        _ => Err(no_issue()),
    }
}

/// The issue bean exactly as bulkfetch returns it (`fields` defaults to all, `expand` as
/// there); Jira's 404 ErrorCollection when it is missing or hidden.
async fn one_issue(
    State(s): St,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    match issue(&s, &h, &id) {
        Ok((ctx, i)) => {
            let fields: Vec<String> = q.all("fields").into_iter().map(str::to_string).collect();
            let expand = q.get("expand");
            ctx.ok(select_fields(
                s.site.issue_bean(i, Some(ctx.index), expand),
                &fields,
            ))
        }
        Err(r) => r,
    }
}

/// Style B: `startAt, maxResults, total` and a named array, no `isLast`.
fn legacy(items: Vec<Value>, name: &str, (start, max): (u64, u64)) -> Value {
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(start as usize)
        .take(max as usize)
        .collect();
    json!({"startAt": start, "maxResults": max, "total": total, name: page})
}

async fn comments(
    State(s): St,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    match issue(&s, &h, &id) {
        Ok((ctx, i)) => {
            let mut all = s.site.comments_of(i);
            if q.get("orderBy").is_some_and(|o| o.starts_with('-')) {
                all.reverse();
            }
            ctx.ok(legacy(all, "comments", q.page(100, 100)))
        }
        Err(r) => r,
    }
}

async fn worklogs(
    State(s): St,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    match issue(&s, &h, &id) {
        Ok((ctx, i)) => ctx.ok(legacy(
            s.site.worklogs_of(i),
            "worklogs",
            q.page(5000, 5000),
        )),
        Err(r) => r,
    }
}

async fn changelog(
    State(s): St,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    match issue(&s, &h, &id) {
        Ok((ctx, i)) => {
            let url = format!("{}/rest/api/3/issue/{}/changelog", s.base_url, ID0 + i);
            ctx.ok(page_bean(&url, s.site.changelog_of(i), q.page(100, 100)))
        }
        Err(r) => r,
    }
}

async fn remote_links(State(s): St, h: HeaderMap, Path(id): Path<String>) -> Response {
    match issue(&s, &h, &id) {
        Ok((ctx, i)) => ctx.ok(json!(s.site.remote_links_of(i))),
        Err(r) => r,
    }
}

async fn watchers(State(s): St, h: HeaderMap, Path(id): Path<String>) -> Response {
    match issue(&s, &h, &id) {
        Ok((ctx, i)) => {
            let w = s.site.watcher_indexes(i);
            ctx.ok(
                json!({"self": format!("{}/rest/api/3/issue/{}/watchers", s.base_url, ID0 + i),
                "isWatching": w.contains(&ctx.index), "watchCount": w.len(),
                "watchers": w.iter().map(|&u| s.site.user_ref(u)).collect::<Vec<_>>()}),
            )
        }
        Err(r) => r,
    }
}

async fn votes(State(s): St, h: HeaderMap, Path(id): Path<String>) -> Response {
    match issue(&s, &h, &id) {
        Ok((ctx, i)) => {
            let v = s.site.voter_indexes(i);
            ctx.ok(
                json!({"self": format!("{}/rest/api/3/issue/{}/votes", s.base_url, ID0 + i),
                "hasVoted": v.contains(&ctx.index), "votes": v.len(),
                "voters": v.iter().map(|&u| s.site.user_json(u)).collect::<Vec<_>>()}),
            )
        }
        Err(r) => r,
    }
}

async fn properties(State(s): St, h: HeaderMap, Path(id): Path<String>) -> Response {
    match issue(&s, &h, &id) {
        Ok((ctx, i)) => {
            let keys: Vec<Value> = s
                .site
                .properties_of(i)
                .into_iter()
                .map(|(k, _)| {
                    json!({"key": k,
                "self": format!("{}/rest/api/3/issue/{}/properties/{k}", s.base_url, ID0 + i)})
                })
                .collect();
            ctx.ok(json!({"keys": keys}))
        }
        Err(r) => r,
    }
}

async fn property(State(s): St, h: HeaderMap, Path((id, key)): Path<(String, String)>) -> Response {
    match issue(&s, &h, &id) {
        Ok((ctx, i)) => match s.site.properties_of(i).into_iter().find(|(k, _)| *k == key) {
            Some((k, v)) => ctx.ok(json!({"key": k, "value": v})),
            None => not_found_msg(&format!("The property with key '{key}' does not exist.")),
        },
        Err(r) => r,
    }
}
