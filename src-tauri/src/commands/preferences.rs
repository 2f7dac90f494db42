//! Preferences: notifications, close to tray, start at login, and "Pause schedules".

use tauri::{AppHandle, State};
use tauri_plugin_autostart::ManagerExt;

use super::blocking;
use crate::error::{IpcError, IpcResult};
use crate::preferences::Preferences;
use crate::state::SharedState;

/// Whether the OS starts the app at login (the OS's own record, not only the saved wish).
fn autostart_enabled(app: &AppHandle) -> Option<bool> {
    match app.autolaunch().is_enabled() {
        Ok(on) => Some(on),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the start-at-login setting");
            None
        }
    }
}

#[tauri::command]
#[specta::specta]
pub async fn get_preferences(
    app: AppHandle,
    state: State<'_, SharedState>,
) -> IpcResult<Preferences> {
    let mut prefs = state.preferences();
    if let Some(on) = autostart_enabled(&app) {
        prefs.start_at_login = on;
    }
    Ok(prefs)
}

/// Saves the preferences and applies them: start at login is registered with (or removed
/// from) the OS, the schedules are paused or resumed.
#[tauri::command]
#[specta::specta]
pub async fn set_preferences(
    app: AppHandle,
    state: State<'_, SharedState>,
    preferences: Preferences,
) -> IpcResult<Preferences> {
    let wanted = preferences.start_at_login;
    // Unreadable and not wanted: leave the OS alone rather than fail the whole save.
    let change = match autostart_enabled(&app) {
        Some(on) => on != wanted,
        None => wanted,
    };
    if change {
        let launcher = app.autolaunch();
        let applied = if wanted {
            launcher.enable()
        } else {
            launcher.disable()
        };
        applied.map_err(|e| {
            tracing::warn!(error = %e, "cannot change the start-at-login setting");
            IpcError::internal(
                "Could not change whether Backup Center starts at login. See the log file for \
                 details.",
            )
        })?;
    }
    let s = state.inner().clone();
    let prefs = preferences.clone();
    blocking(move || s.set_preferences(prefs)).await?;
    crate::tray::refresh_menu(&app);
    Ok(preferences)
}
