//! Backup Center's desktop shell: thin Tauri glue around the engine. Commands live in
//! [`commands`], the command and event list in [`ipc`], the tray in [`tray`], notifications
//! in [`notify`]; [`activity`] turns the runner's events into progress for the window, the
//! tray icon and notifications.
//!
//! At start-up the catalog is opened, start-up recovery cleans up after runs a crash cut
//! short, and then the scheduler starts: runs happen on schedule while the window is open or
//! the app sits in the tray, until Quit stops it.

pub mod activity;
pub mod commands;
pub mod error;
pub mod events;
pub mod ipc;
pub mod logging;
pub mod notify;
pub mod preferences;
pub mod state;
pub mod tray;

use std::sync::Arc;

use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::{Clock, SystemClock};
use backup_center_engine::data_dir::catalog_path;
use backup_center_engine::jira::ClientOptions;
use backup_center_engine::run::{RunContext, Runner};
use backup_center_engine::schedule::scheduler::{self, Execute, TokioSleep};
use backup_center_engine::secrets::{KeyringStore, SecretStore};
use tauri::{AppHandle, Manager, WindowEvent};

use crate::activity::Activity;
use crate::state::{AppState, SharedState};

/// Shows, unminimises and focuses the main window.
pub fn show_main_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let log_dir = app.path().app_log_dir()?;
    if let Err(e) = logging::init(&log_dir) {
        eprintln!("Backup Center: logging disabled: {e}");
    }
    tracing::info!(version = env!("CARGO_PKG_VERSION"), log_dir = %log_dir.display(), "starting");
    let data_dir = app.path().app_data_dir()?;
    // The CLI finds the same file through data_dir::default_data_dir().
    let catalog = Arc::new(Catalog::open(&catalog_path(&data_dir)).map_err(|e| {
        tracing::error!(error = %e.log_line(), "catalog unavailable");
        Box::<dyn std::error::Error>::from(e.message().to_string())
    })?);
    tracing::info!(catalog = %catalog.path().display(), "catalog open");
    let secrets: Arc<dyn SecretStore> = Arc::new(KeyringStore::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let handle = app.handle().clone();
    let mut ctx = RunContext::new(catalog.clone(), secrets.clone(), clock.clone(), &data_dir);
    ctx.events = Arc::new(move |e| activity::handle(&handle, &e));
    let activity = Activity::from_catalog(&catalog).unwrap_or_else(|e| {
        tracing::warn!(error = %e.log_line(), "cannot read the last runs");
        Activity::default()
    });
    let state: SharedState = Arc::new(AppState::new(
        catalog,
        secrets,
        clock,
        ClientOptions::default(),
        log_dir,
        data_dir,
        Arc::new(Runner::new(ctx)),
        activity,
    ));
    app.manage(state.clone());
    tray::install(app.handle())?;
    let handle = app.handle().clone();
    // Recovery may reach remote destinations (removing a killed run's temporaries): off the
    // main thread, and before the scheduler, so nothing runs over what it cleans.
    tauri::async_runtime::spawn(async move {
        match state.runner.recover().await {
            Ok(r) => tracing::info!(
                interrupted = r.interrupted.len(),
                remote_temporaries = r.remote_temporaries_removed,
                records = r.records_removed,
                staging = r.staging_removed,
                problems = ?r.problems,
                "start-up recovery done"
            ),
            Err(e) => tracing::error!(error = %e.log_line(), "start-up recovery failed"),
        }
        if let Ok(a) = Activity::from_catalog(&state.catalog) {
            let (status, last) = (a.tray_status(), a.last_success());
            *state.activity.lock().unwrap_or_else(|p| p.into_inner()) = a;
            tray::show_status(&handle, status, last);
        }
        let execute: Arc<dyn Execute> = Arc::new(state.runner.clone());
        let scheduler = scheduler::spawn(
            state.catalog.clone(),
            state.clock.clone(),
            Arc::new(TokioSleep),
            execute,
        );
        state.attach_scheduler(scheduler);
        tracing::info!("scheduler started");
    });
    Ok(())
}

/// Stops the scheduler (runs in flight end on their own tasks, or are recovered next start).
fn stop_scheduler(app: &AppHandle) {
    if let Some(state) = app.try_state::<SharedState>() {
        if let Some(s) = state.take_scheduler() {
            tauri::async_runtime::block_on(s.stop());
            tracing::info!("scheduler stopped");
        }
    }
}

pub fn run() {
    let ipc = ipc::builder();
    let app = tauri::Builder::default()
        // First: a second launch hands over to the running instance and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("second launch: focusing the running instance");
            show_main_window(app);
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            ipc.mount_events(app);
            setup(app)
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.label() != "main" {
                    return;
                }
                let to_tray = window
                    .app_handle()
                    .try_state::<SharedState>()
                    .is_none_or(|s| s.preferences().close_to_tray);
                if to_tray {
                    // The app (and its schedules) keeps running in the tray.
                    api.prevent_close();
                    let _ = window.hide();
                    tracing::info!("window closed: Backup Center keeps running in the tray");
                } else {
                    tracing::info!("window closed: quitting (close to tray is off)");
                    window.app_handle().exit(0);
                }
            }
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("Backup Center could not start: {e}");
            std::process::exit(1);
        });
    app.run(|app, event| {
        if let tauri::RunEvent::Exit = event {
            stop_scheduler(app);
        }
    });
}
