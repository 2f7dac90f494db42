//! Secrets: API tokens and passwords live only in the OS keychain.
//!
//! [`Sensitive`] wraps a secret so it cannot leak by accident: its `Debug` prints
//! `<redacted>`, it implements neither `Display` nor `Serialize`, and its memory is wiped on
//! drop. [`SecretStore`] is the keychain seen by the engine; [`KeyringStore`] is the real one
//! (Windows Credential Manager, macOS Keychain, Linux Secret Service via the `keyring` crate)
//! and [`MemoryStore`] serves unit tests.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use zeroize::Zeroize;

use crate::error::{Error, ErrorKind, Result};

/// A secret value. Read it with [`Sensitive::expose`] at the one place that must send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive<T: Zeroize>(T);

impl<T: Zeroize> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: Zeroize> Drop for Sensitive<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl From<String> for Sensitive<String> {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// Which secret: one account name per credential, stable across app versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretKey(String);

impl SecretKey {
    /// The Jira API token of `email` on the (normalised) site `url`.
    pub fn jira_token(url: &str, email: &str) -> Self {
        Self(format!("jira-api-token:{email}@{url}"))
    }

    /// The password of `user` on the file server `host:port`; `protocol` names the login's
    /// kind ("ftp" for FTP and FTPS alike: one account, one password).
    pub fn storage_password(protocol: &str, user: &str, host: &str, port: u16) -> Self {
        Self(format!("{protocol}-password:{user}@{host}:{port}"))
    }

    /// The password of `user` on the SFTP server `host:port`.
    pub fn sftp_password(host: &str, port: u16, user: &str) -> Self {
        Self::storage_password("sftp", user, host, port)
    }

    /// The passphrase of the private key file `user` logs in to the SFTP server `host:port`
    /// with.
    pub fn sftp_key_passphrase(host: &str, port: u16, user: &str) -> Self {
        Self(format!("sftp-key-passphrase:{user}@{host}:{port}"))
    }

    pub fn account(&self) -> &str {
        &self.0
    }
}

/// The keychain as the engine sees it.
pub trait SecretStore: Send + Sync {
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>>;
    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<()>;
    /// Deleting a secret that is not there is not an error.
    fn delete(&self, key: &SecretKey) -> Result<()>;
}

/// The OS keychain through the `keyring` crate.
pub struct KeyringStore {
    service: String,
}

/// The keychain service name every Backup Center secret is filed under.
pub const KEYCHAIN_SERVICE: &str = "Backup Center";

impl KeyringStore {
    pub fn new() -> Self {
        Self::with_service(KEYCHAIN_SERVICE)
    }

    /// A store filed under another service name (tests use their own).
    pub fn with_service(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self, key: &SecretKey) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, key.account()).map_err(map_keyring_error)
    }
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>> {
        match self.entry(key)?.get_password() {
            Ok(p) => Ok(Some(Sensitive::new(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring_error(e)),
        }
    }

    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<()> {
        self.entry(key)?
            .set_password(value.expose())
            .map_err(map_keyring_error)
    }

    fn delete(&self, key: &SecretKey) -> Result<()> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring_error(e)),
        }
    }
}

/// What to tell the user when the keychain itself is missing or refuses access.
fn unavailable_message() -> &'static str {
    if cfg!(target_os = "linux") {
        "The system keychain is not available: no Secret Service is running in this desktop \
         session, or its default keyring is locked. Backup Center keeps API tokens and passwords \
         only there. Install and unlock a Secret Service provider (for example \
         `sudo apt install gnome-keyring`, or KeePassXC with Secret Service integration \
         enabled), then log out and back in and try again."
    } else if cfg!(target_os = "macos") {
        "The macOS Keychain refused access. Unlock your login keychain in Keychain Access and \
         allow Backup Center to use it, then try again."
    } else {
        "Windows Credential Manager refused access. Check that you are logged in to a normal \
         user session, then try again."
    }
}

fn map_keyring_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => {
            Error::new(ErrorKind::SecretStoreUnavailable, unavailable_message()).with_source(e)
        }
        keyring::Error::NoEntry => Error::new(
            ErrorKind::SecretMissing,
            "The secret is not in the system keychain. Enter it again.",
        ),
        other => Error::internal(format!("The system keychain failed: {other}")),
    }
}

/// An in-memory keychain for unit tests.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<SecretKey, String>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &SecretKey) -> Result<Option<Sensitive<String>>> {
        Ok(self
            .entries
            .lock()
            .unwrap()
            .get(key)
            .map(|v| Sensitive::new(v.clone())))
    }

    fn set(&self, key: &SecretKey, value: &Sensitive<String>) -> Result<()> {
        self.entries
            .lock()
            .unwrap()
            .insert(key.clone(), value.expose().clone());
        Ok(())
    }

    fn delete(&self, key: &SecretKey) -> Result<()> {
        self.entries.lock().unwrap().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A secret must never be serialised (into IPC replies, files, the catalog) or displayed.
    static_assertions::assert_not_impl_any!(Sensitive<String>: serde::Serialize, std::fmt::Display);

    #[test]
    fn debug_redacts() {
        let s = Sensitive::new("hunter2-token".to_string());
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(s.expose(), "hunter2-token");
    }

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryStore::new();
        let key = SecretKey::jira_token("https://a.atlassian.net", "a@b.co");
        assert!(store.get(&key).unwrap().is_none());
        store.set(&key, &Sensitive::new("t1".into())).unwrap();
        assert_eq!(store.get(&key).unwrap().unwrap().expose(), "t1");
        store.delete(&key).unwrap();
        store.delete(&key).unwrap();
        assert!(store.get(&key).unwrap().is_none());
    }

    #[test]
    fn keys_differ_by_site_and_email() {
        let a = SecretKey::jira_token("https://a.atlassian.net", "x@y.co");
        let b = SecretKey::jira_token("https://b.atlassian.net", "x@y.co");
        let c = SecretKey::jira_token("https://a.atlassian.net", "z@y.co");
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn platform_failures_become_actionable() {
        let e = map_keyring_error(keyring::Error::PlatformFailure(
            "org.freedesktop.DBus".into(),
        ));
        assert_eq!(e.kind, ErrorKind::SecretStoreUnavailable);
        #[cfg(target_os = "linux")]
        assert!(e.message().contains("gnome-keyring"), "{}", e.message());
        assert!(!e.message().contains("org.freedesktop"));
    }
}
