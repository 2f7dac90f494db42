//! Backup files: the control panel's table, deleting one (from the destination and the
//! catalog), showing a local one in the file manager, and saving a verified copy of one kept
//! on a server ("Download…").

use std::collections::BTreeMap;
use std::path::PathBuf;

use backup_center_engine::catalog::backups::BackupRecord;
use backup_center_engine::catalog::destinations::DestinationKind;
use backup_center_engine::catalog::runs::RunOutcome;
use backup_center_engine::catalog::Catalog;
use backup_center_engine::run::Destinations;
use backup_center_engine::secrets::SecretStore;
use backup_center_engine::storage::{self, LocalDestination, RemotePath, Session};
use backup_center_engine::{Error, ErrorKind, Result};
use chrono::{DateTime, Utc};
use tauri::{Manager, State};

use super::blocking;
use crate::error::IpcResult;
use crate::state::SharedState;

#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupFileView {
    pub id: u32,
    /// `<site>-<basic|extended>-<YYYY-MM-DD_HHMM>.zip`
    pub name: String,
    pub created_at: DateTime<Utc>,
    #[specta(type = specta_typescript::Number)]
    pub size: u64,
    pub scheme_id: Option<u32>,
    /// `None` when the scheme was deleted and its files kept.
    pub scheme_name: Option<String>,
    pub destination_id: u32,
    pub destination_name: String,
    pub destination_kind: DestinationKind,
    /// The folder below the destination's folder.
    pub folder: String,
    /// The copy on the destination was confirmed (listed with the size sent).
    pub verified: bool,
    /// Some sections could not be read (see `partialSections`).
    pub partial: bool,
    pub partial_sections: Vec<PartialSectionView>,
    /// Entity name → number saved.
    #[specta(type = BTreeMap<String, specta_typescript::Number>)]
    pub entity_counts: BTreeMap<String, u64>,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PartialSectionView {
    pub section: String,
    pub reason: String,
}

pub(crate) fn list(catalog: &Catalog) -> Result<Vec<BackupFileView>> {
    let schemes = catalog.scheme_names()?;
    let destinations = catalog.list_destinations()?;
    catalog
        .list_backups()?
        .into_iter()
        .map(|b| {
            let f = b.file;
            let d = destinations.iter().find(|d| d.id == f.destination_id);
            Ok(BackupFileView {
                id: u32::try_from(b.id).map_err(|_| Error::internal("Backup id out of range."))?,
                scheme_name: f.scheme_id.and_then(|id| {
                    schemes
                        .iter()
                        .find(|(s, _)| *s == id)
                        .map(|(_, n)| n.clone())
                }),
                destination_id: u32::try_from(f.destination_id)
                    .map_err(|_| Error::internal("Destination id out of range."))?,
                destination_name: d.map(|d| d.settings.name.clone()).unwrap_or_default(),
                destination_kind: d.map(|d| d.settings.kind).unwrap_or(DestinationKind::Local),
                partial: !f.partial_sections.is_empty(),
                partial_sections: f
                    .partial_sections
                    .into_iter()
                    .map(|p| PartialSectionView {
                        section: p.section,
                        reason: p.reason,
                    })
                    .collect(),
                name: f.name,
                created_at: f.created_at,
                size: f.size,
                scheme_id: f.scheme_id,
                folder: f.folder,
                verified: f.verified,
                entity_counts: f.entity_counts,
                sha256: f.sha256,
            })
        })
        .collect()
}

/// A session on the destination that keeps `b`, and the backup's path there.
fn open_backup(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    destinations: &dyn Destinations,
    b: &BackupRecord,
) -> Result<(Box<dyn Session>, RemotePath)> {
    let destination = destinations.build(&catalog.get_destination(b.file.destination_id)?)?;
    let path = RemotePath::parse(&b.file.folder)?.join(&b.file.name)?;
    Ok((destination.open(secrets)?, path))
}

/// Deletes one recorded file from its destination, then its record. A file already gone from
/// the destination is only forgotten. Blocking (network for servers).
///
/// # Errors
/// `InvalidInput` while the run that stores it is still going; the destination's errors
/// (login, permission, network) with the record kept, so the user can retry.
pub(crate) fn remove(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    destinations: &dyn Destinations,
    b: &BackupRecord,
) -> Result<()> {
    if let Some(run) = b.file.run_id {
        if catalog
            .get_run(run)
            .is_ok_and(|r| r.outcome == RunOutcome::Running)
        {
            return Err(Error::invalid_input(format!(
                "{} is still being stored by a running backup. Wait for the run to finish.",
                b.file.name
            )));
        }
    }
    let (mut session, path) = open_backup(catalog, secrets, destinations, b)?;
    match session.remove(&path) {
        Ok(()) => {}
        Err(e) if e.kind == ErrorKind::NotFound => {
            tracing::info!(file = %b.file.name, "backup file was already gone from its destination");
        }
        Err(e) => return Err(e),
    }
    catalog.delete_backup(b.id)?;
    tracing::info!(file = %b.file.name, "backup file deleted");
    Ok(())
}

/// Where a backup on a local destination lies on this computer.
fn local_path(s: &SharedState, b: &BackupRecord) -> Result<PathBuf> {
    let d = s.catalog.get_destination(b.file.destination_id)?;
    if d.settings.kind != DestinationKind::Local {
        return Err(Error::invalid_input(
            "This backup is on a server, not on this computer: use Download instead.",
        ));
    }
    let local = LocalDestination::new(&s.data_dir, &d.settings.folder, None)?;
    let mut path = local.folder().to_path_buf();
    path.extend(RemotePath::parse(&b.file.folder)?.segments());
    path.push(&b.file.name);
    if !path.is_file() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("{} is no longer on the disk.", path.display()),
        ));
    }
    Ok(path)
}

/// Opens the file manager on the file's folder (selecting the file where the OS can).
fn reveal(path: &std::path::Path) -> Result<()> {
    let mut cmd = if cfg!(target_os = "macos") {
        let mut c = std::process::Command::new("open");
        c.arg("-R").arg(path);
        c
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("explorer");
        c.arg(format!("/select,{}", path.display()));
        c
    } else {
        let mut c = std::process::Command::new("xdg-open");
        c.arg(path.parent().unwrap_or(path));
        c
    };
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().map_err(|e| {
        Error::internal("Could not open the file manager on this computer.").with_source(e)
    })?;
    // Reap it in the background; the file manager outlives this call.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[tauri::command]
#[specta::specta]
pub async fn list_backup_files(state: State<'_, SharedState>) -> IpcResult<Vec<BackupFileView>> {
    let s = state.inner().clone();
    blocking(move || list(&s.catalog)).await
}

/// Deletes a backup file from its destination and the catalog. It cannot be recovered.
#[tauri::command]
#[specta::specta]
pub async fn delete_backup_file(state: State<'_, SharedState>, backup_id: u32) -> IpcResult<()> {
    let s = state.inner().clone();
    blocking(move || {
        let b = s.catalog.get_backup(backup_id.into())?;
        remove(
            &s.catalog,
            s.secrets.as_ref(),
            s.runner.context().destinations.as_ref(),
            &b,
        )
    })
    .await
}

/// Shows a backup on a local destination in the file manager.
#[tauri::command]
#[specta::specta]
pub async fn show_in_folder(state: State<'_, SharedState>, backup_id: u32) -> IpcResult<()> {
    let s = state.inner().clone();
    blocking(move || {
        let b = s.catalog.get_backup(backup_id.into())?;
        reveal(&local_path(&s, &b)?)
    })
    .await
}

/// Saves a copy of a backup in `folder` on this computer, under the backup's own name, and
/// returns where. The copy is checked against the size and SHA-256 recorded when the backup
/// was stored before it gets its name. Blocking (network for servers).
///
/// # Errors
/// `StoragePath` when `folder` does not exist, `StorageConflict` when a file of that name is
/// already there, `SnapshotCorrupt` when the copy does not match; the destination's errors.
pub(crate) fn save_copy(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    destinations: &dyn Destinations,
    b: &BackupRecord,
    folder: &std::path::Path,
) -> Result<PathBuf> {
    if folder.as_os_str().is_empty() || !folder.is_absolute() {
        return Err(Error::invalid_input(
            "Choose a folder on this computer (a full path) to save the backup in.",
        ));
    }
    let to = folder.join(&b.file.name);
    let (mut session, path) = open_backup(catalog, secrets, destinations, b)?;
    storage::download(
        session.as_mut(),
        &path,
        &to,
        b.file.size,
        &b.file.sha256,
        &mut |_| {},
    )?;
    tracing::info!(file = %b.file.name, to = %to.display(), "backup file downloaded and checked");
    Ok(to)
}

/// The folder "Download…" suggests: the user's Downloads folder (home when there is none).
/// Linux names it in `user-dirs.dirs`, which minimal desktops lack: then `~/Downloads` if it
/// exists.
#[tauri::command]
#[specta::specta]
pub async fn download_folder(app: tauri::AppHandle) -> IpcResult<String> {
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| {
            let home = app.path().home_dir()?;
            let downloads = home.join("Downloads");
            Ok::<_, tauri::Error>(if downloads.is_dir() { downloads } else { home })
        })
        .map_err(|e| {
            crate::error::IpcError::from(
                Error::internal("Could not find your Downloads folder; type a folder instead.")
                    .with_source(e),
            )
        })?;
    Ok(dir.display().to_string())
}

/// Saves a checked copy of a backup in `folder`; returns the saved file's path.
#[tauri::command]
#[specta::specta]
pub async fn download_backup_file(
    state: State<'_, SharedState>,
    backup_id: u32,
    folder: String,
) -> IpcResult<String> {
    let s = state.inner().clone();
    blocking(move || {
        let b = s.catalog.get_backup(backup_id.into())?;
        let to = save_copy(
            &s.catalog,
            s.secrets.as_ref(),
            s.runner.context().destinations.as_ref(),
            &b,
            std::path::Path::new(folder.trim()),
        )?;
        Ok(to.display().to_string())
    })
    .await
}
