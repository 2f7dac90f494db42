//! The scheduler loop: a tokio task that starts due schemes while the app runs.
//!
//! It wakes at the next slot, and at least every minute, and then asks the *wall clock* what
//! is due ([`due_groups`], built on [`super::due`]). A monotonic timer alone would miss slots
//! after the machine slept or the clock was changed; re-reading the [`Clock`] at every wake
//! makes a slept-through slot run once on wake, and a clock set back repeat nothing.
//!
//! Runs are started as their own tasks, so a long Extended run does not hold up another
//! site's slot; a scheme with a run in flight is not started again (and the catalog's run
//! lock keeps out another process). The executor records each slot handled once its run
//! ends ([`crate::run::Runner::run_due_group`]), so a run cut short by a crash is caught up
//! at the next start.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::catalog::runs::RunTrigger;
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::run::{Group, Members, Runner};
use crate::schemes::Scheme;

/// The longest the loop sleeps before it looks at the wall clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// A slot run this late counts as a catch-up (the loop itself is at most a minute late).
const CATCH_UP_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Schemes due at `now`, grouped by site, type and slot so that each group is snapshotted
/// once. Paused schemes are never due.
pub fn due_groups(schemes: &[(Scheme, DateTime<Utc>)], now: DateTime<Utc>) -> Vec<Group> {
    let mut by_slot: Vec<(DateTime<Utc>, Members)> = Vec::new();
    for (scheme, last_handled) in schemes {
        let Some(due) = scheme.due(*last_handled, now) else {
            continue;
        };
        let trigger = if due.missed > 0 || now - due.slot >= CATCH_UP_AFTER {
            RunTrigger::CatchUp
        } else {
            RunTrigger::Schedule
        };
        match by_slot.iter_mut().find(|(slot, _)| *slot == due.slot) {
            Some((_, members)) => members.push((scheme.clone(), trigger)),
            None => by_slot.push((due.slot, vec![(scheme.clone(), trigger)])),
        }
    }
    by_slot
        .into_iter()
        .flat_map(|(slot, members)| Group::of(members, Some(slot)))
        .collect()
}

/// How the loop waits: real sleeps in the app, simulated time in tests.
pub trait Sleep: Send + Sync {
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
}

/// `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// What the loop calls for a due group. Returns when the group's runs have ended and their
/// slots are recorded handled.
pub trait Execute: Send + Sync {
    fn execute(&self, group: Group) -> BoxFuture<'static, ()>;
}

impl Execute for Arc<Runner> {
    fn execute(&self, group: Group) -> BoxFuture<'static, ()> {
        let runner = self.clone();
        Box::pin(async move {
            if let Err(e) = runner.run_due_group(group).await {
                tracing::error!(error = %e.log_line(), "scheduled run could not be recorded");
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Paused,
    Stopped,
}

/// Controls a running scheduler loop; dropping it stops the loop.
pub struct SchedulerHandle {
    state: watch::Sender<State>,
    task: JoinHandle<()>,
}

impl SchedulerHandle {
    /// No new runs start until [`SchedulerHandle::resume`]; runs in flight go on. Slots that
    /// pass meanwhile run once on resume (as after a sleep).
    pub fn pause(&self) {
        self.state.send_replace(State::Paused);
    }

    pub fn resume(&self) {
        self.state.send_replace(State::Running);
    }

    /// Re-reads the schemes now (after one was saved, paused or deleted).
    pub fn wake(&self) {
        self.state.send_modify(|_| {});
    }

    /// Stops the loop and waits for it; runs in flight finish on their own tasks.
    pub async fn stop(self) {
        self.state.send_replace(State::Stopped);
        let _ = self.task.await;
    }
}

/// Starts the loop on the current tokio runtime.
pub fn spawn(
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    sleep: Arc<dyn Sleep>,
    execute: Arc<dyn Execute>,
) -> SchedulerHandle {
    let (tx, rx) = watch::channel(State::Running);
    let task = tokio::spawn(run_loop(catalog, clock, sleep, execute, rx));
    SchedulerHandle { state: tx, task }
}

async fn run_loop(
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    sleep: Arc<dyn Sleep>,
    execute: Arc<dyn Execute>,
    mut state: watch::Receiver<State>,
) {
    let in_flight: Arc<Mutex<HashSet<u32>>> = Arc::default();
    let finished = Arc::new(Notify::new());
    loop {
        let current = *state.borrow_and_update();
        if current == State::Stopped {
            break;
        }
        let now = clock.now();
        let schemes = match catalog.list_schemes_with_last_handled() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e.log_line(), "scheduler cannot read the schemes");
                Vec::new()
            }
        };
        if current == State::Running {
            for mut group in due_groups(&schemes, now) {
                {
                    let mut busy = in_flight.lock().unwrap_or_else(|p| p.into_inner());
                    group.members.retain(|(s, _)| !busy.contains(&s.id));
                    busy.extend(group.members.iter().map(|(s, _)| s.id));
                }
                if group.members.is_empty() {
                    continue;
                }
                let ids: Vec<u32> = group.members.iter().map(|(s, _)| s.id).collect();
                let (execute, in_flight, finished) =
                    (execute.clone(), in_flight.clone(), finished.clone());
                tokio::spawn(async move {
                    execute.execute(group).await;
                    let mut busy = in_flight.lock().unwrap_or_else(|p| p.into_inner());
                    for id in ids {
                        busy.remove(&id);
                    }
                    finished.notify_one();
                });
            }
        }
        let wait = schemes
            .iter()
            .filter_map(|(s, _)| s.next_run_after(now))
            .min()
            .and_then(|next| (next - now).to_std().ok())
            .unwrap_or(MAX_SLEEP)
            .clamp(Duration::from_secs(1), MAX_SLEEP);
        tokio::select! {
            _ = sleep.sleep(wait) => {}
            changed = state.changed() => {
                // The handle is gone: nobody can pause or stop this loop any more.
                if changed.is_err() {
                    break;
                }
            }
            _ = finished.notified() => {}
        }
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
