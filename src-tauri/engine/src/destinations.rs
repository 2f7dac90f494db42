//! Configured destinations: the use cases behind the Configuration page.
//!
//! A destination is settings in the catalog plus, for a server, a password in the keychain
//! filed under the key that opening it reads ([`password_key`]). These functions keep the two
//! in step: the password moves when the server, port or user changes, and is removed with the
//! last destination that uses it (two destinations on one server and user share it).
//!
//! Trust on first use: "Test connection" on an unknown SFTP host key or an untrusted FTPS
//! certificate answers with its SHA-256 fingerprint ([`TrustPrompt`]); the user compares it
//! and [`trust`] pins it. A changed key or certificate is refused, never accepted silently.

use std::path::Path;

use serde::Serialize;

use crate::catalog::destinations::{DestinationKind, DestinationRecord, DestinationSettings};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::run::targets::{password_key, CatalogDestinations, Destinations};
use crate::secrets::{SecretKey, SecretStore, Sensitive};
use crate::storage::ftp::CertFingerprint;
use crate::storage::sftp::hostkey::normalize_fingerprint;
use crate::storage::{self, CheckStep};

/// Longest destination name, in characters.
pub const NAME_MAX_CHARS: usize = 80;

/// What the user typed. `password: None` keeps the stored password.
#[derive(Debug, Clone)]
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
}

/// A destination as the UI shows it: never the password, only whether one is stored.
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
}

/// The steps of "Test connection", in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum TestStep {
    Connect,
    CreateFolder,
    WriteProbe,
    RenameProbe,
    ListFolder,
    DeleteProbe,
}

impl From<CheckStep> for TestStep {
    fn from(s: CheckStep) -> Self {
        match s {
            CheckStep::Connect => Self::Connect,
            CheckStep::CreateFolder => Self::CreateFolder,
            CheckStep::WriteProbe => Self::WriteProbe,
            CheckStep::RenameProbe => Self::RenameProbe,
            CheckStep::ListFolder => Self::ListFolder,
            CheckStep::DeleteProbe => Self::DeleteProbe,
        }
    }
}

const STEPS: [CheckStep; 6] = [
    CheckStep::Connect,
    CheckStep::CreateFolder,
    CheckStep::WriteProbe,
    CheckStep::RenameProbe,
    CheckStep::ListFolder,
    CheckStep::DeleteProbe,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum StepStatus {
    Passed,
    Failed,
    /// Not reached: an earlier step failed.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StepResult {
    pub step: TestStep,
    /// "connect and log in", "write a test file", ...
    pub label: String,
    pub status: StepStatus,
}

/// What the user is asked to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum TrustSubject {
    SshHostKey,
    TlsCertificate,
}

/// An unknown (or changed) server identity, for the trust dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TrustPrompt {
    pub subject: TrustSubject,
    /// SHA-256: `SHA256:…` for a host key (as `ssh-keygen -lf` prints it), `AB:CD:…` for a
    /// certificate.
    pub fingerprint: String,
    /// The server presents another identity than the one trusted: warn before trusting.
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TestFailure {
    pub code: ErrorKind,
    /// Names the failed step: "Test connection failed at \"write a test file\": …".
    pub message: String,
}

/// The answer to "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DestinationTestReport {
    pub ok: bool,
    pub steps: Vec<StepResult>,
    pub failure: Option<TestFailure>,
    pub trust: Option<TrustPrompt>,
    pub unencrypted: bool,
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
        return Err(Error::invalid_input("Enter a name for the destination."));
    }
    if name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid_input(format!(
            "The destination name must be at most {NAME_MAX_CHARS} characters, without line \
             breaks or tabs."
        )));
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
    let password_stored = match password_key(&r).ok().flatten() {
        None => false,
        Some(key) => match secrets.get(&key) {
            Ok(p) => p.is_some(),
            // Listing must still work without a keychain; saving explains what is wrong.
            Err(e) if e.kind == ErrorKind::SecretStoreUnavailable => {
                tracing::warn!(error = %e.log_line(), "keychain unavailable while listing destinations");
                false
            }
            Err(e) => return Err(e),
        },
    };
    let s = r.settings;
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
        password_stored,
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

fn password_required() -> Error {
    Error::invalid_input("Enter the password the server expects for this user.")
}

/// Whether a destination other than `except` files its password under `key`.
fn key_shared(catalog: &Catalog, key: &SecretKey, except: i64) -> Result<bool> {
    Ok(catalog
        .list_destinations()?
        .iter()
        .filter(|r| r.id != except)
        .any(|r| password_key(r).ok().flatten().as_ref() == Some(key)))
}

/// Validates and stores a destination; the password (when given) goes to the keychain only.
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
    let key = password_key(&record(0, &settings))?;
    let password = draft.password.as_ref().filter(|p| !p.expose().is_empty());
    let saved = match draft.id {
        None => {
            if key.is_some() && password.is_none() {
                return Err(password_required());
            }
            let rec = catalog.insert_destination(&settings, clock.now())?;
            if let (Some(key), Some(password)) = (&key, password) {
                if let Err(e) = secrets.set(key, password) {
                    // No server without its password: undo the insert so a retry starts clean.
                    catalog.delete_destination(rec.id)?;
                    return Err(e);
                }
            }
            rec
        }
        Some(id) => {
            let old = catalog.get_destination(id)?;
            let old_key = password_key(&old).ok().flatten();
            if let Some(key) = &key {
                match password {
                    Some(p) => secrets.set(key, p)?,
                    None if old_key.as_ref() == Some(key) => {}
                    None => {
                        // The server or user changed: the password moves with them.
                        let moved = match &old_key {
                            Some(k) => secrets.get(k)?,
                            None => None,
                        };
                        secrets.set(key, &moved.ok_or_else(password_required)?)?;
                    }
                }
            }
            let rec = catalog.update_destination(id, &settings)?;
            if let Some(old_key) = old_key.filter(|k| Some(k) != key.as_ref()) {
                if !key_shared(catalog, &old_key, id)? {
                    secrets.delete(&old_key)?;
                }
            }
            rec
        }
    };
    view(saved, base_dir, secrets)
}

/// Forgets a destination no scheme uses and no backup is recorded on, and its password
/// unless another destination logs in the same way.
///
/// # Errors
/// `InvalidInput` naming the schemes that use it, or when backups are recorded on it.
pub fn delete(catalog: &Catalog, secrets: &dyn SecretStore, id: i64) -> Result<()> {
    let old = catalog.get_destination(id)?;
    catalog.delete_destination(id)?;
    if let Some(key) = password_key(&old).ok().flatten() {
        if !key_shared(catalog, &key, id)? {
            secrets.delete(&key)?;
        }
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

/// The keychain, except that the draft's typed password answers for the draft's key: "Test
/// connection" works before anything is saved, and writes nothing.
struct DraftSecrets<'a> {
    inner: &'a dyn SecretStore,
    key: Option<SecretKey>,
    password: Option<Sensitive<String>>,
}

impl SecretStore for DraftSecrets<'_> {
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>> {
        match (&self.key, &self.password) {
            (Some(k), Some(p)) if k == key => Ok(Some(p.clone())),
            _ => self.inner.get(key),
        }
    }

    fn set(&self, _: &SecretKey, _: &Sensitive<String>) -> Result<()> {
        Err(Error::internal("Test connection does not save passwords."))
    }

    fn delete(&self, _: &SecretKey) -> Result<()> {
        Err(Error::internal(
            "Test connection does not delete passwords.",
        ))
    }
}

/// "Test connection" on the draft as typed (saved or not): connect and log in, create the
/// folder, write, rename, list and delete a probe file. Blocking (network).
///
/// # Errors
/// `InvalidInput` when the settings cannot make a destination; a failing server is the
/// report's `failure`, not an error.
pub fn test(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    base_dir: &Path,
    draft: &DestinationDraft,
) -> Result<DestinationTestReport> {
    let settings = settings_of(draft, base_dir)?;
    let candidate = record(draft.id.unwrap_or(0), &settings);
    let key = password_key(&candidate)?;
    let mut password = draft.password.clone().filter(|p| !p.expose().is_empty());
    if password.is_none() {
        // Editing a saved server whose address changed: its stored password, as saving would.
        if let Some(id) = draft.id {
            if let Some(old_key) = password_key(&catalog.get_destination(id)?).ok().flatten() {
                if Some(&old_key) != key.as_ref() {
                    password = secrets.get(&old_key)?;
                }
            }
        }
    }
    let destination = CatalogDestinations::new(base_dir).build(&candidate)?;
    let store = DraftSecrets {
        inner: secrets,
        key,
        password,
    };
    let report = storage::test_connection(destination.as_ref(), &store);
    let failed_step = report.failed.as_ref().map(|(s, _)| *s);
    let steps = STEPS
        .iter()
        .map(|&s| StepResult {
            step: s.into(),
            label: s.to_string(),
            status: if report.passed.contains(&s) {
                StepStatus::Passed
            } else if failed_step == Some(s) {
                StepStatus::Failed
            } else {
                StepStatus::Skipped
            },
        })
        .collect();
    let trust = report
        .failed
        .as_ref()
        .and_then(|(_, e)| trust_prompt(settings.kind, e));
    let ok = report.is_ok();
    let failure = report.into_result().err().map(|e| {
        tracing::info!(error = %e.log_line(), "destination test failed");
        TestFailure {
            code: e.kind,
            message: e.message().to_string(),
        }
    });
    if ok {
        tracing::info!(location = %destination.describe(), "destination test succeeded");
    }
    Ok(DestinationTestReport {
        ok,
        steps,
        failure,
        trust,
        unencrypted: settings.kind == DestinationKind::Ftp,
    })
}

/// The fingerprint a refusal carries (see `storage::sftp::hostkey` and `storage::ftp::tls`).
fn trust_prompt(kind: DestinationKind, e: &Error) -> Option<TrustPrompt> {
    let ctx = |key: &str| {
        e.context()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    };
    match kind {
        DestinationKind::Sftp => Some(TrustPrompt {
            subject: TrustSubject::SshHostKey,
            fingerprint: ctx("host_key_sha256")?,
            changed: ctx("host_key").as_deref() == Some("changed"),
        }),
        DestinationKind::Ftps => Some(TrustPrompt {
            subject: TrustSubject::TlsCertificate,
            fingerprint: ctx("fingerprint")?,
            changed: ctx("pinned_fingerprint").is_some(),
        }),
        _ => None,
    }
}

/// Storage figures of every destination. Local folders are measured (blocking file system
/// calls); servers are not contacted: their total is what the catalog recorded.
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
            let measured = CatalogDestinations::new(base_dir)
                .build(&r)
                .and_then(|d| d.open(secrets))
                .and_then(|mut s| s.usage());
            match measured {
                Ok(m) => {
                    u.used = m.used;
                    u.free = m.disk_free;
                }
                Err(e) => u.error = Some(e.message().to_string()),
            }
        }
        out.push(u);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "destinations_tests.rs"]
mod tests;
