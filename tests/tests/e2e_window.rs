//! The real app window under Xvfb, driven through WebKitWebDriver: Configuration → wrong
//! token → the clear 401 message; right token → the user's name and admin status; Save → the
//! token is in the Secret Service and nowhere in the catalog or the logs. Also: a non-admin
//! gets the partial-snapshot warning, and a second launch hands over to the first.
//!
//! Needs the app built first (`make test` does it) and Xvfb, dbus, gnome-keyring,
//! libsecret-tools and webkit2gtk-driver installed; a missing part fails the test.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bc_tests::harness::{workspace_root, SecretService, SessionBus, WebDriverServer, Xvfb};
use bc_tests::sim::{self, SimConfig};
use fantoccini::{Client, ClientBuilder, Locator};

const IDENTIFIER: &str = "app.backupcenter.desktop";

fn app_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let bin = target.join("debug/backup-center");
    assert!(
        bin.is_file(),
        "{} is missing: build the app first (`make test` runs `cargo build -p backup-center`)",
        bin.display()
    );
    bin
}

fn artifacts() -> PathBuf {
    let d = workspace_root().join(".test-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn by_id(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Waits for an element to exist and be displayed.
async fn el(c: &Client, id: &str) -> fantoccini::elements::Element {
    let sel = by_id(id);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(e) = c.find(Locator::Css(&sel)).await {
            if e.is_displayed().await.unwrap_or(false) {
                return e;
            }
        }
        if Instant::now() > deadline {
            let shot = c.screenshot().await.unwrap_or_default();
            let path = artifacts().join(format!("missing-{id}.png"));
            let _ = std::fs::write(&path, shot);
            panic!(
                "element {sel} did not appear within 20 s (screenshot: {})",
                path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn absent(c: &Client, id: &str) -> bool {
    match c.find(Locator::Css(&by_id(id))).await {
        Ok(e) => !e.is_displayed().await.unwrap_or(false),
        Err(_) => true,
    }
}

async fn type_into(c: &Client, id: &str, text: &str) {
    let e = el(c, id).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn click(c: &Client, id: &str) {
    el(c, id).await.click().await.unwrap();
}

async fn shot(c: &Client, name: &str) {
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

fn files_under(dir: &Path) -> Vec<PathBuf> {
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

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn configuration_tests_connection_and_keeps_the_token_in_the_keychain_only() {
    let app = app_binary();
    // fantoccini's rustls needs a process-wide crypto provider when several are linked in.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let bus = SessionBus::start();
    let keyring = SecretService::start(&bus);
    let x = Xvfb::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(sim::start(SimConfig::default())).unwrap();

    // The app's own folders, apart from the keyring's.
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let config = home.path().join("config");
    let cache = home.path().join("cache");
    let runtime = home.path().join("runtime");
    for d in [&data, &config, &cache, &runtime] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let display = x.display.clone();
    let env_paths: Vec<(&str, &Path)> = vec![
        ("XDG_DATA_HOME", &data),
        ("XDG_CONFIG_HOME", &config),
        ("XDG_CACHE_HOME", &cache),
        ("XDG_RUNTIME_DIR", &runtime),
    ];
    let extra = [
        ("DISPLAY", display.as_str()),
        ("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str()),
        ("BACKUP_CENTER_LOG", "debug"),
        ("NO_AT_BRIDGE", "1"),
    ];
    let driver = WebDriverServer::start(&env_paths, &extra);

    let wrong = "wrong-token-5f1e2d3c4b";
    rt.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "webkitgtk:browserOptions".into(),
            serde_json::json!({ "binary": app, "args": [] }),
        );
        let c = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("WebDriver session with the app");

        // The shell: three places, Configuration works.
        el(&c, "nav-control-panel").await;
        el(&c, "nav-schemes").await;
        click(&c, "nav-configuration").await;
        el(&c, "page-configuration").await;

        // A wrong token: the clear 401 message.
        type_into(&c, "site-url", &format!("{}/", sim.base_url)).await;
        type_into(&c, "site-email", sim::ADMIN_EMAIL).await;
        type_into(&c, "site-token", wrong).await;
        click(&c, "site-test").await;
        let msg = el(&c, "site-error").await.text().await.unwrap();
        assert!(
            msg.contains("rejected the email or API token"),
            "401 message: {msg}"
        );
        assert!(
            msg.contains("expire"),
            "a 401 must mention token expiry: {msg}"
        );
        shot(&c, "configuration-401.png").await;

        // The right token: name and admin status.
        type_into(&c, "site-token", sim::ADMIN_TOKEN).await;
        click(&c, "site-test").await;
        let name = el(&c, "display-name").await.text().await.unwrap();
        assert_eq!(name.trim(), sim::ADMIN_NAME);
        let admin = el(&c, "admin-status").await.text().await.unwrap();
        assert_eq!(admin.trim(), "Jira administrator");
        assert!(
            absent(&c, "partial-warning").await,
            "an admin must not get the partial warning"
        );
        assert!(
            absent(&c, "site-error").await,
            "the old error must be gone after a success"
        );

        // Save: the token field becomes write-only.
        click(&c, "site-save").await;
        let stored = el(&c, "token-stored").await.text().await.unwrap();
        assert!(stored.contains("stored in the system keychain"), "{stored}");
        assert!(
            absent(&c, "site-token").await,
            "a stored token must not be shown in a field"
        );
        el(&c, "token-replace").await;
        el(&c, "token-remove").await;
        let item = el(&c, "site-item").await.text().await.unwrap();
        assert!(
            item.contains(&sim.base_url),
            "the saved site is listed with its normalised URL: {item}"
        );
        shot(&c, "configuration-saved.png").await;

        // A second site with a non-admin account: the partial-snapshot warning.
        click(&c, "site-new").await;
        type_into(&c, "site-url", &sim.base_url).await;
        type_into(&c, "site-email", sim::USER_EMAIL).await;
        type_into(&c, "site-token", sim::USER_TOKEN).await;
        click(&c, "site-test").await;
        let name = el(&c, "display-name").await.text().await.unwrap();
        assert_eq!(name.trim(), sim::USER_NAME);
        let admin = el(&c, "admin-status").await.text().await.unwrap();
        assert_eq!(admin.trim(), "Not a Jira administrator");
        let warn = el(&c, "partial-warning").await.text().await.unwrap();
        assert!(warn.contains("partial"), "{warn}");
        shot(&c, "configuration-non-admin.png").await;

        click(&c, "nav-control-panel").await;
        el(&c, "page-control-panel").await;
        shot(&c, "control-panel.png").await;
        click(&c, "nav-schemes").await;
        el(&c, "page-schemes").await;
        shot(&c, "schemes.png").await;

        // A second launch hands over to the running instance and exits.
        let mut second = std::process::Command::new(&app);
        second
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, v) in &env_paths {
            second.env(k, v);
        }
        let mut second = bc_tests::harness::Child::spawn("second instance", &mut second);
        let status = second
            .wait_timeout(Duration::from_secs(20))
            .expect("a second launch must exit and leave the first one running");
        assert!(status.success(), "second launch exited with {status}");
        el(&c, "page-schemes").await; // the first instance still answers

        c.close().await.unwrap();
    });

    // The token is in the Secret Service, under the documented attributes ...
    let account = format!("jira-api-token:{}@{}", sim::ADMIN_EMAIL, sim.base_url);
    let found = keyring.lookup(&[("service", "Backup Center"), ("username", &account)]);
    assert_eq!(
        found.as_deref(),
        Some(sim::ADMIN_TOKEN),
        "the saved token must be in the keychain"
    );

    // ... and nowhere in the catalog or the logs.
    let app_dir = data.join(IDENTIFIER);
    let catalog_files: Vec<_> = files_under(&app_dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("catalog.sqlite3")
        })
        .collect();
    assert!(
        !catalog_files.is_empty(),
        "no catalog under {}",
        app_dir.display()
    );
    let mut saw_email = false;
    for f in &catalog_files {
        let bytes = std::fs::read(f).unwrap();
        saw_email |= contains(&bytes, sim::ADMIN_EMAIL.as_bytes());
        for secret in [sim::ADMIN_TOKEN, sim::USER_TOKEN, wrong] {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "a token leaked into {}",
                f.display()
            );
        }
    }
    assert!(
        saw_email,
        "the catalog files must hold the site (else we checked the wrong files)"
    );
    let db = rusqlite::Connection::open(app_dir.join("catalog.sqlite3")).unwrap();
    let (name, admin): (String, bool) = db
        .query_row(
            "SELECT display_name, is_admin FROM jira_site WHERE email = ?1",
            [sim::ADMIN_EMAIL],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((name.as_str(), admin), (sim::ADMIN_NAME, true));

    let logs: Vec<_> = files_under(&app_dir.join("logs"));
    assert!(
        !logs.is_empty(),
        "no log files under {}",
        app_dir.join("logs").display()
    );
    let mut all = Vec::new();
    for f in &logs {
        all.extend(std::fs::read(f).unwrap());
    }
    assert!(
        contains(&all, b"Jira connection test succeeded"),
        "the log must record the test"
    );
    assert!(
        contains(&all, b"<redacted>"),
        "the token is logged only as <redacted>"
    );
    use base64::Engine as _;
    for secret in [sim::ADMIN_TOKEN, sim::USER_TOKEN, wrong] {
        assert!(
            !contains(&all, secret.as_bytes()),
            "a token leaked into the logs"
        );
        let header = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{secret}", sim::ADMIN_EMAIL));
        assert!(
            !contains(&all, header.as_bytes()),
            "an Authorization header leaked into the logs"
        );
    }
    drop(driver);
    drop(x);
}
