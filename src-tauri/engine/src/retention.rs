//! Rotation: which of a scheme's backup files to delete once a new one is safely stored.
//!
//! Pure: the caller passes what the catalog knows about the scheme's files and what the
//! destination folder lists. The rules, each there to never lose a good backup:
//! - Only after a verified success: the new file is in the catalog as verified and listed on
//!   the destination. After a failure nothing is deleted.
//! - Only files this app wrote for this scheme: recorded in the catalog for it *and* named
//!   `<site>-<basic|extended>-<YYYY-MM-DD_HHMM>.zip` for its site and type. Anything else in the
//!   folder (a person's files, another scheme's backups, a copy) is never touched.
//! - The newest `keep` verified files stay, and the new file always counts among them even if
//!   the clock made it look older.
//! - Unverified files of the scheme (left by failed runs) go once a newer verified backup
//!   exists: they are not backups anyone should restore from.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::snapshot::{file_name, SnapshotKind};
use crate::storage::names::parse_snapshot_name;

/// One of the scheme's files as the catalog records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFile {
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Verified on the destination after upload.
    pub verified: bool,
}

/// How the run that asks for rotation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd<'a> {
    /// The run stored `new_file` and verified it on the destination.
    VerifiedSuccess { new_file: &'a str },
    /// Anything else: failed, partial upload, interrupted, unverified.
    NotVerified,
}

/// What rotation looks at.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    /// Files to keep; values below 1 count as 1 (the new file always stays).
    pub keep: u32,
    /// The Jira site's host, as passed to [`file_name`].
    pub site_host: &'a str,
    pub kind: SnapshotKind,
    /// The catalog's files of this scheme in this destination folder.
    pub recorded: &'a [RecordedFile],
    /// File names the destination folder lists now.
    pub listed: &'a [String],
}

/// The names to delete, oldest first (so an interrupted rotation leaves the newest files).
pub fn files_to_delete(end: RunEnd<'_>, r: &Rotation<'_>) -> Vec<String> {
    let RunEnd::VerifiedSuccess { new_file } = end else {
        return Vec::new();
    };
    let listed: HashSet<&str> = r.listed.iter().map(String::as_str).collect();
    let ours = |f: &&RecordedFile| listed.contains(f.name.as_str()) && named_for(r, &f.name);
    let mut seen = HashSet::new();
    let mut candidates: Vec<&RecordedFile> = r
        .recorded
        .iter()
        .filter(ours)
        .filter(|f| seen.insert(f.name.as_str()))
        .collect();
    let Some(new) = candidates
        .iter()
        .copied()
        .find(|f| f.name == new_file && f.verified)
    else {
        // The new file is not a verified, listed backup of this scheme: do not trust the
        // premise, delete nothing.
        return Vec::new();
    };

    // Newest first; the new file first of all.
    candidates.sort_by(|a, b| {
        (b.name == new.name, b.created_at, &b.name).cmp(&(
            a.name == new.name,
            a.created_at,
            &a.name,
        ))
    });
    let keep = r.keep.max(1) as usize;
    let mut delete: Vec<&RecordedFile> = candidates
        .iter()
        .copied()
        .filter(|f| f.verified)
        .skip(keep)
        .collect();
    delete.extend(
        candidates
            .iter()
            .copied()
            .filter(|f| !f.verified && f.created_at < new.created_at),
    );
    delete.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
    delete.into_iter().map(|f| f.name.clone()).collect()
}

/// Whether `name` is a snapshot name for this scheme's site and type.
fn named_for(r: &Rotation<'_>, name: &str) -> bool {
    let Some(parsed) = parse_snapshot_name(name) else {
        return false;
    };
    // The host as it appears in our names: let the writer's own naming say.
    let host_in_names =
        parse_snapshot_name(&file_name(r.site_host, r.kind, DateTime::UNIX_EPOCH)).map(|p| p.host);
    parsed.kind == r.kind && Some(parsed.host) == host_in_names
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
