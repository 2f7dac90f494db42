//! Backup Center's desktop shell: thin Tauri glue around the engine. Commands live in
//! [`commands`], the command list in [`ipc`], the tray in [`tray`], notifications in
//! [`notify`].

pub mod commands;
pub mod error;
pub mod ipc;
pub mod logging;
pub mod notify;
pub mod state;
pub mod tray;

use std::sync::Arc;

use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::SystemClock;
use backup_center_engine::data_dir::catalog_path;
use backup_center_engine::jira::ClientOptions;
use backup_center_engine::secrets::KeyringStore;
use tauri::{AppHandle, Manager, WindowEvent};

use crate::state::AppState;

/// Shows, unminimises and focuses the main window.
pub fn show_main_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

pub fn run() {
    let ipc = ipc::builder();
    tauri::Builder::default()
        // First: a second launch hands over to the running instance and exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("second launch: focusing the running instance");
            show_main_window(app);
        }))
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            let log_dir = app.path().app_log_dir()?;
            if let Err(e) = logging::init(&log_dir) {
                eprintln!("Backup Center: logging disabled: {e}");
            }
            tracing::info!(version = env!("CARGO_PKG_VERSION"), log_dir = %log_dir.display(), "starting");
            ipc.mount_events(app);
            let data_dir = app.path().app_data_dir()?;
            // The CLI finds the same file through data_dir::default_data_dir().
            let catalog = Catalog::open(&catalog_path(&data_dir)).map_err(|e| {
                tracing::error!(error = %e.log_line(), "catalog unavailable");
                Box::<dyn std::error::Error>::from(e.message().to_string())
            })?;
            tracing::info!(catalog = %catalog.path().display(), "catalog open");
            app.manage(Arc::new(AppState {
                catalog,
                secrets: Arc::new(KeyringStore::new()),
                clock: Arc::new(SystemClock),
                jira_options: ClientOptions::default(),
                log_dir,
            }));
            tray::install(app.handle(), false)?;
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps the app (and its schedules) running in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == "main" {
                    api.prevent_close();
                    let _ = window.hide();
                    tracing::info!("window closed: Backup Center keeps running in the tray");
                }
            }
        })
        .run(tauri::generate_context!())
        .unwrap_or_else(|e| {
            eprintln!("Backup Center could not start: {e}");
            std::process::exit(1);
        });
}
