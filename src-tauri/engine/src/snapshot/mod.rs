//! Snapshots: what a Basic or Extended snapshot holds and the walk that gathers it ([`walk`],
//! [`issues`], [`media`]), progress events ([`progress`]), and the documented ZIP a backup run
//! produces: its writer (fed through [`sink`]), verifier and inspector. The full format description for people reading backups without this app is
//! `docs/snapshot-format.md`.
//!
//! Crates, and why: the ZIP is written by `archive.rs` (see there for why not a crate) with
//! `flate2` (Deflate through the pure-Rust zlib-rs backend) and `crc32fast`, and read back by
//! `rawzip` (an independent implementation that walks the directory without keeping it);
//! `ring` for SHA-256 (see `checksum.rs`), `hex` (lowercase hex for the manifest) and
//! `unicode-normalization` (NFC, so one visible name is one byte string in the ZIP).
//!
//! # Layout (format version 1)
//!
//! ```text
//! site/serverInfo.json                     GET /serverInfo
//! site/myself.json                         GET /myself (who took the snapshot)
//! users/users.jsonl                        one user per line
//! groups/groups.jsonl                      one group per line
//! groups/members/<groupId>.json            members of one group
//! projects/<projectId>/project.json        + components.json, versions.json, roles.json,
//!                                            properties.json, ...
//! config/<name>.json                       issuetypes, fields, statuses, workflows, schemes, ...
//! filters/filters.jsonl                    one filter per line
//! dashboards/dashboards.jsonl              one dashboard per line
//! boards/<boardId>/board.json              + configuration.json, sprints.json, ...
//! issues/<projectId>/<issueId>.json        bulkfetch body + complete comments, worklogs,
//!                                            changelog, remoteLinks, watchers, votes, properties
//! attachments/<issueId>/<attachmentId>/<name>   Extended only; name sanitised, original in JSON
//! avatars/<type>/<avatarId>.<ext>          Extended only
//! manifest.json                            always last: metadata, counts, every entry's SHA-256
//! ```
//!
//! JSON is Deflate-compressed; attachments and images are stored. Entries of unknown size
//! (JSON Lines, streams) carry ZIP64 headers; the archive switches to ZIP64 on its own past
//! 65,535 entries or 4 GiB.
//!
//! # Life of a snapshot
//! [`SnapshotWriter::create`] opens `<name>.part`; entries stream in one after the other;
//! [`SnapshotWriter::finish`] writes the manifest, fsyncs, runs [`verify`] on the `.part` and
//! only then renames it. Anything else (an error, [`SnapshotWriter::abort`], a drop) removes
//! the `.part`, so a file with the final name is always a complete, verified snapshot.

mod archive;
mod format;
pub mod issues;
pub mod media;
mod names;
mod output;
pub mod progress;
pub mod sink;
mod take;
mod verify;
pub mod walk;
mod writer;

use std::io;
use std::path::Path;

pub use format::{
    layout, DeletedItem, EntryRecord, Manifest, PartialSection, SiteInfo, SnapshotKind, ToolInfo,
    COUNT_ATTACHMENTS, COUNT_ISSUES, FORMAT_VERSION, MANIFEST_PATH, TOOL_NAME,
};
pub use names::{sanitise_file_name, MAX_NAME_BYTES};
pub use output::WriteProgress;
pub use take::{file_name, take_snapshot};
pub use verify::{inspect, verify, verify_reporting, ManifestSummary, VerifyReport};
pub use writer::{Compression, SnapshotMeta, SnapshotWriter};

use crate::{Error, ErrorKind};

/// std maps ENOSPC/EDQUOT (Unix) and ERROR_DISK_FULL/ERROR_HANDLE_DISK_FULL (Windows) here.
fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// An I/O failure while writing a snapshot in `dir`, with a message the user can act on.
fn io_error(e: io::Error, dir: &Path, action: &str) -> Error {
    let dir_shown = dir.display();
    let error = if is_disk_full(&e) {
        Error::new(
            ErrorKind::StorageFull,
            format!(
                "Not enough disk space to write the snapshot in {dir_shown}: {e}. Free some \
                 space or choose another folder, then run the backup again."
            ),
        )
    } else if e.kind() == io::ErrorKind::NotFound {
        Error::new(
            ErrorKind::NotFound,
            format!("Could not {action} in {dir_shown}: the folder does not exist ({e})."),
        )
    } else if e.kind() == io::ErrorKind::PermissionDenied {
        Error::new(
            ErrorKind::InvalidInput,
            format!("Could not {action} in {dir_shown}: permission denied. Choose a folder Backup Center may write to."),
        )
    } else {
        Error::internal(format!("Could not {action} in {dir_shown}: {e}."))
    };
    error
        .with_context("dir", dir_shown.to_string())
        .with_source(e)
}
