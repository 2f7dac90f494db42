//! The user's preferences: a small JSON file in the app's data folder (nothing secret, so not
//! the keychain; not the catalog, which the CLI shares and which holds backup facts only).
//! A missing or unreadable file means the defaults: a broken preferences file must never keep
//! the app from starting or backing up.

use std::path::{Path, PathBuf};

use backup_center_engine::{Error, Result};
use serde::{Deserialize, Serialize};

/// The file's name inside the data folder.
pub const FILE: &str = "preferences.json";

/// Which run outcomes show a desktop notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum NotificationLevel {
    /// Failed runs only: the admin hears about what needs action, not every night's success.
    #[default]
    FailuresOnly,
    All,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase", default)]
pub struct Preferences {
    pub notifications: NotificationLevel,
    /// Closing the window keeps the app (and its schedules) running in the tray.
    pub close_to_tray: bool,
    /// Start Backup Center when the user logs in (read back from the OS, not only this file).
    pub start_at_login: bool,
    /// "Pause schedules" from the tray: no scheduled run starts until resumed.
    pub schedules_paused: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            notifications: NotificationLevel::FailuresOnly,
            close_to_tray: true,
            start_at_login: false,
            schedules_paused: false,
        }
    }
}

pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// The saved preferences, or the defaults when there are none or they cannot be read.
pub fn load(path: &Path) -> Preferences {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, file = %path.display(), "preferences unreadable: using the defaults");
            Preferences::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Preferences::default(),
        Err(e) => {
            tracing::warn!(error = %e, file = %path.display(), "preferences unreadable: using the defaults");
            Preferences::default()
        }
    }
}

/// Writes the preferences through a temporary file and a rename, so a crash leaves the old
/// file or the new one, never half of one.
///
/// # Errors
/// `Internal` naming the file when it cannot be written.
pub fn save(path: &Path, prefs: &Preferences) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::internal(format!(
            "Could not save the preferences to {}: {e}.",
            path.display()
        ))
        .with_source(e)
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let json = serde_json::to_vec_pretty(prefs)
        .map_err(|e| Error::internal("Could not encode the preferences.").with_source(e))?;
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, json).map_err(fail)?;
    std::fs::rename(&temp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_notify_failures_only_and_keep_running_in_the_tray() {
        let p = Preferences::default();
        assert_eq!(p.notifications, NotificationLevel::FailuresOnly);
        assert!(p.close_to_tray && !p.start_at_login && !p.schedules_paused);
    }

    #[test]
    fn saved_preferences_load_back_and_damage_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        assert_eq!(load(&path), Preferences::default(), "no file: defaults");
        let p = Preferences {
            notifications: NotificationLevel::All,
            close_to_tray: false,
            start_at_login: true,
            schedules_paused: true,
        };
        save(&path, &p).unwrap();
        assert_eq!(load(&path), p);
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(load(&path), Preferences::default(), "damaged: defaults");
        std::fs::write(&path, br#"{"notifications":"none"}"#).unwrap();
        let partial = load(&path);
        assert_eq!(partial.notifications, NotificationLevel::None);
        assert!(partial.close_to_tray, "missing fields take their defaults");
    }
}
