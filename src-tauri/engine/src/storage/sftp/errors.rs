//! What an SSH or SFTP failure means for the user.
//!
//! Failures come in two families: transport (the connection dropped, closed or stalled),
//! and the status an SFTP server answered (`SSH_FX_*`, SFTP v3 as OpenSSH speaks it).
//! Transport failures become `Unreachable`/`Timeout` with "Connection to storage failed: …";
//! server statuses go through the same mapping as local files ([`io_error`]) so a denied write
//! reads the same for every destination. `SSH_FX_FAILURE` says nothing about the cause
//! (OpenSSH sends it for a full disk, an existing name, an I/O error): the callers that can
//! tell the cause apart (a write, a rename, a mkdir) look further before they use this.

use std::fmt;
use std::io;
use std::time::Duration;

use russh_sftp::protocol::StatusCode;

use crate::error::{Error, ErrorKind};
use crate::storage::io_error;
use crate::storage::net::seconds;

/// Why one SSH or SFTP call failed.
#[derive(Debug, Clone)]
pub(super) enum Fault {
    /// The server answered with this status (never `Ok`).
    Status { code: StatusCode, message: String },
    /// No answer within the I/O timeout.
    Timeout,
    /// The connection closed or broke; the text says how.
    Lost(String),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status { code, message } if message.is_empty() => write!(f, "{code}"),
            Self::Status { code, message } => write!(f, "{code}: {message}"),
            Self::Timeout => f.write_str("no reply in time"),
            Self::Lost(how) => write!(f, "connection lost: {how}"),
        }
    }
}

impl std::error::Error for Fault {}

impl From<russh_sftp::client::error::Error> for Fault {
    fn from(e: russh_sftp::client::error::Error) -> Self {
        use russh_sftp::client::error::Error as E;
        match e {
            E::Status(s) => Self::Status {
                code: s.status_code,
                message: s.error_message,
            },
            E::Timeout => Self::Timeout,
            // A reply that does not parse or fit leaves the stream out of step: unusable.
            other => Self::Lost(other.to_string()),
        }
    }
}

impl From<russh::Error> for Fault {
    fn from(e: russh::Error) -> Self {
        match e {
            russh::Error::ConnectionTimeout
            | russh::Error::Elapsed(_)
            | russh::Error::KeepaliveTimeout
            | russh::Error::InactivityTimeout => Self::Timeout,
            other => Self::Lost(other.to_string()),
        }
    }
}

/// The answer to `request`, or `Timeout` when none comes within `io`.
pub(super) async fn within<T, E: Into<Fault>>(
    io: Duration,
    request: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> std::result::Result<T, Fault> {
    match tokio::time::timeout(io, request).await {
        Ok(answer) => answer.map_err(Into::into),
        Err(_) => Err(Fault::Timeout),
    }
}

/// The connection a failure happened on, for messages.
#[derive(Debug, Clone)]
pub(super) struct Peer {
    /// `backup@nas:22`
    pub server: String,
    /// How long one call may wait for the server.
    pub io_timeout: Duration,
}

/// Whether `e` means the connection itself is gone or stuck (the session cannot be used any
/// more; the runner may reconnect).
pub(super) fn is_transport(e: &Fault) -> bool {
    match e {
        Fault::Timeout | Fault::Lost(_) => true,
        Fault::Status { code, .. } => {
            matches!(code, StatusCode::NoConnection | StatusCode::ConnectionLost)
        }
    }
}

/// The status the server answered, if that is what failed.
pub(super) fn sftp_status(e: &Fault) -> Option<StatusCode> {
    match e {
        Fault::Status { code, .. } => Some(*code),
        _ => None,
    }
}

/// A transport failure while doing `doing` ("write to sftp://…"): `Timeout` or `Unreachable`.
pub(super) fn transport_error(e: Fault, peer: &Peer, doing: &str) -> Error {
    let (kind, why) = match e {
        Fault::Timeout => (
            ErrorKind::Timeout,
            format!(
                "{} stopped answering (no reply within {}) while Backup Center tried to {doing}",
                peer.server,
                seconds(peer.io_timeout)
            ),
        ),
        _ => (
            ErrorKind::Unreachable,
            format!(
                "the connection to {} was lost while Backup Center tried to {doing}",
                peer.server
            ),
        ),
    };
    Error::new(
        kind,
        format!(
            "Connection to storage failed: {why}. Check that the server is running and \
             reachable; the next run reconnects."
        ),
    )
    .with_context("server", peer.server.clone())
    .with_source(e)
}

/// Any failure of `action` on `what` (a folder or file as the user knows it).
pub(super) fn ssh_error(e: Fault, peer: &Peer, action: &str, what: &str) -> Error {
    if is_transport(&e) {
        return transport_error(e, peer, &format!("{action} {what}"));
    }
    let kind = match sftp_status(&e) {
        Some(StatusCode::NoSuchFile) => io::ErrorKind::NotFound,
        Some(StatusCode::PermissionDenied) => io::ErrorKind::PermissionDenied,
        Some(StatusCode::Failure) => {
            return Error::new(
                ErrorKind::Internal,
                format!(
                    "The SFTP server {} could not {action} {what} and did not say why (it \
                     answered \"failure\"). Its log may tell more.",
                    peer.server
                ),
            )
            .with_context("target", what.to_string())
            .with_source(e)
        }
        _ => io::ErrorKind::Other,
    };
    let shown = e.to_string();
    io_error(io::Error::new(kind, e), action, what)
        .with_context("sftp_error", shown)
        .with_context("server", peer.server.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        Peer {
            server: "backup@nas:22".to_string(),
            io_timeout: Duration::from_secs(30),
        }
    }

    fn sftp(code: StatusCode) -> Fault {
        Fault::Status {
            code,
            message: String::new(),
        }
    }

    #[test]
    fn server_statuses_map_like_local_files() {
        let cases = [
            (StatusCode::PermissionDenied, ErrorKind::StoragePermission),
            (StatusCode::NoSuchFile, ErrorKind::StoragePath),
            (StatusCode::Failure, ErrorKind::Internal),
        ];
        for (code, kind) in cases {
            let e = ssh_error(sftp(code), &peer(), "write to", "sftp://backup@nas/~/b");
            assert_eq!(e.kind, kind, "SSH_FX {code}: {e:?}");
        }
        let e = ssh_error(
            sftp(StatusCode::PermissionDenied),
            &peer(),
            "write to",
            "sftp://backup@nas/~/b",
        );
        assert!(e.message().starts_with(
            "Backup Center may not write to sftp://backup@nas/~/b: permission denied"
        ));
    }

    #[test]
    fn transport_failures_say_the_connection_failed() {
        let lost = Fault::from(russh::Error::HUP);
        assert!(is_transport(&lost));
        let e = ssh_error(lost, &peer(), "write to", "x");
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(e.is_transient());
        assert!(
            e.message().starts_with(
                "Connection to storage failed: the connection to backup@nas:22 was lost"
            ),
            "{}",
            e.message()
        );
        let stalled = Fault::from(russh_sftp::client::error::Error::Timeout);
        let e = ssh_error(stalled, &peer(), "write to", "x");
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(
            e.message().contains("no reply within 30 s"),
            "{}",
            e.message()
        );
        assert!(is_transport(&sftp(StatusCode::ConnectionLost)));
        assert!(!is_transport(&sftp(StatusCode::Failure)));
    }
}
