//! What a snapshot holds, and the walk that gathers it: site and caller, users, groups,
//! projects, configuration, filters, dashboards and boards here; issues in [`super::issues`];
//! attachments and avatars in [`super::media`] (Extended only).
//!
//! Sections a non-admin may not read are recorded as partial, with Jira's reason, instead of
//! failing the run: an honest partial snapshot beats none.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::{json, Map, Value};

use super::issues;
use super::media;
use super::progress::{Phase, Tracker};
use super::sink::SinkHandle;
use super::{layout, SnapshotKind};
use crate::error::{ErrorKind, Result};
use crate::jira::paging::PageStyle;
use crate::jira::JiraClient;

#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub kind: SnapshotKind,
    /// Chunks of 100 issues fetched at once (each chunk runs its own per-issue requests).
    pub issue_chunks_in_flight: usize,
    /// Per-project and per-item requests in flight inside one section.
    pub fan_out: usize,
    /// Where attachments are downloaded before they go into the snapshot.
    pub temp_dir: std::path::PathBuf,
}

impl WalkOptions {
    pub fn new(kind: SnapshotKind, temp_dir: std::path::PathBuf) -> Self {
        Self {
            kind,
            issue_chunks_in_flight: 4,
            fan_out: 8,
            temp_dir,
        }
    }
}

/// What the walk learned that the manifest needs.
#[derive(Debug, Clone)]
pub struct WalkOutcome {
    pub server_info: Value,
    pub is_admin: bool,
}

/// Runs a section; a permission refusal becomes a partial section instead of a failure.
pub(crate) async fn section<T>(
    sink: &SinkHandle,
    name: &str,
    fut: impl std::future::Future<Output = Result<T>>,
) -> Result<Option<T>> {
    match fut.await {
        Ok(v) => Ok(Some(v)),
        Err(e) if matches!(e.kind, ErrorKind::JiraForbidden | ErrorKind::NotFound) => {
            tracing::info!(section = name, reason = %e.message(), "section not readable: partial");
            sink.partial(name, e.message()).await?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn get(client: &JiraClient, path: &str, what: &str) -> Result<Value> {
    client.json(Method::GET, path, None, what).await
}

/// Walks the whole site into `sink`.
pub async fn walk(
    client: &JiraClient,
    opts: &WalkOptions,
    sink: &SinkHandle,
    tracker: &Tracker,
) -> Result<WalkOutcome> {
    tracker.start(Phase::Site, None);
    let server_info = get(client, "/rest/api/3/serverInfo", "the server information").await?;
    sink.json(layout::SERVER_INFO, &server_info).await?;
    let myself = get(
        client,
        "/rest/api/3/myself?expand=groups,applicationRoles",
        "your user profile",
    )
    .await?;
    sink.json(layout::MYSELF, &myself).await?;
    let perms = get(
        client,
        "/rest/api/3/mypermissions?permissions=ADMINISTER",
        "your global permissions",
    )
    .await?;
    let is_admin = perms["permissions"]["ADMINISTER"]["havePermission"]
        .as_bool()
        .unwrap_or(false);
    if !is_admin {
        sink.partial(
            "admin",
            "The account is not a Jira administrator: site configuration, schemes, other users' \
             private filters and admin-only settings could not be read.",
        )
        .await?;
    }

    tracker.start(Phase::Users, None);
    let user_avatars = users(client, sink, tracker).await?;
    groups(client, opts, sink).await?;

    tracker.start(Phase::Projects, None);
    let projects = projects(client, opts, sink, tracker).await?;

    tracker.start(Phase::Configuration, None);
    configuration(client, opts, sink, tracker).await?;
    filters_and_dashboards(client, opts, sink).await?;

    tracker.start(Phase::Boards, None);
    boards(client, opts, sink, tracker).await?;

    let attachments = issues::walk(client, opts, sink, tracker, &projects).await?;

    if opts.kind == SnapshotKind::Extended {
        media::walk(
            client,
            opts,
            sink,
            tracker,
            &attachments,
            &projects,
            &user_avatars,
        )
        .await?;
    }
    Ok(WalkOutcome {
        server_info,
        is_admin,
    })
}

/// Writes the users; returns their avatar URLs (for Extended snapshots).
async fn users(
    client: &JiraClient,
    sink: &SinkHandle,
    tracker: &Tracker,
) -> Result<BTreeSet<String>> {
    // Buffered, then written as one JSON Lines entry: users fit in memory (a few MB even for
    // 50,000), and the entry only starts once the section has proved readable.
    let mut pages = Vec::new();
    let got = section(sink, "users", async {
        client
            .for_each_page(
                PageStyle::BareArray,
                "/rest/api/3/users/search",
                1000,
                "the users",
                |items| {
                    pages.push(items);
                    Ok(())
                },
            )
            .await
    })
    .await?;
    let mut avatars = BTreeSet::new();
    if got.is_none() {
        return Ok(avatars);
    }
    sink.begin_jsonl(layout::USERS).await?;
    let mut n = 0;
    for page in pages {
        for u in page {
            if let Some(url) = u["avatarUrls"]["48x48"].as_str() {
                avatars.insert(url.to_string());
            }
            sink.line(&u).await?;
            n += 1;
        }
    }
    sink.end_jsonl().await?;
    sink.count("users", n).await?;
    tracker.step(Phase::Users, n, Some(n));
    Ok(avatars)
}

async fn groups(client: &JiraClient, opts: &WalkOptions, sink: &SinkHandle) -> Result<()> {
    let Some(groups) = section(
        sink,
        "groups",
        client.collect(
            PageStyle::PageBean,
            "/rest/api/3/group/bulk",
            50,
            "the groups",
        ),
    )
    .await?
    else {
        return Ok(());
    };
    sink.begin_jsonl(layout::GROUPS).await?;
    for g in &groups {
        sink.line(g).await?;
    }
    sink.end_jsonl().await?;
    sink.count("groups", groups.len() as u64).await?;
    let members: Vec<(String, Vec<Value>)> =
        stream::iter(groups.iter().filter_map(|g| g["groupId"].as_str()))
            .map(|id| async move {
                let path =
                    format!("/rest/api/3/group/member?groupId={id}&includeInactiveUsers=true");
                let m = client
                    .collect(PageStyle::PageBean, &path, 50, "the members of a group")
                    .await?;
                Ok::<_, crate::Error>((id.to_string(), m))
            })
            .buffer_unordered(opts.fan_out)
            .try_collect()
            .await?;
    let mut n = 0;
    for (id, m) in members {
        n += m.len() as u64;
        sink.json(layout::group_members(&id), &m).await?;
    }
    sink.count("groupMemberships", n).await
}

/// A project the issue walk visits.
#[derive(Debug, Clone)]
pub struct ProjectRef {
    pub id: String,
    pub key: String,
    pub avatar_ids: Vec<String>,
}

async fn projects(
    client: &JiraClient,
    opts: &WalkOptions,
    sink: &SinkHandle,
    tracker: &Tracker,
) -> Result<Vec<ProjectRef>> {
    let list = client
        .collect(
            PageStyle::PageBean,
            "/rest/api/3/project/search?expand=description,lead,issueTypes,url,projectKeys&status=live&status=archived",
            100,
            "the projects",
        )
        .await?;
    sink.count("projects", list.len() as u64).await?;
    let total = Some(list.len() as u64);
    tracker.start(Phase::Projects, total);
    // In Jira's order, so the issue walk (and the entry order) is the same run after run.
    stream::iter(list)
        .map(|p| async move {
            let done = project(client, sink, p).await?;
            tracker.step(Phase::Projects, 1, total);
            Ok::<_, crate::Error>(done)
        })
        .buffered(opts.fan_out)
        .try_collect::<Vec<_>>()
        .await
}

async fn project(client: &JiraClient, sink: &SinkHandle, p: Value) -> Result<ProjectRef> {
    let id = p["id"].as_str().unwrap_or_default().to_string();
    let key = p["key"].as_str().unwrap_or_default().to_string();
    let base = format!("/rest/api/3/project/{id}");
    let components = client
        .collect(
            PageStyle::PageBean,
            &format!("{base}/component"),
            50,
            "the project's components",
        )
        .await?;
    let versions = client
        .collect(
            PageStyle::PageBean,
            &format!("{base}/version"),
            50,
            "the project's versions",
        )
        .await?;
    let roles = section(
        sink,
        &format!("projects/{key}/roles"),
        project_roles(client, &base),
    )
    .await?;
    let properties = properties(client, &base, "the project's properties").await?;
    let avatars = section(
        sink,
        &format!("projects/{key}/avatars"),
        get(client, &format!("{base}/avatars"), "the project's avatars"),
    )
    .await?;
    let avatar_ids = avatars
        .as_ref()
        .and_then(|a| a["custom"].as_array())
        .map(|c| {
            c.iter()
                .filter_map(|a| a["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    sink.count("components", components.len() as u64).await?;
    sink.count("versions", versions.len() as u64).await?;
    let doc = json!({
        "project": p,
        "components": components,
        "versions": versions,
        "roles": roles,
        "properties": properties,
        "avatars": avatars,
    });
    sink.json(layout::project_doc(&id, "project"), &doc).await?;
    Ok(ProjectRef {
        id,
        key,
        avatar_ids,
    })
}

async fn project_roles(client: &JiraClient, base: &str) -> Result<Value> {
    let map = get(client, &format!("{base}/role"), "the project's roles").await?;
    let mut out = Map::new();
    if let Some(m) = map.as_object() {
        for (name, url) in m {
            // The map's values are URLs ending in the role id.
            let Some(role_id) = url.as_str().and_then(|u| u.rsplit('/').next()) else {
                continue;
            };
            let role = get(client, &format!("{base}/role/{role_id}"), "a project role").await?;
            out.insert(name.clone(), role);
        }
    }
    Ok(Value::Object(out))
}

/// An entity's properties as `{key: value}` (`base` is the entity's path).
pub(crate) async fn properties(client: &JiraClient, base: &str, what: &str) -> Result<Value> {
    let keys = get(client, &format!("{base}/properties"), what).await?;
    let mut out = Map::new();
    for k in keys["keys"].as_array().into_iter().flatten() {
        let Some(key) = k["key"].as_str() else {
            continue;
        };
        let v = get(client, &format!("{base}/properties/{key}"), what).await?;
        out.insert(
            key.to_string(),
            v.get("value").cloned().unwrap_or(Value::Null),
        );
    }
    Ok(Value::Object(out))
}

/// How a configuration endpoint pages: `None` for an unpaged list or object.
type Paging = Option<(PageStyle, u32)>;

/// Site configuration: (entry name, path, paging).
const CONFIGURATION: &[(&str, &str, Paging)] = &[
    ("issuetypes", "/rest/api/3/issuetype", None),
    (
        "issuetypeschemes",
        "/rest/api/3/issuetypescheme",
        Some((PageStyle::PageBean, 50)),
    ),
    (
        "screens",
        "/rest/api/3/screens",
        Some((PageStyle::PageBean, 100)),
    ),
    (
        "screenschemes",
        "/rest/api/3/screenscheme",
        Some((PageStyle::PageBean, 25)),
    ),
    ("fields", "/rest/api/3/field", None),
    (
        "statuses",
        "/rest/api/3/statuses/search",
        Some((PageStyle::PageBean, 200)),
    ),
    (
        "workflows",
        "/rest/api/3/workflows/search?expand=values.transitions",
        Some((PageStyle::PageBean, 50)),
    ),
    (
        "workflowschemes",
        "/rest/api/3/workflowscheme",
        Some((PageStyle::PageBean, 50)),
    ),
    (
        "permissionschemes",
        "/rest/api/3/permissionscheme?expand=all",
        None,
    ),
    (
        "notificationschemes",
        "/rest/api/3/notificationscheme?expand=all",
        Some((PageStyle::PageBean, 50)),
    ),
    (
        "issuesecurityschemes",
        "/rest/api/3/issuesecurityschemes",
        None,
    ),
    (
        "fieldconfigurations",
        "/rest/api/3/fieldconfiguration",
        Some((PageStyle::PageBean, 50)),
    ),
    (
        "fieldconfigurationschemes",
        "/rest/api/3/fieldconfigurationscheme",
        Some((PageStyle::PageBean, 50)),
    ),
    (
        "priorities",
        "/rest/api/3/priority/search",
        Some((PageStyle::PageBean, 50)),
    ),
    (
        "resolutions",
        "/rest/api/3/resolution/search",
        Some((PageStyle::PageBean, 50)),
    ),
    ("issuelinktypes", "/rest/api/3/issueLinkType", None),
];

async fn configuration(
    client: &JiraClient,
    opts: &WalkOptions,
    sink: &SinkHandle,
    tracker: &Tracker,
) -> Result<()> {
    // Steps count sections read; the total is unknown until the custom fields are listed.
    let results: Vec<(&str, Option<Value>)> = stream::iter(CONFIGURATION)
        .map(|(name, path, paging)| async move {
            let fut = async {
                match paging {
                    Some((style, size)) => Ok(Value::Array(
                        client.collect(*style, path, *size, name).await?,
                    )),
                    None => get(client, path, name).await,
                }
            };
            let read = section(sink, &format!("config/{name}"), fut).await?;
            tracker.step(Phase::Configuration, 1, None);
            Ok::<_, crate::Error>((*name, read))
        })
        .buffer_unordered(opts.fan_out)
        .try_collect()
        .await?;
    let mut fields = None;
    for (name, value) in results {
        if let Some(v) = value {
            if name == "fields" {
                fields = Some(v.clone());
            }
            sink.json(layout::config(name), &v).await?;
        }
    }
    // Custom fields carry contexts, and contexts carry options.
    let custom: Vec<String> = fields
        .iter()
        .flat_map(|f| f.as_array().into_iter().flatten())
        .filter(|f| f["custom"].as_bool() == Some(true))
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect();
    let docs: Vec<Option<(String, Value)>> = stream::iter(custom)
        .map(|id| async move {
            let doc = section(
                sink,
                &format!("config/fields/{id}"),
                field_contexts(client, &id),
            )
            .await?;
            tracker.step(Phase::Configuration, 1, None);
            Ok::<_, crate::Error>(doc.map(|d| (id, d)))
        })
        .buffer_unordered(opts.fan_out)
        .try_collect()
        .await?;
    for (id, doc) in docs.into_iter().flatten() {
        sink.json(layout::config(&format!("fields/{id}")), &doc)
            .await?;
    }
    Ok(())
}

async fn field_contexts(client: &JiraClient, field: &str) -> Result<Value> {
    let base = format!("/rest/api/3/field/{field}/context");
    let mut contexts = client
        .collect(PageStyle::PageBean, &base, 50, "a custom field's contexts")
        .await?;
    for ctx in contexts.iter_mut() {
        let Some(id) = ctx["id"].as_str().map(str::to_string) else {
            continue;
        };
        let options = client
            .collect(
                PageStyle::PageBean,
                &format!("{base}/{id}/option"),
                100,
                "a field context's options",
            )
            .await?;
        ctx["options"] = Value::Array(options);
    }
    Ok(json!({ "fieldId": field, "contexts": contexts }))
}

async fn filters_and_dashboards(
    client: &JiraClient,
    opts: &WalkOptions,
    sink: &SinkHandle,
) -> Result<()> {
    let filters = section(
        sink,
        "filters",
        client.collect(
            PageStyle::PageBean,
            "/rest/api/3/filter/search?expand=description,jql,owner,sharePermissions,editPermissions,subscriptions,favouritedCount&overrideSharePermissions=true",
            50,
            "the filters",
        ),
    )
    .await?;
    if let Some(f) = filters {
        sink.count("filters", f.len() as u64).await?;
        sink.begin_jsonl(layout::FILTERS).await?;
        for filter in &f {
            sink.line(filter).await?;
        }
        sink.end_jsonl().await?;
    }
    let dashboards = section(
        sink,
        "dashboards",
        client.collect(PageStyle::PageBean, "/rest/api/3/dashboard/search?expand=description,owner,sharePermissions,editPermissions", 50, "the dashboards"),
    )
    .await?
    .unwrap_or_default();
    sink.count("dashboards", dashboards.len() as u64).await?;
    let docs: Vec<(String, Value)> = stream::iter(dashboards)
        .map(|d| async move {
            let id = d["id"].as_str().unwrap_or_default().to_string();
            let gadgets = section(
                sink,
                &format!("dashboards/{id}/gadgets"),
                get(
                    client,
                    &format!("/rest/api/3/dashboard/{id}/gadget"),
                    "a dashboard's gadgets",
                ),
            )
            .await?;
            Ok::<_, crate::Error>((
                id,
                json!({ "dashboard": d, "gadgets": gadgets.map(|g| g["gadgets"].clone()) }),
            ))
        })
        // In order: the lines of one entry must not depend on which answer came first.
        .buffered(opts.fan_out)
        .try_collect()
        .await?;
    sink.begin_jsonl(layout::DASHBOARDS).await?;
    for (_, doc) in docs {
        sink.line(&doc).await?;
    }
    sink.end_jsonl().await
}

async fn boards(
    client: &JiraClient,
    opts: &WalkOptions,
    sink: &SinkHandle,
    tracker: &Tracker,
) -> Result<()> {
    let Some(boards) = section(
        sink,
        "boards",
        client.collect(
            PageStyle::PageBean,
            "/rest/agile/1.0/board?includePrivate=true",
            50,
            "the boards",
        ),
    )
    .await?
    else {
        return Ok(());
    };
    sink.count("boards", boards.len() as u64).await?;
    let total = Some(boards.len() as u64);
    tracker.start(Phase::Boards, total);
    let docs: Vec<(String, Value, u64)> = stream::iter(boards)
        .map(|b| async move {
            let id = b["id"]
                .as_u64()
                .map(|i| i.to_string())
                .or_else(|| b["id"].as_str().map(str::to_string))
                .unwrap_or_default();
            let base = format!("/rest/agile/1.0/board/{id}");
            let config = section(
                sink,
                &format!("boards/{id}/configuration"),
                get(
                    client,
                    &format!("{base}/configuration"),
                    "a board's configuration",
                ),
            )
            .await?;
            // Kanban boards have no sprints (Jira answers 400 for them).
            let sprints = if b["type"].as_str().is_some_and(|t| t != "scrum") {
                None
            } else {
                section(
                    sink,
                    &format!("boards/{id}/sprints"),
                    client.collect(
                        PageStyle::PageBean,
                        &format!("{base}/sprint?state=future,active,closed"),
                        50,
                        "a board's sprints",
                    ),
                )
                .await?
            };
            let n = sprints.as_ref().map_or(0, |s| s.len() as u64);
            tracker.step(Phase::Boards, 1, total);
            Ok::<_, crate::Error>((
                id,
                json!({ "board": b, "configuration": config, "sprints": sprints }),
                n,
            ))
        })
        .buffer_unordered(opts.fan_out)
        .try_collect()
        .await?;
    let mut sprints = 0;
    for (id, doc, n) in docs {
        sprints += n;
        sink.json(layout::board_doc(&id, "board"), &doc).await?;
    }
    sink.count("sprints", sprints).await
}
