//! About the app itself.

use tauri::State;

use crate::error::IpcResult;
use crate::state::SharedState;

#[derive(serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub catalog_path: String,
    pub log_dir: String,
}

#[tauri::command]
#[specta::specta]
pub async fn app_info(state: State<'_, SharedState>) -> IpcResult<AppInfo> {
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        catalog_path: state.catalog.path().display().to_string(),
        log_dir: state.log_dir.display().to_string(),
    })
}
