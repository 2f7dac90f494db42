//! The per-issue walker: what public Jira backup scripts do, as the yardstick for the engine.
//!
//! It lists issue ids with `search/jql` (per project, 5,000 ids a page), then makes ONE call
//! per issue for the body (`GET /issue/{id}`) and one call per issue for each sub-resource:
//! comments, worklogs, changelog (paged), remote links, watchers, votes, properties and each
//! property's value. Run with concurrency 1 (and a client throttle of 1) it is the
//! sequential walker that scripts are.
//!
//! It keeps no documents: per issue it keeps a [`Digest`] of each part, so the engine's
//! snapshot can be compared with it part by part.

use std::collections::BTreeMap;

use backup_center_engine::jira::JiraClient;
use backup_center_engine::snapshot::issues;
use backup_center_engine::{ErrorKind, Result};
use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{Map, Value};

use super::digest::{Digest, IssueDigest};

/// What the walker saw.
#[derive(Debug, Default, Clone)]
pub struct Walked {
    /// Issue id → digests of its parts.
    pub issues: BTreeMap<String, IssueDigest>,
    /// Listed but gone when fetched.
    pub gone: u64,
    pub counts: BTreeMap<&'static str, u64>,
}

async fn get(client: &JiraClient, path: &str, what: &str) -> Result<Value> {
    client.json(Method::GET, path, None, what).await
}

/// Every project id (live and archived), in Jira's order.
pub async fn project_ids(client: &JiraClient) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut start = 0u64;
    loop {
        let page = get(
            client,
            &format!("/rest/api/3/project/search?status=live&status=archived&startAt={start}&maxResults=100"),
            "the projects",
        )
        .await?;
        let values = page["values"].as_array().cloned().unwrap_or_default();
        start += values.len() as u64;
        ids.extend(
            values
                .iter()
                .filter_map(|p| p["id"].as_str().map(str::to_string)),
        );
        if page["isLast"].as_bool() != Some(false) || values.is_empty() {
            return Ok(ids);
        }
    }
}

/// Issue ids, project by project, oldest first; stops after `limit` ids (a deterministic
/// prefix: the first projects' oldest issues).
pub async fn issue_ids(client: &JiraClient, limit: Option<usize>) -> Result<Vec<String>> {
    let limit = limit.unwrap_or(usize::MAX);
    let mut ids = Vec::new();
    // The listing is the same for both walkers: the engine's own.
    for p in project_ids(client).await? {
        for id in issues::issue_ids(client, &p).await? {
            if ids.len() >= limit {
                return Ok(ids);
            }
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// Legacy offset paging (`startAt, maxResults, total` and a named array).
async fn legacy(client: &JiraClient, path: &str, key: &str, max: u64) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let start = all.len();
        let page = get(
            client,
            &format!("{path}{sep}startAt={start}&maxResults={max}"),
            key,
        )
        .await?;
        let items = page[key].as_array().cloned().unwrap_or_default();
        let n = items.len();
        all.extend(items);
        let total = page["total"].as_u64().unwrap_or(0) as usize;
        if n == 0 || all.len() >= total {
            return Ok(all);
        }
    }
}

/// Page-bean paging (`isLast`, `values`).
async fn page_bean(client: &JiraClient, path: &str, max: u64) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    loop {
        let start = all.len();
        let page = get(
            client,
            &format!("{path}?startAt={start}&maxResults={max}"),
            "pages",
        )
        .await?;
        let items = page["values"].as_array().cloned().unwrap_or_default();
        let n = items.len();
        all.extend(items);
        if n == 0 || page["isLast"].as_bool() != Some(false) {
            return Ok(all);
        }
    }
}

/// One issue, one request per part. `None` when it is gone (404).
async fn one_issue(client: &JiraClient, id: &str) -> Result<Option<(IssueDigest, Counts)>> {
    let base = format!("/rest/api/3/issue/{id}");
    let r = async {
        let body = get(client, &base, "an issue").await?;
        let comments = legacy(
            client,
            &format!("{base}/comment?orderBy=created"),
            "comments",
            100,
        )
        .await?;
        let worklogs = legacy(client, &format!("{base}/worklog"), "worklogs", 5000).await?;
        let changelog = page_bean(client, &format!("{base}/changelog"), 100).await?;
        let remote_links = get(client, &format!("{base}/remotelink"), "remote links").await?;
        let watchers = get(client, &format!("{base}/watchers"), "watchers").await?;
        let votes = get(client, &format!("{base}/votes"), "votes").await?;
        let keys = get(client, &format!("{base}/properties"), "properties").await?;
        let mut props = Map::new();
        for k in keys["keys"].as_array().into_iter().flatten() {
            let Some(key) = k["key"].as_str() else {
                continue;
            };
            let v = get(client, &format!("{base}/properties/{key}"), "a property").await?;
            props.insert(key.into(), v.get("value").cloned().unwrap_or(Value::Null));
        }
        Ok::<_, backup_center_engine::Error>((
            body,
            comments,
            worklogs,
            changelog,
            remote_links,
            watchers,
            votes,
            props,
        ))
    }
    .await;
    let (body, comments, worklogs, changelog, remote_links, watchers, votes, props) = match r {
        Ok(v) => v,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut c = Counts::default();
    c.0.insert("issues", 1);
    c.0.insert("comments", comments.len() as u64);
    c.0.insert("worklogs", worklogs.len() as u64);
    c.0.insert("changelogs", changelog.len() as u64);
    c.0.insert(
        "remoteLinks",
        remote_links.as_array().map_or(0, |a| a.len() as u64),
    );
    let watched = watchers["watchCount"].as_u64().unwrap_or(0) > 0;
    let voted = votes["votes"].as_u64().unwrap_or(0) > 0;
    c.0.insert("issuesWithWatchers", u64::from(watched));
    c.0.insert("issuesWithVotes", u64::from(voted));
    c.0.insert("issueProperties", props.len() as u64);
    // The engine skips the watchers and votes requests when the body says there are none and
    // records `null`; an empty answer here means the same.
    let digest = IssueDigest {
        issue: Digest::of(&body),
        comments: Digest::of(&Value::Array(comments)),
        worklogs: Digest::of(&Value::Array(worklogs)),
        changelog: Digest::of(&Value::Array(changelog)),
        remote_links: Digest::of(&remote_links),
        watchers: Digest::of(&if watched { watchers } else { Value::Null }),
        votes: Digest::of(&if voted { votes } else { Value::Null }),
        properties: Digest::of(&Value::Object(props)),
    };
    Ok(Some((digest, c)))
}

#[derive(Debug, Default)]
struct Counts(BTreeMap<&'static str, u64>);

/// Walks `ids` with `concurrency` issues in flight (1 = the sequential walker).
pub async fn walk_issues(
    client: &JiraClient,
    ids: &[String],
    concurrency: usize,
) -> Result<Walked> {
    let mut out = Walked::default();
    let mut results = stream::iter(ids)
        .map(|id| async move { (id.clone(), one_issue(client, id).await) })
        .buffer_unordered(concurrency.max(1));
    while let Some((id, r)) = results.next().await {
        match r? {
            Some((digest, counts)) => {
                for (k, v) in counts.0 {
                    *out.counts.entry(k).or_default() += v;
                }
                out.issues.insert(id, digest);
            }
            None => out.gone += 1,
        }
    }
    Ok(out)
}
