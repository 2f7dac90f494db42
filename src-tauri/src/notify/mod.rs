//! Desktop notifications through tauri-plugin-notification (on Linux a `Notify` call to
//! `org.freedesktop.Notifications` on the session bus). Kinds are an enum ([`kind`]).

pub mod kind;

pub use kind::NotificationKind;

use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

/// Shows a notification; failing to show one is logged, never fatal. The body is the run's
/// actionable message, which never holds a secret.
pub fn send(app: &AppHandle, kind: NotificationKind, body: &str) {
    tracing::info!(?kind, "desktop notification");
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
