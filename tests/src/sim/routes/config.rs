//! Issue configuration: types, fields, statuses, workflows, schemes. Admin-only ones answer
//! 403 to others, except notification schemes, which Jira filters (to none here).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::{not_found_msg, page_bean, who, Params, St};
use crate::sim::model::config::{self, ISSUE_TYPES, LINK_TYPES, PRIORITIES, RESOLUTIONS, STATUSES};
use crate::sim::model::Site;
use crate::sim::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/rest/api/3/issuetype", get(issue_types))
        .route("/rest/api/3/issuetypescheme", get(issue_type_schemes))
        .route("/rest/api/3/screens", get(screens))
        .route("/rest/api/3/screenscheme", get(screen_schemes))
        .route("/rest/api/3/field", get(fields))
        .route("/rest/api/3/field/{field}/context", get(contexts))
        .route(
            "/rest/api/3/field/{field}/context/{context}/option",
            get(options),
        )
        .route("/rest/api/3/statuses/search", get(statuses))
        .route("/rest/api/3/workflows/search", get(workflows))
        .route("/rest/api/3/workflowscheme", get(workflow_schemes))
        .route("/rest/api/3/permissionscheme", get(permission_schemes))
        .route("/rest/api/3/notificationscheme", get(notification_schemes))
        .route("/rest/api/3/issuesecurityschemes", get(security_schemes))
        .route("/rest/api/3/fieldconfiguration", get(field_configurations))
        .route(
            "/rest/api/3/fieldconfigurationscheme",
            get(field_configuration_schemes),
        )
        .route("/rest/api/3/priority/search", get(priorities))
        .route("/rest/api/3/resolution/search", get(resolutions))
        .route("/rest/api/3/issueLinkType", get(link_types))
}

/// What an endpoint shows a caller who is not a Jira admin.
#[derive(Clone, Copy, PartialEq)]
enum NonAdmin {
    Allowed,
    Forbidden,
    /// Filtered down to nothing (Jira lists only what the caller administers).
    Empty,
}

/// A page-bean endpoint over a small, fully built list.
fn paged(
    s: &SimState,
    h: &HeaderMap,
    q: &Params,
    rule: NonAdmin,
    path: &str,
    (default, cap): (u64, u64),
    items: impl FnOnce(&Site) -> Vec<Value>,
) -> Response {
    let ctx = match who(s, h) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !ctx.admin() && rule == NonAdmin::Forbidden {
        return super::forbidden();
    }
    let all = if !ctx.admin() && rule == NonAdmin::Empty {
        vec![]
    } else {
        items(&s.site)
    };
    ctx.ok(page_bean(
        &format!("{}/rest/api/3/{path}", s.base_url),
        all,
        q.page(default, cap),
    ))
}

/// An unpaged endpoint (style E).
fn whole(
    s: &SimState,
    h: &HeaderMap,
    rule: NonAdmin,
    body: impl FnOnce(&Site) -> Value,
) -> Response {
    match who(s, h) {
        Ok(ctx) if !ctx.admin() && rule == NonAdmin::Forbidden => super::forbidden(),
        Ok(ctx) => ctx.ok(body(&s.site)),
        Err(r) => r,
    }
}

use NonAdmin::{Allowed, Empty, Forbidden};

async fn issue_types(State(s): St, h: HeaderMap) -> Response {
    whole(&s, &h, Allowed, |x| {
        json!((0..ISSUE_TYPES.len())
            .map(|t| x.issue_type_json(t))
            .collect::<Vec<_>>())
    })
}
async fn issue_type_schemes(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    paged(&s, &h, &q, Forbidden, "issuetypescheme", (50, 50), |x| {
        x.issue_type_schemes()
    })
}
async fn screens(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    paged(&s, &h, &q, Forbidden, "screens", (100, 100), |x| {
        x.screens()
    })
}
async fn screen_schemes(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    paged(&s, &h, &q, Forbidden, "screenscheme", (25, 25), |x| {
        x.screen_schemes()
    })
}
async fn fields(State(s): St, h: HeaderMap) -> Response {
    whole(&s, &h, Allowed, |x| {
        json!(config::fields()
            .iter()
            .map(|f| x.field_json(f))
            .collect::<Vec<_>>())
    })
}
async fn contexts(
    State(s): St,
    h: HeaderMap,
    Path(field): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    if s.site.field_contexts(&field).is_none() {
        return not_found_msg(&format!("The custom field was not found: {field}"));
    }
    paged(
        &s,
        &h,
        &q,
        Forbidden,
        &format!("field/{field}/context"),
        (50, 50),
        |x| x.field_contexts(&field).unwrap_or_default(),
    )
}
async fn options(
    State(s): St,
    h: HeaderMap,
    Path((field, context)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> Response {
    if s.site.field_options(&field, &context).is_none() {
        return not_found_msg("The custom field context was not found.");
    }
    paged(
        &s,
        &h,
        &q,
        Forbidden,
        &format!("field/{field}/context/{context}/option"),
        (100, 100),
        |x| x.field_options(&field, &context).unwrap_or_default(),
    )
}
async fn statuses(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    paged(&s, &h, &q, Forbidden, "statuses/search", (200, 200), |x| {
        (0..STATUSES.len())
            .map(|i| x.status_search_json(i))
            .collect()
    })
}
async fn workflows(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    let mut resp = paged(&s, &h, &q, Forbidden, "workflows/search", (50, 200), |x| {
        x.workflows()
    });
    if resp.status().is_success() {
        // The workflow search adds the statuses the workflows use.
        let statuses: Vec<Value> = STATUSES.iter().map(|(id, name, cat)| json!({"id": id.to_string(), "name": name,
            "statusReference": id.to_string(), "statusCategory": match *cat { "new" => "TODO", "done" => "DONE", _ => "IN_PROGRESS" },
            "scope": {"type": "GLOBAL"}, "description": ""})).collect();
        resp = add_field(resp, "statuses", json!(statuses)).await;
    }
    resp
}
async fn workflow_schemes(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    paged(&s, &h, &q, Forbidden, "workflowscheme", (50, 50), |x| {
        x.workflow_schemes()
    })
}
async fn permission_schemes(State(s): St, h: HeaderMap) -> Response {
    whole(
        &s,
        &h,
        Forbidden,
        |x| json!({"permissionSchemes": x.permission_schemes()}),
    )
}
async fn notification_schemes(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    paged(&s, &h, &q, Empty, "notificationscheme", (50, 50), |x| {
        x.notification_schemes()
    })
}
async fn security_schemes(State(s): St, h: HeaderMap) -> Response {
    whole(
        &s,
        &h,
        Forbidden,
        |x| json!({"issueSecuritySchemes": x.security_schemes()}),
    )
}
async fn field_configurations(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    paged(&s, &h, &q, Forbidden, "fieldconfiguration", (50, 50), |x| {
        x.field_configurations()
    })
}
async fn field_configuration_schemes(
    State(s): St,
    h: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    paged(
        &s,
        &h,
        &q,
        Forbidden,
        "fieldconfigurationscheme",
        (50, 50),
        |x| x.field_configuration_schemes(),
    )
}
async fn priorities(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    paged(&s, &h, &q, Allowed, "priority/search", (50, 50), |x| {
        (0..PRIORITIES.len()).map(|i| x.priority_json(i)).collect()
    })
}
async fn resolutions(State(s): St, h: HeaderMap, Query(q): Query<Params>) -> Response {
    paged(&s, &h, &q, Allowed, "resolution/search", (50, 50), |x| {
        (0..RESOLUTIONS.len())
            .map(|i| x.resolution_json(i))
            .collect()
    })
}
async fn link_types(State(s): St, h: HeaderMap) -> Response {
    whole(
        &s,
        &h,
        Allowed,
        |x| json!({"issueLinkTypes": (0..LINK_TYPES.len()).map(|i| x.link_type_json(i)).collect::<Vec<_>>()}),
    )
}

/// Adds a top-level field to a JSON response.
async fn add_field(resp: Response, key: &str, value: Value) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(json!({}));
    v[key] = value;
    let out = serde_json::to_vec(&v).unwrap_or_default();
    parts.headers.remove("content-length");
    Response::from_parts(parts, axum::body::Body::from(out))
}
