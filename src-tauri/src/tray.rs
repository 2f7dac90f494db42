//! The tray icon and its menu. Items are an enum, not loose strings.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayItem {
    Open,
    BackupNow,
    Quit,
}

impl TrayItem {
    const ALL: [TrayItem; 3] = [TrayItem::Open, TrayItem::BackupNow, TrayItem::Quit];

    pub fn id(self) -> &'static str {
        match self {
            TrayItem::Open => "open",
            TrayItem::BackupNow => "backup-now",
            TrayItem::Quit => "quit",
        }
    }

    fn label(self) -> &'static str {
        match self {
            TrayItem::Open => "Open Backup Center",
            TrayItem::BackupNow => "Backup now",
            TrayItem::Quit => "Quit",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.id() == id)
    }
}

pub const TRAY_ID: &str = "main";

pub fn install(app: &AppHandle, schemes_exist: bool) -> tauri::Result<()> {
    let item = |i: TrayItem, enabled: bool| {
        MenuItem::with_id(app, i.id(), i.label(), enabled, None::<&str>)
    };
    let menu: Menu<Wry> = Menu::with_items(
        app,
        &[
            &item(TrayItem::Open, true)?,
            // Nothing to back up until a scheme exists.
            &item(TrayItem::BackupNow, schemes_exist)?,
            &PredefinedMenuItem::separator(app)?,
            &item(TrayItem::Quit, true)?,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Backup Center")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| match TrayItem::from_id(event.id().as_ref()) {
            Some(TrayItem::Open) => crate::show_main_window(app),
            Some(TrayItem::BackupNow) => {
                tracing::info!("backup now requested from the tray (no schemes yet)")
            }
            Some(TrayItem::Quit) => {
                tracing::info!("quit from the tray");
                app.exit(0)
            }
            None => tracing::warn!(id = ?event.id(), "unknown tray menu item"),
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    let _ = app.get_webview_window("main");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        for i in TrayItem::ALL {
            assert_eq!(TrayItem::from_id(i.id()), Some(i));
        }
        assert_eq!(TrayItem::from_id("nope"), None);
        let mut ids: Vec<_> = TrayItem::ALL.iter().map(|i| i.id()).collect();
        ids.dedup();
        assert_eq!(ids.len(), TrayItem::ALL.len());
    }
}
