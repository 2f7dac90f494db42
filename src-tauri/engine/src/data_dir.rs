//! Where Backup Center keeps its own files: the catalog, run staging and run locks.
//!
//! The desktop app asks Tauri for its app-data folder (`app_data_dir()`), which Tauri derives
//! from the app identifier. The CLI has no Tauri, so [`default_data_dir`] derives the same
//! folder the same way; both then open [`CATALOG_FILE`] in it, so the app and the CLI share
//! one catalog and one set of run locks.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The app identifier in `tauri.conf.json`; Tauri names the app-data folder after it.
pub const APP_IDENTIFIER: &str = "app.backupcenter.desktop";

/// The catalog's file name inside the data folder.
pub const CATALOG_FILE: &str = "catalog.sqlite3";

/// The catalog inside `data_dir`.
pub fn catalog_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CATALOG_FILE)
}

/// The folder Tauri's `app_data_dir()` gives the desktop app on this OS:
/// `$XDG_DATA_HOME` (else `~/.local/share`) on Linux, `~/Library/Application Support` on
/// macOS, `%APPDATA%` on Windows; each followed by [`APP_IDENTIFIER`].
///
/// # Errors
/// `InvalidInput` when the environment names no home folder (pass `--data-dir` then).
pub fn default_data_dir() -> Result<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = if cfg!(windows) {
        env("APPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| PathBuf::from(h).join("Library/Application Support"))
    } else {
        // The XDG rule: a relative XDG_DATA_HOME is invalid and ignored.
        env("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")))
    };
    base.map(|b| b.join(APP_IDENTIFIER)).ok_or_else(|| {
        Error::invalid_input(
            "Could not find Backup Center's data folder: the environment names no home folder. \
             Pass --data-dir with the folder that holds catalog.sqlite3.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identifier_is_the_apps() {
        // The app's data folder is named after tauri.conf.json's identifier: if that changes,
        // the CLI would silently open another catalog.
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../../tauri.conf.json")).unwrap();
        assert_eq!(conf["identifier"], APP_IDENTIFIER);
    }

    #[test]
    fn the_catalog_lives_in_the_data_folder() {
        let p = catalog_path(Path::new("/data"));
        assert_eq!(p, Path::new("/data/catalog.sqlite3"));
        #[cfg(target_os = "linux")]
        assert!(default_data_dir()
            .map(|d| d.ends_with(APP_IDENTIFIER))
            .unwrap_or(true));
    }
}
