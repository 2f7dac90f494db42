//! The IPC form of engine errors: `{code, message, field}`. The full chain goes to the log only.

use backup_center_engine::{Error, ErrorKind};

#[derive(Debug, serde::Serialize, specta::Type)]
pub struct IpcError {
    pub code: ErrorKind,
    pub message: String,
    /// The form field an invalid input is about (its JSON name), to show the message beside it.
    pub field: Option<String>,
}

impl From<Error> for IpcError {
    fn from(e: Error) -> Self {
        tracing::warn!(error = %e.log_line(), "command failed");
        Self {
            code: e.kind,
            field: e.field().map(str::to_string),
            message: e.message().to_string(),
        }
    }
}

impl IpcError {
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: ErrorKind::Internal,
            message: message.into(),
            field: None,
        }
    }
}

pub type IpcResult<T> = Result<T, IpcError>;
