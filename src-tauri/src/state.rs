//! What the commands share: the catalog, the keychain and the clock.

use std::path::PathBuf;
use std::sync::Arc;

use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::Clock;
use backup_center_engine::jira::ClientOptions;
use backup_center_engine::secrets::SecretStore;

pub struct AppState {
    pub catalog: Catalog,
    pub secrets: Arc<dyn SecretStore>,
    pub clock: Arc<dyn Clock>,
    pub jira_options: ClientOptions,
    pub log_dir: PathBuf,
}

pub type SharedState = Arc<AppState>;
