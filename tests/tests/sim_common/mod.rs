//! A small HTTP client for the simulator tests.
#![allow(dead_code)]

use bc_tests::sim::{self, RunningSim, SimConfig, Size};
use serde_json::Value;

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub email: String,
    pub token: String,
}

impl Client {
    pub fn admin(s: &RunningSim) -> Self {
        Self::new(s, sim::ADMIN_EMAIL, sim::ADMIN_TOKEN)
    }

    pub fn user(s: &RunningSim) -> Self {
        Self::new(s, sim::USER_EMAIL, sim::USER_TOKEN)
    }

    pub fn new(s: &RunningSim, email: &str, token: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Client {
            http,
            base: s.base_url.clone(),
            email: email.into(),
            token: token.into(),
        }
    }

    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .basic_auth(&self.email, Some(&self.token))
            .send()
            .await
            .unwrap()
    }

    /// GET a JSON answer, asserting its status.
    pub async fn get(&self, path: &str, status: u16) -> Value {
        let r = self.get_raw(path).await;
        assert_eq!(r.status().as_u16(), status, "GET {path}");
        r.json().await.unwrap()
    }

    pub async fn post_raw(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.email, Some(&self.token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value, status: u16) -> Value {
        let r = self.post_raw(path, body).await;
        assert_eq!(r.status().as_u16(), status, "POST {path}");
        r.json().await.unwrap()
    }
}

pub async fn start(seed: u64, size: Size) -> RunningSim {
    sim::start(SimConfig {
        seed,
        size,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// Walks a page-bean endpoint (`path` already has a `?`), checking the bean's signals.
pub async fn walk_page_bean(c: &Client, path: &str, max: u64, with_total: bool) -> Vec<Value> {
    let mut out = vec![];
    let mut start = 0;
    loop {
        let page = c
            .get(&format!("{path}&startAt={start}&maxResults={max}"), 200)
            .await;
        assert_eq!(page["startAt"], start, "{path}");
        assert_eq!(
            page.get("total").is_some(),
            with_total,
            "{path}: total present?"
        );
        let values = page["values"].as_array().unwrap().clone();
        assert!(values.len() as u64 <= max);
        start += values.len() as u64;
        out.extend(values);
        if page["isLast"] == true {
            break;
        }
        if !path.starts_with("/rest/agile") {
            assert!(
                page["nextPage"].is_string(),
                "{path}: nextPage on a page that is not the last"
            );
        }
    }
    out
}

pub fn ids(v: &[Value]) -> Vec<String> {
    v.iter().map(|x| x["id"].to_string()).collect()
}

/// Replaces the simulator's origins, so two simulators' answers can be compared.
pub fn normalized(s: &RunningSim, v: &Value) -> String {
    v.to_string()
        .replace(&s.base_url, "BASE")
        .replace(&s.media_url, "MEDIA")
}
