//! The engine's one error type.
//!
//! Every failure carries a [`ErrorKind`] the UI may branch on, a [`Retry`] class the runner
//! uses to decide whether to back off and try again, and a message an admin can act on.
//! Messages never contain secrets; the source chain (which may be technical) goes to the log
//! only, never across IPC.

use std::fmt;

/// What went wrong, coarse enough for the UI to branch on. Grows only when a caller needs to
/// tell a new case apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum ErrorKind {
    /// A field the user typed is invalid; the message names the field.
    InvalidInput,
    /// The thing asked for does not exist (a site id, a file).
    NotFound,
    /// Jira rejected the credentials (401).
    JiraAuth,
    /// Jira accepted the credentials but refused the operation (403).
    JiraForbidden,
    /// Jira asked us to slow down (429, or 503 with Retry-After).
    JiraRateLimited,
    /// Jira answered with a server error or a reply we could not understand.
    JiraServer,
    /// The address answers, but it is not a Jira Cloud site.
    NotJiraCloud,
    /// The host name could not be resolved.
    Dns,
    /// The TLS handshake failed (certificate not trusted, wrong host name, ...).
    Tls,
    /// The peer did not answer in time.
    Timeout,
    /// The peer could not be reached (connection refused, reset, no route).
    Unreachable,
    /// The OS keychain is missing, locked or refused access.
    SecretStoreUnavailable,
    /// A secret the operation needs is not in the keychain.
    SecretMissing,
    /// The local catalog database failed or was written by a newer version.
    Catalog,
    /// A snapshot file failed verification (checksum, size or manifest mismatch, truncated):
    /// the backup must not be trusted and the run must not count as a success.
    SnapshotCorrupt,
    /// The disk (or quota) holding the snapshot is full: the user must free space or pick
    /// another folder; retrying as-is cannot help.
    StorageFull,
    /// The storage server refused the login (wrong user name, password or key): the user must
    /// fix the destination's credentials.
    StorageAuth,
    /// The destination folder or a file in it may not be written or read by us: the user must
    /// change its permissions or choose another folder.
    StoragePermission,
    /// The destination folder does not exist and cannot be created, or a part of its path is
    /// not a folder: the user must correct the folder.
    StoragePath,
    /// A file with the name of a new backup already exists at the destination. Backups are
    /// never overwritten; the runner picks another name or gives up.
    StorageConflict,
    /// A bug or an unexpected local failure.
    Internal,
}

/// Whether trying again later may help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Retrying without a change (of input, credentials, configuration) cannot help.
    Permanent,
    /// A later attempt may succeed (timeouts, 5xx, rate limits, dropped connections).
    Transient,
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An engine failure: kind, retry class, actionable message, context and the technical cause.
pub struct Error {
    pub kind: ErrorKind,
    pub retry: Retry,
    message: String,
    context: Vec<(&'static str, String)>,
    source: Option<Source>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error; the retry class defaults to what `kind` usually means.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let retry = match kind {
            ErrorKind::JiraRateLimited
            | ErrorKind::JiraServer
            | ErrorKind::Timeout
            | ErrorKind::Unreachable => Retry::Transient,
            _ => Retry::Permanent,
        };
        Self {
            kind,
            retry,
            message: message.into(),
            context: Vec::new(),
            source: None,
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Adds a key/value for the log (never for secrets).
    pub fn with_context(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.context.push((key, value.into()));
        self
    }

    /// Names the form field an `InvalidInput` is about (its JSON name), so the UI can show the
    /// message beside it.
    pub fn for_field(self, field: &'static str) -> Self {
        self.with_context("field", field)
    }

    /// The one form field the error is about; `None` when it names none or several.
    pub fn field(&self) -> Option<&str> {
        let mut fields = self.context.iter().filter(|(k, _)| *k == "field");
        match (fields.next(), fields.next()) {
            (Some((_, f)), None) => Some(f),
            _ => None,
        }
    }

    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The actionable, secret-free message shown to the user.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    pub fn is_transient(&self) -> bool {
        self.retry == Retry::Transient
    }

    /// The whole story for the log: message, context and every cause.
    pub fn log_line(&self) -> String {
        let mut line = format!("{:?}: {}", self.kind, self.message);
        for (k, v) in &self.context {
            line.push_str(&format!(" [{k}={v}]"));
        }
        let mut cause = self.source.as_deref().map(|s| s as &dyn std::error::Error);
        while let Some(c) = cause {
            line.push_str(&format!(" <- {c}"));
            cause = c.source();
        }
        line
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("retry", &self.retry)
            .field("message", &self.message)
            .field("context", &self.context)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::new(
            ErrorKind::Catalog,
            "The Backup Center catalog (its local database) could not be read or written. \
             Check that the disk is not full and the app-data folder is writable.",
        )
        .with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_class_follows_kind() {
        assert!(Error::new(ErrorKind::Timeout, "t").is_transient());
        assert!(Error::new(ErrorKind::JiraRateLimited, "t").is_transient());
        assert!(!Error::new(ErrorKind::JiraAuth, "t").is_transient());
        assert!(!Error::invalid_input("t").is_transient());
        let e = Error::new(ErrorKind::JiraAuth, "t").with_retry(Retry::Transient);
        assert!(e.is_transient());
    }

    #[test]
    fn an_error_names_its_field_only_when_there_is_one() {
        assert_eq!(Error::invalid_input("t").field(), None);
        let e = Error::invalid_input("t").for_field("keyPath");
        assert_eq!(e.field(), Some("keyPath"));
        assert_eq!(
            e.for_field("name").field(),
            None,
            "two fields: show it whole"
        );
    }

    #[test]
    fn log_line_has_context_and_causes_but_display_only_the_message() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::new(ErrorKind::Unreachable, "Could not connect.")
            .with_context("host", "example.net")
            .with_source(io);
        assert_eq!(e.to_string(), "Could not connect.");
        let line = e.log_line();
        assert!(line.contains("host=example.net"), "{line}");
        assert!(line.contains("refused"), "{line}");
    }
}
