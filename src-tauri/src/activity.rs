//! What the app's runs are doing, as the tray and notifications need it: which schemes are
//! running, how the last run ended, when the last backup succeeded. Fed by the runner's
//! [`RunEvent`]s (scheduled and manual runs alike); [`handle`] turns each event into its
//! effects: the typed event to the window, the tray icon, a notification.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use backup_center_engine::catalog::runs::RunOutcome;
use backup_center_engine::catalog::Catalog;
use backup_center_engine::run::RunEvent;
use backup_center_engine::Result;
use chrono::{DateTime, Utc};
use tauri::{AppHandle, Manager};
use tauri_specta::Event as _;

use crate::events::RunProgress;
use crate::notify::{self, NotificationKind};
use crate::state::SharedState;
use crate::tray::{self, TrayStatus};

/// Progress of one kind is sent to the window at most this often (a walk reports every
/// item; the window repaints far less often).
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub struct Activity {
    running: HashSet<u32>,
    last_outcome: Option<RunOutcome>,
    last_success: Option<DateTime<Utc>>,
    last_progress: Option<(&'static str, Instant)>,
}

/// What one event calls for.
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    /// Forward the event to the window.
    pub emit: bool,
    /// The tray icon or tooltip changed.
    pub tray: bool,
    /// (kind, scheme, message) of a finished run.
    pub finished: Option<(NotificationKind, u32, Option<String>)>,
}

impl Activity {
    /// The state the catalog remembers: the newest finished run's outcome, the newest success.
    ///
    /// # Errors
    /// `Catalog`.
    pub fn from_catalog(catalog: &Catalog) -> Result<Self> {
        let latest = catalog.latest_runs()?;
        let last_outcome = latest
            .iter()
            .filter(|r| r.outcome != RunOutcome::Running)
            .max_by_key(|r| (r.finished_at, r.id))
            .map(|r| r.outcome);
        let mut last_success = None;
        for r in &latest {
            if let Some(ok) = catalog.latest_success(r.scheme_id)? {
                last_success = last_success.max(ok.finished_at);
            }
        }
        Ok(Self {
            last_outcome,
            last_success,
            ..Self::default()
        })
    }

    pub fn tray_status(&self) -> TrayStatus {
        if !self.running.is_empty() {
            return TrayStatus::Running;
        }
        match self.last_outcome {
            None => TrayStatus::Idle,
            Some(RunOutcome::Failed | RunOutcome::Interrupted) => TrayStatus::Failed,
            Some(_) => TrayStatus::Ok,
        }
    }

    pub fn last_success(&self) -> Option<DateTime<Utc>> {
        self.last_success
    }

    pub fn is_running(&self, scheme_id: u32) -> bool {
        self.running.contains(&scheme_id)
    }

    /// Records `e` (seen at `now`, `at` on the monotonic clock) and says what it calls for.
    pub fn observe(&mut self, e: &RunEvent, now: DateTime<Utc>, at: Instant) -> Effects {
        let mut throttled = |key: &'static str| {
            let due = match self.last_progress {
                Some((k, t)) => k != key || at.duration_since(t) >= PROGRESS_EVERY,
                None => true,
            };
            if due {
                self.last_progress = Some((key, at));
            }
            due
        };
        match e {
            RunEvent::Started { scheme_ids, .. } => {
                self.running.extend(scheme_ids.iter().copied());
                Effects {
                    emit: true,
                    tray: true,
                    finished: None,
                }
            }
            RunEvent::Snapshot { progress } => Effects {
                emit: throttled(phase_key(progress.phase)),
                ..Effects::default()
            },
            RunEvent::Upload { sent, total, .. } => Effects {
                emit: throttled("upload") || sent == total,
                ..Effects::default()
            },
            RunEvent::Finished {
                scheme_id,
                outcome,
                message,
                ..
            } => {
                self.running.remove(scheme_id);
                self.last_outcome = Some(*outcome);
                if matches!(outcome, RunOutcome::Succeeded | RunOutcome::Partial) {
                    self.last_success = Some(now);
                }
                Effects {
                    emit: true,
                    tray: true,
                    finished: NotificationKind::for_outcome(*outcome)
                        .map(|k| (k, *scheme_id, message.clone())),
                }
            }
        }
    }
}

/// A stable key per snapshot phase, so a phase change is always sent.
fn phase_key(p: backup_center_engine::snapshot::progress::Phase) -> &'static str {
    use backup_center_engine::snapshot::progress::Phase::*;
    match p {
        Site => "site",
        Users => "users",
        Projects => "projects",
        Configuration => "configuration",
        Boards => "boards",
        ListingIssues => "listing-issues",
        Issues => "issues",
        Attachments => "attachments",
        Writing => "writing",
        Verifying => "verifying",
    }
}

/// The notification text: which scheme, and what to do.
pub fn notification_body(
    kind: NotificationKind,
    scheme: Option<&str>,
    message: Option<&str>,
) -> String {
    let who = scheme
        .map(|n| format!("Scheme \"{n}\""))
        .unwrap_or_else(|| "A backup".to_string());
    match (kind, message) {
        (NotificationKind::BackupFailed, Some(m)) => format!("{who}: {m}"),
        (NotificationKind::BackupFailed, None) => {
            format!("{who} failed. Open Backup Center for details.")
        }
        (NotificationKind::BackupSucceeded, _) => {
            format!("{who}: the backup was stored and verified.")
        }
        (NotificationKind::BackupPartial, Some(m)) => {
            format!("{who}: stored and verified, but partial. {m}")
        }
        (NotificationKind::BackupPartial, None) => format!(
            "{who}: stored and verified, but some sections could not be read (the Jira user \
             is not an administrator?)."
        ),
    }
}

/// The runner's event listener: window, tray, notification.
pub fn handle(app: &AppHandle, e: &RunEvent) {
    let Some(state) = app.try_state::<SharedState>() else {
        return;
    };
    let state = state.inner().clone();
    let (effects, status, last_success) = {
        let mut a = state.activity.lock().unwrap_or_else(|p| p.into_inner());
        let fx = a.observe(e, state.clock.now(), Instant::now());
        (fx, a.tray_status(), a.last_success())
    };
    if effects.emit {
        if let Err(err) = RunProgress::from(e).emit(app) {
            tracing::debug!(error = %err, "could not send run progress to the window");
        }
    }
    if effects.tray {
        tray::show_status(app, status, last_success);
    }
    if let Some((kind, scheme_id, message)) = effects.finished {
        let level = state.preferences().notifications;
        if kind.shown_at(level) {
            let name = state
                .catalog
                .get_scheme(scheme_id)
                .ok()
                .map(|s| s.settings.name);
            notify::send(
                app,
                kind,
                &notification_body(kind, name.as_deref(), message.as_deref()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backup_center_engine::snapshot::progress::{Phase, Progress};

    fn progress(phase: Phase) -> RunEvent {
        RunEvent::Snapshot {
            progress: Progress {
                phase,
                done: 1,
                total: Some(10),
                bytes: 5,
                rate: 1.0,
                eta_secs: Some(9),
            },
        }
    }

    #[test]
    fn the_tray_follows_runs_and_failures_call_for_a_notification() {
        let mut a = Activity::default();
        let (now, t0) = (Utc::now(), Instant::now());
        assert_eq!(a.tray_status(), TrayStatus::Idle);
        let fx = a.observe(
            &RunEvent::Started {
                scheme_ids: vec![1, 2],
                run_ids: vec![10, 11],
            },
            now,
            t0,
        );
        assert!(fx.emit && fx.tray);
        assert_eq!(a.tray_status(), TrayStatus::Running);
        let done = |scheme_id, outcome, message: Option<&str>| RunEvent::Finished {
            scheme_id,
            run_id: 10,
            outcome,
            message: message.map(str::to_string),
        };
        let fx = a.observe(&done(1, RunOutcome::Succeeded, None), now, t0);
        assert_eq!(
            fx.finished,
            Some((NotificationKind::BackupSucceeded, 1, None))
        );
        assert_eq!(a.tray_status(), TrayStatus::Running, "scheme 2 still runs");
        assert_eq!(a.last_success(), Some(now));
        let fx = a.observe(&done(2, RunOutcome::Failed, Some("Jira refused")), now, t0);
        assert_eq!(
            fx.finished,
            Some((
                NotificationKind::BackupFailed,
                2,
                Some("Jira refused".into())
            ))
        );
        assert_eq!(a.tray_status(), TrayStatus::Failed);
        assert_eq!(
            a.last_success(),
            Some(now),
            "a failure keeps the last success"
        );
    }

    #[test]
    fn progress_is_throttled_but_every_phase_change_goes_through() {
        let mut a = Activity::default();
        let (now, t0) = (Utc::now(), Instant::now());
        assert!(a.observe(&progress(Phase::Issues), now, t0).emit);
        assert!(!a.observe(&progress(Phase::Issues), now, t0).emit);
        assert!(a.observe(&progress(Phase::Writing), now, t0).emit);
        let later = t0 + PROGRESS_EVERY;
        assert!(a.observe(&progress(Phase::Writing), now, later).emit);
    }

    #[test]
    fn bodies_name_the_scheme_and_carry_the_message() {
        let b = notification_body(
            NotificationKind::BackupFailed,
            Some("Nightly"),
            Some("Jira rejected the API token."),
        );
        assert_eq!(b, "Scheme \"Nightly\": Jira rejected the API token.");
        assert!(
            notification_body(NotificationKind::BackupSucceeded, None, None)
                .contains("stored and verified")
        );
    }
}
