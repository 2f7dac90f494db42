//! A Jira Cloud simulator: Basic auth with API tokens and Jira's real response and error
//! shapes (see ../shared/jira), serving a whole synthetic site generated from a seed
//! ([`model::Site`]), with attachment content on a second, media origin ([`media`]), a burst
//! rate limit ([`ratelimit`]), injectable faults ([`faults`]) and a test-only control API
//! ([`control`]). See README.md beside this file.

// Handlers return the ready-made error `Response` through `Result`; boxing it would only add
// noise to a test server.
#![allow(clippy::result_large_err)]

mod auth;
mod control;
mod faults;
mod media;
pub mod model;
mod ratelimit;
mod routes;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

pub use auth::SimUser;
pub use faults::Faults;
pub use model::{Site, Size};

/// The simulated site's people and settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub users: Vec<SimUser>,
    pub server_title: String,
    /// Everything generated derives from this.
    pub seed: u64,
    pub size: Size,
    /// Burst limit in requests per second (token bucket); `None` = unlimited.
    pub rate_limit: Option<u32>,
    pub faults: Faults,
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
            seed: 42,
            size: Size::Tiny,
            rate_limit: None,
            faults: Faults::default(),
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
    pub site: Arc<Site>,
    pub media: Arc<media::MediaState>,
    pub limiter: Option<ratelimit::Bucket>,
    /// Requests per route template ("GET /rest/api/3/issue/{id}/comment").
    pub counts: Mutex<BTreeMap<String, u64>>,
    /// Requests seen, for deterministic fault decisions.
    pub sequence: std::sync::atomic::AtomicU64,
}

/// A simulator serving in the background of the current tokio runtime.
pub struct RunningSim {
    pub addr: SocketAddr,
    pub base_url: String,
    /// The media origin (attachment content, user avatars).
    pub media_url: String,
    /// The site being served: ground truth for tests, mutations included.
    pub site: Arc<Site>,
    task: tokio::task::JoinHandle<()>,
    media_task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.task.abort();
        self.media_task.abort();
    }
}

fn state(config: SimConfig, base_url: String, media_url: String) -> Arc<SimState> {
    let site = Arc::new(Site::with_origins(
        config.seed,
        config.size,
        &base_url,
        &media_url,
        config.users.clone(),
    ));
    if config.faults.vanish_issue {
        site.overlay().vanished.insert(faults::VANISHING_ISSUE);
    }
    Arc::new(SimState {
        media: Arc::new(media::MediaState::new(site.clone(), config.faults.clone())),
        limiter: config.rate_limit.map(ratelimit::Bucket::new),
        counts: Mutex::new(BTreeMap::new()),
        sequence: Default::default(),
        base_url,
        site,
        config,
    })
}

/// Serves `config` on `listener`, with the media origin on `media` (any free port if None),
/// until the future is dropped.
pub async fn serve_with_media(
    listener: TcpListener,
    media: Option<TcpListener>,
    config: SimConfig,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let media = match media {
        Some(m) => m,
        None => TcpListener::bind("127.0.0.1:0").await?,
    };
    let media_addr = media.local_addr()?;
    let s = state(
        config,
        format!("http://{addr}"),
        format!("http://{media_addr}"),
    );
    let media_app = media::router(s.media.clone());
    let media_task = tokio::spawn(async move {
        let _ = axum::serve(media, media_app).await;
    });
    let r = axum::serve(listener, routes::router(s)).await;
    media_task.abort();
    r
}

/// Serves `config` on `listener` (media origin on a free port) until the future is dropped.
pub async fn serve(listener: TcpListener, config: SimConfig) -> std::io::Result<()> {
    serve_with_media(listener, None, config).await
}

/// Starts a simulator on free 127.0.0.1 ports.
pub async fn start(config: SimConfig) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let media = TcpListener::bind("127.0.0.1:0").await?;
    let (addr, media_addr) = (listener.local_addr()?, media.local_addr()?);
    let (base_url, media_url) = (format!("http://{addr}"), format!("http://{media_addr}"));
    let s = state(config, base_url.clone(), media_url.clone());
    let site = s.site.clone();
    let media_task = tokio::spawn({
        let app = media::router(s.media.clone());
        async move {
            if let Err(e) = axum::serve(media, app).await {
                eprintln!("jira-sim media stopped: {e}");
            }
        }
    });
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, routes::router(s)).await {
            eprintln!("jira-sim stopped: {e}");
        }
    });
    Ok(RunningSim {
        addr,
        base_url,
        media_url,
        site,
        task,
        media_task,
    })
}
