//! Configured destinations: the use cases behind the Configuration page.
//!
//! A destination is settings in the catalog plus, for a server, one secret in the keychain
//! filed under the key that opening it reads ([`login_secret`]): the password, or the
//! passphrase of an SFTP key file (see [`login`]). These functions keep the two in step: the
//! secret moves when the server, port or user changes, and is removed with the last
//! destination that uses it (two destinations on one server and user share it).
//!
//! Trust on first use: "Test connection" on an unknown SFTP host key or an untrusted FTPS
//! certificate answers with its SHA-256 fingerprint ([`TrustPrompt`]); the user compares it
//! and [`trust`] pins it. A changed key or certificate is refused, never accepted silently.
//! The test itself is in [`check`].

mod check;
mod login;

pub use login::SftpLogin;

pub use check::{
    test, DestinationTestReport, StepResult, StepStatus, TestFailure, TestStep, TrustPrompt,
    TrustSubject,
};

use std::path::Path;

use serde::Serialize;

use crate::catalog::destinations::{DestinationKind, DestinationRecord, DestinationSettings};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::run::targets::{login_secret, CatalogDestinations, Destinations, SecretKind};
use crate::secrets::{SecretKey, SecretStore, Sensitive};
use crate::storage::ftp::CertFingerprint;
use crate::storage::sftp::hostkey::normalize_fingerprint;
use crate::storage::sftp::SftpAuth;
use login::field;

/// Longest destination name, in characters.
pub const NAME_MAX_CHARS: usize = 80;

/// What the user typed. `password: None` keeps the stored password, `passphrase: None` the
/// stored passphrase.
#[derive(Debug, Clone, Default)]
pub struct DestinationDraft {
    pub id: Option<i64>,
    pub name: String,
    pub kind: DestinationKind,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user_name: Option<String>,
    /// A local folder (absolute, or relative to the app's data folder) or a server folder
    /// (relative to the login folder unless it starts with `/`).
    pub folder: String,
    pub quota_bytes: Option<u64>,
    /// The fingerprint the user trusted (SFTP host key or FTPS certificate), if any.
    pub pinned_fingerprint: Option<String>,
    pub password: Option<Sensitive<String>>,
    /// SFTP: the password or a private key file.
    pub sftp_login: SftpLogin,
    /// SFTP with a key file: its full path on this computer.
    pub key_path: Option<String>,
    /// SFTP with a key file: the key is encrypted; its passphrase is kept in the keychain.
    pub key_has_passphrase: bool,
    pub passphrase: Option<Sensitive<String>>,
    /// FTPS: TLS from the first byte (implicit FTPS, usually port 990).
    pub implicit_tls: bool,
}

/// A destination as the UI shows it: never the password or passphrase, only whether one is
/// stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DestinationView {
    pub id: u32,
    pub name: String,
    pub kind: DestinationKind,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user_name: Option<String>,
    pub folder: String,
    /// Bytes; a JavaScript number is exact far beyond any disk.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub quota_bytes: Option<u64>,
    pub pinned_fingerprint: Option<String>,
    /// Where the backups go, as messages name it ("sftp://backup@nas/~/jira").
    pub location: String,
    /// Plain FTP: the password and the backups travel unencrypted.
    pub unencrypted: bool,
    /// A server destination whose password is in the keychain (always false for a folder).
    pub password_stored: bool,
    pub sftp_login: SftpLogin,
    /// SFTP with a key file: its path on this computer.
    pub key_path: Option<String>,
    pub key_has_passphrase: bool,
    /// SFTP with an encrypted key file: its passphrase is in the keychain.
    pub passphrase_stored: bool,
    pub implicit_tls: bool,
}

/// One destination's storage figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DestinationUsage {
    pub destination_id: u32,
    /// Bytes of this app's backups: measured in a local folder, the catalog's total for a
    /// server (not connected to for a dashboard).
    #[cfg_attr(feature = "specta", specta(type = specta_typescript::Number))]
    pub used: u64,
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub quota: Option<u64>,
    /// Free space on the disk holding a local folder.
    #[cfg_attr(feature = "specta", specta(type = Option<specta_typescript::Number>))]
    pub free: Option<u64>,
    /// Backup files recorded on the destination.
    pub files: u32,
    /// Why a local folder could not be measured.
    pub error: Option<String>,
}

fn ui_id(id: i64) -> Result<u32> {
    u32::try_from(id).map_err(|_| Error::internal(format!("Destination id {id} is out of range.")))
}

fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The draft's settings, checked: the name here, everything else by building the destination
/// exactly as a run will.
fn settings_of(draft: &DestinationDraft, base_dir: &Path) -> Result<DestinationSettings> {
    let name = draft.name.trim().to_string();
    if name.is_empty() {
        return Err(
            Error::invalid_input("Enter a name for the destination.").for_field(field::NAME)
        );
    }
    if name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid_input(format!(
            "The destination name must be at most {NAME_MAX_CHARS} characters, without line \
             breaks or tabs."
        ))
        .for_field(field::NAME));
    }
    let server = draft.kind != DestinationKind::Local;
    let pinned = match trimmed(&draft.pinned_fingerprint) {
        Some(fp) if server => Some(normalize_pin(draft.kind, &fp)?),
        _ => None,
    };
    let settings = DestinationSettings {
        name,
        kind: draft.kind,
        host: trimmed(&draft.host).filter(|_| server),
        port: draft.port.filter(|_| server),
        user_name: trimmed(&draft.user_name).filter(|_| server),
        folder: draft.folder.trim().to_string(),
        quota_bytes: draft.quota_bytes,
        pinned_fingerprint: pinned,
        sftp_auth: login::sftp_auth(draft)?,
        implicit_tls: draft.implicit_tls && draft.kind == DestinationKind::Ftps,
    };
    CatalogDestinations::new(base_dir).build(&record(0, &settings))?;
    Ok(settings)
}

fn record(id: i64, settings: &DestinationSettings) -> DestinationRecord {
    DestinationRecord {
        id,
        settings: settings.clone(),
        created_at: chrono::DateTime::UNIX_EPOCH,
    }
}

/// A fingerprint written the one way it is compared, for the kind of server.
///
/// # Errors
/// `InvalidInput` for a malformed fingerprint, or for a local folder or plain FTP (nothing to
/// trust).
pub fn normalize_pin(kind: DestinationKind, fingerprint: &str) -> Result<String> {
    match kind {
        DestinationKind::Sftp => normalize_fingerprint(fingerprint),
        DestinationKind::Ftps => Ok(CertFingerprint::parse(fingerprint)?.to_string()),
        DestinationKind::Ftp | DestinationKind::Local => Err(Error::invalid_input(
            "Only SFTP host keys and FTPS certificates can be trusted; this destination has \
             neither.",
        )),
    }
}

fn view(
    r: DestinationRecord,
    base_dir: &Path,
    secrets: &dyn SecretStore,
) -> Result<DestinationView> {
    let location = CatalogDestinations::new(base_dir)
        .build(&r)
        .map(|d| d.describe())
        .unwrap_or_else(|e| e.message().to_string());
    let secret = login_secret(&r).ok().flatten();
    let stored = match &secret {
        None => false,
        Some(secret) => match secrets.get(&secret.key) {
            Ok(p) => p.is_some(),
            // Listing must still work without a keychain; saving explains what is wrong.
            Err(e) if e.kind == ErrorKind::SecretStoreUnavailable => {
                tracing::warn!(error = %e.log_line(), "keychain unavailable while listing destinations");
                false
            }
            Err(e) => return Err(e),
        },
    };
    let stored_kind = secret.filter(|_| stored).map(|s| s.kind);
    let s = r.settings;
    let (key_path, key_has_passphrase) = match &s.sftp_auth {
        SftpAuth::Password => (None, false),
        SftpAuth::KeyFile {
            path,
            has_passphrase,
        } => (Some(path.display().to_string()), *has_passphrase),
    };
    Ok(DestinationView {
        id: ui_id(r.id)?,
        unencrypted: s.kind == DestinationKind::Ftp,
        name: s.name,
        kind: s.kind,
        host: s.host,
        port: s.port,
        user_name: s.user_name,
        folder: s.folder,
        quota_bytes: s.quota_bytes,
        pinned_fingerprint: s.pinned_fingerprint,
        location,
        password_stored: stored_kind == Some(SecretKind::Password),
        sftp_login: SftpLogin::of(&s.sftp_auth),
        key_path,
        key_has_passphrase,
        passphrase_stored: stored_kind == Some(SecretKind::KeyPassphrase),
        implicit_tls: s.implicit_tls,
    })
}

pub fn list(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    base_dir: &Path,
) -> Result<Vec<DestinationView>> {
    catalog
        .list_destinations()?
        .into_iter()
        .map(|r| view(r, base_dir, secrets))
        .collect()
}

/// Whether a destination other than `except` files its secret under `key`.
fn key_shared(catalog: &Catalog, key: &SecretKey, except: i64) -> Result<bool> {
    Ok(catalog
        .list_destinations()?
        .iter()
        .filter(|r| r.id != except)
        .any(|r| {
            login_secret(r)
                .ok()
                .flatten()
                .is_some_and(|s| &s.key == key)
        }))
}

/// Validates and stores a destination; the password or passphrase (when given) goes to the
/// keychain only.
///
/// # Errors
/// `InvalidInput` naming the field; `SecretStoreUnavailable` when the keychain refuses.
pub fn save(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    clock: &dyn Clock,
    base_dir: &Path,
    draft: &DestinationDraft,
) -> Result<DestinationView> {
    let settings = settings_of(draft, base_dir)?;
    let secret = login_secret(&record(0, &settings))?;
    let key = secret.as_ref().map(|s| s.key.clone());
    let typed = secret.as_ref().and_then(|s| login::typed(draft, s));
    let saved = match draft.id {
        None => {
            if let (Some(secret), None) = (&secret, typed) {
                return Err(login::required(secret.kind));
            }
            let rec = catalog.insert_destination(&settings, clock.now())?;
            if let (Some(key), Some(typed)) = (&key, typed) {
                if let Err(e) = secrets.set(key, typed) {
                    // No server without its secret: undo the insert so a retry starts clean.
                    catalog.delete_destination(rec.id)?;
                    return Err(e);
                }
            }
            rec
        }
        Some(id) => {
            let old = catalog.get_destination(id)?;
            let old_key = login_secret(&old).ok().flatten().map(|s| s.key);
            // The server or user changed and nothing was typed: the stored secret moves with
            // them. Read before anything changes.
            let moved = match (&secret, typed) {
                (Some(s), None) if old_key.as_ref() != Some(&s.key) => {
                    Some(login::carried(secrets, &old, s)?.ok_or_else(|| login::required(s.kind))?)
                }
                _ => None,
            };
            // The catalog first: a taken name is refused before the keychain changes.
            let rec = catalog.update_destination(id, &settings)?;
            let stored = match (&key, typed.or(moved.as_ref())) {
                (Some(k), Some(p)) => secrets.set(k, p),
                _ => Ok(()),
            };
            if let Err(e) = stored {
                catalog.update_destination(id, &old.settings)?;
                return Err(e);
            }
            if let Some(old_key) = old_key.filter(|k| Some(k) != key.as_ref()) {
                forget_secret(catalog, secrets, &old_key, id)?;
            }
            rec
        }
    };
    view(saved, base_dir, secrets)
}

/// Forgets a destination no scheme uses and no backup is recorded on, and its password or
/// passphrase unless another destination logs in the same way.
///
/// # Errors
/// `InvalidInput` naming the schemes that use it, or when backups are recorded on it.
pub fn delete(catalog: &Catalog, secrets: &dyn SecretStore, id: i64) -> Result<()> {
    let old = catalog.get_destination(id)?;
    catalog.delete_destination(id)?;
    if let Some(secret) = login_secret(&old).ok().flatten() {
        forget_secret(catalog, secrets, &secret.key, id)?;
    }
    Ok(())
}

/// Removes a password or passphrase no destination but `except` files under `key`. The destination is
/// already changed or gone by then, so a keychain that refuses is only logged: a stale entry
/// is harmless, and failing would misreport what happened.
fn forget_secret(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    key: &SecretKey,
    except: i64,
) -> Result<()> {
    if key_shared(catalog, key, except)? {
        return Ok(());
    }
    if let Err(e) = secrets.delete(key) {
        tracing::warn!(error = %e.log_line(), "could not remove an unused secret from the keychain");
    }
    Ok(())
}

/// Pins the fingerprint the user compared and trusted.
///
/// # Errors
/// `NotFound`; `InvalidInput` for a malformed fingerprint or a destination with nothing to
/// trust.
pub fn trust(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    base_dir: &Path,
    id: i64,
    fingerprint: &str,
) -> Result<DestinationView> {
    let mut settings = catalog.get_destination(id)?.settings;
    settings.pinned_fingerprint = Some(normalize_pin(settings.kind, fingerprint)?);
    let rec = catalog.update_destination(id, &settings)?;
    tracing::info!(destination = id, "server identity trusted");
    view(rec, base_dir, secrets)
}

/// Storage figures of every destination. Local folders are measured (blocking file system
/// calls): this app's snapshot files in the destination folder and the folders below it (as
/// the quota counts them), and the disk's free space. Servers are not contacted: their total is what the
/// catalog recorded.
///
/// # Errors
/// `Catalog` only; a folder that cannot be measured says so in its `error`.
pub fn usage(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    base_dir: &Path,
) -> Result<Vec<DestinationUsage>> {
    let backups = catalog.list_backups()?;
    let mut out = Vec::new();
    for r in catalog.list_destinations()? {
        let mine: Vec<_> = backups
            .iter()
            .filter(|b| b.file.destination_id == r.id)
            .collect();
        let mut u = DestinationUsage {
            destination_id: ui_id(r.id)?,
            used: mine.iter().map(|b| b.file.size).sum(),
            quota: r.settings.quota_bytes,
            free: None,
            files: u32::try_from(mine.len()).unwrap_or(u32::MAX),
            error: None,
        };
        if r.settings.kind == DestinationKind::Local {
            match measure_local(&r, secrets, base_dir) {
                Ok((used, free)) => {
                    u.used = used;
                    u.free = free;
                }
                Err(e) => u.error = Some(e.message().to_string()),
            }
        }
        out.push(u);
    }
    Ok(out)
}

/// (bytes of this app's snapshots in the folder and the scheme folders below it, free space
/// on the disk): the same figure the quota is enforced against.
fn measure_local(
    r: &DestinationRecord,
    secrets: &dyn SecretStore,
    base_dir: &Path,
) -> Result<(u64, Option<u64>)> {
    let usage = CatalogDestinations::new(base_dir)
        .build(r)?
        .open(secrets)?
        .usage()?;
    Ok((usage.used, usage.disk_free))
}

#[cfg(test)]
mod tests;
