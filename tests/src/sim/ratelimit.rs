//! Jira's burst limit: a token bucket of `rate` requests per second per site. Over the
//! limit: 429 with `Retry-After`, `RateLimit-Reason: jira-burst-based` and the
//! `X-RateLimit-*` headers; `X-RateLimit-NearLimit: true` once under 20% of the budget.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::routes::error_collection;
use super::SimState;

pub struct Bucket {
    rate: u32,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    pub fn new(rate: u32) -> Self {
        Bucket {
            rate: rate.max(1),
            state: Mutex::new((rate.max(1) as f64, Instant::now())),
        }
    }

    /// Takes a token: the tokens left, or the seconds until one is available.
    pub fn take(&self) -> Result<u32, f64> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let rate = self.rate as f64;
        st.0 = (st.0 + now.duration_since(st.1).as_secs_f64() * rate).min(rate);
        st.1 = now;
        if st.0 >= 1.0 {
            st.0 -= 1.0;
            Ok(st.0 as u32)
        } else {
            Err((1.0 - st.0) / rate)
        }
    }
}

fn set(h: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(name, v);
    }
}

pub async fn layer(State(s): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let Some(bucket) = &s.limiter else {
        return next.run(req).await;
    };
    match bucket.take() {
        Ok(left) => {
            let mut resp = next.run(req).await;
            let h = resp.headers_mut();
            set(h, "X-RateLimit-Limit", bucket.rate.to_string());
            set(h, "X-RateLimit-Remaining", left.to_string());
            if (left as f64) < bucket.rate as f64 * 0.2 {
                set(h, "X-RateLimit-NearLimit", "true".into());
            }
            resp
        }
        Err(wait) => {
            let secs = wait.ceil().max(1.0) as i64;
            let mut resp =
                error_collection(StatusCode::TOO_MANY_REQUESTS, &["Rate limit exceeded."]);
            let h = resp.headers_mut();
            set(h, "Retry-After", secs.to_string());
            set(h, "RateLimit-Reason", "jira-burst-based".into());
            set(h, "X-RateLimit-Limit", bucket.rate.to_string());
            set(h, "X-RateLimit-Remaining", "0".into());
            let reset = chrono::Utc::now() + chrono::Duration::seconds(secs);
            set(
                h,
                "X-RateLimit-Reset",
                reset.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            );
            resp
        }
    }
}
