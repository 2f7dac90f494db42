//! The real app window under Xvfb, driven through WebKitWebDriver: Configuration → wrong
//! token → the clear 401 message; right token → the user's name and admin status; Save → the
//! token is in the Secret Service and nowhere in the catalog or the logs. Also: a non-admin
//! gets the partial-snapshot warning, and a second launch hands over to the first.
//!
//! Needs the app built first (`make test` does it) and Xvfb, dbus, gnome-keyring,
//! libsecret-tools and webkit2gtk-driver installed; a missing part fails the test.

use std::time::Duration;

use base64::Engine as _;
use bc_tests::harness::app::{absent, click, el, files_under, shot, type_into, AppUnderTest};
use bc_tests::sim::{self, SimConfig};

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn configuration_tests_connection_and_keeps_the_token_in_the_keychain_only() {
    let mut app = AppUnderTest::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(sim::start(SimConfig::default())).unwrap();
    let wrong = "wrong-token-5f1e2d3c4b";

    rt.block_on(async {
        let c = app.launch().await;

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
        let mut second = app.launch_again();
        let status = second
            .wait_timeout(Duration::from_secs(20))
            .expect("a second launch must exit and leave the first one running");
        assert!(status.success(), "second launch exited with {status}");
        assert_eq!(
            app.app_pids().len(),
            1,
            "exactly one instance must keep running"
        );
        el(&c, "page-schemes").await; // the first instance still answers

        c.close().await.unwrap();
    });

    // The token is in the Secret Service, under the documented attributes ...
    let account = format!("jira-api-token:{}@{}", sim::ADMIN_EMAIL, sim.base_url);
    let found = app
        .keyring
        .lookup(&[("service", "Backup Center"), ("username", &account)]);
    assert_eq!(
        found.as_deref(),
        Some(sim::ADMIN_TOKEN),
        "the saved token must be in the keychain"
    );

    // ... and nowhere in the catalog or the logs.
    let app_dir = app.app_dir();
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

    let logs = files_under(&app_dir.join("logs"));
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
    for secret in [sim::ADMIN_TOKEN, sim::USER_TOKEN, wrong] {
        assert!(
            !contains(&all, secret.as_bytes()),
            "a token leaked into the logs"
        );
        for email in [sim::ADMIN_EMAIL, sim::USER_EMAIL] {
            let header =
                base64::engine::general_purpose::STANDARD.encode(format!("{email}:{secret}"));
            assert!(
                !contains(&all, header.as_bytes()),
                "an Authorization header leaked into the logs"
            );
        }
    }
}
