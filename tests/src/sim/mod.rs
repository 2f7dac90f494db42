//! A Jira Cloud simulator: Basic auth with API tokens and Jira's real response and error
//! shapes (see ../shared/jira). It starts with what "Test connection" needs (`serverInfo`,
//! `myself`, `mypermissions`); the snapshot engine grows it into a whole site.

mod auth;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use auth::SimUser;

/// The simulated site's people and settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub users: Vec<SimUser>,
    pub server_title: String,
}

/// Well-known demo credentials (the simulator is for tests and demos only).
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_TOKEN: &str = "sim-admin-token-0123456789";
pub const ADMIN_NAME: &str = "Ada Admin";
pub const USER_EMAIL: &str = "user@example.com";
pub const USER_TOKEN: &str = "sim-user-token-0123456789";
pub const USER_NAME: &str = "Uma User";
pub const NO_ACCESS_EMAIL: &str = "noaccess@example.com";
pub const NO_ACCESS_TOKEN: &str = "sim-noaccess-token-0123456789";

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            server_title: "Jira".into(),
            users: vec![
                SimUser {
                    account_id: "5b10a2844c20165700ede21a".into(),
                    email: ADMIN_EMAIL.into(),
                    display_name: ADMIN_NAME.into(),
                    token: ADMIN_TOKEN.into(),
                    admin: true,
                    jira_access: true,
                    time_zone: "Europe/Berlin".into(),
                },
                SimUser {
                    account_id: "5b10a2844c20165700ede21b".into(),
                    email: USER_EMAIL.into(),
                    display_name: USER_NAME.into(),
                    token: USER_TOKEN.into(),
                    admin: false,
                    jira_access: true,
                    time_zone: "America/New_York".into(),
                },
                SimUser {
                    account_id: "5b10a2844c20165700ede21c".into(),
                    email: NO_ACCESS_EMAIL.into(),
                    display_name: "Nora No-Access".into(),
                    token: NO_ACCESS_TOKEN.into(),
                    admin: false,
                    jira_access: false,
                    time_zone: "UTC".into(),
                },
            ],
        }
    }
}

pub(crate) struct SimState {
    pub config: SimConfig,
    pub base_url: String,
}

/// A simulator serving in the background of the current tokio runtime.
pub struct RunningSim {
    pub addr: SocketAddr,
    pub base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `config` on `listener` until the future is dropped.
pub async fn serve(listener: TcpListener, config: SimConfig) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let state = Arc::new(SimState {
        config,
        base_url: format!("http://{addr}"),
    });
    axum::serve(listener, routes::router(state)).await
}

/// Starts a simulator on a free 127.0.0.1 port.
pub async fn start(config: SimConfig) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = serve(listener, config).await {
            eprintln!("jira-sim stopped: {e}");
        }
    });
    Ok(RunningSim {
        addr,
        base_url: format!("http://{addr}"),
        task,
    })
}
