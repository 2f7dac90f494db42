//! Destinations: local folders, FTP, FTPS and SFTP. The password and a key's passphrase only
//! ever travel inward: no reply carries them.

use backup_center_engine::catalog::destinations::DestinationKind;
use backup_center_engine::destinations::{
    self, DestinationDraft, DestinationTestReport, DestinationUsage, DestinationView, SftpLogin,
};
use backup_center_engine::secrets::Sensitive;
use tauri::State;

use super::blocking;
use crate::error::IpcResult;
use crate::state::SharedState;

/// The destination form as typed. `password: null` keeps the stored password, `passphrase:
/// null` the stored passphrase. Errors about one field name it (`IpcError.field`).
#[derive(serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DestinationDraftInput {
    pub id: Option<u32>,
    pub name: String,
    pub kind: DestinationKind,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user_name: Option<String>,
    pub folder: String,
    /// Bytes.
    #[specta(type = Option<specta_typescript::Number>)]
    pub quota_bytes: Option<u64>,
    pub pinned_fingerprint: Option<String>,
    pub password: Option<String>,
    /// SFTP: the password or a private key file.
    pub sftp_login: SftpLogin,
    /// SFTP with a key file: its full path on this computer.
    pub key_path: Option<String>,
    /// SFTP with a key file: the key is encrypted (its passphrase goes to the keychain).
    pub key_has_passphrase: bool,
    pub passphrase: Option<String>,
    /// FTPS: TLS from the first byte (implicit FTPS, usually port 990).
    pub implicit_tls: bool,
}

impl From<DestinationDraftInput> for DestinationDraft {
    fn from(d: DestinationDraftInput) -> Self {
        DestinationDraft {
            id: d.id.map(i64::from),
            name: d.name,
            kind: d.kind,
            host: d.host,
            port: d.port,
            user_name: d.user_name,
            folder: d.folder,
            quota_bytes: d.quota_bytes,
            pinned_fingerprint: d.pinned_fingerprint,
            password: d.password.map(Sensitive::new),
            sftp_login: d.sftp_login,
            key_path: d.key_path,
            key_has_passphrase: d.key_has_passphrase,
            passphrase: d.passphrase.map(Sensitive::new),
            implicit_tls: d.implicit_tls,
        }
    }
}

#[tauri::command]
#[specta::specta]
pub async fn list_destinations(state: State<'_, SharedState>) -> IpcResult<Vec<DestinationView>> {
    let s = state.inner().clone();
    blocking(move || destinations::list(&s.catalog, s.secrets.as_ref(), &s.data_dir)).await
}

/// Adds (`id: null`) or updates a destination.
#[tauri::command]
#[specta::specta]
pub async fn save_destination(
    state: State<'_, SharedState>,
    draft: DestinationDraftInput,
) -> IpcResult<DestinationView> {
    let s = state.inner().clone();
    let draft = DestinationDraft::from(draft);
    blocking(move || {
        destinations::save(
            &s.catalog,
            s.secrets.as_ref(),
            s.clock.as_ref(),
            &s.data_dir,
            &draft,
        )
    })
    .await
}

/// Forgets a destination that no scheme uses and holds no recorded backup.
#[tauri::command]
#[specta::specta]
pub async fn delete_destination(
    state: State<'_, SharedState>,
    destination_id: u32,
) -> IpcResult<()> {
    let s = state.inner().clone();
    blocking(move || destinations::delete(&s.catalog, s.secrets.as_ref(), destination_id.into()))
        .await
}

/// "Test connection" on the form as typed: each step's result, the failure naming its step,
/// and for an unknown host key or certificate the fingerprint to trust.
#[tauri::command]
#[specta::specta]
pub async fn test_destination(
    state: State<'_, SharedState>,
    draft: DestinationDraftInput,
) -> IpcResult<DestinationTestReport> {
    let s = state.inner().clone();
    let draft = DestinationDraft::from(draft);
    // Blocking network I/O (FTP and SFTP libraries are synchronous).
    blocking(move || destinations::test(&s.catalog, s.secrets.as_ref(), &s.data_dir, &draft)).await
}

/// Pins the SFTP host key or FTPS certificate fingerprint the user compared and trusted.
#[tauri::command]
#[specta::specta]
pub async fn trust_destination_fingerprint(
    state: State<'_, SharedState>,
    destination_id: u32,
    fingerprint: String,
) -> IpcResult<DestinationView> {
    let s = state.inner().clone();
    blocking(move || {
        destinations::trust(
            &s.catalog,
            s.secrets.as_ref(),
            &s.data_dir,
            destination_id.into(),
            &fingerprint,
        )
    })
    .await
}

/// Storage figures per destination: measured for local folders (used, free, quota), the
/// catalog's totals for servers.
#[tauri::command]
#[specta::specta]
pub async fn destination_usage(state: State<'_, SharedState>) -> IpcResult<Vec<DestinationUsage>> {
    let s = state.inner().clone();
    blocking(move || destinations::usage(&s.catalog, s.secrets.as_ref(), &s.data_dir)).await
}
