//! How a server destination logs in, as the form gives it: a password, or for SFTP a private
//! key file on this computer with an optional passphrase. The one secret goes to the keychain
//! only ([`login_secret`] says where), and a field left empty keeps the stored one.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::DestinationDraft;
use crate::catalog::destinations::{DestinationKind, DestinationRecord};
use crate::error::{Error, Result};
use crate::run::targets::{login_secret, LoginSecret, SecretKind};
use crate::secrets::{SecretStore, Sensitive};
use crate::storage::sftp::SftpAuth;

/// The draft fields errors name (their JSON names), for the form to show them beside.
pub(super) mod field {
    pub const NAME: &str = "name";
    pub const PASSWORD: &str = "password";
    pub const KEY_PATH: &str = "keyPath";
    pub const PASSPHRASE: &str = "passphrase";
}

/// How an SFTP destination logs in: its password, or a private key file on this computer
/// (OpenSSH, PEM or PKCS#8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum SftpLogin {
    #[default]
    Password,
    KeyFile,
}

impl SftpLogin {
    pub(super) fn of(auth: &SftpAuth) -> Self {
        match auth {
            SftpAuth::Password => Self::Password,
            SftpAuth::KeyFile { .. } => Self::KeyFile,
        }
    }
}

/// The draft's SFTP login, its key file checked here (a run reads it on this computer);
/// `Password` for the other kinds.
///
/// # Errors
/// `InvalidInput` for the key path: empty, not a full path, missing, a folder or unreadable.
pub(super) fn sftp_auth(draft: &DestinationDraft) -> Result<SftpAuth> {
    if draft.kind != DestinationKind::Sftp || draft.sftp_login == SftpLogin::Password {
        return Ok(SftpAuth::Password);
    }
    Ok(SftpAuth::KeyFile {
        path: key_file(draft.key_path.as_deref().unwrap_or_default())?,
        has_passphrase: draft.key_has_passphrase,
    })
}

const KEY_EXAMPLE: &str = if cfg!(windows) {
    r"C:\Users\me\.ssh\id_ed25519"
} else if cfg!(target_os = "macos") {
    "/Users/me/.ssh/id_ed25519"
} else {
    "/home/me/.ssh/id_ed25519"
};

fn key_file(typed: &str) -> Result<PathBuf> {
    let typed = typed.trim();
    let refuse = |why: String| Err(Error::invalid_input(why).for_field(field::KEY_PATH));
    if typed.is_empty() {
        return refuse(format!(
            "Private key file: enter the full path of the private key to log in with, for \
             example {KEY_EXAMPLE}."
        ));
    }
    let path = PathBuf::from(typed);
    if !path.is_absolute() {
        // A run has no meaningful working folder, and "~" is a shell's convention.
        return refuse(format!(
            "Private key file: \"{typed}\" is not a full path. Enter it from the top, for \
             example {KEY_EXAMPLE} (\"~\" is not expanded)."
        ));
    }
    if path.extension().is_some_and(|e| e == "pub") {
        return refuse(format!(
            "Private key file: {typed} is the public half of a key. Enter the private key \
             file: the same name without \".pub\"."
        ));
    }
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => refuse(format!(
            "Private key file: {typed} is a folder. Enter the path of the key file in it."
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => refuse(format!(
            "Private key file: {typed} does not exist on this computer. Check the path (the \
             key file must be on this computer, not on the server)."
        )),
        Err(e) => Err(Error::invalid_input(format!(
            "Private key file: {typed} cannot be read ({e}). Check that your user may read it."
        ))
        .for_field(field::KEY_PATH)
        .with_source(e)),
    }
}

/// The secret typed for `secret` (the password or the key's passphrase); `None` when the
/// field was left empty.
pub(super) fn typed<'a>(
    draft: &'a DestinationDraft,
    secret: &LoginSecret,
) -> Option<&'a Sensitive<String>> {
    match secret.kind {
        SecretKind::Password => draft.password.as_ref(),
        SecretKind::KeyPassphrase => draft.passphrase.as_ref(),
    }
    .filter(|s| !s.expose().is_empty())
}

/// A login whose secret is neither typed nor stored.
pub(super) fn required(kind: SecretKind) -> Error {
    match kind {
        SecretKind::Password => {
            Error::invalid_input("Enter the password the server expects for this user.")
                .for_field(field::PASSWORD)
        }
        SecretKind::KeyPassphrase => Error::invalid_input(
            "Key passphrase: enter the passphrase of the private key file, or untick \"The key \
             has a passphrase\" if it has none.",
        )
        .for_field(field::PASSPHRASE),
    }
}

/// The stored secret an edited destination takes along when its secret moves to another
/// keychain entry (the server, port or user changed) and none was typed. `None` when the
/// old login kept another kind of secret (a password never becomes a passphrase) or none.
pub(super) fn carried(
    secrets: &dyn SecretStore,
    old: &DestinationRecord,
    new: &LoginSecret,
) -> Result<Option<Sensitive<String>>> {
    match login_secret(old).ok().flatten() {
        Some(o) if o.kind == new.kind && o.key != new.key => secrets.get(&o.key),
        _ => Ok(None),
    }
}
