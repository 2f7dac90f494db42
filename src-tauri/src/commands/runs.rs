//! Backup runs: start them now (progress arrives as `runProgress` events), the latest attempt
//! and the history.

use backup_center_engine::catalog::runs::{Phase, RunOutcome, RunRecord, RunTrigger};
use backup_center_engine::run::Group;
use backup_center_engine::{Error, ErrorKind, Result};
use chrono::{DateTime, Utc};
use tauri::State;

use super::blocking;
use crate::error::IpcResult;
use crate::state::SharedState;

/// One attempt as the control panel and the history show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub id: u32,
    pub scheme_id: u32,
    /// `None` when the scheme was deleted since.
    pub scheme_name: Option<String>,
    pub trigger: RunTrigger,
    pub outcome: RunOutcome,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Milliseconds from start to end (to now while running).
    #[specta(type = specta_typescript::Number)]
    pub duration_ms: f64,
    pub phases: Vec<PhaseTime>,
    /// Size of the snapshot stored.
    #[specta(type = Option<specta_typescript::Number>)]
    pub bytes: Option<u64>,
    pub error_code: Option<ErrorKind>,
    /// The actionable message of a failed or interrupted run.
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PhaseTime {
    pub phase: Phase,
    #[specta(type = specta_typescript::Number)]
    pub ms: f64,
}

pub(crate) fn run_view(r: RunRecord, scheme_name: Option<String>, now: DateTime<Utc>) -> RunView {
    let end = r.finished_at.unwrap_or(now);
    RunView {
        id: u32::try_from(r.id).unwrap_or(u32::MAX),
        scheme_id: r.scheme_id,
        scheme_name,
        trigger: r.trigger,
        outcome: r.outcome,
        started_at: r.started_at,
        finished_at: r.finished_at,
        duration_ms: (end - r.started_at).num_milliseconds().max(0) as f64,
        phases: r
            .phases
            .iter()
            .map(|(phase, ms)| PhaseTime {
                phase: *phase,
                ms: *ms as f64,
            })
            .collect(),
        bytes: r.bytes,
        error_code: r.error.as_ref().and_then(|e| e.kind),
        message: r.error.map(|e| e.message),
    }
}

fn views(state: &SharedState, runs: Vec<RunRecord>) -> Result<Vec<RunView>> {
    let names = state.catalog.scheme_names()?;
    let now = state.clock.now();
    Ok(runs
        .into_iter()
        .map(|r| {
            let name = names
                .iter()
                .find(|(id, _)| *id == r.scheme_id)
                .map(|(_, n)| n.clone());
            run_view(r, name, now)
        })
        .collect())
}

fn busy(state: &SharedState, scheme_id: u32) -> Result<bool> {
    let in_app = state
        .activity
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_running(scheme_id);
    Ok(in_app
        || state
            .catalog
            .running_runs()?
            .iter()
            .any(|r| r.scheme_id == scheme_id))
}

/// Runs the groups on the async runtime; their progress and outcome arrive as events.
fn spawn(state: &SharedState, groups: Vec<Group>) {
    for g in groups {
        let runner = state.runner.clone();
        tauri::async_runtime::spawn(async move {
            if let Err(e) = runner.run_group(g).await {
                tracing::error!(error = %e.log_line(), "a manual run could not be recorded");
            }
        });
    }
}

/// Starts one scheme now, paused or not.
///
/// # Errors
/// `NotFound`; `InvalidInput` when it is already running.
pub(crate) fn start_scheme(state: &SharedState, scheme_id: u32) -> Result<()> {
    let scheme = state.catalog.get_scheme(scheme_id)?;
    if busy(state, scheme_id)? {
        return Err(Error::invalid_input(format!(
            "The scheme \"{}\" is already running. Wait for it to finish.",
            scheme.settings.name
        )));
    }
    tracing::info!(scheme = scheme_id, "backup now");
    spawn(state, Group::of(vec![(scheme, RunTrigger::Manual)], None));
    Ok(())
}

/// Starts every scheme that is not paused and not running, one snapshot per site and type.
/// Returns how many schemes started.
///
/// # Errors
/// `InvalidInput` when there is nothing to run.
pub(crate) fn start_all(state: &SharedState) -> Result<u32> {
    let mut members = Vec::new();
    for s in state.catalog.list_schemes()? {
        if !s.settings.paused && !busy(state, s.id)? {
            members.push((s, RunTrigger::Manual));
        }
    }
    if members.is_empty() {
        return Err(Error::invalid_input(
            "There is nothing to back up now: every scheme is paused or already running, or \
             there is no scheme yet.",
        ));
    }
    let n = u32::try_from(members.len()).unwrap_or(u32::MAX);
    tracing::info!(schemes = n, "backup now: all schemes");
    spawn(state, Group::of(members, None));
    Ok(n)
}

/// Starts one scheme now; returns at once (see the `runProgress` event).
#[tauri::command]
#[specta::specta]
pub async fn run_scheme_now(state: State<'_, SharedState>, scheme_id: u32) -> IpcResult<()> {
    let s = state.inner().clone();
    blocking(move || start_scheme(&s, scheme_id)).await
}

/// Starts every scheme that is not paused; returns how many started.
#[tauri::command]
#[specta::specta]
pub async fn run_all_now(state: State<'_, SharedState>) -> IpcResult<u32> {
    let s = state.inner().clone();
    blocking(move || start_all(&s)).await
}

/// The newest attempt of any scheme (running or ended), if any ran.
#[tauri::command]
#[specta::specta]
pub async fn latest_attempt(state: State<'_, SharedState>) -> IpcResult<Option<RunView>> {
    let s = state.inner().clone();
    blocking(move || {
        let runs = s.catalog.run_history(None, 1, None)?;
        Ok(views(&s, runs)?.pop())
    })
    .await
}

/// Attempts newest first, of one scheme or all; `beforeRunId` pages further back.
#[tauri::command]
#[specta::specta]
pub async fn run_history(
    state: State<'_, SharedState>,
    scheme_id: Option<u32>,
    limit: u32,
    before_run_id: Option<u32>,
) -> IpcResult<Vec<RunView>> {
    let s = state.inner().clone();
    blocking(move || {
        let runs = s.catalog.run_history(
            scheme_id,
            limit.clamp(1, 10_000),
            before_run_id.map(i64::from),
        )?;
        views(&s, runs)
    })
    .await
}
