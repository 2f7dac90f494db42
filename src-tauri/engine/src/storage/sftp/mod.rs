//! A folder on an SFTP server as a destination.
//!
//! # Why russh
//! `russh` is a maintained pure-Rust SSH client (crypto on `ring`, as rustls uses here), and
//! `russh-sftp` speaks SFTP over any stream, with OpenSSH's extensions (`fsync`, `statvfs`,
//! `limits`). Their requests are futures, so many can be in flight at once: uploads keep
//! megabytes on the way, like OpenSSH's `sftp`. libssh2 (the `ssh2` crate) was used first;
//! it keeps in flight only what one write call hands it and encrypts on the calling thread,
//! and stayed at 0.64× OpenSSH's upload speed (issue 4's goal is 0.8×). Each session runs
//! its own small runtime (one worker thread), so the synchronous [`Session`] trait stays.
//!
//! # What it does
//! - **Trust**: the server's host key is checked before any secret is sent (see [`hostkey`]):
//!   unknown keys are refused with their `SHA256:` fingerprint for the user to trust, changed
//!   keys with a warning. [`SftpDestination::host_key`] fetches the key for the trust dialog.
//! - **Login**: a password, or a private key file with an optional passphrase; both secrets
//!   come only from the [`SecretStore`] (accounts [`SecretKey::sftp_password`] and
//!   [`SecretKey::sftp_key_passphrase`]).
//! - **Folder**: relative to the login directory unless it starts with `/` ([`RemoteFolder`]).
//! - **Uploads** read the source in 1 MiB chunks on the calling thread and send write
//!   requests (as large as `limits@openssh.com` allows, else 32 KiB) with up to 4 MiB
//!   unacknowledged, while the session's worker thread encrypts and sends (see `upload.rs`).
//!   They go to a temporary name, are synced (`fsync@openssh.com` where offered) and renamed
//!   to a name that does not exist yet (SFTP v3, which OpenSSH speaks, cannot rename onto an
//!   existing file), then the size is confirmed with `stat`.
//!   [`Session::put_resuming`] continues an interrupted upload where it stopped.
//! - **Downloads** ([`Session::get`]) keep 4 MiB of read requests ahead of what is written.
//! - **Ciphers**: AES-GCM first (`connect.rs`): ring runs it on the CPU's AES instructions,
//!   at half the client CPU per byte of ChaCha20-Poly1305 (1.2 against 2.4 CPU s/GB in
//!   `sftp-bench`), then ChaCha20-Poly1305 and AES-CTR for servers without it.
//! - **Free space** comes from `statvfs@openssh.com`. Servers without it report no free space
//!   (`None`), like FTP.
//! - **Timeouts**: one for connecting (TCP and the SSH handshake) and one for every answer
//!   after that (a stalled server turns into `Timeout`). During a transfer each answer must
//!   come within the I/O timeout of the one before; a request is at most 256 KiB, so the
//!   default 60 s allows uplinks down to about 35 kbit/s.
//!
//! A session that lost its connection (or timed out mid-packet) refuses every further call
//! with `Unreachable`: the runner reconnects.

mod connect;
mod download;
mod errors;
pub mod hostkey;
mod session;
mod upload;

use std::path::PathBuf;
use std::time::Duration;

pub use hostkey::HostKeyInfo;
pub use session::SftpSession;

use super::{Destination, RemoteFolder, RemotePath, Session};
use crate::error::{Error, Result};
use crate::secrets::{SecretKey, SecretStore};

/// The SSH port.
pub const DEFAULT_PORT: u16 = 22;

/// How the destination logs in. The secrets themselves are in the keychain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SftpAuth {
    /// A password, stored under [`SecretKey::sftp_password`].
    Password,
    /// A private key file on this computer (OpenSSH, PEM or PKCS#8 format).
    KeyFile {
        path: PathBuf,
        /// Whether the key is encrypted; its passphrase is stored under
        /// [`SecretKey::sftp_key_passphrase`].
        has_passphrase: bool,
    },
}

/// How long to wait for the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP connection, and then the SSH handshake.
    pub connect: Duration,
    /// Any one answer after the handshake: a login, a listing, the next acknowledged write.
    pub io: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(15),
            io: Duration::from_secs(60),
        }
    }
}

/// An SFTP destination: server, login, folder and the trusted host key. Configuration only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpDestination {
    host: String,
    port: u16,
    username: String,
    auth: SftpAuth,
    folder: RemoteFolder,
    host_key: Option<String>,
    timeouts: Timeouts,
}

impl SftpDestination {
    /// `host` is a name or an IP address (an IPv6 address may be in brackets); `folder` is
    /// relative to the login directory unless it starts with `/`. No host key is trusted yet:
    /// see [`SftpDestination::with_host_key`].
    ///
    /// # Errors
    /// `InvalidInput` naming the field: an empty or malformed host, port 0, an empty user name
    /// or one with control characters, a folder with `..` or control characters.
    pub fn new(
        host: &str,
        port: u16,
        username: &str,
        auth: SftpAuth,
        folder: &str,
    ) -> Result<Self> {
        let host = host.trim();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let bad_host = host.is_empty()
            || host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '@' | '\\'));
        if bad_host {
            return Err(Error::invalid_input(format!(
                "The server {host:?} cannot be used: give a host name (nas.example.com) or an \
                 IP address, without \"sftp://\", a user name or a folder."
            )));
        }
        if port == 0 {
            return Err(Error::invalid_input(
                "The port cannot be 0: SFTP servers usually listen on port 22.",
            ));
        }
        if username.is_empty() || username.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                "The user name cannot be empty or contain control characters.",
            ));
        }
        if let SftpAuth::KeyFile { path, .. } = &auth {
            if path.as_os_str().is_empty() {
                return Err(Error::invalid_input(
                    "Choose the private key file to log in with.",
                ));
            }
        }
        Ok(Self {
            host: host.to_string(),
            port,
            username: username.to_string(),
            auth,
            folder: RemoteFolder::parse(folder)?,
            host_key: None,
            timeouts: Timeouts::default(),
        })
    }

    /// Trusts the host key with this SHA-256 fingerprint (as `ssh-keygen -lf` prints it, or
    /// as [`HostKeyInfo::sha256`] and the "not trusted yet" error carry it).
    ///
    /// # Errors
    /// `InvalidInput` for anything but a SHA-256 fingerprint.
    pub fn with_host_key(mut self, sha256: &str) -> Result<Self> {
        self.host_key = Some(hostkey::normalize_fingerprint(sha256)?);
        Ok(self)
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn auth(&self) -> &SftpAuth {
        &self.auth
    }

    pub fn folder(&self) -> &RemoteFolder {
        &self.folder
    }

    /// The trusted fingerprint, normalised (`SHA256:…`).
    pub fn trusted_host_key(&self) -> Option<&str> {
        self.host_key.as_deref()
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Where the password is kept in the keychain.
    pub fn password_key(&self) -> SecretKey {
        SecretKey::sftp_password(&self.host, self.port, &self.username)
    }

    /// Where the key file's passphrase is kept in the keychain.
    pub fn passphrase_key(&self) -> SecretKey {
        SecretKey::sftp_key_passphrase(&self.host, self.port, &self.username)
    }

    /// Connects and returns the server's host key without logging in (nothing secret is
    /// read or sent), for the dialog that asks the user to trust it.
    ///
    /// # Errors
    /// `Dns`, `Unreachable`, `Timeout` for the network; `Tls` when no common algorithms exist.
    pub fn host_key(&self) -> Result<HostKeyInfo> {
        connect::host_key(self)
    }

    /// Connects, checks the host key, logs in and starts SFTP: the session without the trait
    /// object (tests, the CLI and the benchmark).
    ///
    /// # Errors
    /// As [`Destination::open`]; `Tls` for an unknown or changed host key.
    pub fn session(&self, secrets: &dyn SecretStore) -> Result<SftpSession> {
        connect::connect(self, secrets)
    }

    /// `backup@nas:22`, `backup@[::1]:2222`
    fn server(&self) -> String {
        format!(
            "{}@{}",
            self.username,
            super::net::host_port(&self.host, self.port)
        )
    }

    /// `sftp://backup@nas` (`:port` unless 22): the start of every location in messages.
    fn url_base(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let port = if self.port == DEFAULT_PORT {
            String::new()
        } else {
            format!(":{}", self.port)
        };
        format!("sftp://{}@{host}{port}", self.username)
    }
}

/// `sftp://backup@nas/~/jira/x.zip` for a folder in the login directory, `sftp://backup@nas/srv/x`
/// for an absolute one (the `~` convention of sftp URLs).
fn url_of(base: &str, folder: &RemoteFolder, path: &RemotePath) -> String {
    let resolved = folder.resolve(path);
    match resolved.as_str() {
        "." => format!("{base}/~"),
        r if r.starts_with('/') => format!("{base}{r}"),
        r => format!("{base}/~/{r}"),
    }
}

impl Destination for SftpDestination {
    fn describe(&self) -> String {
        url_of(&self.url_base(), &self.folder, &RemotePath::folder())
    }

    fn open(&self, secrets: &dyn SecretStore) -> Result<Box<dyn Session>> {
        Ok(Box::new(self.session(secrets)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn dest(host: &str, port: u16, folder: &str) -> Result<SftpDestination> {
        SftpDestination::new(host, port, "backup", SftpAuth::Password, folder)
    }

    #[test]
    fn describe_shows_where_the_backups_go() {
        assert_eq!(
            dest("nas", 22, "jira").unwrap().describe(),
            "sftp://backup@nas/~/jira"
        );
        assert_eq!(
            dest("nas", 2222, "/srv/backups").unwrap().describe(),
            "sftp://backup@nas:2222/srv/backups"
        );
        assert_eq!(
            dest("[::1]", 22, "").unwrap().describe(),
            "sftp://backup@[::1]/~"
        );
        let d = dest("::1", 22, "a b/Überblick").unwrap();
        assert_eq!(d.server(), "backup@[::1]:22");
        assert_eq!(
            url_of(
                &d.url_base(),
                d.folder(),
                &RemotePath::parse("x.zip").unwrap()
            ),
            "sftp://backup@[::1]/~/a b/Überblick/x.zip"
        );
    }

    #[test]
    fn bad_fields_are_refused_by_name() {
        for (host, port, user, folder) in [
            ("", 22, "u", "f"),
            ("sftp://nas", 22, "u", "f"),
            ("u@nas", 22, "u", "f"),
            ("nas", 0, "u", "f"),
            ("nas", 22, "", "f"),
            ("nas", 22, "u\n", "f"),
            ("nas", 22, "u", "../etc"),
        ] {
            let e = SftpDestination::new(host, port, user, SftpAuth::Password, folder).unwrap_err();
            assert_eq!(
                e.kind,
                ErrorKind::InvalidInput,
                "{host:?} {port} {user:?} {folder:?}"
            );
        }
        let no_key = SftpAuth::KeyFile {
            path: PathBuf::new(),
            has_passphrase: false,
        };
        assert!(SftpDestination::new("nas", 22, "u", no_key, "").is_err());
    }

    #[test]
    fn secrets_are_filed_per_server_and_user() {
        let d = dest("nas", 22, "").unwrap();
        assert_eq!(d.password_key().account(), "sftp-password:backup@nas:22");
        assert_eq!(
            d.passphrase_key().account(),
            "sftp-key-passphrase:backup@nas:22"
        );
        assert_ne!(
            d.password_key(),
            dest("nas", 2222, "").unwrap().password_key()
        );
    }

    #[test]
    fn a_pinned_key_is_stored_normalised() {
        let d = dest("nas", 22, "")
            .unwrap()
            .with_host_key("ly7ZUqLz07z4iVtOinaKygi9P1FN9Isms/MGUO7S9OY=")
            .unwrap();
        assert_eq!(
            d.trusted_host_key(),
            Some("SHA256:ly7ZUqLz07z4iVtOinaKygi9P1FN9Isms/MGUO7S9OY")
        );
        assert!(dest("nas", 22, "").unwrap().with_host_key("nope").is_err());
    }
}
