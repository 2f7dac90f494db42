//! The simulator's transport behaviour: attachment redirects to the media origin, Range,
//! avatars, the burst rate limit, injected faults and the control API.

mod sim_common;

use std::time::{Duration, Instant};

use bc_tests::sim::{self, Faults, SimConfig, Size};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sim_common::{start, Client};

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

async fn media_counts(c: &Client) -> Value {
    c.http
        .get(format!("{}/_sim/media", c.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn attachment_content_redirects_to_signed_media_urls() {
    let s = start(5, Size::Tiny).await;
    let c = Client::admin(&s);
    let att = s
        .site
        .attachments("10000")
        .unwrap()
        .into_iter()
        .find(|a| a.size > 100)
        .unwrap();
    let r = c
        .get_raw(&format!("/rest/api/3/attachment/content/{}", att.id))
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&s.media_url) && !location.starts_with(&s.base_url),
        "another origin"
    );
    // Follow it the right way: without the Jira credentials.
    let bytes = c
        .http
        .get(&location)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len() as u64, att.size);
    assert_eq!(
        Some(sha(&bytes)),
        s.site.attachment_sha256(&att.id.to_string())
    );
    assert_eq!(media_counts(&c).await["withAuthorization"], 0);
    // A client that leaks its credentials is seen.
    c.http
        .get(&location)
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    assert_eq!(media_counts(&c).await["withAuthorization"], 1);
    // A tampered signature is refused.
    let tampered = location.replace("token=", "token=00");
    assert_eq!(
        c.http
            .get(&tampered)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
}

#[tokio::test]
async fn redirect_false_serves_bytes_and_ranges() {
    let s = start(5, Size::Tiny).await;
    let c = Client::admin(&s);
    let att = s
        .site
        .attachments("10000")
        .unwrap()
        .into_iter()
        .find(|a| a.size > 100)
        .unwrap();
    let path = format!("/rest/api/3/attachment/content/{}?redirect=false", att.id);
    let whole = c.get_raw(&path).await;
    assert_eq!(whole.status().as_u16(), 200);
    let whole = whole.bytes().await.unwrap();
    assert_eq!(
        Some(sha(&whole)),
        s.site.attachment_sha256(&att.id.to_string())
    );
    let part = c
        .http
        .get(format!("{}{path}", c.base))
        .basic_auth(&c.email, Some(&c.token))
        .header("Range", "bytes=10-")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        format!("bytes 10-{}/{}", att.size - 1, att.size)
    );
    assert_eq!(part.bytes().await.unwrap(), whole.slice(10..));
    let beyond = c
        .http
        .get(format!("{}{path}", c.base))
        .basic_auth(&c.email, Some(&c.token))
        .header("Range", format!("bytes={}-", att.size))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status().as_u16(), 416);
    let empty = s
        .site
        .attachments("10000")
        .unwrap()
        .into_iter()
        .find(|a| a.size == 0)
        .unwrap();
    let r = c
        .get_raw(&format!(
            "/rest/api/3/attachment/content/{}?redirect=false",
            empty.id
        ))
        .await;
    assert_eq!(
        (r.status().as_u16(), r.bytes().await.unwrap().len()),
        (200, 0)
    );
    c.get("/rest/api/3/attachment/content/1?redirect=false", 404)
        .await;
}

#[tokio::test]
async fn avatars_are_pngs_and_user_avatars_need_no_auth() {
    let s = start(5, Size::Tiny).await;
    let c = Client::admin(&s);
    let users = c.get("/rest/api/3/users/search", 200).await;
    let url = users[3]["avatarUrls"]["48x48"].as_str().unwrap();
    assert!(url.starts_with(&s.media_url));
    let png = c.http.get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let av = c.get("/rest/api/3/project/10000/avatars", 200).await;
    let custom = av["custom"][0]["urls"]["48x48"]
        .as_str()
        .unwrap()
        .replace(&s.base_url, "");
    let r = c.get_raw(&custom).await;
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(&r.bytes().await.unwrap()[..4], b"\x89PNG");
}

#[tokio::test]
async fn burst_rate_limit_answers_429_with_jira_headers() {
    let s = sim::start(SimConfig {
        rate_limit: Some(5),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = Client::admin(&s);
    let mut limited = None;
    let mut near = false;
    for _ in 0..20 {
        let r = c.get_raw("/rest/api/3/issuetype").await;
        if r.status().as_u16() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.headers()["x-ratelimit-limit"], "5");
        near |= r
            .headers()
            .get("x-ratelimit-nearlimit")
            .is_some_and(|v| v == "true");
    }
    assert!(near, "NearLimit before the limit");
    let r = limited.expect("a 429 within 20 quick requests");
    let h = r.headers();
    assert!(h["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(h["ratelimit-reason"], "jira-burst-based");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert!(h.contains_key("x-ratelimit-reset"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        c.get_raw("/rest/api/3/issuetype").await.status().as_u16(),
        200
    );
}

async fn statuses(fail_rate: f64) -> Vec<u16> {
    let faults = Faults {
        fail_rate,
        ..Faults::default()
    };
    let s = sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = Client::admin(&s);
    let mut out = vec![];
    for _ in 0..30 {
        out.push(c.get_raw("/rest/api/3/issuetype").await.status().as_u16());
    }
    out
}

#[tokio::test]
async fn fail_rate_injects_deterministic_server_errors() {
    let all = statuses(1.0).await;
    assert!(all.iter().all(|s| [500, 502, 503].contains(s)), "{all:?}");
    let (a, b) = (statuses(0.3).await, statuses(0.3).await);
    assert_eq!(a, b, "same seed, same faults");
    assert!(a.contains(&200) && a.iter().any(|&s| s >= 500));
}

#[tokio::test]
async fn reset_rate_cuts_bodies_and_slow_ms_delays() {
    let faults = Faults {
        reset_rate: 1.0,
        ..Faults::default()
    };
    let s = sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = Client::admin(&s);
    let r = c.get_raw("/rest/api/3/field").await;
    assert!(r.bytes().await.is_err(), "the body must be cut");
    let faults = Faults {
        slow_ms: 200,
        ..Faults::default()
    };
    let s = sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let t = Instant::now();
    Client::admin(&s).get("/rest/api/3/issuetype", 200).await;
    assert!(t.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn an_issue_can_vanish_between_search_and_fetch() {
    let faults = Faults {
        vanish_issue: true,
        ..Faults::default()
    };
    let s = sim::start(SimConfig {
        faults,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = Client::admin(&s);
    let r = c
        .post(
            "/rest/api/3/search/jql",
            &json!({"jql": "project = ALPH", "maxResults": 5}),
            200,
        )
        .await;
    assert!(r["issues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == "10002"));
    let b = c
        .post(
            "/rest/api/3/issue/bulkfetch",
            &json!({"issueIdsOrKeys": ["10001", "10002"]}),
            200,
        )
        .await;
    assert_eq!(b["issueErrors"][0]["id"], "10002");
    c.get("/rest/api/3/issue/10002/comment", 404).await;
}

#[tokio::test]
async fn control_mutations_and_request_counts() {
    let s = start(5, Size::Tiny).await;
    let c = Client::admin(&s);
    let ctl = |p: &str| format!("{}/_sim{p}", s.base_url);
    c.http.delete(ctl("/requests")).send().await.unwrap();
    for _ in 0..3 {
        c.get("/rest/api/3/issue/10001/comment", 200).await;
    }
    let counts: Value = c
        .http
        .get(ctl("/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["GET /rest/api/3/issue/{id}/comment"], 3);
    c.http.delete(ctl("/requests")).send().await.unwrap();
    let counts: Value = c
        .http
        .get(ctl("/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts, json!({}));

    c.http
        .post(ctl("/issue/10003/summary"))
        .json(&json!({"summary": "Renamed ✓"}))
        .send()
        .await
        .unwrap();
    let b = c
        .post(
            "/rest/api/3/issue/bulkfetch",
            &json!({"issueIdsOrKeys": ["10003"]}),
            200,
        )
        .await;
    assert_eq!(b["issues"][0]["fields"]["summary"], "Renamed ✓");
    assert_eq!(
        s.site.issue_json("10003").unwrap()["fields"]["summary"],
        "Renamed ✓"
    );

    let before = s.site.comments("10003").unwrap().len();
    c.http
        .post(ctl("/issue/10003/comment"))
        .json(&json!({"text": "added"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.get("/rest/api/3/issue/10003/comment", 200).await["total"],
        before + 1
    );

    let a: Value = c
        .http
        .post(ctl("/issue/10003/attachment"))
        .json(&json!({"filename": "new.txt", "content": "hello"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = a["id"].as_str().unwrap();
    let r = c
        .get_raw(&format!(
            "/rest/api/3/attachment/content/{id}?redirect=false"
        ))
        .await;
    assert_eq!(r.bytes().await.unwrap(), "hello");

    c.http.delete(ctl("/issue/10004")).send().await.unwrap();
    c.get("/rest/api/3/issue/10004/comment", 404).await;
    assert!(!s.site.issue_ids().any(|i| i == "10004"));

    let n: Value = c
        .http
        .post(ctl("/issue"))
        .json(&json!({"project": "ALPH", "summary": "Fresh"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(n["key"], "ALPH-26");
    let r = c
        .post(
            "/rest/api/3/search/jql",
            &json!({"jql": "project = ALPH", "maxResults": 100, "fields": ["id", "key"]}),
            200,
        )
        .await;
    let listed: Vec<&Value> = r["issues"].as_array().unwrap().iter().collect();
    assert!(listed.iter().any(|i| i["id"] == n["id"]));
    assert!(!listed.iter().any(|i| i["id"] == "10004"));
}

#[tokio::test]
async fn the_jira_sim_program_takes_its_flags() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_jira-sim"))
        .args([
            "--port",
            "0",
            "--media-port",
            "0",
            "--seed",
            "9",
            "--size",
            "small",
        ])
        .args([
            "--rate-limit",
            "1000",
            "--fail-rate",
            "0",
            "--reset-rate",
            "0",
            "--slow-ms",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let base = first.rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let media = lines.next_line().await.unwrap().unwrap();
    assert!(
        media.starts_with("media origin on http://127.0.0.1:"),
        "{media}"
    );
    let counts: Value = reqwest::get(format!("{base}/_sim/counts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (counts["issues"].as_u64(), counts["projects"].as_u64()),
        (Some(1000), Some(5))
    );
    let r = reqwest::Client::new()
        .get(format!("{base}/rest/api/3/issuetype"))
        .basic_auth(sim::ADMIN_EMAIL, Some(sim::ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-ratelimit-limit"], "1000");
    child.kill().await.unwrap();
}
