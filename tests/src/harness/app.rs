//! The real Backup Center app under test: its own X display, session bus, Secret Service and
//! XDG folders, started through WebKitWebDriver.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use super::{workspace_root, Child, SecretService, SessionBus, WebDriverServer, Xvfb};

/// The app's identifier (tauri.conf.json): its data and log folders are named after it.
pub const IDENTIFIER: &str = "app.backupcenter.desktop";
/// The main window's title.
pub const WINDOW_TITLE: &str = "Backup Center";

pub fn app_binary() -> PathBuf {
    super::debug_binary("backup-center")
}

/// Where end-to-end tests leave screenshots to look at.
pub fn artifacts() -> PathBuf {
    let d = workspace_root().join(".test-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub struct AppUnderTest {
    pub binary: PathBuf,
    pub bus: SessionBus,
    pub keyring: SecretService,
    pub x: Xvfb,
    pub data_home: PathBuf,
    /// More environment for the app (e.g. `GTK_THEME` for the dark theme); set before launch.
    pub extra_env: Vec<(String, String)>,
    dirs: Vec<(&'static str, PathBuf)>,
    driver: Option<WebDriverServer>,
    _home: tempfile::TempDir,
}

impl AppUnderTest {
    /// Starts the desktop parts the app needs (not the app yet).
    pub fn start() -> Self {
        // fantoccini's rustls needs a process-wide crypto provider when several are linked in.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let binary = app_binary();
        let bus = SessionBus::start();
        let keyring = SecretService::start(&bus);
        let x = Xvfb::start();
        let home = tempfile::tempdir().unwrap();
        let dirs: Vec<(&'static str, PathBuf)> = [
            "XDG_DATA_HOME",
            "XDG_CONFIG_HOME",
            "XDG_CACHE_HOME",
            "XDG_RUNTIME_DIR",
        ]
        .into_iter()
        .map(|k| (k, home.path().join(k.to_lowercase())))
        .collect();
        for (_, d) in &dirs {
            std::fs::create_dir_all(d).unwrap();
            std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
        }
        let data_home = dirs[0].1.clone();
        Self {
            binary,
            bus,
            keyring,
            x,
            data_home,
            extra_env: Vec::new(),
            dirs,
            driver: None,
            _home: home,
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .dirs
            .iter()
            .map(|(k, v)| (k.to_string(), v.display().to_string()))
            .collect();
        env.push(("DISPLAY".into(), self.x.display.clone()));
        env.push(("DBUS_SESSION_BUS_ADDRESS".into(), self.bus.address.clone()));
        env.push(("BACKUP_CENTER_LOG".into(), "debug".into()));
        env.push(("NO_AT_BRIDGE".into(), "1".into()));
        env.extend(self.extra_env.iter().cloned());
        env
    }

    /// Starts the app through WebKitWebDriver and returns the WebDriver session.
    pub async fn launch(&mut self) -> Client {
        let env = self.env();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let driver = WebDriverServer::start(&pairs);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "webkitgtk:browserOptions".into(),
            serde_json::json!({ "binary": self.binary, "args": [] }),
        );
        let client = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("WebDriver session with the app");
        self.driver = Some(driver);
        client
    }

    /// Starts the app binary once more, directly, in the same environment.
    pub fn launch_again(&self) -> Child {
        let mut cmd = std::process::Command::new(&self.binary);
        cmd.envs(self.env())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        Child::spawn("another app instance", &mut cmd)
    }

    /// The app's data folder (catalog, logs).
    pub fn app_dir(&self) -> PathBuf {
        self.data_home.join(IDENTIFIER)
    }

    /// Running app processes of this test (matched by binary and this test's data folder).
    pub fn app_pids(&self) -> Vec<u32> {
        let want_exe = std::fs::canonicalize(&self.binary).unwrap();
        let marker = format!("XDG_DATA_HOME={}", self.data_home.display());
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else {
                continue;
            };
            if exe != want_exe {
                continue;
            }
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            if environ.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()) {
                pids.push(pid);
            }
        }
        pids
    }
}

// --- UI helpers over a WebDriver session, addressing elements by data-testid ---

pub fn by_id(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Waits up to 20 s for an element to exist and be displayed.
pub async fn el(c: &Client, id: &str) -> fantoccini::elements::Element {
    let sel = by_id(id);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(e) = c.find(Locator::Css(&sel)).await {
            if e.is_displayed().await.unwrap_or(false) {
                return e;
            }
        }
        if Instant::now() > deadline {
            let path = artifacts().join(format!("missing-{id}.png"));
            let _ = std::fs::write(&path, c.screenshot().await.unwrap_or_default());
            panic!(
                "element {sel} did not appear within 20 s (screenshot: {})",
                path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Calls a backend command through the webview's IPC, exactly as the frontend's generated
/// bindings do; `Err` is the command's `{code, message}`.
pub async fn invoke(
    c: &Client,
    cmd: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Value> {
    let script = "const [cmd, args, done] = arguments; \
        window.__TAURI_INTERNALS__.invoke(cmd, args).then( \
          (data) => done({ ok: data === undefined ? null : data }), \
          (error) => done({ err: error }));";
    let v = c
        .execute_async(script, vec![serde_json::json!(cmd), args])
        .await
        .unwrap_or_else(|e| panic!("invoke {cmd}: {e}"));
    match v.get("err") {
        Some(e) => Err(e.clone()),
        None => Ok(v["ok"].clone()),
    }
}

/// True when the element is missing or hidden.
pub async fn absent(c: &Client, id: &str) -> bool {
    match c.find(Locator::Css(&by_id(id))).await {
        Ok(e) => !e.is_displayed().await.unwrap_or(false),
        Err(_) => true,
    }
}

pub async fn type_into(c: &Client, id: &str, text: &str) {
    let e = el(c, id).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

pub async fn click(c: &Client, id: &str) {
    el(c, id).await.click().await.unwrap();
}

/// Waits up to `secs` for a CSS selector to match a displayed element; on a timeout saves
/// `missing-step.png` and fails with `what`.
pub async fn wait_css(
    c: &Client,
    css: &str,
    secs: u64,
    what: &str,
) -> fantoccini::elements::Element {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if e.is_displayed().await.unwrap_or(false) {
                return e;
            }
        }
        if Instant::now() > deadline {
            shot(c, "missing-step.png").await;
            panic!("{what}: `{css}` did not appear within {secs} s (missing-step.png)");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks a button once it is enabled (pages enable theirs once their data is loaded).
pub async fn click_enabled(c: &Client, id: &str) {
    wait_css(c, &format!("{}:enabled", by_id(id)), 20, id)
        .await
        .click()
        .await
        .unwrap();
}

pub async fn text(c: &Client, id: &str) -> String {
    el(c, id).await.text().await.unwrap()
}

/// Configuration: adds the simulator's site with the admin token, tests and saves it.
pub async fn add_site(c: &Client, base_url: &str) {
    click(c, "nav-configuration").await;
    type_into(c, "site-url", base_url).await;
    type_into(c, "site-email", crate::sim::ADMIN_EMAIL).await;
    type_into(c, "site-token", crate::sim::ADMIN_TOKEN).await;
    click(c, "site-test").await;
    assert_eq!(text(c, "display-name").await.trim(), crate::sim::ADMIN_NAME);
    click_enabled(c, "site-save").await;
    el(c, "token-stored").await;
}

/// Schemes: "+" (the dialog opens).
pub async fn new_scheme(c: &Client) {
    click_enabled(c, "scheme-new").await;
    el(c, "scheme-dialog").await;
}

/// Schemes: "+", the destination named `destination` (else the one the dialog picks), the
/// Basic daily preset, a folder, Save; the line appears and the dialog closes.
pub async fn add_preset_scheme(c: &Client, destination: Option<&str>, folder: &str) {
    click(c, "nav-schemes").await;
    new_scheme(c).await;
    if let Some(name) = destination {
        el(c, "scheme-destination")
            .await
            .select_by_label(name)
            .await
            .unwrap();
    }
    click(c, "preset-basicDaily").await;
    wait_css(
        c,
        "[data-testid=scheme-day-sunday]:checked",
        10,
        "the preset fills in the days",
    )
    .await;
    type_into(c, "scheme-folder", folder).await;
    click_enabled(c, "scheme-save").await;
    wait_css(
        c,
        "[data-testid=scheme-row][data-name='Basic daily']",
        10,
        "the saved scheme is listed",
    )
    .await;
    assert!(
        absent(c, "scheme-dialog").await,
        "the dialog closes on save"
    );
}

/// Saves a screenshot of the webview to `.test-artifacts/NAME`.
pub async fn shot(c: &Client, name: &str) {
    // Let WebKit paint the last DOM change first: a screenshot returns the last composited frame.
    let _ = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             requestAnimationFrame(() => requestAnimationFrame(() => done()));",
            vec![],
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(artifacts().join(name), png).unwrap();
}

/// Every file below `dir`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
