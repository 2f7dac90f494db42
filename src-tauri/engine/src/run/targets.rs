//! From a catalog destination row to a [`Destination`] a run can open.
//!
//! The row holds no secret: FTP and SFTP passwords, and the passphrase of an SFTP key file, are
//! read from the [`SecretStore`] when the destination is opened, under the keys the storage
//! module files them under ([`login_secret`]).
//!
//! [`SecretStore`]: crate::secrets::SecretStore

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::catalog::destinations::{DestinationKind, DestinationRecord};
use crate::error::{Error, Result};
use crate::secrets::SecretKey;
use crate::storage::ftp::{CertFingerprint, FtpTimeouts, TlsTrust};
use crate::storage::sftp::{SftpAuth, SftpDestination, DEFAULT_PORT as SFTP_PORT};
use crate::storage::{Destination, FtpConfig, FtpDestination, FtpSecurity, LocalDestination};

/// Turns catalog rows into destinations. A trait so tests can hand a run an in-memory one.
pub trait Destinations: Send + Sync {
    /// # Errors
    /// `InvalidInput` when the saved settings cannot make a destination (a server without a
    /// host or user name, a bad folder or fingerprint).
    fn build(&self, record: &DestinationRecord) -> Result<Arc<dyn Destination>>;
}

/// The real destinations: local folders (relative ones below `base_dir`, the app's data
/// folder), FTP, FTPS (explicit or implicit) and SFTP (a password or a private key file).
#[derive(Clone)]
pub struct CatalogDestinations {
    base_dir: PathBuf,
}

impl CatalogDestinations {
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        Self {
            base_dir: base_dir.into(),
        }
    }
}

impl fmt::Debug for CatalogDestinations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatalogDestinations")
            .field("base_dir", &self.base_dir)
            .finish()
    }
}

impl Destinations for CatalogDestinations {
    fn build(&self, record: &DestinationRecord) -> Result<Arc<dyn Destination>> {
        let s = &record.settings;
        Ok(match s.kind {
            DestinationKind::Local => Arc::new(LocalDestination::new(
                &self.base_dir,
                &s.folder,
                s.quota_bytes,
            )?),
            DestinationKind::Ftp | DestinationKind::Ftps => Arc::new(ftp_destination(record)?),
            DestinationKind::Sftp => Arc::new(sftp_destination(record)?),
        })
    }
}

/// Which secret a login reads from the keychain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The server password (FTP, FTPS, SFTP with a password).
    Password,
    /// The passphrase of an SFTP private key file.
    KeyPassphrase,
}

/// The one keychain entry a destination's login reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSecret {
    pub key: SecretKey,
    pub kind: SecretKind,
}

/// Where the destination's login secret is filed in the keychain; `None` for a local folder
/// or a key file without a passphrase. Derived from the validated destination (host without
/// brackets, default port), the same way opening it reads it.
///
/// # Errors
/// As [`Destinations::build`].
pub fn login_secret(record: &DestinationRecord) -> Result<Option<LoginSecret>> {
    let password = |key| LoginSecret {
        key,
        kind: SecretKind::Password,
    };
    Ok(match record.settings.kind {
        DestinationKind::Local => None,
        DestinationKind::Ftp | DestinationKind::Ftps => {
            Some(password(ftp_destination(record)?.secret_key()))
        }
        DestinationKind::Sftp => {
            let d = sftp_destination(record)?;
            match d.auth() {
                SftpAuth::Password => Some(password(d.password_key())),
                SftpAuth::KeyFile {
                    has_passphrase: true,
                    ..
                } => Some(LoginSecret {
                    key: d.passphrase_key(),
                    kind: SecretKind::KeyPassphrase,
                }),
                SftpAuth::KeyFile { .. } => None,
            }
        }
    })
}

fn required(record: &DestinationRecord, value: &Option<String>, what: &str) -> Result<String> {
    value
        .clone()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            Error::invalid_input(format!(
                "The destination \"{}\" has no {what}. Edit the destination and enter it.",
                record.settings.name
            ))
        })
}

fn ftp_destination(record: &DestinationRecord) -> Result<FtpDestination> {
    let s = &record.settings;
    let pinned = s
        .pinned_fingerprint
        .as_deref()
        .map(CertFingerprint::parse)
        .transpose()?;
    FtpDestination::new(FtpConfig {
        host: required(record, &s.host, "server")?,
        port: s.port,
        username: required(record, &s.user_name, "user name")?,
        folder: s.folder.clone(),
        security: match (s.kind, s.implicit_tls) {
            (DestinationKind::Ftps, true) => FtpSecurity::ImplicitTls,
            (DestinationKind::Ftps, false) => FtpSecurity::ExplicitTls,
            _ => FtpSecurity::Plain,
        },
        trust: TlsTrust {
            pinned,
            extra_roots_pem: None,
        },
        quota: s.quota_bytes,
        timeouts: FtpTimeouts::default(),
    })
}

fn sftp_destination(record: &DestinationRecord) -> Result<SftpDestination> {
    let s = &record.settings;
    let d = SftpDestination::new(
        &required(record, &s.host, "server")?,
        s.port.unwrap_or(SFTP_PORT),
        &required(record, &s.user_name, "user name")?,
        s.sftp_auth.clone(),
        &s.folder,
    )?;
    match s.pinned_fingerprint.as_deref() {
        Some(fp) => d.with_host_key(fp),
        None => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::destinations::DestinationSettings;

    fn record(kind: DestinationKind, host: Option<&str>) -> DestinationRecord {
        DestinationRecord {
            id: 1,
            settings: DestinationSettings {
                name: "NAS".into(),
                kind,
                host: host.map(str::to_string),
                port: None,
                user_name: Some("backup".into()),
                folder: "jira".into(),
                quota_bytes: None,
                pinned_fingerprint: None,
                sftp_auth: SftpAuth::Password,
                implicit_tls: false,
            },
            created_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn each_kind_builds_and_a_server_needs_a_host() {
        let d = CatalogDestinations::new("/data");
        let local = d.build(&record(DestinationKind::Local, None)).unwrap();
        assert!(
            local.describe().contains("/data/jira"),
            "{}",
            local.describe()
        );
        for kind in [
            DestinationKind::Ftp,
            DestinationKind::Ftps,
            DestinationKind::Sftp,
        ] {
            assert!(d.build(&record(kind, Some("nas.example.net"))).is_ok());
            let e = d.build(&record(kind, None)).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::InvalidInput);
            assert!(e.message().contains("has no server"), "{}", e.message());
        }
        assert_eq!(
            login_secret(&record(DestinationKind::Local, None)).unwrap(),
            None
        );
        let key = |kind| {
            let secret = login_secret(&record(kind, Some("[::1]"))).unwrap().unwrap();
            assert_eq!(secret.kind, SecretKind::Password);
            secret.key.account().to_string()
        };
        // What opening the destination reads: FTP and FTPS share one password.
        assert_eq!(key(DestinationKind::Ftps), "ftp-password:backup@::1:21");
        assert_eq!(key(DestinationKind::Ftp), key(DestinationKind::Ftps));
        assert_eq!(key(DestinationKind::Sftp), "sftp-password:backup@::1:22");
    }

    #[test]
    fn an_sftp_key_file_logs_in_with_its_passphrase_from_the_keychain() {
        let mut r = record(DestinationKind::Sftp, Some("nas"));
        let auth = SftpAuth::KeyFile {
            path: PathBuf::from("/home/me/.ssh/id_ed25519"),
            has_passphrase: true,
        };
        r.settings.sftp_auth = auth.clone();
        assert_eq!(sftp_destination(&r).unwrap().auth(), &auth);
        assert!(CatalogDestinations::new("/data").build(&r).is_ok());
        assert_eq!(
            login_secret(&r).unwrap(),
            Some(LoginSecret {
                key: SecretKey::sftp_key_passphrase("nas", 22, "backup"),
                kind: SecretKind::KeyPassphrase,
            })
        );

        r.settings.sftp_auth = SftpAuth::KeyFile {
            path: PathBuf::from("/home/me/.ssh/id_ed25519"),
            has_passphrase: false,
        };
        assert_eq!(
            login_secret(&r).unwrap(),
            None,
            "a key without a passphrase reads no secret"
        );
    }

    #[test]
    fn implicit_ftps_defaults_to_port_990_and_only_for_ftps() {
        let mut r = record(DestinationKind::Ftps, Some("nas"));
        let d = ftp_destination(&r).unwrap();
        assert_eq!((d.security(), d.port()), (FtpSecurity::ExplicitTls, 21));
        r.settings.implicit_tls = true;
        let d = ftp_destination(&r).unwrap();
        assert_eq!((d.security(), d.port()), (FtpSecurity::ImplicitTls, 990));
        assert_eq!(
            login_secret(&r).unwrap().unwrap().key.account(),
            "ftp-password:backup@nas:990"
        );
        r.settings.port = Some(2990);
        assert_eq!(ftp_destination(&r).unwrap().port(), 2990);
        r.settings.kind = DestinationKind::Ftp;
        assert_eq!(
            ftp_destination(&r).unwrap().security(),
            FtpSecurity::Plain,
            "plain FTP never turns into TLS"
        );
    }
}
