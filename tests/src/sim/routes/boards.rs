//! Filters, dashboards, and Jira Software boards and sprints.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::{agile_page, not_found_msg, page_bean, who, Params, St};
use crate::sim::model::ID0;
use crate::sim::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/rest/api/3/filter/search", get(filters))
        .route("/rest/api/3/dashboard/search", get(dashboards))
        .route("/rest/api/3/dashboard/{id}/gadget", get(gadgets))
        .route("/rest/agile/1.0/board", get(boards))
        .route(
            "/rest/agile/1.0/board/{id}/configuration",
            get(board_configuration),
        )
        .route("/rest/agile/1.0/board/{id}/sprint", get(sprints))
}

/// Admins see every filter (as with `overrideSharePermissions`), others only shared ones.
async fn filters(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    let ctx = match who(&s, &h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let all: Vec<Value> = (0..s.site.filter_count())
        .filter(|&f| s.site.filter_visible(f, ctx.admin()))
        .map(|f| s.site.filter_json(f))
        .collect();
    ctx.ok(page_bean(
        &format!("{}/rest/api/3/filter/search", s.base_url),
        all,
        q.page(50, 100),
    ))
}

/// No admin override: only the caller's own dashboards and shared ones.
async fn dashboards(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    let ctx = match who(&s, &h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let all: Vec<Value> = (0..s.site.dashboard_count())
        .filter(|&d| s.site.dashboard_visible(d, ctx.admin()))
        .map(|d| s.site.dashboard_json(d))
        .collect();
    ctx.ok(page_bean(
        &format!("{}/rest/api/3/dashboard/search", s.base_url),
        all,
        q.page(50, 100),
    ))
}

async fn gadgets(State(s): St, h: HeaderMap, Path(id): Path<String>) -> Response {
    let ctx = match who(&s, &h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let d = id.parse::<u64>().ok().and_then(|d| d.checked_sub(ID0));
    match d.filter(|&d| d < s.site.dashboard_count() && s.site.dashboard_visible(d, ctx.admin())) {
        Some(d) => ctx.ok(serde_json::json!({"gadgets": s.site.gadgets(d)})),
        None => not_found_msg(&format!("The dashboard with id '{id}' does not exist.")),
    }
}

/// The board index, when it exists and its project may be browsed.
fn board(s: &SimState, admin: bool, id: &str) -> Option<u64> {
    let b = id.parse::<u64>().ok()?.checked_sub(1)?;
    (b < s.site.board_count() && s.site.may_browse(b, admin)).then_some(b)
}

/// Agile lists cap `maxResults` at 50.
async fn boards(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    let ctx = match who(&s, &h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let all: Vec<Value> = (0..s.site.board_count())
        .filter(|&b| s.site.may_browse(b, ctx.admin()))
        .map(|b| s.site.board_json(b))
        .collect();
    ctx.ok(agile_page(all, q.page(50, 50), true))
}

fn no_board(id: &str) -> Response {
    not_found_msg(&format!(
        "Board does not exist or you do not have permission to see it: {id}"
    ))
}

async fn board_configuration(State(s): St, h: HeaderMap, Path(id): Path<String>) -> Response {
    let ctx = match who(&s, &h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match board(&s, ctx.admin(), &id) {
        Some(b) => ctx.ok(s.site.board_configuration(b)),
        None => no_board(&id),
    }
}

/// Style A without `total`: clients must loop on `isLast`.
async fn sprints(
    State(s): St,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let ctx = match who(&s, &h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(b) = board(&s, ctx.admin(), &id) else {
        return no_board(&id);
    };
    if b % 2 == 1 {
        return super::bad_request("The board does not support sprints");
    }
    let states = q.all("state");
    let all: Vec<Value> = (0..s.site.sprint_count(b))
        .map(|i| s.site.sprint_json(b, i))
        .filter(|v| states.is_empty() || states.contains(&v["state"].as_str().unwrap_or("")))
        .collect();
    ctx.ok(agile_page(all, q.page(50, 50), false))
}
