//! `/_sim/...`: a test-only control API without Jira auth. It mutates the site through the
//! model's overlay and reads or resets request counts per route template.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::model::{AddedAttachment, AddedComment, AddedIssue};
use super::SimState;

type St = State<Arc<SimState>>;

pub fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_sim/requests", get(requests).delete(reset_requests))
        .route("/_sim/media", get(media))
        .route("/_sim/counts", get(counts))
        .route("/_sim/issue", post(add_issue))
        .route("/_sim/issue/{id}", delete(delete_issue))
        .route("/_sim/issue/{id}/summary", post(set_summary))
        .route("/_sim/issue/{id}/comment", post(add_comment))
        .route("/_sim/issue/{id}/attachment", post(add_attachment))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn requests(State(s): St) -> Json<Value> {
    Json(json!(*s.counts.lock().unwrap_or_else(|e| e.into_inner())))
}

async fn reset_requests(State(s): St) -> StatusCode {
    s.counts.lock().unwrap_or_else(|e| e.into_inner()).clear();
    s.media.reset_counts();
    StatusCode::NO_CONTENT
}

async fn media(State(s): St) -> Json<Value> {
    Json(json!({"requests": s.media.requests.load(Ordering::Relaxed),
        "withAuthorization": s.media.with_authorization.load(Ordering::Relaxed)}))
}

async fn counts(State(s): St) -> Json<Value> {
    Json(json!(s.site.counts()))
}

fn issue(s: &SimState, id: &str) -> Result<u64, Response> {
    s.site
        .live(id)
        .ok_or_else(|| (StatusCode::NOT_FOUND, "no such issue").into_response())
}

#[derive(Deserialize)]
struct NewIssue {
    project: String,
    summary: String,
}

async fn add_issue(State(s): St, Json(b): Json<NewIssue>) -> Response {
    let Some(p) = s.site.project_index(&b.project) else {
        return (StatusCode::NOT_FOUND, "no such project").into_response();
    };
    let generated = s.site.project_issue_count(p);
    let index = {
        let mut o = s.site.overlay();
        let number = generated + 1 + o.added.iter().filter(|a| a.project == p).count() as u64;
        o.added.push(AddedIssue {
            project: p,
            number,
            summary: b.summary,
            created: now(),
        });
        s.site.dims.issues + o.added.len() as u64 - 1
    };
    Json(json!({"id": (super::model::ID0 + index).to_string(), "key": s.site.issue_key(index)}))
        .into_response()
}

async fn delete_issue(State(s): St, Path(id): Path<String>) -> Response {
    match issue(&s, &id) {
        Ok(i) => {
            s.site.overlay().deleted.insert(i);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct Summary {
    summary: String,
}

async fn set_summary(State(s): St, Path(id): Path<String>, Json(b): Json<Summary>) -> Response {
    match issue(&s, &id) {
        Ok(i) => {
            let mut o = s.site.overlay();
            o.summaries.insert(i, b.summary);
            o.updated.insert(i, now());
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct NewComment {
    text: String,
}

async fn add_comment(State(s): St, Path(id): Path<String>, Json(b): Json<NewComment>) -> Response {
    match issue(&s, &id) {
        Ok(i) => {
            let mut o = s.site.overlay();
            let cid = o.allocate_id();
            o.comments.entry(i).or_default().push(AddedComment {
                id: cid,
                text: b.text,
                created: now(),
            });
            o.updated.insert(i, now());
            Json(json!({"id": cid.to_string()})).into_response()
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct NewAttachment {
    filename: String,
    /// The content as text.
    content: String,
}

async fn add_attachment(
    State(s): St,
    Path(id): Path<String>,
    Json(b): Json<NewAttachment>,
) -> Response {
    match issue(&s, &id) {
        Ok(i) => {
            let mut o = s.site.overlay();
            let aid = o.allocate_id();
            o.attachments.entry(i).or_default().push(AddedAttachment {
                id: aid,
                filename: b.filename,
                bytes: b.content.into_bytes(),
                created: now(),
            });
            o.updated.insert(i, now());
            Json(json!({"id": aid.to_string()})).into_response()
        }
        Err(r) => r,
    }
}
