//! The tray icon and its menu: Open Backup Center, Backup now (all, and a submenu per scheme),
//! Pause schedules, Quit. "Open" stays first and "Quit" last, where keyboard users (and the
//! tray end-to-end test) find them. Items are an enum ([`item`]); the icon shows the last
//! result ([`status`]).

pub mod item;
pub mod status;

pub use item::TrayItem;
pub use status::TrayStatus;

use chrono::{DateTime, Utc};
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

use crate::state::SharedState;

pub const TRAY_ID: &str = "main";

fn menu(app: &AppHandle, schemes: &[(u32, String)], paused: bool) -> tauri::Result<Menu<Wry>> {
    let item = |i: TrayItem, enabled: bool| {
        MenuItem::with_id(app, i.id(), i.label(), enabled, None::<&str>)
    };
    let any = !schemes.is_empty();
    let per_scheme = Submenu::with_id(app, "backup-scheme", "Backup now: one scheme", any)?;
    for (id, name) in schemes {
        per_scheme.append(&MenuItem::with_id(
            app,
            TrayItem::BackupScheme(*id).id(),
            name,
            true,
            None::<&str>,
        )?)?;
    }
    let pause = CheckMenuItem::with_id(
        app,
        TrayItem::PauseSchedules.id(),
        TrayItem::PauseSchedules.label(),
        any,
        paused,
        None::<&str>,
    )?;
    Menu::with_items(
        app,
        &[
            &item(TrayItem::Open, true)?,
            &PredefinedMenuItem::separator(app)?,
            // Nothing to back up until a scheme exists.
            &item(TrayItem::BackupAll, any)?,
            &per_scheme,
            &pause,
            &PredefinedMenuItem::separator(app)?,
            &item(TrayItem::Quit, true)?,
        ],
    )
}

/// The schemes for the submenu, and whether schedules are paused.
fn menu_inputs(app: &AppHandle) -> (Vec<(u32, String)>, bool) {
    let Some(state) = app.try_state::<SharedState>() else {
        return (Vec::new(), false);
    };
    let schemes = state.catalog.scheme_names().unwrap_or_else(|e| {
        tracing::warn!(error = %e.log_line(), "tray: cannot list the schemes");
        Vec::new()
    });
    (schemes, state.preferences().schedules_paused)
}

pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let (schemes, paused) = menu_inputs(app);
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Backup Center")
        .menu(&menu(app, &schemes, paused)?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()));
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    if let Some(state) = app.try_state::<SharedState>() {
        let a = state.activity.lock().unwrap_or_else(|p| p.into_inner());
        show_status(app, a.tray_status(), a.last_success());
    }
    Ok(())
}

/// Rebuilds the menu after the schemes or the pause changed.
pub fn refresh_menu(app: &AppHandle) {
    let (schemes, paused) = menu_inputs(app);
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    match menu(app, &schemes, paused) {
        Ok(m) => {
            if let Err(e) = tray.set_menu(Some(m)) {
                tracing::warn!(error = %e, "tray: cannot replace the menu");
            }
        }
        Err(e) => tracing::warn!(error = %e, "tray: cannot build the menu"),
    }
}

/// Shows the last result on the icon and the last success in the tooltip.
pub fn show_status(app: &AppHandle, status: TrayStatus, last_success: Option<DateTime<Utc>>) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Some(base) = app.default_window_icon() {
        if let Err(e) = tray.set_icon(Some(status.icon(base))) {
            tracing::debug!(error = %e, "tray: cannot set the icon");
        }
    }
    let _ = tray.set_tooltip(Some(status.tooltip(last_success)));
}

fn on_menu(app: &AppHandle, id: &str) {
    let Some(item) = TrayItem::from_id(id) else {
        tracing::warn!(id, "unknown tray menu item");
        return;
    };
    tracing::info!(?item, "tray menu");
    let state = || app.try_state::<SharedState>().map(|s| s.inner().clone());
    match item {
        TrayItem::Open => crate::show_main_window(app),
        TrayItem::BackupAll => {
            if let Some(s) = state() {
                if let Err(e) = crate::commands::runs::start_all(&s) {
                    tracing::warn!(error = %e.log_line(), "tray: backup now failed to start");
                }
            }
        }
        TrayItem::BackupScheme(scheme_id) => {
            if let Some(s) = state() {
                if let Err(e) = crate::commands::runs::start_scheme(&s, scheme_id) {
                    tracing::warn!(error = %e.log_line(), "tray: backup now failed to start");
                }
            }
        }
        TrayItem::PauseSchedules => {
            if let Some(s) = state() {
                let mut prefs = s.preferences();
                prefs.schedules_paused = !prefs.schedules_paused;
                if let Err(e) = s.set_preferences(prefs) {
                    tracing::warn!(error = %e.log_line(), "tray: cannot pause schedules");
                }
            }
            refresh_menu(app);
        }
        TrayItem::Quit => {
            tracing::info!("quit from the tray");
            app.exit(0)
        }
    }
}
