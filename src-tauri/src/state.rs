//! What the commands, the tray and the run listener share: the catalog, the keychain, the
//! clock, the runner and its scheduler, the preferences and the current activity.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::Clock;
use backup_center_engine::jira::ClientOptions;
use backup_center_engine::run::Runner;
use backup_center_engine::schedule::scheduler::SchedulerHandle;
use backup_center_engine::secrets::SecretStore;
use backup_center_engine::Result;

use crate::activity::Activity;
use crate::preferences::{self, Preferences};

pub struct AppState {
    /// Shared with the runner and the scheduler, which outlive any one command.
    pub catalog: Arc<Catalog>,
    pub secrets: Arc<dyn SecretStore>,
    pub clock: Arc<dyn Clock>,
    pub jira_options: ClientOptions,
    pub log_dir: PathBuf,
    /// The app-data folder: catalog, staging, run locks, relative local destinations.
    pub data_dir: PathBuf,
    pub runner: Arc<Runner>,
    pub activity: Mutex<Activity>,
    preferences: Mutex<Preferences>,
    /// `None` until start-up recovery is done, and again after quitting.
    scheduler: Mutex<Option<SchedulerHandle>>,
}

/// A poisoned lock only means a panic elsewhere; the data behind these locks stays valid.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        catalog: Arc<Catalog>,
        secrets: Arc<dyn SecretStore>,
        clock: Arc<dyn Clock>,
        jira_options: ClientOptions,
        log_dir: PathBuf,
        data_dir: PathBuf,
        runner: Arc<Runner>,
        activity: Activity,
    ) -> Self {
        let preferences = preferences::load(&preferences::path_in(&data_dir));
        Self {
            catalog,
            secrets,
            clock,
            jira_options,
            log_dir,
            data_dir,
            runner,
            activity: Mutex::new(activity),
            preferences: Mutex::new(preferences),
            scheduler: Mutex::new(None),
        }
    }

    pub fn preferences(&self) -> Preferences {
        lock(&self.preferences).clone()
    }

    /// Saves the preferences (the file first: what the app acts on is what will load next
    /// time) and applies the schedules' pause.
    ///
    /// # Errors
    /// `Internal` when the file cannot be written; nothing changes then.
    pub fn set_preferences(&self, prefs: Preferences) -> Result<()> {
        preferences::save(&preferences::path_in(&self.data_dir), &prefs)?;
        let paused = prefs.schedules_paused;
        *lock(&self.preferences) = prefs;
        if let Some(s) = lock(&self.scheduler).as_ref() {
            if paused {
                s.pause();
            } else {
                s.resume();
            }
        }
        Ok(())
    }

    /// Hands over the started scheduler, paused if the user paused schedules.
    pub fn attach_scheduler(&self, handle: SchedulerHandle) {
        if self.preferences().schedules_paused {
            handle.pause();
        }
        *lock(&self.scheduler) = Some(handle);
    }

    /// Makes the scheduler re-read the schemes (one was saved, paused or deleted).
    pub fn wake_scheduler(&self) {
        if let Some(s) = lock(&self.scheduler).as_ref() {
            s.wake();
        }
    }

    /// The scheduler, to stop it on quit.
    pub fn take_scheduler(&self) -> Option<SchedulerHandle> {
        lock(&self.scheduler).take()
    }
}

pub type SharedState = Arc<AppState>;
