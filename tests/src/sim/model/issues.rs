//! Issues and everything hanging off them, derived per issue from `hash(seed, issue index)`.
//! A few "heavy" issues exceed every embedded cap (>100 comments, >20 worklogs, >100
//! changelog entries) so each paging style gets exercised.

use serde_json::{json, Map, Value};

use super::config::{CUSTOM_FIELDS, LINK_TYPES, PRIORITIES, RESOLUTIONS, STATUSES};
use super::rng::{hash, Rng};
use super::text::{self, timestamp, EPOCH};
use super::{Site, ID0};

/// Comments embedded in an issue's `comment` field; the rest only via the comment endpoint.
pub const EMBEDDED_COMMENTS: usize = 20;
/// Worklogs embedded in an issue's `worklog` field (Jira caps it at 20).
pub const EMBEDDED_WORKLOGS: usize = 20;
/// Histories embedded with `expand=changelog` (JRACLOUD-96459 reports 40).
pub const EMBEDDED_HISTORIES: usize = 40;

/// The counts and choices of one issue; cheap to compute (no JSON).
#[derive(Debug, Clone)]
pub struct Shape {
    pub project: u64,
    pub number: u64,
    pub issue_type: usize,
    pub parent: Option<u64>,
    pub status: usize,
    pub priority: usize,
    pub assignee: Option<u64>,
    pub reporter: u64,
    pub created: i64,
    pub updated: i64,
    pub comments: u64,
    pub worklogs: u64,
    pub histories: u64,
    pub remote_links: u64,
    pub watchers: u64,
    pub voters: u64,
    pub properties: u64,
    /// An outward "Blocks" link to the previous issue of the project.
    pub links_out: bool,
    pub script: usize,
}

impl Site {
    /// Issues with more comments, worklogs and histories than any page cap.
    pub fn is_heavy(&self, i: u64) -> bool {
        i == 1 || (i < self.dims.issues && i % 997 == 500)
    }

    fn is_subtask(&self, i: u64) -> bool {
        let sub = |k: u64| hash(self.seed, "subtask", k) % 7 == 3;
        i < self.dims.issues
            && !self.is_heavy(i)
            && i > self.project_first_issue(self.project_of(i))
            && sub(i)
            && !sub(i - 1)
    }

    pub fn shape(&self, i: u64) -> Shape {
        let project = self.project_of(i);
        let mut r = Rng::derive(self.seed, "issue", i);
        let status = r.below(STATUSES.len() as u64) as usize;
        let mut s = Shape {
            project,
            number: i - self.project_first_issue(project) + 1,
            issue_type: [1, 2, 3, 2, 1, 0][r.below(6) as usize],
            parent: None,
            status,
            priority: r.below(PRIORITIES.len() as u64) as usize,
            assignee: r.chance(0.8).then(|| self.pick_person(&mut r)),
            reporter: self.pick_person(&mut r),
            created: EPOCH + i as i64 * 900 + r.below(600) as i64,
            updated: 0,
            comments: if r.chance(0.7) { r.range(1, 6) } else { 0 },
            worklogs: if r.chance(0.3) { r.range(1, 4) } else { 0 },
            histories: r.range(0, 8),
            remote_links: if r.chance(0.2) { r.range(1, 2) } else { 0 },
            watchers: if r.chance(0.6) { r.range(1, 4) } else { 0 },
            voters: if r.chance(0.15) { r.range(1, 3) } else { 0 },
            properties: if r.chance(0.2) { r.range(1, 2) } else { 0 },
            links_out: false,
            script: (i % 6) as usize,
        };
        s.updated = s.created + r.below(30 * 86_400) as i64;
        if i >= self.dims.issues {
            let o = self.overlay();
            let a = &o.added[(i - self.dims.issues) as usize];
            s.number = a.number;
            s.created = a.created;
            s.updated = a.created;
            (s.comments, s.worklogs, s.histories, s.remote_links) = (0, 0, 0, 0);
            (s.watchers, s.voters, s.properties) = (0, 0, 0);
            s.issue_type = 2;
        }
        if self.is_heavy(i) {
            (s.comments, s.worklogs, s.histories) = (130 + i % 3, 25, 120);
        }
        if self.is_subtask(i) {
            s.issue_type = 4;
            s.parent = Some(i - 1);
        }
        s.links_out = i < self.dims.issues && s.number > 1 && hash(self.seed, "link", i) % 10 == 0;
        if let Some(&t) = self.overlay().updated.get(&i) {
            s.updated = t;
        }
        s
    }

    pub fn issue_key(&self, i: u64) -> String {
        let s = self.shape(i);
        format!("{}-{}", self.project_key(s.project), s.number)
    }

    fn issue_self(&self, i: u64) -> String {
        format!("{}/rest/api/3/issue/{}", self.base_url, ID0 + i)
    }

    pub fn summary(&self, i: u64) -> String {
        if let Some(s) = self.overlay().summaries.get(&i) {
            return s.clone();
        }
        if i >= self.dims.issues {
            return self.overlay().added[(i - self.dims.issues) as usize]
                .summary
                .clone();
        }
        text::summary(&mut Rng::derive(self.seed, "summary", i))
    }

    fn issue_ref(&self, i: u64) -> Value {
        let s = self.shape(i);
        json!({"id": (ID0 + i).to_string(), "key": self.issue_key(i), "self": self.issue_self(i),
            "fields": {"summary": self.summary(i), "status": self.status_json(s.status),
                "priority": self.priority_json(s.priority), "issuetype": self.issue_type_json(s.issue_type)}})
    }

    pub fn subtasks_of(&self, i: u64) -> Vec<u64> {
        let next = i + 1;
        if next < self.dims.issues && self.is_subtask(next) && self.issue_exists(next) {
            vec![next]
        } else {
            vec![]
        }
    }

    pub fn issue_links(&self, i: u64) -> Vec<Value> {
        let s = self.shape(i);
        let (id, name, inward, outward) = LINK_TYPES[0];
        let kind = json!({"id": id.to_string(), "name": name, "inward": inward, "outward": outward,
            "self": format!("{}/rest/api/3/issueLinkType/{id}", self.base_url)});
        let mut v = vec![];
        if s.links_out && self.issue_exists(i - 1) {
            v.push(json!({"id": (ID0 + i).to_string(), "self": format!("{}/rest/api/3/issueLink/{}", self.base_url, ID0 + i),
                "type": kind, "outwardIssue": self.issue_ref(i - 1)}));
        }
        let next = i + 1;
        if next < self.dims.issues
            && self.issue_exists(next)
            && self.project_of(next) == s.project
            && self.shape(next).links_out
        {
            v.push(json!({"id": (ID0 + next).to_string(), "self": format!("{}/rest/api/3/issueLink/{}", self.base_url, ID0 + next),
                "type": kind, "inwardIssue": self.issue_ref(next)}));
        }
        v
    }

    pub fn comments_of(&self, i: u64) -> Vec<Value> {
        let s = self.shape(i);
        let mut out: Vec<Value> = (0..s.comments).map(|j| {
            let mut r = Rng::derive(self.seed, "comment", i * 256 + j);
            let author = self.user_ref(self.pick_person(&mut r));
            let created = timestamp(s.created + 3_600 * (j as i64 + 1));
            let mut c = json!({"self": format!("{}/comment/{}", self.issue_self(i), ID0 + i * 200 + j),
                "id": (ID0 + i * 200 + j).to_string(), "author": author, "updateAuthor": author,
                "body": text::adf(&mut r, (s.script + j as usize) % 6), "created": created, "updated": created,
                "jsdPublic": true});
            if r.chance(0.05) {
                c["visibility"] = json!({"type": "role", "value": "Developers", "identifier": "10001"});
            }
            c
        }).collect();
        for a in self.overlay().comments.get(&i).into_iter().flatten() {
            out.push(json!({"self": format!("{}/comment/{}", self.issue_self(i), a.id), "id": a.id.to_string(),
                "author": self.user_ref(0), "updateAuthor": self.user_ref(0), "body": text::adf_text(&a.text),
                "created": timestamp(a.created), "updated": timestamp(a.created), "jsdPublic": true}));
        }
        out
    }

    pub fn worklogs_of(&self, i: u64) -> Vec<Value> {
        let s = self.shape(i);
        (0..s.worklogs).map(|j| {
            let mut r = Rng::derive(self.seed, "worklog", i * 64 + j);
            let author = self.user_ref(self.pick_person(&mut r));
            let secs = r.range(1, 16) * 900;
            let started = timestamp(s.created + 7_200 * (j as i64 + 1));
            let id = ID0 + i * 50 + j;
            json!({"self": format!("{}/worklog/{id}", self.issue_self(i)), "id": id.to_string(),
                "issueId": (ID0 + i).to_string(), "author": author, "updateAuthor": author,
                "comment": text::adf(&mut r, j as usize % 6), "created": started, "updated": started, "started": started,
                "timeSpent": format_duration(secs), "timeSpentSeconds": secs})
        }).collect()
    }

    pub fn changelog_of(&self, i: u64) -> Vec<Value> {
        let s = self.shape(i);
        (0..s.histories).map(|h| {
            let mut r = Rng::derive(self.seed, "history", i * 256 + h);
            let author = self.user_ref(self.pick_person(&mut r));
            let item = match h % 3 {
                0 => {
                    let (a, b) = (STATUSES[h as usize % 5], STATUSES[(h as usize + 1) % 5]);
                    json!({"field": "status", "fieldtype": "jira", "fieldId": "status", "from": a.0.to_string(),
                        "fromString": a.1, "to": b.0.to_string(), "toString": b.1})
                }
                // Text changes carry no `from`/`to` ids (the schema has them as non-null strings).
                1 => json!({"field": "summary", "fieldtype": "jira", "fieldId": "summary",
                    "fromString": text::summary(&mut r), "toString": text::summary(&mut r)}),
                _ => json!({"field": "labels", "fieldtype": "jira", "fieldId": "labels",
                    "fromString": "", "toString": text::word(&mut r)}),
            };
            json!({"id": (ID0 + i * 200 + h).to_string(), "author": author,
                "created": timestamp(s.created + 600 * (h as i64 + 1)), "items": [item]})
        }).collect()
    }

    pub fn remote_links_of(&self, i: u64) -> Vec<Value> {
        let s = self.shape(i);
        (0..s.remote_links).map(|j| {
            let id = ID0 + i * 4 + j;
            json!({"id": id, "self": format!("{}/remotelink/{id}", self.issue_self(i)),
                "globalId": format!("system=https://wiki.example.com&id={id}"),
                "application": {"type": "com.atlassian.confluence", "name": "Wiki"},
                "relationship": "mentioned in",
                "object": {"url": format!("https://wiki.example.com/pages/{id}"), "title": format!("Design note {id} — 设计"),
                    "icon": {"url16x16": "https://wiki.example.com/favicon.ico", "title": "Wiki"},
                    "status": {"resolved": j % 2 == 1, "icon": {}}}})
        }).collect()
    }

    /// User indexes watching issue `i`.
    pub fn watcher_indexes(&self, i: u64) -> Vec<u64> {
        let mut r = Rng::derive(self.seed, "watchers", i);
        let mut v: Vec<u64> = (0..self.shape(i).watchers)
            .map(|_| self.pick_person(&mut r))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn voter_indexes(&self, i: u64) -> Vec<u64> {
        let mut r = Rng::derive(self.seed, "voters", i);
        let mut v: Vec<u64> = (0..self.shape(i).voters)
            .map(|_| self.pick_person(&mut r))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn properties_of(&self, i: u64) -> Vec<(String, Value)> {
        (0..self.shape(i).properties)
            .map(|k| {
                let key = ["sim.flag", "backup.ünïcode"][k as usize].to_string();
                (
                    key,
                    json!({"issue": ID0 + i, "k": k, "text": "値 ✓", "list": [true, null, 1.5]}),
                )
            })
            .collect()
    }

    /// The full `IssueBean`, `fields=*all`. `viewer` decides `isWatching`/`hasVoted`.
    pub fn issue_bean(&self, i: u64, viewer: Option<u64>, expand: Option<&str>) -> Value {
        let s = self.shape(i);
        let mut r = Rng::derive(self.seed, "fields", i);
        let mut f = Map::new();
        f.insert("summary".into(), json!(self.summary(i)));
        f.insert(
            "description".into(),
            if r.chance(0.9) {
                text::adf(&mut r, s.script)
            } else {
                Value::Null
            },
        );
        f.insert("issuetype".into(), self.issue_type_json(s.issue_type));
        f.insert("project".into(), self.project_ref(s.project));
        f.insert("status".into(), self.status_json(s.status));
        f.insert("priority".into(), self.priority_json(s.priority));
        let done = STATUSES[s.status].2 == "done";
        f.insert(
            "resolution".into(),
            if done {
                self.resolution_json(i as usize % RESOLUTIONS.len())
            } else {
                Value::Null
            },
        );
        f.insert(
            "resolutiondate".into(),
            if done {
                json!(timestamp(s.updated))
            } else {
                Value::Null
            },
        );
        f.insert(
            "assignee".into(),
            s.assignee.map_or(Value::Null, |u| self.user_ref(u)),
        );
        f.insert("reporter".into(), self.user_ref(s.reporter));
        f.insert("creator".into(), self.user_ref(s.reporter));
        f.insert("created".into(), json!(timestamp(s.created)));
        f.insert("updated".into(), json!(timestamp(s.updated)));
        f.insert(
            "duedate".into(),
            if r.chance(0.3) {
                json!(&timestamp(s.created + 20 * 86_400)[..10])
            } else {
                Value::Null
            },
        );
        f.insert(
            "labels".into(),
            json!((0..r.below(3))
                .map(|_| text::word(&mut r))
                .collect::<Vec<_>>()),
        );
        let comps = self.components(s.project);
        f.insert(
            "components".into(),
            if r.chance(0.5) {
                json!([comps[i as usize % comps.len()]])
            } else {
                json!([])
            },
        );
        let vers = self.versions(s.project);
        f.insert(
            "fixVersions".into(),
            if r.chance(0.4) {
                json!([vers[i as usize % vers.len()]])
            } else {
                json!([])
            },
        );
        f.insert("versions".into(), json!([]));
        f.insert("environment".into(), Value::Null);
        f.insert("security".into(), Value::Null);
        if let Some(p) = s.parent {
            f.insert("parent".into(), self.issue_ref(p));
        }
        f.insert(
            "subtasks".into(),
            self.subtasks_of(i)
                .into_iter()
                .map(|k| self.issue_ref(k))
                .collect(),
        );
        f.insert("issuelinks".into(), json!(self.issue_links(i)));
        f.insert(
            "attachment".into(),
            self.attachments_of(i)
                .iter()
                .map(|a| self.attachment_json(a))
                .collect(),
        );
        let comments = self.comments_of(i);
        f.insert(
            "comment".into(),
            json!({"comments": comments.iter().take(EMBEDDED_COMMENTS).collect::<Vec<_>>(),
            "self": format!("{}/comment", self.issue_self(i)),
            "maxResults": EMBEDDED_COMMENTS, "total": comments.len(), "startAt": 0}),
        );
        let worklogs = self.worklogs_of(i);
        let spent: i64 = worklogs
            .iter()
            .filter_map(|w| w["timeSpentSeconds"].as_i64())
            .sum();
        f.insert(
            "worklog".into(),
            json!({"startAt": 0, "maxResults": EMBEDDED_WORKLOGS, "total": worklogs.len(),
            "worklogs": worklogs.into_iter().take(EMBEDDED_WORKLOGS).collect::<Vec<_>>()}),
        );
        f.insert(
            "timetracking".into(),
            if spent > 0 {
                json!({"timeSpent": format_duration(spent as u64), "timeSpentSeconds": spent})
            } else {
                json!({})
            },
        );
        f.insert(
            "timespent".into(),
            if spent > 0 { json!(spent) } else { Value::Null },
        );
        let watchers = self.watcher_indexes(i);
        f.insert("watches".into(), json!({"self": format!("{}/watchers", self.issue_self(i)),
            "watchCount": watchers.len(), "isWatching": viewer.is_some_and(|v| watchers.contains(&v))}));
        let voters = self.voter_indexes(i);
        f.insert(
            "votes".into(),
            json!({"self": format!("{}/votes", self.issue_self(i)),
            "votes": voters.len(), "hasVoted": viewer.is_some_and(|v| voters.contains(&v))}),
        );
        f.insert(
            "customfield_10010".into(),
            if r.chance(0.6) {
                json!(r.range(1, 13) as f64)
            } else {
                Value::Null
            },
        );
        let b = s.project;
        f.insert("customfield_10020".into(), if self.sprint_count(b) > 0 && r.chance(0.7) {
            let sp = self.sprint_json(b, r.below(self.sprint_count(b)));
            json!([{"id": sp["id"], "name": sp["name"], "state": sp["state"], "boardId": b + 1}])
        } else { Value::Null });
        f.insert("customfield_10030".into(), self.option_value(2, r.below(5)));
        f.insert(
            "customfield_10031".into(),
            if r.chance(0.5) {
                self.option_value(3, r.below(CUSTOM_FIELDS[3].3))
            } else {
                Value::Null
            },
        );
        f.insert(
            "customfield_10032".into(),
            if r.chance(0.3) {
                text::adf(&mut r, s.script + 1)
            } else {
                Value::Null
            },
        );
        let mut v = json!({"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": (ID0 + i).to_string(), "self": self.issue_self(i), "key": self.issue_key(i), "fields": f});
        if expand.is_some_and(|e| e.split(',').any(|x| x.trim() == "changelog")) {
            let h = self.changelog_of(i);
            v["changelog"] = json!({"startAt": 0, "maxResults": EMBEDDED_HISTORIES.min(h.len()), "total": h.len(),
                "histories": h.into_iter().take(EMBEDDED_HISTORIES).collect::<Vec<_>>()});
        }
        v
    }

    fn option_value(&self, c: usize, o: u64) -> Value {
        let mut v = self.option_json(c, o);
        v["self"] = json!(format!(
            "{}/rest/api/3/customFieldOption/{}",
            self.base_url,
            v["id"].as_str().unwrap_or("0")
        ));
        if let Some(m) = v.as_object_mut() {
            m.remove("disabled");
        }
        v
    }

    // Ground truth by issue id (None when the issue does not exist now).
    pub fn comments(&self, id: &str) -> Option<Vec<Value>> {
        self.live(id).map(|i| self.comments_of(i))
    }
    pub fn worklogs(&self, id: &str) -> Option<Vec<Value>> {
        self.live(id).map(|i| self.worklogs_of(i))
    }
    pub fn changelog(&self, id: &str) -> Option<Vec<Value>> {
        self.live(id).map(|i| self.changelog_of(i))
    }
    pub fn remote_links(&self, id: &str) -> Option<Vec<Value>> {
        self.live(id).map(|i| self.remote_links_of(i))
    }
    /// Watchers' account ids.
    pub fn watchers(&self, id: &str) -> Option<Vec<String>> {
        self.live(id).map(|i| {
            self.watcher_indexes(i)
                .into_iter()
                .map(|u| self.user(u).account_id)
                .collect()
        })
    }
    /// Voters' account ids.
    pub fn votes(&self, id: &str) -> Option<Vec<String>> {
        self.live(id).map(|i| {
            self.voter_indexes(i)
                .into_iter()
                .map(|u| self.user(u).account_id)
                .collect()
        })
    }
    pub fn properties(&self, id: &str) -> Option<Vec<(String, Value)>> {
        self.live(id).map(|i| self.properties_of(i))
    }

    pub fn live(&self, id: &str) -> Option<u64> {
        self.resolve_issue(id).filter(|&i| self.issue_exists(i))
    }
}

pub fn format_duration(secs: u64) -> String {
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    }
}
