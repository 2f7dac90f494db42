//! "Test connection" on a destination form, saved or not: each step's result, the failure
//! naming its step, and the fingerprint to trust when the server's identity is unknown.

use std::path::Path;

use serde::Serialize;

use super::{login, record, settings_of, DestinationDraft};
use crate::catalog::destinations::DestinationKind;
use crate::catalog::Catalog;
use crate::error::{Error, ErrorKind, Result};
use crate::run::targets::{login_secret, CatalogDestinations, Destinations};
use crate::secrets::{SecretKey, SecretStore, Sensitive};
use crate::storage::{self, CheckStep};

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

/// The keychain, except that the draft's typed password or passphrase answers for the draft's
/// key: "Test connection" works before anything is saved, and writes nothing.
struct DraftSecrets<'a> {
    inner: &'a dyn SecretStore,
    key: Option<SecretKey>,
    typed: Option<Sensitive<String>>,
}

impl SecretStore for DraftSecrets<'_> {
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>> {
        match (&self.key, &self.typed) {
            (Some(k), Some(p)) if k == key => Ok(Some(p.clone())),
            _ => self.inner.get(key),
        }
    }

    fn set(&self, _: &SecretKey, _: &Sensitive<String>) -> Result<()> {
        Err(Error::internal("Test connection does not save secrets."))
    }

    fn delete(&self, _: &SecretKey) -> Result<()> {
        Err(Error::internal("Test connection does not delete secrets."))
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
    let secret = login_secret(&candidate)?;
    let mut typed = secret
        .as_ref()
        .and_then(|s| login::typed(draft, s))
        .cloned();
    if let (None, Some(secret), Some(id)) = (&typed, &secret, draft.id) {
        // Editing a saved server whose address changed: its stored secret, as saving would.
        typed = login::carried(secrets, &catalog.get_destination(id)?, secret)?;
    }
    let destination = CatalogDestinations::new(base_dir).build(&candidate)?;
    let store = DraftSecrets {
        inner: secrets,
        key: secret.map(|s| s.key),
        typed,
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
pub(super) fn trust_prompt(kind: DestinationKind, e: &Error) -> Option<TrustPrompt> {
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
