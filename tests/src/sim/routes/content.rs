//! Attachment metadata and content, and avatar images.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{not_found_msg, who, Params, St};
use crate::sim::media;
use crate::sim::model::attachments::AttachmentMeta;
use crate::sim::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/rest/api/3/attachment/{id}", get(metadata))
        .route("/rest/api/3/attachment/content/{id}", get(content))
        .route(
            "/rest/api/3/universal_avatar/view/type/{kind}/avatar/{id}",
            get(avatar),
        )
}

fn attachment(
    s: &SimState,
    h: &HeaderMap,
    id: &str,
) -> Result<(super::Ctx, AttachmentMeta), Response> {
    let ctx = who(s, h)?;
    let a = id.parse().ok().and_then(|id| s.site.find_attachment(id));
    match a {
        Some(a) if s.site.may_browse(s.site.project_of(a.issue), ctx.admin()) => Ok((ctx, a)),
        _ => Err(not_found_msg(&format!(
            "The attachment with id '{id}' does not exist."
        ))),
    }
}

async fn metadata(State(s): St, h: HeaderMap, Path(id): Path<String>) -> Response {
    match attachment(&s, &h, &id) {
        Ok((ctx, a)) => {
            // `AttachmentMetadata` has a numeric id, unlike the string ids in `fields.attachment`.
            let mut v = s.site.attachment_json(&a);
            v["id"] = serde_json::json!(a.id);
            ctx.ok(v)
        }
        Err(r) => r,
    }
}

/// 303 to a signed URL on the media origin, or the bytes themselves with `redirect=false`.
async fn content(
    State(s): St,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let (_, a) = match attachment(&s, &h, &id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if q.get("redirect") == Some("false") {
        return media::content_response(s.site.clone(), a, &h);
    }
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&s.media.signed_url(a.id)) {
        resp.headers_mut().insert("location", v);
    }
    resp
}

async fn avatar(State(s): St, Path((kind, id)): Path<(String, String)>) -> Response {
    if kind != "project" && kind != "issuetype" && kind != "priority" {
        return not_found_msg(&format!("Avatar type '{kind}' is not supported."));
    }
    media::png(s.site.png(&format!("{kind}-{id}")))
}
