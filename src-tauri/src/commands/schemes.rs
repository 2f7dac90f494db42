//! Backup schemes: the list with each scheme's latest success, next run and status; presets;
//! saving with one message per invalid field; pause and resume; delete, keeping the files
//! unless asked.

use backup_center_engine::catalog::runs::RunOutcome;
use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::Clock;
use backup_center_engine::run::Destinations;
use backup_center_engine::schedule::parse_time_zone;
use backup_center_engine::schemes::{
    self, preset_inputs, FieldError, Preset, Scheme, SchemeContext, SchemeInput,
};
use backup_center_engine::secrets::SecretStore;
use backup_center_engine::{Error, Result};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tauri::{AppHandle, State};

use super::blocking;
use crate::error::IpcResult;
use crate::state::SharedState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum SchemeStatus {
    Running,
    Paused,
    Succeeded,
    Partial,
    Failed,
    Interrupted,
    NeverRun,
}

/// A scheme's line in the Schemes page.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SchemeView {
    #[serde(flatten)]
    pub scheme: Scheme,
    pub site_url: Option<String>,
    pub destination_name: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// `None` while paused.
    pub next_run_at: Option<DateTime<Utc>>,
    pub status: SchemeStatus,
    /// The latest attempt's failure message, when it failed.
    pub last_message: Option<String>,
}

/// The answer to saving: the scheme, or every invalid field with its own message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum SaveSchemeOutcome {
    Saved { scheme: SchemeView },
    Invalid { errors: Vec<FieldError> },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PresetView {
    pub preset: Preset,
    pub label: String,
}

/// The computer's IANA time zone; UTC when the OS does not say (or names none chrono-tz knows).
pub(crate) fn computer_time_zone() -> Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|z| parse_time_zone(&z))
        .unwrap_or(chrono_tz::UTC)
}

pub(crate) fn views(catalog: &Catalog, now: DateTime<Utc>) -> Result<Vec<SchemeView>> {
    let sites = catalog.list_sites()?;
    let destinations = catalog.list_destinations()?;
    let latest = catalog.latest_runs()?;
    catalog
        .list_schemes()?
        .into_iter()
        .map(|scheme| {
            let last = latest.iter().find(|r| r.scheme_id == scheme.id);
            let status = match last.map(|r| r.outcome) {
                Some(RunOutcome::Running) => SchemeStatus::Running,
                _ if scheme.settings.paused => SchemeStatus::Paused,
                Some(RunOutcome::Succeeded) => SchemeStatus::Succeeded,
                Some(RunOutcome::Partial) => SchemeStatus::Partial,
                Some(RunOutcome::Failed) => SchemeStatus::Failed,
                Some(RunOutcome::Interrupted) => SchemeStatus::Interrupted,
                None => SchemeStatus::NeverRun,
            };
            let last_message = last
                .filter(|r| matches!(r.outcome, RunOutcome::Failed | RunOutcome::Interrupted))
                .and_then(|r| r.error.as_ref().map(|e| e.message.clone()));
            Ok(SchemeView {
                site_url: sites
                    .iter()
                    .find(|s| s.id == i64::from(scheme.settings.site_id))
                    .map(|s| s.url.clone()),
                destination_name: destinations
                    .iter()
                    .find(|d| d.id == i64::from(scheme.settings.destination_id))
                    .map(|d| d.settings.name.clone()),
                last_success_at: catalog
                    .latest_success(scheme.id)?
                    .and_then(|r| r.finished_at),
                next_run_at: scheme.next_run_after(now),
                status,
                last_message,
                scheme,
            })
        })
        .collect()
}

fn view(catalog: &Catalog, id: u32, now: DateTime<Utc>) -> Result<SchemeView> {
    views(catalog, now)?
        .into_iter()
        .find(|v| v.scheme.id == id)
        .ok_or_else(|| Error::internal("A saved scheme vanished."))
}

/// Validates and saves; invalid fields are an answer, not an error.
///
/// # Errors
/// `Catalog`; `InvalidInput` when the site or destination was deleted meanwhile.
pub(crate) fn save(
    catalog: &Catalog,
    clock: &dyn Clock,
    computer: Tz,
    input: &SchemeInput,
) -> Result<SaveSchemeOutcome> {
    let existing = catalog.scheme_names()?;
    let site_zone = match input.site_id {
        Some(id) => catalog
            .list_sites()?
            .into_iter()
            .find(|s| s.id == i64::from(id))
            .and_then(|s| s.time_zone),
        None => None,
    };
    let ctx = SchemeContext {
        existing: &existing,
        site_time_zone: site_zone.as_deref(),
        computer_time_zone: computer,
    };
    let settings = match schemes::validate(input, &ctx) {
        Ok(s) => s,
        Err(errors) => return Ok(SaveSchemeOutcome::Invalid { errors: errors.0 }),
    };
    let now = clock.now();
    let saved = match input.id {
        None => catalog.insert_scheme(&settings, now)?,
        Some(id) => catalog.update_scheme(id, &settings, now)?,
    };
    tracing::info!(scheme = saved.id, "scheme saved");
    Ok(SaveSchemeOutcome::Saved {
        scheme: view(catalog, saved.id, now)?,
    })
}

/// Deletes a scheme and its run history; with `delete_files`, its backup files first (from
/// the destinations and the catalog). Without, the files stay, no longer tied to a scheme.
///
/// # Errors
/// `InvalidInput` while it runs; when a file cannot be deleted, that error, with the scheme
/// and the remaining files kept so that the user can retry.
pub(crate) fn delete(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    destinations: &dyn Destinations,
    scheme_id: u32,
    delete_files: bool,
) -> Result<()> {
    let scheme = catalog.get_scheme(scheme_id)?;
    if catalog
        .running_runs()?
        .iter()
        .any(|r| r.scheme_id == scheme_id)
    {
        return Err(Error::invalid_input(format!(
            "The scheme \"{}\" is running. Wait for the run to finish, then delete it.",
            scheme.settings.name
        )));
    }
    if delete_files {
        for b in catalog.backups_for_scheme(scheme_id)? {
            super::backups::remove(catalog, secrets, destinations, &b)?;
        }
    }
    catalog.delete_scheme(scheme_id)?;
    tracing::info!(scheme = scheme_id, delete_files, "scheme deleted");
    Ok(())
}

/// Keeps the scheduler and the tray's scheme list in step after schemes changed.
fn changed(app: &AppHandle, state: &SharedState) {
    state.wake_scheduler();
    crate::tray::refresh_menu(app);
}

#[tauri::command]
#[specta::specta]
pub async fn list_schemes(state: State<'_, SharedState>) -> IpcResult<Vec<SchemeView>> {
    let s = state.inner().clone();
    blocking(move || views(&s.catalog, s.clock.now())).await
}

#[tauri::command]
#[specta::specta]
pub async fn scheme_presets() -> IpcResult<Vec<PresetView>> {
    Ok(Preset::ALL
        .into_iter()
        .map(|preset| PresetView {
            preset,
            label: preset.label().to_string(),
        })
        .collect())
}

/// The forms a preset fills in (one, or two for "Combined"), named so that they do not clash
/// with existing schemes; save each with `save_scheme`.
#[tauri::command]
#[specta::specta]
pub async fn preset_schemes(
    state: State<'_, SharedState>,
    preset: Preset,
    site_id: u32,
    destination_id: u32,
    folder: String,
) -> IpcResult<Vec<SchemeInput>> {
    let s = state.inner().clone();
    blocking(move || {
        let taken: Vec<String> = s
            .catalog
            .scheme_names()?
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        Ok(preset_inputs(
            preset,
            site_id,
            destination_id,
            &folder,
            &taken,
        ))
    })
    .await
}

/// Every IANA time zone name, for the scheme dialog's list.
#[tauri::command]
#[specta::specta]
pub async fn time_zones() -> IpcResult<Vec<String>> {
    Ok(chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name().to_string())
        .collect())
}

/// Creates (`id: null`) or updates a scheme; invalid fields come back one message each.
#[tauri::command]
#[specta::specta]
pub async fn save_scheme(
    app: AppHandle,
    state: State<'_, SharedState>,
    input: SchemeInput,
) -> IpcResult<SaveSchemeOutcome> {
    let s = state.inner().clone();
    let s2 = s.clone();
    let outcome =
        blocking(move || save(&s2.catalog, s2.clock.as_ref(), computer_time_zone(), &input))
            .await?;
    if matches!(outcome, SaveSchemeOutcome::Saved { .. }) {
        changed(&app, &s);
    }
    Ok(outcome)
}

/// Pauses or resumes one scheme (resuming does not catch up the paused time).
#[tauri::command]
#[specta::specta]
pub async fn set_scheme_paused(
    app: AppHandle,
    state: State<'_, SharedState>,
    scheme_id: u32,
    paused: bool,
) -> IpcResult<SchemeView> {
    let s = state.inner().clone();
    let s2 = s.clone();
    let v = blocking(move || {
        let now = s2.clock.now();
        s2.catalog.set_scheme_paused(scheme_id, paused, now)?;
        view(&s2.catalog, scheme_id, now)
    })
    .await?;
    changed(&app, &s);
    Ok(v)
}

/// Deletes a scheme; `deleteFiles` also deletes its backup files (they cannot be recovered).
#[tauri::command]
#[specta::specta]
pub async fn delete_scheme(
    app: AppHandle,
    state: State<'_, SharedState>,
    scheme_id: u32,
    delete_files: bool,
) -> IpcResult<()> {
    let s = state.inner().clone();
    let s2 = s.clone();
    blocking(move || {
        delete(
            &s2.catalog,
            s2.secrets.as_ref(),
            s2.runner.context().destinations.as_ref(),
            scheme_id,
            delete_files,
        )
    })
    .await?;
    changed(&app, &s);
    Ok(())
}

#[cfg(test)]
#[path = "schemes_tests.rs"]
mod tests;
