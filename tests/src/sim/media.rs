//! The media origin: a second listener, like Atlassian's media host, serving attachment
//! bytes behind signed, expiring URLs and user avatars without auth. It records how many
//! requests arrived with an `Authorization` header, so tests can prove that Jira
//! credentials did not follow the cross-origin redirect.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::faults::{self, Faults};
use super::model::attachments::{AttachmentMeta, CHUNK};
use super::model::rng::hash;
use super::model::Site;

/// How long a signed media URL stays valid.
const URL_LIFETIME_SECS: i64 = 600;

pub struct MediaState {
    pub site: Arc<Site>,
    key: Vec<u8>,
    faults: Faults,
    pub requests: AtomicU64,
    pub with_authorization: AtomicU64,
}

impl MediaState {
    pub fn new(site: Arc<Site>, faults: Faults) -> Self {
        let key = (0..4)
            .flat_map(|k| hash(site.seed, "media-key", k).to_le_bytes())
            .collect();
        MediaState {
            site,
            key,
            faults,
            requests: AtomicU64::new(0),
            with_authorization: AtomicU64::new(0),
        }
    }

    fn sign(&self, id: u64, exp: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{id}:{exp}").as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A signed URL for attachment `id`, valid for ten minutes.
    pub fn signed_url(&self, id: u64) -> String {
        let exp = chrono::Utc::now().timestamp() + URL_LIFETIME_SECS;
        format!(
            "{}/file/{id}/binary?exp={exp}&token={}",
            self.site.media_url,
            self.sign(id, exp)
        )
    }

    pub fn reset_counts(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.with_authorization.store(0, Ordering::Relaxed);
    }
}

pub fn router(state: Arc<MediaState>) -> Router {
    Router::new()
        .route("/file/{id}/binary", get(file))
        .route("/avatar/user/{name}", get(user_avatar))
        .layer(axum::middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

async fn record(State(m): State<Arc<MediaState>>, req: Request, next: Next) -> Response {
    m.requests.fetch_add(1, Ordering::Relaxed);
    if req.headers().contains_key("authorization") {
        m.with_authorization.fetch_add(1, Ordering::Relaxed);
    }
    let n = m.requests.load(Ordering::Relaxed);
    let (fail, reset) = faults::decide(m.site.seed ^ 0x006d_6564_6961, n, &m.faults);
    if let Some(status) = fail {
        return status.into_response();
    }
    let resp = next.run(req).await;
    if reset {
        faults::cut(resp)
    } else {
        resp
    }
}

#[derive(serde::Deserialize)]
struct Signed {
    exp: Option<i64>,
    token: Option<String>,
}

async fn file(
    State(m): State<Arc<MediaState>>,
    Path(id): Path<u64>,
    Query(q): Query<Signed>,
    headers: HeaderMap,
) -> Response {
    let (Some(exp), Some(token)) = (q.exp, q.token) else {
        return (StatusCode::UNAUTHORIZED, "missing signature").into_response();
    };
    if exp < chrono::Utc::now().timestamp() || m.sign(id, exp) != token {
        return (StatusCode::FORBIDDEN, "signature invalid or expired").into_response();
    }
    match m.site.find_attachment(id) {
        Some(a) => content_response(m.site.clone(), a, &headers),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

async fn user_avatar(State(m): State<Arc<MediaState>>, Path(name): Path<String>) -> Response {
    png(m.site.png(name.trim_end_matches(".png")))
}

pub fn png(bytes: Vec<u8>) -> Response {
    let mut resp = bytes.into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("image/png"));
    resp
}

/// 200 with the whole content, 206 for `Range: bytes=N-[M]`, 416 when it cannot be met,
/// 400 for a malformed range. The body is streamed from the generator in chunks.
pub fn content_response(site: Arc<Site>, a: AttachmentMeta, headers: &HeaderMap) -> Response {
    let (size, mime) = (a.size, a.mime.clone());
    let (start, end, partial) = match headers.get("range").map(|v| v.to_str().unwrap_or("")) {
        None => (0, size, false),
        Some(r) => {
            let Some((from, to)) = r.strip_prefix("bytes=").and_then(|x| x.split_once('-')) else {
                return (StatusCode::BAD_REQUEST, "malformed Range").into_response();
            };
            let (Ok(from), to) = (from.trim().parse::<u64>(), to.trim()) else {
                return (StatusCode::BAD_REQUEST, "malformed Range").into_response();
            };
            let to = if to.is_empty() {
                Ok(size.saturating_sub(1))
            } else {
                to.parse::<u64>()
            };
            let Ok(to) = to else {
                return (StatusCode::BAD_REQUEST, "malformed Range").into_response();
            };
            if from >= size || to < from {
                let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    resp.headers_mut().insert("content-range", v);
                }
                return resp;
            }
            (from, to.min(size - 1) + 1, true)
        }
    };
    let stream = futures_util::stream::unfold(start, move |off| {
        let site = site.clone();
        let a = a.clone();
        async move {
            if off >= end {
                return None;
            }
            let chunk = site.attachment_bytes(&a, off, CHUNK.min((end - off) as usize));
            let next = off + chunk.len() as u64;
            Some((Ok::<_, std::io::Error>(chunk), next))
        }
    });
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set(h, "content-length", (end - start).to_string());
    set(h, "content-type", mime);
    set(h, "accept-ranges", "bytes".into());
    if partial {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        set(
            resp.headers_mut(),
            "content-range",
            format!("bytes {start}-{}/{size}", end - 1),
        );
    }
    resp
}
