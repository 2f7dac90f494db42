//! Progress of a snapshot, as events: phase, items done of total, bytes. Rates and ETAs are
//! the listener's business (it owns a clock).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Phase {
    Site,
    Users,
    Projects,
    Configuration,
    Boards,
    ListingIssues,
    Issues,
    Attachments,
    Writing,
    Verifying,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Progress {
    pub phase: Phase,
    pub done: u64,
    /// Unknown until the phase has counted its work.
    pub total: Option<u64>,
    /// Bytes received from Jira so far.
    pub bytes: u64,
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Shared counters the walker's tasks update; `report` sends an event.
pub struct Tracker {
    listener: ProgressFn,
    done: AtomicU64,
    bytes: AtomicU64,
}

impl Tracker {
    pub fn new(listener: ProgressFn) -> Self {
        Self {
            listener,
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    pub fn start(&self, phase: Phase, total: Option<u64>) {
        self.done.store(0, Ordering::Relaxed);
        self.emit(phase, total);
    }

    pub fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub fn step(&self, phase: Phase, n: u64, total: Option<u64>) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.emit(phase, total);
    }

    fn emit(&self, phase: Phase, total: Option<u64>) {
        (self.listener)(Progress {
            phase,
            done: self.done.load(Ordering::Relaxed),
            total,
            bytes: self.bytes.load(Ordering::Relaxed),
        });
    }
}
