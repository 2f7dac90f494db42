//! Desktop notifications. Kinds are an enum; the scheduler issue sends them on failures.

use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    BackupFailed,
    BackupSucceeded,
}

impl NotificationKind {
    pub fn title(self) -> &'static str {
        match self {
            NotificationKind::BackupFailed => "Backup failed",
            NotificationKind::BackupSucceeded => "Backup completed",
        }
    }
}

/// Shows a notification; failing to show one is logged, never fatal.
pub fn send(app: &AppHandle, kind: NotificationKind, body: &str) {
    if let Err(e) = app
        .notification()
        .builder()
        .title(kind.title())
        .body(body)
        .show()
    {
        tracing::warn!(error = %e, ?kind, "could not show a desktop notification");
    }
}
