//! Test-only stop points, so the crash tests can `kill -9` a run at an exact moment.
//!
//! Why it exists: crash safety must be proven where it is hardest (during the fetch, during
//! the upload, between the upload and the rename, during rotation), and a timed kill cannot
//! hit those windows reliably. With `BACKUP_CENTER_TEST_PAUSE=<point>` set, a run that reaches
//! `<point>` writes the file named by `BACKUP_CENTER_TEST_PAUSE_MARKER` and then sleeps until
//! it is killed.
//!
//! Only debug builds read these variables: in a release build [`point`] is an empty function,
//! so no environment can make a shipped binary stop.

/// The points a run can stop at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    /// The snapshot is being fetched from Jira.
    Fetch,
    /// Half the file has gone to the destination's temporary name.
    Upload,
    /// Every byte is at the temporary name; the rename to the final name has not happened.
    Rename,
    /// Rotation deleted its first old file but not yet its catalog record.
    Rotate,
}

impl Point {
    #[cfg(debug_assertions)]
    fn name(self) -> &'static str {
        match self {
            Point::Fetch => "fetch",
            Point::Upload => "upload",
            Point::Rename => "rename",
            Point::Rotate => "rotate",
        }
    }
}

/// Whether the test asked to stop at `p` (always false in release builds).
#[cfg(debug_assertions)]
pub(crate) fn armed(p: Point) -> bool {
    std::env::var("BACKUP_CENTER_TEST_PAUSE").is_ok_and(|v| v == p.name())
}

#[cfg(not(debug_assertions))]
pub(crate) fn armed(_p: Point) -> bool {
    false
}

/// Stops here for good if the test asked to (debug builds only). Blocks the calling thread.
#[cfg(debug_assertions)]
pub(crate) fn point(p: Point) {
    if !armed(p) {
        return;
    }
    if let Some(marker) = std::env::var_os("BACKUP_CENTER_TEST_PAUSE_MARKER") {
        let _ = std::fs::write(marker, p.name());
    }
    tracing::warn!(point = p.name(), "test pause: waiting to be killed");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn point(_p: Point) {}
