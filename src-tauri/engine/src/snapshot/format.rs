//! The snapshot format: the manifest types and where each kind of document lives in the ZIP.
//!
//! Everything here is part of the documented, versioned format (`docs/snapshot-format.md`):
//! renaming a field or moving a path is a new [`FORMAT_VERSION`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The format this engine writes. Readers refuse newer versions instead of guessing.
pub const FORMAT_VERSION: u32 = 1;

/// The manifest's path; it is always the last entry, so its presence means the writer finished.
pub const MANIFEST_PATH: &str = "manifest.json";

/// `tool.name` in every manifest.
pub const TOOL_NAME: &str = "Backup Center";

/// Counts the writer derives from the entries themselves (and `verify` re-derives), so the
/// walker cannot get them wrong.
pub const COUNT_ISSUES: &str = "issues";
/// See [`COUNT_ISSUES`].
pub const COUNT_ATTACHMENTS: &str = "attachments";

/// Basic: configuration, users and issues with all their collections. Extended: Basic plus
/// attachment files and avatars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotKind {
    Basic,
    Extended,
}

/// The Jira site the snapshot was taken from (from `serverInfo` and the configured URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteInfo {
    pub url: String,
    pub server_title: String,
    pub version: String,
    pub cloud: bool,
}

/// The program that wrote the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    /// This build of Backup Center.
    pub fn current() -> Self {
        Self {
            name: TOOL_NAME.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// A section the walker could not save completely (no permission, an endpoint gone, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialSection {
    pub section: String,
    pub reason: String,
}

/// Something that disappeared from Jira while the run was walking it (an issue deleted
/// mid-run): not an error, but the snapshot says so instead of silently lacking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedItem {
    pub entity: String,
    pub id: String,
    pub note: String,
}

/// One ZIP entry as the manifest lists it: uncompressed size and SHA-256 (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// `manifest.json`. Unknown fields are ignored when reading, so version 1 can grow optional
/// fields without breaking older readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest<E = Vec<EntryRecord>> {
    pub format_version: u32,
    pub kind: SnapshotKind,
    pub site: SiteInfo,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub tool: ToolInfo,
    /// Entity name → number saved ("issues", "comments", "worklogs", "users", ...).
    pub counts: BTreeMap<String, u64>,
    pub partial: bool,
    pub partial_sections: Vec<PartialSection>,
    pub deleted_during_run: Vec<DeletedItem>,
    /// Every entry except the manifest itself, in the order they were written. (Generic so
    /// the writer can stream them from its scratch file.)
    pub entries: E,
}

/// Where each document goes. Ids are Jira's (numeric strings, group UUIDs); the writer refuses
/// any path segment that is not safe, so a hostile id cannot escape the layout.
pub mod layout {
    pub const SERVER_INFO: &str = "site/serverInfo.json";
    pub const MYSELF: &str = "site/myself.json";
    pub const USERS: &str = "users/users.jsonl";
    pub const GROUPS: &str = "groups/groups.jsonl";
    pub const FILTERS: &str = "filters/filters.jsonl";
    pub const DASHBOARDS: &str = "dashboards/dashboards.jsonl";

    /// `groups/members/<groupId>.json`
    pub fn group_members(group_id: &str) -> String {
        format!("groups/members/{group_id}.json")
    }

    /// `projects/<projectId>/<name>.json`, name one of project, components, versions, roles,
    /// properties, ...
    pub fn project_doc(project_id: &str, name: &str) -> String {
        format!("projects/{project_id}/{name}.json")
    }

    /// `config/<name>.json` (issuetypes, fields, statuses, workflows, ...).
    pub fn config(name: &str) -> String {
        format!("config/{name}.json")
    }

    /// `boards/<boardId>/<name>.json`, name one of board, configuration, sprints, ...
    pub fn board_doc(board_id: &str, name: &str) -> String {
        format!("boards/{board_id}/{name}.json")
    }

    /// `issues/<projectId>/<issueId>.json`: one document per issue.
    pub fn issue(project_id: &str, issue_id: &str) -> String {
        format!("issues/{project_id}/{issue_id}.json")
    }

    /// `attachments/<issueId>/<attachmentId>/<file name>`. The attachment id keeps two
    /// attachments with the same name on one issue apart; `file_name` must come from
    /// [`crate::snapshot::sanitise_file_name`].
    pub fn attachment(issue_id: &str, attachment_id: &str, file_name: &str) -> String {
        format!("attachments/{issue_id}/{attachment_id}/{file_name}")
    }

    /// `avatars/<type>/<avatarId>.<ext>`, type one of project, issuetype, priority, user.
    pub fn avatar(avatar_type: &str, avatar_id: &str, extension: &str) -> String {
        format!("avatars/{avatar_type}/{avatar_id}.{extension}")
    }

    /// Whether `path` is an issue document (`issues/<p>/<i>.json`), for the derived count.
    pub fn is_issue(path: &str) -> bool {
        let mut parts = path.split('/');
        matches!(
            (parts.next(), parts.next(), parts.next(), parts.next()),
            (Some("issues"), Some(p), Some(file), None) if !p.is_empty() && file.len() > ".json".len() && file.ends_with(".json")
        )
    }

    /// Whether `path` is an attachment file (`attachments/<i>/<a>/<name>`).
    pub fn is_attachment(path: &str) -> bool {
        let mut parts = path.split('/');
        matches!(
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
            (Some("attachments"), Some(i), Some(a), Some(name), None)
                if !i.is_empty() && !a.is_empty() && !name.is_empty()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::layout::*;

    #[test]
    fn derived_count_paths() {
        assert!(is_issue(&issue("10000", "10042")));
        assert!(!is_issue("issues/10000/10042.json/x"));
        assert!(!is_issue("issues/10000.json"));
        assert!(!is_issue("projects/10000/project.json"));
        assert!(is_attachment(&attachment("10042", "20001", "a.png")));
        assert!(!is_attachment("attachments/10042/a.png"));
    }
}
