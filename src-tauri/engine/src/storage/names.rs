//! Which files in a destination folder are ours.
//!
//! A backup folder may be shared with other programs and people, so a destination lists,
//! counts and removes only names this app writes:
//! - snapshots, `<host>-<basic|extended>-<YYYY-MM-DD_HHMM>.zip`
//!   (as [`crate::snapshot::file_name`] makes them);
//! - temporaries of an upload in progress, `.<final name>.part-<16 hex digits>`: the leading dot
//!   hides them in most file browsers, the final name says what they were going to be, and the
//!   random suffix keeps two uploads of the same name apart. Only temporaries of our own final
//!   names count, so a stranger's `.x.part-…` is never removed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDateTime;

use crate::snapshot::SnapshotKind;

/// The file "Test connection" writes (through a temporary name) and then renames.
pub const PROBE_NAME: &str = "backup-center-probe.txt";
/// The name the probe is renamed to before it is listed and deleted.
pub const PROBE_RENAMED: &str = "backup-center-probe-renamed.txt";

const TEMP_MARK: &str = ".part-";
const TEMP_RANDOM_DIGITS: usize = 16;
const TIME_FORMAT: &str = "%Y-%m-%d_%H%M";

/// A snapshot file name taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotName {
    /// The site host as it appears in the name (characters other than `[A-Za-z0-9.-]` were
    /// written as `_`).
    pub host: String,
    pub kind: SnapshotKind,
    /// When the snapshot was started, UTC, to the minute.
    pub taken_at: NaiveDateTime,
}

/// Parses `<host>-<basic|extended>-<YYYY-MM-DD_HHMM>.zip`; `None` for any other name.
pub fn parse_snapshot_name(name: &str) -> Option<SnapshotName> {
    let stem = name.strip_suffix(".zip")?;
    // The time is a fixed 15 characters of ASCII at the end: "2026-11-22_0300".
    let split = stem.len().checked_sub(15)?;
    if !stem.is_char_boundary(split) {
        return None;
    }
    let (rest, time) = stem.split_at(split);
    let taken_at = NaiveDateTime::parse_from_str(time, TIME_FORMAT).ok()?;
    let rest = rest.strip_suffix('-')?;
    let (host, kind) = if let Some(host) = rest.strip_suffix("-basic") {
        (host, SnapshotKind::Basic)
    } else {
        (rest.strip_suffix("-extended")?, SnapshotKind::Extended)
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    host_ok.then(|| SnapshotName {
        host: host.to_string(),
        kind,
        taken_at,
    })
}

/// Whether `name` is a snapshot this app wrote (and so may list, count and remove).
pub fn is_snapshot_name(name: &str) -> bool {
    parse_snapshot_name(name).is_some()
}

/// A fresh temporary name for an upload that will become `final_name`.
pub fn temporary_name(final_name: &str) -> String {
    format!(".{final_name}{TEMP_MARK}{:016x}", random_u64())
}

/// The final name `name` is a temporary of, if it is one of ours.
pub fn temporary_target(name: &str) -> Option<&str> {
    let inner = name.strip_prefix('.')?;
    let split = inner
        .len()
        .checked_sub(TEMP_MARK.len() + TEMP_RANDOM_DIGITS)?;
    if !inner.is_char_boundary(split) {
        return None;
    }
    let (target, suffix) = inner.split_at(split);
    let digits = suffix.strip_prefix(TEMP_MARK)?;
    let is_hex = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let ours = is_snapshot_name(target) || target == PROBE_NAME;
    (is_hex && ours).then_some(target)
}

/// Whether `name` is a temporary upload of ours.
pub fn is_temporary_name(name: &str) -> bool {
    temporary_target(name).is_some()
}

/// Unpredictable enough to keep concurrent uploads apart, without a dependency: std's
/// `RandomState` is seeded from the OS, and the counter separates calls within one process.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::snapshot::file_name;

    #[test]
    fn names_from_the_snapshot_writer_are_ours() {
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 7, 0).unwrap();
        for (host, kind) in [
            ("acme.atlassian.net", SnapshotKind::Basic),
            ("my-site.atlassian.net", SnapshotKind::Extended),
            ("weird host:8080", SnapshotKind::Basic),
        ] {
            let name = file_name(host, kind, at);
            let parsed = parse_snapshot_name(&name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.taken_at, at.naive_utc());
        }
        let p = parse_snapshot_name("acme.atlassian.net-extended-2026-01-02_2359.zip").unwrap();
        assert_eq!(p.host, "acme.atlassian.net");
    }

    #[test]
    fn foreign_names_are_not_ours() {
        for name in [
            "notes.txt",
            "acme-basic-2026-11-22_0300.zip.bak",
            "acme-full-2026-11-22_0300.zip",
            "acme-basic-2026-13-22_0300.zip",
            "acme-basic-2026-11-22_2460.zip",
            "-basic-2026-11-22_0300.zip",
            "a b-basic-2026-11-22_0300.zip",
            "acme-basic-2026-11-22.zip",
            "acme-basic-2026-11-22_0300.ZIP",
            "ü-basic-2026-11-22_0300.zip",
            "",
        ] {
            assert!(!is_snapshot_name(name), "{name:?} must not be ours");
        }
    }

    #[test]
    fn temporaries_name_their_target_and_differ() {
        let target = "acme-basic-2026-11-22_0300.zip";
        let a = temporary_name(target);
        let b = temporary_name(target);
        assert_ne!(a, b);
        assert!(
            a.starts_with(".acme-basic-2026-11-22_0300.zip.part-"),
            "{a}"
        );
        assert_eq!(temporary_target(&a), Some(target));
        assert!(!is_snapshot_name(&a));
        assert!(is_temporary_name(&temporary_name(PROBE_NAME)));
        for foreign in [
            ".notes.txt.part-0123456789abcdef",
            ".acme-basic-2026-11-22_0300.zip.part-0123",
            ".acme-basic-2026-11-22_0300.zip.part-0123456789ABCDEF",
            "acme-basic-2026-11-22_0300.zip.part-0123456789abcdef",
            "acme-basic-2026-11-22_0300.zip.part",
        ] {
            assert!(!is_temporary_name(foreign), "{foreign:?} must not be ours");
        }
    }
}
