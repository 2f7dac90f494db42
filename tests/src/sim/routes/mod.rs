//! The endpoints, one module per area. Shapes follow the OpenAPI documents in
//! ../shared/jira/openapi; paging styles and caps follow rest-export.md §3.

mod boards;
mod config;
mod content;
mod issues;
mod people;
mod projects;
mod search;
mod site;

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::{caller, Caller, SimUser};
use super::SimState;

pub type St = State<Arc<SimState>>;

pub fn router(state: Arc<SimState>) -> Router {
    let api = Router::new()
        .merge(site::routes())
        .merge(people::routes())
        .merge(projects::routes())
        .merge(config::routes())
        .merge(boards::routes())
        .merge(issues::routes())
        .merge(search::routes())
        .merge(content::routes())
        // Innermost first: faults, then the rate limit, then counting (sees every request).
        .route_layer(from_fn_with_state(state.clone(), super::faults::layer))
        .route_layer(from_fn_with_state(state.clone(), super::ratelimit::layer))
        .route_layer(from_fn_with_state(state.clone(), count));
    api.merge(super::control::router())
        .fallback(not_found)
        .with_state(state)
}

/// Counts requests per route template, e.g. `GET /rest/api/3/issue/{id}/comment`.
async fn count(State(s): St, req: Request, next: Next) -> Response {
    if let Some(p) = req.extensions().get::<MatchedPath>() {
        let key = format!("{} {}", req.method(), p.as_str());
        *s.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default() += 1;
    }
    next.run(req).await
}

/// Jira's `ErrorCollection` body.
pub fn error_collection(status: StatusCode, messages: &[&str]) -> Response {
    (
        status,
        Json(json!({ "errorMessages": messages, "errors": {} })),
    )
        .into_response()
}

pub fn json_ok(body: Value, account_id: Option<&str>) -> Response {
    let mut resp = Json(body).into_response();
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    if let Some(id) = account_id.and_then(|a| HeaderValue::from_str(a).ok()) {
        h.insert("X-AAccountId", id);
    }
    resp
}

pub fn not_authenticated() -> Response {
    error_collection(
        StatusCode::UNAUTHORIZED,
        &["You are not authenticated. Authentication required to perform this operation."],
    )
}

pub fn forbidden() -> Response {
    error_collection(StatusCode::FORBIDDEN, &["You are not authorized to perform this operation. Only Jira administrators can do this."])
}

pub fn not_found_msg(what: &str) -> Response {
    error_collection(StatusCode::NOT_FOUND, &[what])
}

pub fn bad_request(msg: &str) -> Response {
    error_collection(StatusCode::BAD_REQUEST, &[msg])
}

async fn not_found() -> Response {
    not_found_msg("The requested resource could not be found.")
}

/// An authenticated caller with Jira access.
pub struct Ctx {
    pub user: SimUser,
    /// The caller's index among the site's users.
    pub index: u64,
}

impl Ctx {
    pub fn admin(&self) -> bool {
        self.user.admin
    }

    pub fn ok(&self, body: Value) -> Response {
        json_ok(body, Some(&self.user.account_id))
    }
}

/// The caller, or the 401/403 Jira answers.
pub fn who(s: &SimState, headers: &HeaderMap) -> Result<Ctx, Response> {
    match caller(s, headers) {
        Ok(Caller::User(u)) if u.jira_access => {
            let index = s
                .config
                .users
                .iter()
                .position(|p| p.account_id == u.account_id)
                .unwrap_or(0) as u64;
            Ok(Ctx {
                user: u.clone(),
                index,
            })
        }
        Ok(Caller::User(_)) => Err(error_collection(
            StatusCode::FORBIDDEN,
            &["You do not have access to Jira on this site."],
        )),
        Ok(Caller::Anonymous) => Err(not_authenticated()),
        Err(r) => Err(r.into_response()),
    }
}

/// Query parameters, repeated keys kept (`status=live&status=archived`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    pub fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .flat_map(|(_, v)| v.split(','))
            .collect()
    }
    pub fn num(&self, k: &str, default: u64) -> u64 {
        self.get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .map_or(default, |v| v.max(0) as u64)
    }
    /// `(startAt, maxResults)` with Jira's silent cap applied.
    pub fn page(&self, default: u64, cap: u64) -> (u64, u64) {
        (
            self.num("startAt", 0),
            self.num("maxResults", default).clamp(1, cap),
        )
    }
}

/// Style A, the page bean: `self, nextPage, maxResults, startAt, total, isLast, values`.
pub fn page_bean(url: &str, all: Vec<Value>, page: (u64, u64)) -> Value {
    bean(url, all, page, true)
}

/// The agile page bean: no `self`/`nextPage`, and sprints omit `total` (JRACLOUD-90676).
pub fn agile_page(all: Vec<Value>, page: (u64, u64), with_total: bool) -> Value {
    let mut v = bean("", all, page, with_total);
    if let Some(o) = v.as_object_mut() {
        o.remove("self");
        o.remove("nextPage");
    }
    v
}

fn bean(url: &str, all: Vec<Value>, (start, max): (u64, u64), with_total: bool) -> Value {
    let total = all.len() as u64;
    let values: Vec<Value> = all
        .into_iter()
        .skip(start as usize)
        .take(max as usize)
        .collect();
    let is_last = start + max >= total;
    let mut v = json!({"self": format!("{url}?startAt={start}&maxResults={max}"), "maxResults": max,
        "startAt": start, "isLast": is_last, "values": values});
    if with_total {
        v["total"] = json!(total);
    }
    if !is_last {
        v["nextPage"] = json!(format!("{url}?startAt={}&maxResults={max}", start + max));
    }
    v
}
