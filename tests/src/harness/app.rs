//! The real Backup Center app under test: its own X display, session bus, Secret Service and
//! XDG folders, started through WebKitWebDriver.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use super::{
    workspace_root, Child, SecretService, SessionBus, Sshd, WebDriverServer, Xvfb, TEST_PASSWORD,
    TEST_USER,
};

mod keyboard;
pub use keyboard::*;

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

/// Waits up to `secs` for nothing displayed to match a CSS selector; on a timeout saves
/// `missing-step.png` and fails with `what`.
pub async fn wait_css_gone(c: &Client, css: &str, secs: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let shown = match c.find(Locator::Css(css)).await {
            Ok(e) => e.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        };
        if !shown {
            return;
        }
        if Instant::now() > deadline {
            shot(c, "missing-step.png").await;
            panic!("{what}: `{css}` is still there after {secs} s (missing-step.png)");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The current value of a form control (what the user sees in it).
pub async fn value(c: &Client, id: &str) -> String {
    el(c, id)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
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
    // Saving tests the connection again; its report moves what is below, so later clicks wait
    // for it to end.
    wait_css(
        c,
        "[data-testid=site-test]:enabled",
        30,
        "the check after Save",
    )
    .await;
    el(c, "display-name").await;
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

/// One app window at a time within a test binary: several WebKit instances on a two-core
/// machine make steps miss their timeouts. A failed test must not block the others, hence the
/// poison is ignored.
pub fn one_window() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Configuration: adds a local destination (with a quota in GB, if given), tests it (every
/// step passes) and saves it.
pub async fn add_local_destination(c: &Client, name: &str, folder: &Path, quota_gb: Option<&str>) {
    click(c, "destination-new").await;
    click(c, "destination-kind-local").await;
    type_into(c, "destination-name", name).await;
    type_into(c, "destination-folder", &folder.display().to_string()).await;
    if let Some(quota) = quota_gb {
        type_into(c, "destination-quota", quota).await;
    }
    click(c, "destination-test").await;
    wait_css(
        c,
        "[data-testid=destination-report][data-ok=true]",
        30,
        "a writable folder passes Test connection",
    )
    .await;
    click_enabled(c, "destination-save").await;
    el(c, "destination-status").await;
}

/// Configuration: the SFTP destination `name` on `sshd` (password login, folder `jira` in its
/// area), its unknown host key trusted through the prompt after comparing the fingerprint
/// with the server's, tested (every step passes) and saved.
pub async fn add_sftp_destination(c: &Client, sshd: &Sshd, name: &str) {
    click(c, "destination-new").await;
    click(c, "destination-kind-sftp").await;
    type_into(c, "destination-name", name).await;
    type_into(c, "destination-host", "127.0.0.1").await;
    type_into(c, "destination-port", &sshd.port().to_string()).await;
    type_into(c, "destination-user", TEST_USER).await;
    type_into(c, "destination-password", TEST_PASSWORD).await;
    let folder = format!("{}/jira", sshd.area_in_home());
    type_into(c, "destination-folder", &folder).await;
    click(c, "destination-test").await;
    let prompt = el(c, "trust-prompt").await;
    assert_eq!(
        prompt.attr("data-changed").await.unwrap().as_deref(),
        Some("false"),
        "a first connection is an unknown key, not a changed one"
    );
    assert_eq!(
        text(c, "trust-fingerprint").await.trim(),
        sshd.host_key_sha256(),
        "the prompt shows the server's fingerprint"
    );
    click(c, "trust-accept").await;
    wait_css(
        c,
        "[data-testid=destination-report][data-ok=true]",
        30,
        "a trusted server passes every step",
    )
    .await;
    click_enabled(c, "destination-save").await;
    el(c, "destination-status").await;
}

/// The backend's view of every destination (`list_destinations`), e.g. to read the pinned
/// fingerprint the window does not otherwise expose.
pub async fn destinations(c: &Client) -> Vec<serde_json::Value> {
    let list = invoke(c, "list_destinations", serde_json::json!({}))
        .await
        .expect("list_destinations");
    list.as_array().expect("a list of destinations").clone()
}

/// Control panel: Backup now (every scheme), then waits for the latest attempt to end in
/// `outcome` (`succeeded`, `failed`, …).
pub async fn backup_now_until(c: &Client, outcome: &str) {
    click(c, "nav-control-panel").await;
    click_enabled(c, "run-all").await;
    wait_css(
        c,
        &format!("[data-testid=latest-state][data-state={outcome}]"),
        120,
        &format!("the backup ends {outcome}"),
    )
    .await;
}

/// The line of the scheme named `name` on the Schemes page, once it is listed.
pub async fn scheme_row(c: &Client, name: &str) -> fantoccini::elements::Element {
    wait_css(
        c,
        &format!("[data-testid=scheme-row][data-name='{name}']"),
        10,
        &format!("the scheme “{name}” is listed"),
    )
    .await
}

/// Schemes: the pencil of the scheme `name`; the dialog opens filled in with it.
pub async fn open_scheme_edit(c: &Client, name: &str) {
    scheme_row(c, name)
        .await
        .find(Locator::Css(&by_id("scheme-edit")))
        .await
        .expect("a pencil on the scheme's line")
        .click()
        .await
        .unwrap();
    el(c, "scheme-dialog").await;
    assert_eq!(
        value(c, "scheme-name").await,
        name,
        "the dialog edits {name}"
    );
}

/// Schemes: edits the scheme `name` with the pencil, each `(field, value)` typed over what is
/// there, and saves; the dialog closes and the line is listed under its (new) name.
pub async fn edit_scheme(c: &Client, name: &str, fields: &[(&str, &str)]) {
    open_scheme_edit(c, name).await;
    for (id, text) in fields {
        type_into(c, id, text).await;
    }
    click_enabled(c, "scheme-save").await;
    wait_css_gone(c, &by_id("scheme-dialog"), 10, "the dialog closes on save").await;
    let new_name = fields
        .iter()
        .find(|(id, _)| *id == "scheme-name")
        .map_or(name, |(_, v)| v);
    scheme_row(c, new_name).await;
}

/// All the text of the scheme line `name` (textContent: WebDriver's visible text leaves out
/// what is clipped with an ellipsis, such as the folder and time zone).
pub async fn scheme_line(c: &Client, name: &str) -> String {
    let row = scheme_row(c, name).await;
    let v = c
        .execute(
            "return arguments[0].textContent;",
            vec![serde_json::to_value(&row).unwrap()],
        )
        .await
        .expect("the scheme line's text");
    v.as_str().unwrap_or_default().to_string()
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
