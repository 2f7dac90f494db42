//! The snapshot walk against the simulator's ground truth: every issue with every comment,
//! worklog, changelog entry, remote link, watcher, vote and property; configuration; counts;
//! attachment contents by SHA-256 (Extended); a non-admin's partial snapshot.

use std::collections::BTreeMap;
use std::sync::Arc;

use backup_center_engine::jira::{ClientOptions, JiraClient, SiteUrl};
use backup_center_engine::secrets::Sensitive;
use backup_center_engine::snapshot::progress::Tracker;
use backup_center_engine::snapshot::sink::{self, MemorySink};
use backup_center_engine::snapshot::walk::{walk, WalkOptions};
use backup_center_engine::snapshot::SnapshotKind;
use bc_tests::sim::{self, SimConfig, Site, Size};
use serde_json::Value;
use sha2::{Digest, Sha256};

struct Taken {
    sink: MemorySink,
    requests: BTreeMap<String, u64>,
}

async fn take(
    config: SimConfig,
    email: &str,
    token: &str,
    kind: SnapshotKind,
) -> (Taken, sim::RunningSim) {
    let s = sim::start(config).await.unwrap();
    let client = JiraClient::new(
        SiteUrl::parse(&s.base_url).unwrap(),
        email.into(),
        Sensitive::new(token.into()),
        ClientOptions::default(),
    )
    .unwrap();
    let temp = tempfile::tempdir().unwrap();
    let (handle, thread) = sink::spawn(MemorySink::default(), 64);
    let tracker = Tracker::new(Arc::new(|_| {}));
    let opts = WalkOptions::new(kind, temp.path().to_path_buf());
    walk(&client, &opts, &handle, &tracker)
        .await
        .expect("the walk must succeed");
    drop(handle);
    let (sink, result) = thread.join();
    result.unwrap();
    let requests: BTreeMap<String, u64> = reqwest::get(format!("{}/_sim/requests", s.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (Taken { sink, requests }, s)
}

fn issue_doc(sink: &MemorySink, id: &str) -> Value {
    let (_, bytes) = sink
        .entries
        .iter()
        .find(|(k, _)| k.starts_with("issues/") && k.ends_with(&format!("/{id}.json")))
        .unwrap_or_else(|| panic!("issue {id} is missing from the snapshot"));
    serde_json::from_slice(bytes).unwrap()
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v[key]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v[key].to_string())
        })
        .collect()
}

fn check_issues_against(site: &Site, sink: &MemorySink) {
    let mut n = 0;
    for id in site.issue_ids() {
        n += 1;
        let doc = issue_doc(sink, &id);
        assert_eq!(doc["issue"]["id"], id.as_str());
        let truth = site.comments(&id).unwrap();
        assert_eq!(
            ids(&doc["comments"], "id"),
            ids(&Value::Array(truth), "id"),
            "comments of {id}"
        );
        let truth = site.worklogs(&id).unwrap();
        assert_eq!(
            ids(&doc["worklogs"], "id"),
            ids(&Value::Array(truth), "id"),
            "worklogs of {id}"
        );
        let truth = site.changelog(&id).unwrap();
        assert_eq!(
            ids(&doc["changelog"], "id"),
            ids(&Value::Array(truth), "id"),
            "changelog of {id}"
        );
        let truth = site.remote_links(&id).unwrap();
        assert_eq!(
            doc["remoteLinks"].as_array().unwrap().len(),
            truth.len(),
            "remote links of {id}"
        );
        let watchers = site.watchers(&id).unwrap();
        let got = doc["watchers"]["watchers"]
            .as_array()
            .map_or(0, |w| w.len());
        assert_eq!(got, watchers.len(), "watchers of {id}");
        let votes = site.votes(&id).unwrap();
        let got = doc["votes"]["voters"].as_array().map_or(0, |w| w.len());
        assert_eq!(got, votes.len(), "voters of {id}");
        let props = site.properties(&id).unwrap();
        assert_eq!(
            doc["properties"].as_object().unwrap().len(),
            props.len(),
            "properties of {id}"
        );
        for (k, v) in props {
            assert_eq!(doc["properties"][&k], v, "property {k} of {id}");
        }
    }
    let written = sink
        .entries
        .keys()
        .filter(|k| k.starts_with("issues/"))
        .count();
    assert_eq!(written, n, "exactly one document per issue");
}

/// A Basic snapshot of a site of `size` holds exactly the simulator's ground truth.
async fn basic_snapshot_holds_the_ground_truth(size: Size) {
    let (t, s) = take(
        SimConfig {
            size,
            ..SimConfig::default()
        },
        sim::ADMIN_EMAIL,
        sim::ADMIN_TOKEN,
        SnapshotKind::Basic,
    )
    .await;
    check_issues_against(&s.site, &t.sink);
    let truth = s.site.counts();
    for key in [
        "users",
        "groups",
        "projects",
        "issues",
        "comments",
        "worklogs",
        "changelogs",
        "remoteLinks",
        "issueProperties",
        "filters",
        "dashboards",
        "boards",
        "sprints",
        "components",
        "versions",
    ] {
        assert_eq!(
            t.sink.counts.get(key).copied().unwrap_or(0),
            truth[key],
            "count of {key}"
        );
    }
    assert!(
        t.sink.partial.is_empty(),
        "an admin snapshot is complete: {:?}",
        t.sink.partial
    );
    assert!(t.sink.json("config/fields.json").is_some());
    assert!(t.sink.json("config/workflows.json").is_some());
    assert_eq!(
        t.sink.jsonl("users/users.jsonl").len() as u64,
        truth["users"]
    );
    assert!(
        !t.sink.entries.keys().any(|k| k.starts_with("attachments/")),
        "Basic has no attachment contents"
    );
    eprintln!("requests: {:?}", t.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_snapshot_of_the_tiny_site_holds_the_ground_truth() {
    basic_snapshot_holds_the_ground_truth(Size::Tiny).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_snapshot_of_the_small_site_holds_the_ground_truth() {
    basic_snapshot_holds_the_ground_truth(Size::Small).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_snapshot_holds_every_attachment_byte_for_byte() {
    let (t, s) = take(
        SimConfig::default(),
        sim::ADMIN_EMAIL,
        sim::ADMIN_TOKEN,
        SnapshotKind::Extended,
    )
    .await;
    let mut n = 0;
    for id in s.site.issue_ids() {
        for a in s.site.attachments(&id).unwrap() {
            n += 1;
            let prefix = format!("attachments/{id}/{}/", a.id);
            let (_, bytes) = t
                .sink
                .entries
                .iter()
                .find(|(k, _)| k.starts_with(&prefix))
                .unwrap_or_else(|| panic!("attachment {} of {id} is missing", a.id));
            let sha = format!("{:x}", Sha256::digest(bytes));
            assert_eq!(
                Some(sha),
                s.site.attachment_sha256(&a.id.to_string()),
                "content of attachment {}",
                a.id
            );
        }
    }
    assert!(n > 0, "the tiny site has attachments");
    assert_eq!(t.sink.counts["attachments"], n);
    let media: Value = reqwest::get(format!("{}/_sim/media", s.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        media["requests"].as_u64().unwrap() > 0,
        "user avatars come from the media origin"
    );
    assert_eq!(
        media["withAuthorization"], 0,
        "Jira credentials must never reach another origin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_admin_gets_a_partial_snapshot_naming_what_is_missing() {
    let (t, _s) = take(
        SimConfig::default(),
        sim::USER_EMAIL,
        sim::USER_TOKEN,
        SnapshotKind::Basic,
    )
    .await;
    let sections: Vec<&str> = t.sink.partial.iter().map(|(s, _)| s.as_str()).collect();
    assert!(sections.contains(&"admin"), "{sections:?}");
    assert!(
        sections.iter().any(|s| s.starts_with("config/")),
        "admin-only configuration must be named: {sections:?}"
    );
    for (s, reason) in &t.sink.partial {
        assert!(!reason.is_empty(), "section {s} needs a reason");
    }
}
