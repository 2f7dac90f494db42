//! Users and groups.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::{bad_request, not_found_msg, page_bean, who, Params, St};
use crate::sim::model::users::{Kind, GROUPS};
use crate::sim::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/rest/api/3/users/search", get(users_search))
        .route("/rest/api/3/group/bulk", get(group_bulk))
        .route("/rest/api/3/group/member", get(group_member))
}

/// Style D: a bare array, `maxResults` limited to 1000; everyone, deleted users included.
async fn users_search(State(s): St, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let ctx = match who(&s, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (start, max) = q.page(50, 1000);
    let end = (start + max).min(s.site.user_count());
    let users: Vec<Value> = (start.min(end)..end).map(|u| s.site.user_json(u)).collect();
    ctx.ok(json!(users))
}

async fn group_bulk(State(s): St, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let ctx = match who(&s, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let wanted = q.all("groupId");
    let groups: Vec<Value> = (0..GROUPS.len())
        .filter(|&g| match q.get("accessType") {
            Some("site-admin") => g == 2,
            Some("admin") => g == 0,
            _ => true,
        })
        .filter(|&g| wanted.is_empty() || wanted.contains(&s.site.group_id(g).as_str()))
        .map(|g| s.site.group_json(g))
        .collect();
    let url = format!("{}/rest/api/3/group/bulk", s.base_url);
    ctx.ok(page_bean(&url, groups, q.page(50, 50)))
}

/// Style A, `maxResults` between 1 and 50.
async fn group_member(State(s): St, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let ctx = match who(&s, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let g = match (q.get("groupId"), q.get("groupname")) {
        (Some(id), _) => s.site.group_index(id),
        (None, Some(name)) => GROUPS.iter().position(|n| *n == name),
        (None, None) => return bad_request("You must specify either a group name or a group ID."),
    };
    let Some(g) = g else {
        return not_found_msg("Specified group does not exist.");
    };
    let inactive = q.get("includeInactiveUsers") == Some("true");
    let members: Vec<Value> = s
        .site
        .group_members(g)
        .into_iter()
        .filter(|&u| inactive || s.site.user(u).kind == Kind::Active)
        .map(|u| s.site.user_ref(u))
        .collect();
    let url = format!("{}/rest/api/3/group/member", s.base_url);
    ctx.ok(page_bean(&url, members, q.page(50, 50)))
}
