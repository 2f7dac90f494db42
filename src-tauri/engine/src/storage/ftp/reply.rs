//! What an FTP failure means for the user: reply codes and socket errors become the engine's
//! error kinds, with the server's own words in parentheses.
//!
//! Reply codes alone are ambiguous (vsftpd answers `550` for a missing folder and for one it may
//! not enter, `553 Could not create file.` for permission denied, and `451 Failure writing to
//! local file.` for a full disk), so callers that can tell more (by listing the parent, by
//! `SIZE`) decide before they get here; this module maps what is left.

use std::io;
use std::time::Duration;

use suppaftp::types::Response;
use suppaftp::FtpError;

use super::tls::{self, SeenSlot};
use crate::error::{Error, ErrorKind, Retry};

/// The server as messages name it, and what is needed to explain its failures.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    /// `nas.example:21`
    pub host_port: String,
    pub io_timeout: Duration,
    /// The TLS verifier's report (FTPS only).
    pub seen: Option<SeenSlot>,
}

/// What the session was doing when a command failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Connect,
    Login,
    CreateFolder,
    Upload,
    Download,
    Rename,
    Delete,
    List,
    Inspect,
}

impl Op {
    fn doing(self) -> &'static str {
        match self {
            Op::Connect => "connecting",
            Op::Login => "logging in",
            Op::CreateFolder => "creating the folder",
            Op::Upload => "uploading the backup",
            Op::Download => "downloading the backup",
            Op::Rename => "renaming a file",
            Op::Delete => "deleting a file",
            Op::List => "listing the folder",
            Op::Inspect => "reading a file's size or time",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Op::Connect | Op::Login | Op::Inspect => "use",
            Op::CreateFolder => "create the folder",
            Op::Upload => "write to",
            Op::Download => "read",
            Op::Rename => "rename a file in",
            Op::Delete => "delete",
            Op::List => "list",
        }
    }
}

/// The reply's code as the server sent it (suppaftp folds codes it does not know into one).
pub(crate) fn reply_code(r: &Response) -> u32 {
    r.body
        .get(..3)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| r.status.code())
}

/// The reply's text without its codes, on one line, without control characters, at most 200
/// characters: safe to put in a message.
pub(crate) fn reply_text(r: &Response) -> String {
    let text = String::from_utf8_lossy(&r.body);
    text.lines()
        .map(|l| {
            let l = l.trim();
            let coded = l.len() >= 4
                && l.as_bytes()[..3].iter().all(u8::is_ascii_digit)
                && matches!(l.as_bytes()[3], b' ' | b'-');
            if coded {
                l[4..].trim()
            } else {
                l
            }
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// The reply code of a refusal, if the failure was one.
pub(crate) fn code(e: &FtpError) -> Option<u32> {
    match e {
        FtpError::UnexpectedResponse(r) => Some(reply_code(r)),
        _ => None,
    }
}

/// Maps any failure of `op` on `what` (a path as the user knows it).
pub(crate) fn map(e: FtpError, op: Op, what: &str, server: &Server) -> Error {
    if let Some(refused) = server
        .seen
        .as_ref()
        .and_then(|s| tls::take_refusal(s, &server.host_port))
    {
        return refused.with_source(e);
    }
    let error = match &e {
        FtpError::ConnectionError(io) => io_failure(io, op, server),
        FtpError::UnexpectedResponse(r) => refusal(r, op, what, server),
        FtpError::SecureError(text) => Error::new(
            ErrorKind::Tls,
            format!(
                "The TLS connection to {} failed while {}: {text}.",
                server.host_port,
                op.doing()
            ),
        ),
        FtpError::BadResponse => lost(server, op, "sent an incomplete or unreadable reply"),
        other => Error::internal(format!(
            "The FTP client failed while {} on {}: {other}.",
            op.doing(),
            server.host_port
        )),
    };
    error
        .with_context("server", server.host_port.clone())
        .with_context("target", what.to_string())
        .with_source(e)
}

fn lost(server: &Server, op: Op, how: &str) -> Error {
    Error::new(
        ErrorKind::Unreachable,
        format!(
            "Connection to storage failed: {} {how} while {}.",
            server.host_port,
            op.doing()
        ),
    )
}

/// A socket failure (including TLS failures rustls reports through the socket).
pub(crate) fn io_failure(e: &io::Error, op: Op, server: &Server) -> Error {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return Error::new(
            ErrorKind::Tls,
            format!(
                "The TLS connection to {} failed while {}: {inner}. Check that the server \
                 offers FTPS (TLS 1.2 or newer) on this port.",
                server.host_port,
                op.doing()
            ),
        );
    }
    let secs = server.io_timeout.as_secs_f64();
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::new(
            ErrorKind::Timeout,
            format!(
                "Connection to storage failed: {} did not answer for {secs:.0} s while {}. \
                 Check the server and the network, then try again.",
                server.host_port,
                op.doing()
            ),
        ),
        io::ErrorKind::ConnectionRefused => Error::new(
            ErrorKind::Unreachable,
            format!(
                "Connection to storage failed: {} refused the connection. Check the host name \
                 and the port, and that the FTP server is running.",
                server.host_port
            ),
        ),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => Error::new(
            ErrorKind::Unreachable,
            format!(
                "Connection to storage failed: {} cannot be reached from this computer (no \
                 route). Check the network connection.",
                server.host_port
            ),
        ),
        _ => lost(server, op, "closed the connection"),
    }
}

fn refusal(r: &Response, op: Op, what: &str, server: &Server) -> Error {
    let code = reply_code(r);
    let said = format!("{code} {}", reply_text(r));
    let said = said.trim_end();
    let host = &server.host_port;
    let lower = said.to_ascii_lowercase();
    let full_words = ["space", "full", "quota", "exceed"]
        .iter()
        .any(|w| lower.contains(w));
    match code {
        430 | 530 if op == Op::Login => Error::new(
            ErrorKind::StorageAuth,
            format!(
                "The FTP server {host} refused the login ({said}). Check the user name and the \
                 password of this destination."
            ),
        ),
        530 => Error::new(
            ErrorKind::StorageAuth,
            format!("The FTP server {host} no longer accepts this login ({said}). Log in again."),
        ),
        421 | 425 | 426 => Error::new(
            ErrorKind::Unreachable,
            format!(
                "Connection to storage failed: {host} dropped the connection while {} ({said}).",
                op.doing()
            ),
        ),
        452 | 552 => server_full(host, said, ""),
        // A download stores nothing on the server: "full" there is not about this backup.
        451 | 450 | 550 | 553 if full_words && op != Op::Download => server_full(host, said, ""),
        451 if op == Op::Upload && lower.contains("writ") => server_full(
            host,
            said,
            " The server could not write the file, which usually means its disk or quota is full.",
        ),
        450 | 451 => Error::new(
            ErrorKind::Internal,
            format!(
                "The FTP server {host} failed while {} ({said}). Try again later.",
                op.doing()
            ),
        )
        .with_retry(Retry::Transient),
        550 | 553 if op == Op::List => Error::new(
            ErrorKind::StoragePath,
            format!("Could not list {what}: the server says it does not exist ({said})."),
        ),
        550 | 553 => Error::new(
            ErrorKind::StoragePermission,
            format!(
                "Backup Center may not {} {what}: permission denied ({said}). Change the \
                 folder's permissions on the server or choose another folder.",
                op.action()
            ),
        ),
        500 | 501 | 502 | 504 => Error::new(
            ErrorKind::Internal,
            format!(
                "The FTP server {host} does not support what Backup Center needs while {} \
                 ({said}).",
                op.doing()
            ),
        ),
        _ => Error::internal(format!(
            "The FTP server {host} answered unexpectedly while {} ({said}).",
            op.doing()
        )),
    }
}

fn server_full(host: &str, said: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::StorageFull,
        format!(
            "Not enough storage for this backup: the FTP server {host} refused to store more \
             ({said}).{why} Free some space on the server, raise its quota or choose another \
             destination."
        ),
    )
}

#[cfg(test)]
mod tests {
    use suppaftp::Status;

    use super::*;

    fn server() -> Server {
        Server {
            host_port: "nas:21".into(),
            io_timeout: Duration::from_secs(30),
            seen: None,
        }
    }

    fn reply(code: u32, text: &str) -> FtpError {
        FtpError::UnexpectedResponse(Response::new(
            Status::from(code),
            format!("{code} {text}\r\n").into_bytes(),
        ))
    }

    fn mapped(code: u32, text: &str, op: Op) -> Error {
        map(reply(code, text), op, "ftp://nas:21/b", &server())
    }

    #[test]
    fn reply_codes_become_kinds_with_the_servers_words() {
        let e = mapped(530, "Login incorrect.", Op::Login);
        assert_eq!(e.kind, ErrorKind::StorageAuth);
        assert_eq!(
            e.message(),
            "The FTP server nas:21 refused the login (530 Login incorrect.). Check the user \
             name and the password of this destination."
        );
        let e = mapped(553, "Could not create file.", Op::Upload);
        assert_eq!(e.kind, ErrorKind::StoragePermission);
        assert!(e.message().starts_with(
            "Backup Center may not write to ftp://nas:21/b: permission denied (553 Could not \
             create file.)"
        ));
        for (code, text) in [
            (452, "Insufficient storage"),
            (552, "Quota exceeded"),
            (550, "No space left on device"),
        ] {
            let e = mapped(code, text, Op::Upload);
            assert_eq!(e.kind, ErrorKind::StorageFull, "{code}");
            assert!(
                e.message()
                    .starts_with("Not enough storage for this backup: "),
                "{}",
                e.message()
            );
        }
        let e = mapped(451, "Failure writing to local file.", Op::Upload);
        assert_eq!(e.kind, ErrorKind::StorageFull);
        assert!(e
            .message()
            .contains("usually means its disk or quota is full"));
        let e = mapped(451, "Local error in processing.", Op::Rename);
        assert_eq!((e.kind, e.retry), (ErrorKind::Internal, Retry::Transient));
        let e = mapped(426, "Failure reading network stream.", Op::Upload);
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(e.message().starts_with("Connection to storage failed: "));
        assert!(e.is_transient());
        assert_eq!(
            mapped(550, "Failed to open.", Op::List).kind,
            ErrorKind::StoragePath
        );
    }

    #[test]
    fn socket_failures_are_connection_failures() {
        let e = map(
            FtpError::ConnectionError(io::Error::from(io::ErrorKind::WouldBlock)),
            Op::Upload,
            "x",
            &server(),
        );
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert_eq!(
            e.message(),
            "Connection to storage failed: nas:21 did not answer for 30 s while uploading the \
             backup. Check the server and the network, then try again."
        );
        let e = map(
            FtpError::ConnectionError(io::Error::from(io::ErrorKind::ConnectionReset)),
            Op::List,
            "x",
            &server(),
        );
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(e.is_transient());
        let refused = map(
            FtpError::ConnectionError(io::Error::from(io::ErrorKind::ConnectionRefused)),
            Op::Connect,
            "x",
            &server(),
        );
        assert!(refused
            .message()
            .starts_with("Connection to storage failed: nas:21 refused"));
    }

    #[test]
    fn reply_text_is_one_clean_line() {
        let r = Response::new(
            Status::from(550),
            b"550-First line\r\n550 \x1b[31mSecond\r\n".to_vec(),
        );
        assert_eq!(reply_text(&r), "First line [31mSecond");
        assert_eq!(reply_code(&r), 550);
    }
}
