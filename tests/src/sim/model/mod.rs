//! The synthetic site: everything is a pure function of `(seed, size)`, generated on demand
//! (per-entity generators from [`rng::Rng::derive`]), so a Large site costs no more memory
//! than a Tiny one. Mutations made through the control endpoint live in a small [`Overlay`].

pub mod attachments;
pub mod config;
pub mod issues;
pub mod projects;
pub mod rng;
pub mod text;
pub mod users;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use super::auth::SimUser;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    Tiny,
    Small,
    Medium,
    Large,
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "tiny" => Ok(Size::Tiny),
            "small" => Ok(Size::Small),
            "medium" => Ok(Size::Medium),
            "large" => Ok(Size::Large),
            other => Err(format!("unknown size {other:?} (tiny|small|medium|large)")),
        }
    }
}

/// How many of each top-level thing a size has.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    pub projects: u64,
    pub issues: u64,
    pub attachments: u64,
    /// Generated users, besides the configured demo accounts.
    pub users: u64,
    /// Mean attachment size in bytes (the two big ones come on top).
    pub mean_attachment: u64,
    /// Size of the big attachments ("tens of MB", only a couple).
    pub big_attachment: u64,
}

impl Size {
    pub fn dims(self) -> Dims {
        const MB: u64 = 1024 * 1024;
        match self {
            Size::Tiny => Dims {
                projects: 2,
                issues: 50,
                attachments: 10,
                users: 12,
                mean_attachment: 16 * 1024,
                big_attachment: MB,
            },
            Size::Small => Dims {
                projects: 5,
                issues: 1_000,
                attachments: 100,
                users: 60,
                mean_attachment: 100 * 1024,
                big_attachment: 12 * MB,
            },
            Size::Medium => Dims {
                projects: 20,
                issues: 20_000,
                attachments: 2_000,
                users: 300,
                mean_attachment: 500 * 1024,
                big_attachment: 24 * MB,
            },
            Size::Large => Dims {
                projects: 50,
                issues: 100_000,
                attachments: 10_000,
                users: 1_000,
                mean_attachment: 500 * 1024,
                big_attachment: 40 * MB,
            },
        }
    }
}

/// First id of issues, projects, attachments, comments… (Jira's numbering starts there too).
pub const ID0: u64 = 10_000;

/// Changes made after generation (control endpoint); keyed by issue index.
#[derive(Debug, Default)]
pub struct Overlay {
    pub summaries: HashMap<u64, String>,
    pub updated: HashMap<u64, i64>,
    pub deleted: HashSet<u64>,
    /// Issues added after generation: index `dims.issues + k`.
    pub added: Vec<AddedIssue>,
    pub comments: HashMap<u64, Vec<AddedComment>>,
    pub attachments: HashMap<u64, Vec<AddedAttachment>>,
    /// Issues the search still lists but that are gone for fetches (a fault).
    pub vanished: HashSet<u64>,
    /// Ids handed out to added comments and attachments.
    pub next_id: u64,
}

impl Overlay {
    /// A fresh id, above every generated one.
    pub fn allocate_id(&mut self) -> u64 {
        self.next_id += 1;
        900_000_000 + self.next_id
    }
}

#[derive(Debug, Clone)]
pub struct AddedIssue {
    pub project: u64,
    pub number: u64,
    pub summary: String,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub struct AddedComment {
    pub id: u64,
    pub text: String,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub struct AddedAttachment {
    pub id: u64,
    pub filename: String,
    pub bytes: Vec<u8>,
    pub created: i64,
}

pub struct Site {
    pub seed: u64,
    pub size: Size,
    pub dims: Dims,
    /// The Jira origin used in `self` links.
    pub base_url: String,
    /// The media origin (attachment content, user avatars).
    pub media_url: String,
    /// The configured demo accounts; they come first among the users.
    pub people: Vec<SimUser>,
    overlay: Mutex<Overlay>,
}

impl Site {
    /// A site with placeholder origins, for ground truth without a server.
    pub fn new(seed: u64, size: Size) -> Self {
        Self::with_origins(
            seed,
            size,
            "http://jira.sim.invalid",
            "http://media.sim.invalid",
            super::SimConfig::default().users,
        )
    }

    pub fn with_origins(
        seed: u64,
        size: Size,
        base: &str,
        media: &str,
        people: Vec<SimUser>,
    ) -> Self {
        Site {
            seed,
            size,
            dims: size.dims(),
            base_url: base.trim_end_matches('/').to_string(),
            media_url: media.trim_end_matches('/').to_string(),
            people,
            overlay: Mutex::new(Overlay::default()),
        }
    }

    pub fn overlay(&self) -> MutexGuard<'_, Overlay> {
        self.overlay.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Project ids, live and archived.
    pub fn project_ids(&self) -> Vec<String> {
        (0..self.dims.projects)
            .map(|p| (ID0 + p).to_string())
            .collect()
    }

    /// Ids of every issue that exists now, ascending.
    pub fn issue_ids(&self) -> impl Iterator<Item = String> + '_ {
        let total = self.dims.issues + self.overlay().added.len() as u64;
        (0..total)
            .filter(|&i| self.issue_exists(i))
            .map(|i| (ID0 + i).to_string())
    }

    /// Counts per entity kind, for comparing with a snapshot.
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        let mut c = BTreeMap::new();
        c.insert("users", self.user_count());
        c.insert("groups", users::GROUPS.len() as u64);
        c.insert("projects", self.dims.projects);
        c.insert("issueTypes", config::ISSUE_TYPES.len() as u64);
        c.insert("statuses", config::STATUSES.len() as u64);
        c.insert("priorities", config::PRIORITIES.len() as u64);
        c.insert("resolutions", config::RESOLUTIONS.len() as u64);
        c.insert("fields", config::fields().len() as u64);
        c.insert("filters", self.filter_count());
        c.insert("dashboards", self.dashboard_count());
        c.insert("boards", self.board_count());
        c.insert(
            "sprints",
            (0..self.board_count()).map(|b| self.sprint_count(b)).sum(),
        );
        c.insert(
            "components",
            (0..self.dims.projects)
                .map(|p| self.component_count(p))
                .sum(),
        );
        c.insert(
            "versions",
            (0..self.dims.projects).map(|p| self.version_count(p)).sum(),
        );
        let (mut issues, mut comments, mut worklogs, mut changes, mut atts, mut bytes) =
            (0, 0, 0, 0, 0, 0);
        let (mut links, mut watched, mut voted, mut props, mut remote) = (0, 0, 0, 0, 0);
        let total = self.dims.issues + self.overlay().added.len() as u64;
        for i in (0..total).filter(|&i| self.issue_exists(i)) {
            let s = self.shape(i);
            issues += 1;
            comments += s.comments
                + self
                    .overlay()
                    .comments
                    .get(&i)
                    .map_or(0, |v| v.len() as u64);
            worklogs += s.worklogs;
            changes += s.histories;
            remote += s.remote_links;
            watched += u64::from(s.watchers > 0);
            voted += u64::from(s.voters > 0);
            props += s.properties;
            links += u64::from(s.links_out);
            for a in self.attachments_of(i) {
                atts += 1;
                bytes += a.size;
            }
        }
        c.insert("issues", issues);
        c.insert("comments", comments);
        c.insert("worklogs", worklogs);
        c.insert("changelogs", changes);
        c.insert("remoteLinks", remote);
        c.insert("issuesWithWatchers", watched);
        c.insert("issuesWithVotes", voted);
        c.insert("issueProperties", props);
        c.insert("issueLinks", links);
        c.insert("attachments", atts);
        c.insert("attachmentBytes", bytes);
        c
    }

    /// Total issues ever generated, before mutations (arithmetic).
    pub fn generated_issue_count(&self) -> u64 {
        self.dims.issues
    }

    /// A generated or added issue that is neither deleted nor vanished.
    pub fn issue_exists(&self, index: u64) -> bool {
        let o = self.overlay();
        index < self.dims.issues + o.added.len() as u64
            && !o.deleted.contains(&index)
            && !o.vanished.contains(&index)
    }

    /// Listed by the search: exists, or vanished after the search saw it.
    pub fn issue_listed(&self, index: u64) -> bool {
        let o = self.overlay();
        index < self.dims.issues + o.added.len() as u64 && !o.deleted.contains(&index)
    }

    /// Resolves a numeric id or a `KEY-n` key to an issue index.
    pub fn resolve_issue(&self, id_or_key: &str) -> Option<u64> {
        if let Ok(id) = id_or_key.parse::<u64>() {
            return id.checked_sub(ID0);
        }
        let (key, n) = id_or_key.rsplit_once('-')?;
        let n: u64 = n.parse().ok()?;
        let p = (0..self.dims.projects).find(|&p| self.project_key(p).eq_ignore_ascii_case(key))?;
        if n >= 1 && n <= self.project_issue_count(p) {
            return Some(self.project_first_issue(p) + n - 1);
        }
        let o = self.overlay();
        o.added
            .iter()
            .position(|a| a.project == p && a.number == n)
            .map(|k| self.dims.issues + k as u64)
    }

    pub fn project_first_issue(&self, p: u64) -> u64 {
        p * self.dims.issues / self.dims.projects
    }

    /// Generated issues in project `p`.
    pub fn project_issue_count(&self, p: u64) -> u64 {
        self.project_first_issue(p + 1) - self.project_first_issue(p)
    }

    pub fn project_of(&self, index: u64) -> u64 {
        if index >= self.dims.issues {
            let o = self.overlay();
            return o
                .added
                .get((index - self.dims.issues) as usize)
                .map_or(0, |a| a.project);
        }
        // Blocks are contiguous; the division gives a guess that is at most one off.
        let mut p = (index * self.dims.projects / self.dims.issues).min(self.dims.projects - 1);
        while self.project_first_issue(p) > index {
            p -= 1;
        }
        while p + 1 < self.dims.projects && self.project_first_issue(p + 1) <= index {
            p += 1;
        }
        p
    }

    /// Issue indexes of project `p` that the search lists, ascending.
    pub fn project_issues(&self, p: u64) -> Vec<u64> {
        let first = self.project_first_issue(p);
        let mut v: Vec<u64> = (first..first + self.project_issue_count(p))
            .filter(|&i| self.issue_listed(i))
            .collect();
        let added: Vec<u64> = {
            let o = self.overlay();
            o.added
                .iter()
                .enumerate()
                .filter(|(_, a)| a.project == p)
                .map(|(k, _)| self.dims.issues + k as u64)
                .collect()
        };
        v.extend(added.into_iter().filter(|&i| self.issue_listed(i)));
        v
    }

    /// Whether this caller may browse project `p`: the non-admin cannot see the second one.
    pub fn may_browse(&self, p: u64, admin: bool) -> bool {
        admin || p != projects::RESTRICTED
    }

    /// The full issue as bulkfetch returns it with `fields=*all` to the admin demo account.
    pub fn issue_json(&self, id: &str) -> Option<Value> {
        let i = self.resolve_issue(id).filter(|&i| self.issue_exists(i))?;
        Some(self.issue_bean(i, Some(0), None))
    }
}
