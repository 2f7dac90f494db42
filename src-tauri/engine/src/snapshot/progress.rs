//! Progress of a snapshot, as events: phase, items done of total, bytes, rate and ETA.
//! Rates use the monotonic clock: they describe the run, they decide nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

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

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Progress {
    pub phase: Phase,
    pub done: u64,
    /// Unknown until the phase has counted its work.
    pub total: Option<u64>,
    /// Bytes received from Jira so far (JSON answers and downloads).
    pub bytes: u64,
    /// Items per second in this phase so far.
    pub rate: f64,
    /// Seconds left in this phase at the current rate, once the total is known.
    pub eta_secs: Option<u64>,
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Shared counters the walker's tasks update; `report` sends an event.
pub struct Tracker {
    listener: ProgressFn,
    done: AtomicU64,
    bytes: AtomicU64,
    /// The Jira client's count of JSON bytes, and its value when the run began.
    received: OnceLock<(Arc<AtomicU64>, u64)>,
    phase_started: Mutex<Instant>,
}

impl Tracker {
    pub fn new(listener: ProgressFn) -> Self {
        Self {
            listener,
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            received: OnceLock::new(),
            phase_started: Mutex::new(Instant::now()),
        }
    }

    pub fn start(&self, phase: Phase, total: Option<u64>) {
        self.done.store(0, Ordering::Relaxed);
        *self.phase_started.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.emit(phase, total);
    }

    /// Adds what `counter` counts from now on to the bytes reported (the Jira client's
    /// [`received_counter`](crate::jira::JiraClient::received_counter)); once per tracker.
    pub fn count_received(&self, counter: Arc<AtomicU64>) {
        let start = counter.load(Ordering::Relaxed);
        let _ = self.received.set((counter, start));
    }

    pub fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub fn step(&self, phase: Phase, n: u64, total: Option<u64>) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.emit(phase, total);
    }

    fn emit(&self, phase: Phase, total: Option<u64>) {
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = self
            .phase_started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
            .as_secs_f64();
        let (rate, eta_secs) = rate_and_eta(done, total, elapsed);
        let received = self.received.get().map_or(0, |(counter, start)| {
            counter.load(Ordering::Relaxed).saturating_sub(*start)
        });
        (self.listener)(Progress {
            phase,
            done,
            total,
            bytes: self.bytes.load(Ordering::Relaxed) + received,
            rate,
            eta_secs,
        });
    }
}

/// Items per second, and seconds left once the total is known (none before any progress).
pub fn rate_and_eta(done: u64, total: Option<u64>, elapsed_secs: f64) -> (f64, Option<u64>) {
    if elapsed_secs <= 0.0 || done == 0 {
        return (0.0, None);
    }
    let rate = done as f64 / elapsed_secs;
    let eta = total.map(|t| (t.saturating_sub(done) as f64 / rate).ceil() as u64);
    (rate, eta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta_follow_progress() {
        assert_eq!(rate_and_eta(0, Some(100), 5.0), (0.0, None));
        assert_eq!(rate_and_eta(50, Some(100), 5.0), (10.0, Some(5)));
        assert_eq!(rate_and_eta(50, None, 5.0), (10.0, None));
        assert_eq!(rate_and_eta(100, Some(100), 5.0), (20.0, Some(0)));
    }

    #[test]
    fn events_carry_phase_counts_and_bytes() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let t = Tracker::new(Arc::new(move |p| s.lock().unwrap().push(p)));
        t.start(Phase::Issues, Some(10));
        t.add_bytes(1000);
        t.step(Phase::Issues, 4, Some(10));
        let last = seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(
            (last.phase, last.done, last.total, last.bytes),
            (Phase::Issues, 4, Some(10), 1000)
        );
        assert!(last.rate > 0.0);
        assert!(last.eta_secs.is_some());
    }

    #[test]
    fn bytes_include_what_the_client_received_since_the_run_began() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let t = Tracker::new(Arc::new(move |p| s.lock().unwrap().push(p)));
        let counter = Arc::new(AtomicU64::new(500)); // a connection test before the run
        t.count_received(counter.clone());
        counter.fetch_add(2000, Ordering::Relaxed);
        t.add_bytes(30);
        t.step(Phase::Configuration, 1, None);
        assert_eq!(seen.lock().unwrap().last().unwrap().bytes, 2030);
    }
}
