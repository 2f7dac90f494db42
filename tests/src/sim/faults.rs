//! Faults on demand: server errors, connections reset mid-body, slow answers and an issue
//! that vanishes between the search and the fetch. Decisions come from `hash(seed, n)` for
//! the n-th request, so a run with the same request order sees the same faults.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt as _;

use super::model::rng::Rng;
use super::routes::error_collection;
use super::SimState;

#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of requests answered 500, 502 or 503 (0.0–1.0).
    pub fail_rate: f64,
    /// Share of responses whose connection is reset halfway through the body.
    pub reset_rate: f64,
    /// Delay before every answer.
    pub slow_ms: u64,
    /// The search lists issue index [`VANISHING_ISSUE`] but fetches no longer find it.
    pub vanish_issue: bool,
}

/// Index of the issue that vanishes (the third issue, id 10002).
pub const VANISHING_ISSUE: u64 = 2;

/// Whether the `n`-th request fails, and whether its body is cut.
pub fn decide(seed: u64, n: u64, f: &Faults) -> (Option<StatusCode>, bool) {
    let mut r = Rng::derive(seed, "fault", n);
    let fail = r.chance(f.fail_rate) && f.fail_rate > 0.0;
    let status = [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::SERVICE_UNAVAILABLE,
    ][r.below(3) as usize];
    let reset = f.reset_rate > 0.0 && r.chance(f.reset_rate);
    (fail.then_some(status), reset)
}

pub async fn layer(State(s): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let f = &s.config.faults;
    if f.slow_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(f.slow_ms)).await;
    }
    let n = s.sequence.fetch_add(1, Ordering::Relaxed);
    let (fail, reset) = decide(s.config.seed, n, f);
    if let Some(status) = fail {
        let mut resp = error_collection(status, &["Simulated server error: please retry."]);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert("Retry-After", HeaderValue::from_static("1"));
        }
        return resp;
    }
    let resp = next.run(req).await;
    if reset {
        cut(resp)
    } else {
        resp
    }
}

/// Sends about half the body, then fails the stream so the connection is dropped.
pub fn cut(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let size = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .or_else(|| body.size_hint().exact())
        .unwrap_or(0);
    // Announce the full length, so the client can tell the body was cut short.
    if let Ok(v) = HeaderValue::from_str(&size.to_string()) {
        parts.headers.insert("content-length", v);
    }
    let limit = size.div_ceil(2);
    enum St {
        Sending(u64),
        Failing,
        Done,
    }
    let data = body.into_data_stream();
    let stream =
        futures_util::stream::unfold((data, St::Sending(0)), move |(mut data, st)| async move {
            match st {
                St::Done => None,
                St::Failing => {
                    // Let the head and the partial body reach the client before the reset.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Some((
                        Err(std::io::Error::other("simulated connection reset")),
                        (data, St::Done),
                    ))
                }
                St::Sending(sent) => match data.next().await {
                    Some(Ok(chunk)) if sent + (chunk.len() as u64) < limit => {
                        let n = chunk.len() as u64;
                        Some((
                            Ok::<Bytes, std::io::Error>(chunk),
                            (data, St::Sending(sent + n)),
                        ))
                    }
                    Some(Ok(chunk)) => {
                        let keep = (limit - sent) as usize;
                        Some((Ok(chunk.slice(..keep)), (data, St::Failing)))
                    }
                    _ => Some((
                        Err(std::io::Error::other("simulated connection reset")),
                        (data, St::Done),
                    )),
                },
            }
        });
    Response::from_parts(parts, Body::from_stream(stream))
}
