//! Tauri commands: thin wrappers that turn IPC input into engine calls and engine errors into
//! `{code, message}`. Blocking work (SQLite, the keychain over D-Bus, FTP and SFTP) runs off
//! the async workers.

pub mod app;
pub mod backups;
pub mod destinations;
pub mod preferences;
pub mod runs;
pub mod schemes;
pub mod sites;

use crate::error::{IpcError, IpcResult};

/// Runs blocking engine work on the blocking pool.
pub(crate) async fn blocking<T, F>(f: F) -> IpcResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, backup_center_engine::Error> + Send + 'static,
{
    match tauri::async_runtime::spawn_blocking(f).await {
        Ok(r) => r.map_err(IpcError::from),
        Err(e) => {
            tracing::error!(error = %e, "blocking task failed");
            Err(IpcError::internal(
                "An internal task failed. See the log file for details.",
            ))
        }
    }
}
