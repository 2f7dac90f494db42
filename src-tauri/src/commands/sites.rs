//! Jira site settings. The token only ever travels inward: no reply carries it.

use backup_center_engine::jira::ConnectionReport;
use backup_center_engine::secrets::Sensitive;
use backup_center_engine::sites::{self, SiteDraft, SiteView};
use tauri::State;

use super::blocking;
use crate::error::IpcResult;
use crate::state::SharedState;

/// The site form as typed. `token: null` keeps the stored token.
#[derive(serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SiteDraftInput {
    pub id: Option<u32>,
    pub url: String,
    pub email: String,
    pub token: Option<String>,
}

impl From<SiteDraftInput> for SiteDraft {
    fn from(d: SiteDraftInput) -> Self {
        SiteDraft {
            id: d.id.map(i64::from),
            url: d.url,
            email: d.email,
            token: d.token.map(Sensitive::new),
        }
    }
}

#[tauri::command]
#[specta::specta]
pub async fn list_sites(state: State<'_, SharedState>) -> IpcResult<Vec<SiteView>> {
    let s = state.inner().clone();
    blocking(move || sites::list(&s.catalog, s.secrets.as_ref())).await
}

#[tauri::command]
#[specta::specta]
pub async fn save_site(
    state: State<'_, SharedState>,
    draft: SiteDraftInput,
) -> IpcResult<SiteView> {
    let s = state.inner().clone();
    let draft = SiteDraft::from(draft);
    blocking(move || sites::save(&s.catalog, s.secrets.as_ref(), s.clock.as_ref(), &draft)).await
}

#[tauri::command]
#[specta::specta]
pub async fn test_connection(
    state: State<'_, SharedState>,
    draft: SiteDraftInput,
) -> IpcResult<ConnectionReport> {
    let s = state.inner().clone();
    let draft = SiteDraft::from(draft);
    // The keychain read inside is a short D-Bus call; the Jira calls are async.
    Ok(sites::test_connection(
        &s.catalog,
        s.secrets.as_ref(),
        s.clock.as_ref(),
        &draft,
        s.jira_options.clone(),
    )
    .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn remove_site_token(state: State<'_, SharedState>, site_id: u32) -> IpcResult<SiteView> {
    let s = state.inner().clone();
    blocking(move || sites::remove_token(&s.catalog, s.secrets.as_ref(), site_id.into())).await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_site(state: State<'_, SharedState>, site_id: u32) -> IpcResult<()> {
    let s = state.inner().clone();
    blocking(move || sites::delete(&s.catalog, s.secrets.as_ref(), site_id.into())).await
}
