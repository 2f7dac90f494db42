//! What an ssh2 (libssh2) failure means for the user.
//!
//! libssh2 reports two families of codes: transport ("session") codes such as a timeout or a
//! dropped socket, and the status an SFTP server answered (`SSH_FX_*`, SFTP v3 as OpenSSH
//! speaks it). Transport failures become `Unreachable`/`Timeout` with "Connection to storage
//! failed: …"; server statuses go through the same mapping as local files ([`io_error`]) so a
//! denied write reads the same for every destination. `SSH_FX_FAILURE` says nothing about the
//! cause (OpenSSH sends it for a full disk, an existing name, an I/O error): the callers that
//! can tell the cause apart (a write, a rename, a mkdir) look further before they use this.

use std::io;
use std::time::Duration;

use ssh2::ErrorCode;

use crate::error::{Error, ErrorKind};
use crate::storage::io_error;
use crate::storage::net::seconds;

// libssh2's transport error codes (libssh2.h; stable across releases).
pub(super) const TIMEOUT: i32 = -9;
const SOCKET_SEND: i32 = -7;
const SOCKET_DISCONNECT: i32 = -13;
const SOCKET_TIMEOUT: i32 = -30;
const SOCKET_RECV: i32 = -43;
const BANNER_RECV: i32 = -2;
const BANNER_SEND: i32 = -3;
const SOCKET_NONE: i32 = -1;
pub(super) const KEX_FAILURE: i32 = -5;
pub(super) const KEY_EXCHANGE_FAILURE: i32 = -8;
pub(super) const METHOD_NOT_SUPPORTED: i32 = -33;
pub(super) const ALGO_UNSUPPORTED: i32 = -51;
const SFTP_PROTOCOL: i32 = -31;
pub(super) const AUTHENTICATION_FAILED: i32 = -18;
pub(super) const PUBLICKEY_UNVERIFIED: i32 = -19;
pub(super) const FILE: i32 = -16;
pub(super) const PASSWORD_EXPIRED: i32 = -15;
pub(super) const KEYFILE_AUTH_FAILED: i32 = -48;

// SFTP status codes (draft-ietf-secsh-filexfer; v3 defines 0-8, later drafts the rest).
pub(super) const FX_NO_SUCH_FILE: i32 = 2;
pub(super) const FX_PERMISSION_DENIED: i32 = 3;
pub(super) const FX_FAILURE: i32 = 4;
const FX_NO_CONNECTION: i32 = 6;
const FX_CONNECTION_LOST: i32 = 7;
pub(super) const FX_OP_UNSUPPORTED: i32 = 8;
const FX_NO_SUCH_PATH: i32 = 10;
const FX_FILE_ALREADY_EXISTS: i32 = 11;
const FX_WRITE_PROTECT: i32 = 12;
const FX_NO_SPACE_ON_FILESYSTEM: i32 = 14;
const FX_QUOTA_EXCEEDED: i32 = 15;
const FX_NOT_A_DIRECTORY: i32 = 19;

/// The connection a failure happened on, for messages.
#[derive(Debug, Clone)]
pub(super) struct Peer {
    /// `backup@nas:22`
    pub server: String,
    /// How long one blocking call may wait for the server.
    pub io_timeout: Duration,
}

/// Whether `e` means the connection itself is gone or stuck (the session cannot be used any
/// more; the runner may reconnect).
pub(super) fn is_transport(e: &ssh2::Error) -> bool {
    match e.code() {
        ErrorCode::Session(code) => matches!(
            code,
            TIMEOUT
                | SOCKET_SEND
                | SOCKET_DISCONNECT
                | SOCKET_TIMEOUT
                | SOCKET_RECV
                | BANNER_RECV
                | BANNER_SEND
                | SOCKET_NONE
        ),
        ErrorCode::SFTP(code) => matches!(code, FX_NO_CONNECTION | FX_CONNECTION_LOST),
    }
}

/// The ssh2 error behind an `io::Error` from `ssh2::File`'s `Read`/`Write`, which keep only
/// the text: the session still knows a transport failure, and every SFTP status has its own
/// fixed text in ssh2.
pub(super) fn from_io(ssh: &ssh2::Session, e: &io::Error) -> ssh2::Error {
    if let Some(last) = ssh2::Error::last_session_error(ssh) {
        if last.code() != ErrorCode::Session(SFTP_PROTOCOL) {
            return last;
        }
    }
    let text = e.to_string();
    (1..=21)
        .map(|code| ssh2::Error::from_errno(ErrorCode::SFTP(code)))
        .find(|candidate| candidate.message() == text)
        .unwrap_or_else(ssh2::Error::unknown)
}

pub(super) fn sftp_status(e: &ssh2::Error) -> Option<i32> {
    match e.code() {
        ErrorCode::SFTP(code) => Some(code),
        ErrorCode::Session(_) => None,
    }
}

/// A transport failure while doing `doing` ("write to sftp://…"): `Timeout` or `Unreachable`.
pub(super) fn transport_error(e: ssh2::Error, peer: &Peer, doing: &str) -> Error {
    let (kind, why) = match e.code() {
        ErrorCode::Session(TIMEOUT | SOCKET_TIMEOUT) => (
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
pub(super) fn ssh_error(e: ssh2::Error, peer: &Peer, action: &str, what: &str) -> Error {
    if is_transport(&e) {
        return transport_error(e, peer, &format!("{action} {what}"));
    }
    let kind = match e.code() {
        ErrorCode::SFTP(FX_NO_SUCH_FILE | FX_NO_SUCH_PATH) => io::ErrorKind::NotFound,
        ErrorCode::SFTP(FX_PERMISSION_DENIED | FX_WRITE_PROTECT) => io::ErrorKind::PermissionDenied,
        ErrorCode::SFTP(FX_FILE_ALREADY_EXISTS) => io::ErrorKind::AlreadyExists,
        ErrorCode::SFTP(FX_NO_SPACE_ON_FILESYSTEM) => io::ErrorKind::StorageFull,
        ErrorCode::SFTP(FX_QUOTA_EXCEEDED) => io::ErrorKind::QuotaExceeded,
        ErrorCode::SFTP(FX_NOT_A_DIRECTORY) => io::ErrorKind::NotADirectory,
        ErrorCode::SFTP(FX_FAILURE) => {
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
    let shown = e.message().to_string();
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

    fn sftp(code: i32) -> ssh2::Error {
        ssh2::Error::from_errno(ErrorCode::SFTP(code))
    }

    #[test]
    fn server_statuses_map_like_local_files() {
        let cases = [
            (FX_PERMISSION_DENIED, ErrorKind::StoragePermission),
            (FX_NO_SUCH_FILE, ErrorKind::StoragePath),
            (FX_NOT_A_DIRECTORY, ErrorKind::StoragePath),
            (FX_FILE_ALREADY_EXISTS, ErrorKind::StorageConflict),
            (FX_NO_SPACE_ON_FILESYSTEM, ErrorKind::StorageFull),
            (FX_QUOTA_EXCEEDED, ErrorKind::StorageFull),
            (FX_FAILURE, ErrorKind::Internal),
        ];
        for (code, kind) in cases {
            let e = ssh_error(sftp(code), &peer(), "write to", "sftp://backup@nas/~/b");
            assert_eq!(e.kind, kind, "SSH_FX {code}: {e:?}");
        }
        let e = ssh_error(
            sftp(FX_PERMISSION_DENIED),
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
        let lost = ssh2::Error::from_errno(ErrorCode::Session(SOCKET_RECV));
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
        let stalled = ssh2::Error::from_errno(ErrorCode::Session(TIMEOUT));
        let e = ssh_error(stalled, &peer(), "write to", "x");
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(
            e.message().contains("no reply within 30 s"),
            "{}",
            e.message()
        );
        assert!(is_transport(&sftp(FX_CONNECTION_LOST)));
        assert!(!is_transport(&sftp(FX_FAILURE)));
    }
}
