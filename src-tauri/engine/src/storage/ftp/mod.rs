//! FTP and FTPS servers as destinations.
//!
//! # The client: suppaftp
//! suppaftp is the maintained blocking FTP client for Rust (FTPS through rustls, `REST`,
//! `APPE`, `SIZE`, `MDTM`, `FEAT`, `MLSD`, a hook for our own passive data sockets). We use it
//! for the protocol and keep what it leaves to the caller here:
//! - **Binary mode.** suppaftp starts in ASCII mode, in which servers rewrite line ends; every
//!   session sends `TYPE I` right after login, before any transfer.
//! - **Passive mode** always (`PASV`, `EPSV` for IPv6), connecting to the control connection's
//!   address rather than the one the server names (servers behind NAT name private
//!   addresses; curl does the same). Active mode is not offered: it needs the server to
//!   connect back through the user's firewall, which rarely works today.
//! - **Timeouts.** Every socket (control, data, TLS handshakes) gets read and write timeouts
//!   ([`FtpTimeouts::io`]; an upload must also move each 1 MiB chunk within it), and
//!   connecting has its own ([`FtpTimeouts::connect`]), so a server that stops answering
//!   fails the run with a `Timeout` instead of hanging it (implicit FTPS: see the limits).
//! - **Listings**: `MLSD` when `FEAT` offers it, otherwise `LIST -a`, parsed by our own
//!   `list` module (Unix and DOS/IIS styles).
//! - **Resuming**: see [`Session::put_resuming`]; an interrupted upload continues with `APPE`
//!   once the tail of its temporary (read with `REST` + `RETR`) matches the backup.
//! - **Downloads** ([`Session::get`]): `RETR`, streamed, in the same binary mode.
//!
//! FTPS certificates are verified as described in [`tls`]; plain FTP says it is unencrypted
//! wherever the destination is described ([`FtpDestination::describe`]).
//!
//! # Logging
//! suppaftp logs every command it sends at `trace` level through the `log` crate, `PASS`
//! included. The app's log filter must keep `suppaftp` at `debug` or below.
//!
//! # Known limits
//! - FTP cannot tell free space: [`Usage::disk_free`](super::Usage) is `None`; a quota can be
//!   configured. A full server is reported when it refuses data (`452`/`552`, or `451` for a
//!   failed write as vsftpd says it).
//! - "Rename only if the name is free" is check-then-rename (`SIZE`, then `RNFR`/`RNTO`):
//!   FTP has no atomic no-clobber rename. Only another writer racing us could slip in.
//! - Host names are resolved without a timeout of our own (the OS resolver's applies).
//! - Implicit FTPS: suppaftp opens that connection itself, so until its TLS handshake and
//!   greeting are done only the OS's socket defaults apply (we check first, within our
//!   connect timeout, that the port accepts). Explicit FTPS and plain FTP are covered from
//!   the first byte.
//! - [`Session::list`] gives the times the listing gives: exact UTC with `MLSD`; with `LIST`
//!   to the minute and in the server's time zone (`MDTM` is asked only where exactness
//!   matters: the stored time of a new backup, the age of a temporary). Symbolic links are
//!   never listed as backups.

mod connect;
mod download;
pub(crate) mod list;
mod reply;
mod session;
mod tickets;
pub mod tls;
mod upload;

use std::fmt;
use std::net::TcpStream;
use std::time::Duration;

pub use session::FtpSession;
pub use tls::{CertFingerprint, TlsTrust};

use super::{Destination, RemoteFolder, Session};
use crate::error::{Error, ErrorKind, Result};
use crate::secrets::{SecretKey, SecretStore};

/// The usual FTP and explicit FTPS port.
pub const DEFAULT_PORT: u16 = 21;
/// The usual implicit FTPS port.
pub const IMPLICIT_TLS_PORT: u16 = 990;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpSecurity {
    /// Plain FTP: everything, the password included, travels in clear text.
    Plain,
    /// Explicit FTPS (`AUTH TLS` on the normal port): what current servers offer.
    ExplicitTls,
    /// Implicit FTPS: TLS from the first byte, usually on port 990 (older servers).
    ImplicitTls,
}

/// How long to wait for the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FtpTimeouts {
    /// Connecting the control connection and each data connection.
    pub connect: Duration,
    /// Any read or write that makes no progress: a reply, a TLS handshake; and an upload that
    /// moves less than 1 MiB in this time (a stalled transfer).
    pub io: Duration,
}

impl Default for FtpTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            io: Duration::from_secs(60),
        }
    }
}

/// An FTP destination as the user configured it. The password is not here: it is read from
/// the keychain under [`FtpDestination::secret_key`] when the destination is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpConfig {
    /// Host name or IP address (IPv6 with or without brackets).
    pub host: String,
    /// `None`: 21, or 990 for implicit FTPS.
    pub port: Option<u16>,
    pub username: String,
    /// Relative to the login folder unless it starts with `/`.
    pub folder: String,
    pub security: FtpSecurity,
    pub trust: TlsTrust,
    pub quota: Option<u64>,
    pub timeouts: FtpTimeouts,
}

/// A validated FTP or FTPS destination: configuration only, cheap to clone.
#[derive(Clone, PartialEq, Eq)]
pub struct FtpDestination {
    host: String,
    port: u16,
    username: String,
    folder: RemoteFolder,
    security: FtpSecurity,
    trust: TlsTrust,
    quota: Option<u64>,
    timeouts: FtpTimeouts,
}

impl fmt::Debug for FtpDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// What [`FtpDestination::probe_certificate`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateProbe {
    pub fingerprint: CertFingerprint,
    /// Whether the destination's current trust settings accept this certificate.
    pub trusted: bool,
}

impl FtpDestination {
    /// # Errors
    /// `InvalidInput` naming the field: an empty or malformed host, a user name with control
    /// characters (they would end the FTP command), a folder with `..` or control characters.
    pub fn new(config: FtpConfig) -> Result<Self> {
        let host = config
            .host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let host_ok = !host.is_empty()
            && !host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "/@\\?#".contains(c));
        if !host_ok {
            return Err(Error::invalid_input(format!(
                "The host {:?} cannot be used: give a server name (nas.example.com) or an IP \
                 address, without \"ftp://\", a user or a folder.",
                config.host
            )));
        }
        if config.username.is_empty() || config.username.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                "The user name must not be empty or contain line breaks or control characters.",
            ));
        }
        let port = config.port.unwrap_or(match config.security {
            FtpSecurity::ImplicitTls => IMPLICIT_TLS_PORT,
            _ => DEFAULT_PORT,
        });
        if port == 0 {
            return Err(Error::invalid_input(
                "The port must be between 1 and 65535.",
            ));
        }
        if config.security != FtpSecurity::Plain {
            // Read the extra roots now, so a bad paste is reported when it is saved.
            tls::client_config(&config.trust)?;
        }
        Ok(Self {
            host,
            port,
            username: config.username,
            folder: RemoteFolder::parse(&config.folder)?,
            security: config.security,
            trust: config.trust,
            quota: config.quota,
            timeouts: config.timeouts,
        })
    }

    /// Where the password lives in the keychain (FTP and FTPS share it).
    pub fn secret_key(&self) -> SecretKey {
        SecretKey::storage_password("ftp", &self.username, &self.host, self.port)
    }

    /// Whether the password and the backups are protected in transit (FTPS).
    pub fn is_encrypted(&self) -> bool {
        self.security != FtpSecurity::Plain
    }

    pub fn security(&self) -> FtpSecurity {
        self.security
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn folder(&self) -> &RemoteFolder {
        &self.folder
    }

    /// `host:port`, with brackets around an IPv6 address.
    fn host_port(&self) -> String {
        super::net::host_port(&self.host, self.port)
    }

    /// The URL form used in messages: `ftps://backup@nas:21/~/Jira` (`~` is the login folder).
    fn url(&self, folder: &str) -> String {
        let scheme = if self.is_encrypted() { "ftps" } else { "ftp" };
        format!("{scheme}://{}@{}{folder}", self.username, self.host_port())
    }

    /// The live session without the trait object (tests and the CLI).
    ///
    /// # Errors
    /// As [`Destination::open`].
    pub fn session(&self, secrets: &dyn SecretStore) -> Result<FtpSession> {
        let password = secrets.get(&self.secret_key())?.ok_or_else(|| {
            Error::new(
                ErrorKind::SecretMissing,
                format!(
                    "The password of {} is not in the system keychain. Enter it again in the \
                     destination's settings.",
                    self.url("")
                ),
            )
        })?;
        if password.expose().chars().any(|c| c == '\r' || c == '\n') {
            return Err(Error::invalid_input(
                "The FTP password contains a line break, which FTP cannot send. Enter it again.",
            ));
        }
        FtpSession::open(self, &password)
    }

    /// Connects and completes the TLS handshake, without logging in, to show the user the
    /// server's certificate before it is trusted. Verification runs as for a real session
    /// (nothing is accepted blindly); `trusted` says whether it passed.
    ///
    /// # Errors
    /// `InvalidInput` for plain FTP; `Unreachable`, `Dns`, `Timeout`; `Tls` when the server
    /// offers no TLS at all.
    pub fn probe_certificate(&self) -> Result<CertificateProbe> {
        if !self.is_encrypted() {
            return Err(Error::invalid_input(
                "Plain FTP has no certificate: choose FTPS to check the server's certificate.",
            ));
        }
        connect::probe_certificate(self)
    }
}

impl Destination for FtpDestination {
    /// `ftps://backup@nas:21/~/Jira Backups`, or for plain FTP
    /// `ftp://… (unencrypted: the password travels in clear text)`.
    fn describe(&self) -> String {
        let folder = if self.folder.is_absolute() {
            self.folder.to_string()
        } else if self.folder.path().is_folder() {
            "/~".to_string()
        } else {
            format!("/~/{}", self.folder.path().as_str())
        };
        let url = self.url(&folder);
        if self.is_encrypted() {
            url
        } else {
            format!("{url} (unencrypted: the password travels in clear text)")
        }
    }

    fn open(&self, secrets: &dyn SecretStore) -> Result<Box<dyn Session>> {
        Ok(Box::new(self.session(secrets)?))
    }
}

/// Read and write timeouts for one socket, and no Nagle delay (commands are small).
pub(crate) fn set_timeouts(stream: &TcpStream, io: Duration) -> std::io::Result<()> {
    stream.set_read_timeout(Some(io))?;
    stream.set_write_timeout(Some(io))?;
    stream.set_nodelay(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;

    fn config(host: &str, security: FtpSecurity) -> FtpConfig {
        FtpConfig {
            host: host.into(),
            port: None,
            username: "backup".into(),
            folder: "Jira Backups".into(),
            security,
            trust: TlsTrust::default(),
            quota: None,
            timeouts: FtpTimeouts::default(),
        }
    }

    #[test]
    fn ports_default_by_security() {
        let d = FtpDestination::new(config("nas", FtpSecurity::Plain)).unwrap();
        assert_eq!(d.port(), 21);
        let d = FtpDestination::new(config("nas", FtpSecurity::ExplicitTls)).unwrap();
        assert_eq!(d.port(), 21);
        let d = FtpDestination::new(config("nas", FtpSecurity::ImplicitTls)).unwrap();
        assert_eq!(d.port(), 990);
        let mut c = config("[::1]", FtpSecurity::Plain);
        c.port = Some(2121);
        let d = FtpDestination::new(c).unwrap();
        assert_eq!((d.host(), d.host_port().as_str()), ("::1", "[::1]:2121"));
    }

    #[test]
    fn plain_ftp_says_it_is_unencrypted() {
        let plain = FtpDestination::new(config("nas", FtpSecurity::Plain)).unwrap();
        assert!(!plain.is_encrypted());
        assert_eq!(
            plain.describe(),
            "ftp://backup@nas:21/~/Jira Backups (unencrypted: the password travels in clear text)"
        );
        let mut c = config("nas", FtpSecurity::ExplicitTls);
        c.folder = "/srv/backups".into();
        let tls = FtpDestination::new(c).unwrap();
        assert!(tls.is_encrypted());
        assert_eq!(tls.describe(), "ftps://backup@nas:21/srv/backups");
        assert_eq!(format!("{tls:?}"), tls.describe());
    }

    #[test]
    fn bad_fields_are_refused_before_connecting() {
        for host in ["", "ftp://nas", "user@nas", "nas/x", "a b"] {
            let e = FtpDestination::new(config(host, FtpSecurity::Plain)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{host:?}");
        }
        let mut c = config("nas", FtpSecurity::Plain);
        c.username = "a\r\nDELE x".into();
        assert_eq!(
            FtpDestination::new(c).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        let mut c = config("nas", FtpSecurity::Plain);
        c.folder = "a/../../etc".into();
        assert_eq!(
            FtpDestination::new(c).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn the_password_comes_from_the_keychain() {
        let d = FtpDestination::new(config("127.0.0.1", FtpSecurity::Plain)).unwrap();
        assert_eq!(d.secret_key().account(), "ftp-password:backup@127.0.0.1:21");
        let e = d.session(&MemoryStore::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::SecretMissing);
        assert!(
            e.message().contains("ftp://backup@127.0.0.1:21"),
            "{}",
            e.message()
        );
    }
}
