//! The IPC form of engine errors: `{code, message}`. The full chain goes to the log only.

use backup_center_engine::{Error, ErrorKind};

#[derive(Debug, serde::Serialize, specta::Type)]
pub struct IpcError {
    pub code: ErrorKind,
    pub message: String,
}

impl From<Error> for IpcError {
    fn from(e: Error) -> Self {
        tracing::warn!(error = %e.log_line(), "command failed");
        Self {
            code: e.kind,
            message: e.message().to_string(),
        }
    }
}

impl IpcError {
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: ErrorKind::Internal,
            message: message.into(),
        }
    }
}

pub type IpcResult<T> = Result<T, IpcError>;
