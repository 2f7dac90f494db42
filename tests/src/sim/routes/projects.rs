//! Projects and their sub-resources.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::{not_found_msg, page_bean, who, Ctx, Params, St};
use crate::sim::model::projects::ROLES;
use crate::sim::model::ID0;
use crate::sim::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/rest/api/3/project/search", get(search))
        .route("/rest/api/3/project/{id}/component", get(components))
        .route("/rest/api/3/project/{id}/version", get(versions))
        .route("/rest/api/3/project/{id}/role", get(roles))
        .route("/rest/api/3/project/{id}/role/{role}", get(role))
        .route("/rest/api/3/project/{id}/properties", get(properties))
        .route("/rest/api/3/project/{id}/properties/{key}", get(property))
        .route("/rest/api/3/project/{id}/avatars", get(avatars))
}

fn no_project(id: &str) -> Response {
    not_found_msg(&format!("No project could be found with key '{id}'."))
}

/// The caller and the project, or 404 when it does not exist or may not be browsed.
fn project(s: &SimState, headers: &HeaderMap, id: &str) -> Result<(Ctx, u64), Response> {
    let ctx = who(s, headers)?;
    match s.site.project_index(id) {
        Some(p) if s.site.may_browse(p, ctx.admin()) => Ok((ctx, p)),
        _ => Err(no_project(id)),
    }
}

/// Style A, cap 100. Archived projects only with `status=archived`.
async fn search(State(s): St, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    let ctx = match who(&s, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let status = q.all("status");
    let (live, archived) = if status.is_empty() {
        (true, false)
    } else {
        (status.contains(&"live"), status.contains(&"archived"))
    };
    let expand = q.get("expand").unwrap_or("");
    let projects: Vec<Value> = (0..s.site.dims.projects)
        .filter(|&p| s.site.may_browse(p, ctx.admin()))
        .filter(|&p| {
            if s.site.project_archived(p) {
                archived
            } else {
                live
            }
        })
        .map(|p| s.site.project_json(p, expand))
        .collect();
    let url = format!("{}/rest/api/3/project/search", s.base_url);
    ctx.ok(page_bean(&url, projects, q.page(50, 100)))
}

async fn components(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    match project(&s, &headers, &id) {
        Ok((ctx, p)) => {
            let url = format!("{}/rest/api/3/project/{}/component", s.base_url, ID0 + p);
            ctx.ok(page_bean(&url, s.site.components(p), q.page(50, 50)))
        }
        Err(r) => r,
    }
}

async fn versions(
    State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    match project(&s, &headers, &id) {
        Ok((ctx, p)) => {
            let url = format!("{}/rest/api/3/project/{}/version", s.base_url, ID0 + p);
            ctx.ok(page_bean(&url, s.site.versions(p), q.page(50, 50)))
        }
        Err(r) => r,
    }
}

/// Needs Administer Projects: the non-admin gets 404, as Jira answers.
async fn roles(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match project(&s, &headers, &id) {
        Ok((ctx, _)) if !ctx.admin() => no_project(&id),
        Ok((ctx, p)) => {
            let mut m = Map::new();
            for (rid, name) in ROLES {
                m.insert(
                    name.to_string(),
                    json!(format!(
                        "{}/rest/api/3/project/{}/role/{rid}",
                        s.base_url,
                        ID0 + p
                    )),
                );
            }
            ctx.ok(Value::Object(m))
        }
        Err(r) => r,
    }
}

async fn role(
    State(s): St,
    headers: HeaderMap,
    Path((id, role)): Path<(String, String)>,
) -> Response {
    match project(&s, &headers, &id) {
        Ok((ctx, _)) if !ctx.admin() => no_project(&id),
        Ok((ctx, p)) => match ROLES.iter().position(|(rid, _)| rid.to_string() == role) {
            Some(r) => ctx.ok(s.site.role_json(p, r)),
            None => not_found_msg(&format!("No role with id {role}.")),
        },
        Err(r) => r,
    }
}

async fn properties(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match project(&s, &headers, &id) {
        Ok((ctx, p)) => {
            let keys: Vec<Value> = s
                .site
                .project_properties(p)
                .into_iter()
                .map(|(k, _)| {
                    json!({"key": k,
                "self": format!("{}/rest/api/3/project/{}/properties/{k}", s.base_url, ID0 + p)})
                })
                .collect();
            ctx.ok(json!({"keys": keys}))
        }
        Err(r) => r,
    }
}

async fn property(
    State(s): St,
    headers: HeaderMap,
    Path((id, key)): Path<(String, String)>,
) -> Response {
    match project(&s, &headers, &id) {
        Ok((ctx, p)) => match s
            .site
            .project_properties(p)
            .into_iter()
            .find(|(k, _)| *k == key)
        {
            Some((k, v)) => ctx.ok(json!({"key": k, "value": v})),
            None => not_found_msg(&format!("The property with key '{key}' does not exist.")),
        },
        Err(r) => r,
    }
}

async fn avatars(State(s): St, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match project(&s, &headers, &id) {
        Ok((ctx, p)) => ctx.ok(s.site.project_avatars(p)),
        Err(r) => r,
    }
}
