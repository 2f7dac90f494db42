//! Issues: the part of a snapshot that decides how long it takes. Jira's rate limit, not
//! bandwidth, is the bottleneck, so requests per issue is the figure that matters:
//! - ids per project with `search/jql` (up to 5,000 per request);
//! - bodies 100 at a time with `issue/bulkfetch`, changelogs 100 at a time with
//!   `changelog/bulkfetch`;
//! - an issue's own sub-resources only when the body says there is more than it embeds
//!   (comments, worklogs) or that there is something (watchers, votes); remote links and
//!   properties carry no such signal, so they are always fetched: completeness first.
//!
//! Each issue becomes one document, `issues/<projectId>/<issueId>.json`: the body as Jira
//! sent it plus complete `comments`, `worklogs`, `changelog`, `remoteLinks`, `watchers`,
//! `votes` and `properties`.

use std::collections::{BTreeMap, HashMap};

use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::layout;
use super::progress::{Phase, Tracker};
use super::sink::SinkHandle;
use super::walk::{get, properties, ProjectRef, WalkOptions};
use crate::error::{ErrorKind, Result};
use crate::jira::paging::{read_page, token_next, Next, PageStyle};
use crate::jira::JiraClient;

const BULK: usize = 100;

/// An attachment to download in an Extended snapshot.
#[derive(Debug, Clone)]
pub struct AttachmentRef {
    pub issue_id: String,
    pub id: String,
    pub filename: String,
    pub size: u64,
}

/// Walks every issue of `projects`; returns the attachments found (for Extended).
pub async fn walk(
    client: &JiraClient,
    opts: &WalkOptions,
    sink: &SinkHandle,
    tracker: &Tracker,
    projects: &[ProjectRef],
) -> Result<Vec<AttachmentRef>> {
    tracker.start(Phase::ListingIssues, Some(projects.len() as u64));
    // Every id of the site is held until its chunk is fetched, as 12 bytes (project index and
    // numeric id; 1.2 MB for 100,000 issues, where strings took ten times that), so progress
    // has an exact total; chunks are slices of it, never copies.
    let mut ids: Vec<IssueRef> = Vec::new();
    for (index, p) in projects.iter().enumerate() {
        let project = u32::try_from(index).unwrap_or(u32::MAX);
        ids.extend(
            issue_ids(client, &p.id)
                .await?
                .into_iter()
                .map(|id| IssueRef { project, id }),
        );
        tracker.step(Phase::ListingIssues, 1, Some(projects.len() as u64));
    }
    ids.shrink_to_fit();
    let total = ids.len() as u64;
    tracker.start(Phase::Issues, Some(total));
    let found: Vec<Vec<AttachmentRef>> = stream::iter(ids.chunks(BULK))
        .map(|chunk| async move {
            let n = chunk.len() as u64;
            let a = chunk_of_issues(client, opts, sink, projects, chunk).await?;
            tracker.step(Phase::Issues, n, Some(total));
            Ok::<_, crate::Error>(a)
        })
        .buffer_unordered(opts.issue_chunks_in_flight.max(1))
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// A listed issue: its project (an index into the walk's projects) and its id.
#[derive(Debug, Clone, Copy)]
struct IssueRef {
    project: u32,
    id: u64,
}

/// Every issue id of a project, oldest first (`search/jql`, 5,000 ids a page). Jira's issue
/// ids are numbers sent as strings; anything else is a reply we cannot trust.
pub async fn issue_ids(client: &JiraClient, project_id: &str) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({
            "jql": format!("project = {project_id} ORDER BY id ASC"),
            "fields": ["id"],
            "maxResults": 5000,
        });
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let page: Value = client
            .json(
                Method::POST,
                "/rest/api/3/search/jql",
                Some(&body),
                "the list of issues",
            )
            .await?;
        let page = read_page(PageStyle::Token("issues"), page, 0, "the list of issues")?;
        for item in &page.items {
            let Some(id) = item["id"].as_str() else {
                continue;
            };
            let id = id.parse::<u64>().map_err(|_| {
                crate::Error::new(
                    ErrorKind::JiraServer,
                    format!(
                        "Jira listed an issue id that is not a number ({:?}); the search \
                         reply cannot be trusted.",
                        id.chars().take(40).collect::<String>()
                    ),
                )
            })?;
            ids.push(id);
        }
        match page.next {
            Next::Token(t) => token = Some(t),
            _ => return Ok(ids),
        }
    }
}

async fn chunk_of_issues(
    client: &JiraClient,
    opts: &WalkOptions,
    sink: &SinkHandle,
    projects: &[ProjectRef],
    chunk: &[IssueRef],
) -> Result<Vec<AttachmentRef>> {
    let id_list: Vec<String> = chunk.iter().map(|i| i.id.to_string()).collect();
    let body = json!({ "issueIdsOrKeys": id_list, "fields": ["*all"] });
    // Bodies stay Jira's own text (a `RawValue` is about a fifth of the memory of a parsed
    // `Value`): a chunk's bodies are most of the walk's memory. Only the few fields the walk
    // decides on are parsed ([`Signals`]).
    let reply: BulkIssues = client
        .json(
            Method::POST,
            "/rest/api/3/issue/bulkfetch",
            Some(&body),
            "a batch of issues",
        )
        .await?;
    let mut bodies: HashMap<String, (Box<RawValue>, Signals)> = HashMap::new();
    for issue in reply.issues {
        let signals = Signals::of(&issue)?;
        if let Some(id) = signals.id.clone() {
            bodies.insert(id, (issue, signals));
        }
    }
    let present: Vec<String> = id_list
        .iter()
        .filter(|id| bodies.contains_key(id.as_str()))
        .cloned()
        .collect();
    for id in id_list.iter().filter(|id| !bodies.contains_key(*id)) {
        // Listed a moment ago, gone now: deleted (or hidden) during the run. Recorded, not fatal.
        sink.deleted("issue", id, "listed by the search but gone when fetched")
            .await?;
    }
    let mut changelogs = changelogs(client, &present).await?;

    let project_of: HashMap<&str, &str> = id_list
        .iter()
        .zip(chunk)
        .filter_map(|(id, i)| Some((id.as_str(), projects.get(i.project as usize)?.id.as_str())))
        .collect();
    let mut docs = stream::iter(present.iter())
        .map(|id| {
            let body = bodies.remove(id);
            let changelog = changelogs.remove(id).unwrap_or_default();
            async move {
                match body {
                    Some((raw, signals)) => {
                        complete_issue(client, id, raw, signals, changelog).await
                    }
                    None => Ok(Fetched::Gone(id.clone())),
                }
            }
        })
        .buffer_unordered(opts.fan_out.max(1));
    let mut attachments = Vec::new();
    let mut totals = Counts::default();
    // Each document goes to the writer as soon as it is complete (and is serialised there and
    // then), so a chunk never holds more than `fan_out` finished issues.
    while let Some(done) = docs.next().await {
        let IssueDoc {
            id,
            doc,
            attachments: atts,
            counts,
        } = match done? {
            Fetched::Done(d) => d,
            Fetched::Gone(gone) => {
                sink.deleted(
                    "issue",
                    &gone,
                    "deleted while its comments, links or properties were read",
                )
                .await?;
                continue;
            }
        };
        let project = project_of.get(id.as_str()).copied().unwrap_or("unknown");
        sink.json_bytes(layout::issue(project, &id), doc).await?;
        totals.add(&counts);
        attachments.extend(atts);
    }
    drop(docs);
    totals.send(sink).await?;
    Ok(attachments)
}

/// Every changelog history of `ids` (≤ 100), by issue id, oldest first.
async fn changelogs(
    client: &JiraClient,
    ids: &[String],
) -> Result<HashMap<String, Vec<Box<RawValue>>>> {
    let mut out: HashMap<String, Vec<Box<RawValue>>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({ "issueIdsOrKeys": ids, "maxResults": 10000 });
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let page: ChangelogPage = client
            .json(
                Method::POST,
                "/rest/api/3/changelog/bulkfetch",
                Some(&body),
                "the issues' change history",
            )
            .await?;
        let logs = page.logs.unwrap_or_default();
        let next = token_next(page.is_last, page.next_page_token, logs.is_empty());
        for log in logs {
            let Some(id) = log.issue_id.as_str() else {
                continue;
            };
            out.entry(id.to_string())
                .or_default()
                .extend(log.histories.unwrap_or_default());
        }
        match next {
            Next::Token(t) => token = Some(t),
            _ => break,
        }
    }
    for v in out.values_mut() {
        // Oldest first, whatever order the pages came in.
        let mut keyed = std::mem::take(v)
            .into_iter()
            .map(|h| Ok((HistoryOrder::of(&h)?, h)))
            .collect::<Result<Vec<_>>>()?;
        keyed.sort_by(|(a, _), (b, _)| {
            (a.created.as_str(), a.id.as_str()).cmp(&(b.created.as_str(), b.id.as_str()))
        });
        *v = keyed.into_iter().map(|(_, h)| h).collect();
    }
    Ok(out)
}

/// A `changelog/bulkfetch` page (paging style C) with each history kept as Jira's text: the
/// parsed histories of 100 issues were the walk's largest allocation.
#[derive(Deserialize)]
struct ChangelogPage {
    #[serde(rename = "issueChangeLogs", default)]
    logs: Option<Vec<IssueChangelog>>,
    #[serde(rename = "nextPageToken", default)]
    next_page_token: Option<String>,
    #[serde(rename = "isLast", default)]
    is_last: Option<bool>,
}

#[derive(Deserialize)]
struct IssueChangelog {
    #[serde(rename = "issueId", default)]
    issue_id: Value,
    #[serde(rename = "changeHistories", default)]
    histories: Option<Vec<Box<RawValue>>>,
}

/// What histories are ordered by; read leniently, as scalars.
#[derive(Deserialize, Default)]
#[serde(default)]
struct HistoryOrder {
    created: Value,
    id: Value,
}

impl HistoryOrder {
    fn of(raw: &RawValue) -> Result<Self> {
        serde_json::from_str(raw.get()).map_err(|e| {
            crate::Error::new(
                ErrorKind::JiraServer,
                format!("Jira sent a change history in a shape Backup Center cannot read ({e})."),
            )
        })
    }
}

#[derive(Debug, Default, Clone)]
struct Counts(BTreeMap<&'static str, u64>);

impl Counts {
    fn add(&mut self, o: &Counts) {
        for (k, v) in &o.0 {
            *self.0.entry(k).or_default() += v;
        }
    }

    async fn send(&self, sink: &SinkHandle) -> Result<()> {
        for (k, v) in &self.0 {
            sink.count(k, *v).await?;
        }
        Ok(())
    }
}

/// One issue's finished document.
struct IssueDoc {
    id: String,
    /// The serialised document.
    doc: Vec<u8>,
    attachments: Vec<AttachmentRef>,
    counts: Counts,
}

enum Fetched {
    Done(IssueDoc),
    /// Deleted (or hidden) while it was being read: its id.
    Gone(String),
}

#[derive(Deserialize)]
struct BulkIssues {
    #[serde(default)]
    issues: Vec<Box<RawValue>>,
}

/// The parts of an issue body the walk decides on. Scalars are read leniently (`Value`), as
/// the old `Value`-based code did; unknown fields are skipped without being stored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Signals {
    id: Option<String>,
    fields: SignalFields,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignalFields {
    comment: Option<EmbeddedList>,
    worklog: Option<EmbeddedList>,
    watches: Value,
    votes: Value,
    attachment: Value,
}

/// `{comments|worklogs: [...], total}`: the list kept as raw text.
#[derive(Deserialize, Default)]
#[serde(default)]
struct EmbeddedList {
    #[serde(alias = "worklogs")]
    comments: Option<Vec<Box<RawValue>>>,
    total: Value,
}

impl Signals {
    fn of(raw: &RawValue) -> Result<Self> {
        serde_json::from_str(raw.get()).map_err(|e| {
            crate::Error::new(
                ErrorKind::JiraServer,
                format!("Jira sent an issue in a shape Backup Center cannot read ({e})."),
            )
        })
    }
}

/// A sub-resource list embedded in the body, complete when `total` says nothing is missing.
fn embedded(list: &mut Option<EmbeddedList>) -> Option<Vec<Box<RawValue>>> {
    let list = list.as_mut()?;
    let items = list.comments.take()?;
    let total = list.total.as_u64().unwrap_or(items.len() as u64);
    (total <= items.len() as u64).then_some(items)
}

/// Fetched pages as raw values, to sit beside the embedded (raw) ones.
fn raw_list(items: Vec<Value>) -> Result<Vec<Box<RawValue>>> {
    items
        .iter()
        .map(|v| {
            serde_json::value::to_raw_value(v).map_err(|e| {
                crate::Error::internal("Could not encode an issue part.").with_source(e)
            })
        })
        .collect()
}

/// One issue's document: the body as Jira sent it plus every sub-resource, complete. Field
/// names in alphabetical order (the order the format has always had).
#[derive(Serialize)]
struct IssueDocument<'a> {
    changelog: &'a [Box<RawValue>],
    comments: &'a [Box<RawValue>],
    issue: &'a RawValue,
    properties: &'a Value,
    #[serde(rename = "remoteLinks")]
    remote_links: &'a Value,
    votes: Option<&'a Value>,
    watchers: Option<&'a Value>,
    worklogs: &'a [Box<RawValue>],
}

/// Fetches what the body does not hold and assembles the issue's document, or [`Fetched::Gone`] when the
/// issue disappeared meanwhile.
async fn complete_issue(
    client: &JiraClient,
    id: &str,
    body: Box<RawValue>,
    mut signals: Signals,
    changelog: Vec<Box<RawValue>>,
) -> Result<Fetched> {
    let base = format!("/rest/api/3/issue/{id}");
    let r = async {
        let comments = match embedded(&mut signals.fields.comment) {
            Some(c) => c,
            None => raw_list(
                client
                    .collect(
                        PageStyle::LegacyOffset("comments"),
                        &format!("{base}/comment?orderBy=created"),
                        100,
                        "an issue's comments",
                    )
                    .await?,
            )?,
        };
        let worklogs = match embedded(&mut signals.fields.worklog) {
            Some(w) => w,
            None => raw_list(
                client
                    .collect(
                        PageStyle::LegacyOffset("worklogs"),
                        &format!("{base}/worklog"),
                        5000,
                        "an issue's worklogs",
                    )
                    .await?,
            )?,
        };
        let watchers = if signals.fields.watches["watchCount"].as_u64().unwrap_or(0) > 0 {
            Some(get(client, &format!("{base}/watchers"), "an issue's watchers").await?)
        } else {
            None
        };
        let votes = if signals.fields.votes["votes"].as_u64().unwrap_or(0) > 0 {
            Some(get(client, &format!("{base}/votes"), "an issue's votes").await?)
        } else {
            None
        };
        let remote_links = get(
            client,
            &format!("{base}/remotelink"),
            "an issue's remote links",
        )
        .await?;
        let props = properties(client, &base, "an issue's properties").await?;
        Ok::<_, crate::Error>((comments, worklogs, watchers, votes, remote_links, props))
    }
    .await;
    let (comments, worklogs, watchers, votes, remote_links, props) = match r {
        Ok(v) => v,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(Fetched::Gone(id.to_string())),
        Err(e) => return Err(e),
    };
    let attachments: Vec<AttachmentRef> = signals
        .fields
        .attachment
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some(AttachmentRef {
                issue_id: id.to_string(),
                id: a["id"].as_str()?.to_string(),
                filename: a["filename"].as_str().unwrap_or("attachment").to_string(),
                size: a["size"].as_u64().unwrap_or(0),
            })
        })
        .collect();
    let mut counts = Counts::default();
    counts.0.insert("issues", 1);
    counts.0.insert("comments", comments.len() as u64);
    counts.0.insert("worklogs", worklogs.len() as u64);
    counts.0.insert("changelogs", changelog.len() as u64);
    counts.0.insert(
        "remoteLinks",
        remote_links.as_array().map_or(0, |a| a.len() as u64),
    );
    counts.0.insert(
        "issueProperties",
        props.as_object().map_or(0, |o| o.len() as u64),
    );
    counts
        .0
        .insert("attachmentsListed", attachments.len() as u64);
    let doc = serde_json::to_vec(&IssueDocument {
        changelog: &changelog,
        comments: &comments,
        issue: &body,
        properties: &props,
        remote_links: &remote_links,
        votes: votes.as_ref(),
        watchers: watchers.as_ref(),
        worklogs: &worklogs,
    })
    .map_err(|e| crate::Error::internal("Could not encode an issue document.").with_source(e))?;
    Ok(Fetched::Done(IssueDoc {
        id: id.to_string(),
        doc,
        attachments,
        counts,
    }))
}
