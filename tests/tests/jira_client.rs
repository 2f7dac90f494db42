//! The Jira client's retry rules against a scripted server: transient failures and rate limits
//! are retried (honouring Retry-After), permanent answers are not, and paging walks every page.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use backup_center_engine::jira::paging::PageStyle;
use backup_center_engine::jira::throttle::ThrottleOptions;
use backup_center_engine::jira::{ClientOptions, JiraClient, SiteUrl};
use backup_center_engine::secrets::Sensitive;
use backup_center_engine::ErrorKind;
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Default)]
struct Script {
    hits: AtomicUsize,
}

type St = State<Arc<Script>>;

async fn flaky(State(s): St) -> Response {
    // Two server errors, then success.
    match s.hits.fetch_add(1, Ordering::SeqCst) {
        0 => StatusCode::BAD_GATEWAY.into_response(),
        1 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        _ => Json(json!({"ok": true})).into_response(),
    }
}

async fn limited(State(s): St) -> Response {
    if s.hits.fetch_add(1, Ordering::SeqCst) == 0 {
        let mut h = HeaderMap::new();
        h.insert("Retry-After", "1".parse().unwrap());
        h.insert("RateLimit-Reason", "jira-burst-based".parse().unwrap());
        return (StatusCode::TOO_MANY_REQUESTS, h, "").into_response();
    }
    Json(json!({"ok": true})).into_response()
}

async fn gone(State(s): St) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    (StatusCode::NOT_FOUND, Json(json!({"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}))).into_response()
}

async fn broken(State(s): St) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// 23 items in pages Jira caps at 5 whatever was asked; isLast only on the last page.
async fn paged(Query(q): Query<std::collections::HashMap<String, u64>>) -> Json<Value> {
    let start = q["startAt"];
    let take = q["maxResults"].min(5);
    let values: Vec<u64> = (start..(start + take).min(23)).collect();
    Json(
        json!({"startAt": start, "maxResults": take, "isLast": start + take >= 23, "values": values}),
    )
}

async fn server() -> (String, Arc<Script>) {
    let script = Arc::new(Script::default());
    let app = Router::new()
        .route("/flaky", get(flaky))
        .route("/limited", get(limited))
        .route("/gone", get(gone))
        .route("/broken", get(broken))
        .route("/paged", get(paged))
        .with_state(script.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, script)
}

fn client(url: &str) -> JiraClient {
    JiraClient::new(
        SiteUrl::parse(url).unwrap(),
        "a@b.co".into(),
        Sensitive::new("t".into()),
        ClientOptions {
            max_retries: 3,
            throttle: ThrottleOptions {
                backoff_base: Duration::from_millis(10),
                ..ThrottleOptions::default()
            },
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn transient_server_errors_are_retried() {
    let (url, s) = server().await;
    let v: Value = client(&url)
        .json(Method::GET, "/flaky", None, "x")
        .await
        .unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(s.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after_and_halve_concurrency() {
    let (url, s) = server().await;
    let c = client(&url);
    let before = c.throttle().limit();
    let t0 = Instant::now();
    let v: Value = c.json(Method::GET, "/limited", None, "x").await.unwrap();
    assert_eq!(v["ok"], true);
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 must be honoured"
    );
    assert_eq!(s.hits.load(Ordering::SeqCst), 2);
    assert!(
        c.throttle().limit() < before,
        "a 429 must reduce concurrency"
    );
}

#[tokio::test]
async fn permanent_answers_are_not_retried() {
    let (url, s) = server().await;
    let e = client(&url)
        .json::<Value>(Method::GET, "/gone", None, "the issue")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message().contains("does not exist"), "{}", e.message());
    assert_eq!(
        s.hits.load(Ordering::SeqCst),
        1,
        "a 404 must not be retried"
    );
}

#[tokio::test]
async fn retries_are_bounded() {
    let (url, s) = server().await;
    let e = client(&url)
        .json::<Value>(Method::GET, "/broken", None, "x")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::JiraServer);
    assert!(e.is_transient());
    assert_eq!(s.hits.load(Ordering::SeqCst), 4, "one try plus max_retries");
}

#[tokio::test]
async fn paging_walks_every_page_even_when_jira_caps_the_size() {
    let (url, _) = server().await;
    let all = client(&url)
        .collect(PageStyle::PageBean, "/paged", 100, "x")
        .await
        .unwrap();
    let got: Vec<u64> = all.iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(got, (0..23).collect::<Vec<_>>());
}
