//! The pages of the desktop experience in the real window (Xvfb + WebKitWebDriver), driven as
//! an admin would drive them, by clicks and typing only:
//! site (the simulator) → Test connection → local destination → scheme from a preset →
//! Backup now → live progress → the file in the table → Delete with confirmation → gone from
//! disk. Also: an SFTP server with an unknown host key shows the trust prompt with its
//! fingerprint; bad input in the scheme dialog shows the engine's message next to each field;
//! a destination that cannot be written gives the failure state and its actionable message.
//! Each page is saved as a screenshot in `.test-artifacts/` to look at.
//!
//! Needs the app built first (`make test` does it), Xvfb, dbus, gnome-keyring,
//! webkit2gtk-driver and (for SFTP) root and openssh-server; a missing part fails the test.

use bc_tests::harness::app::{
    absent, add_local_destination, add_preset_scheme, add_site, by_id, click, click_enabled, el,
    new_scheme, one_window, shot, text, type_into, wait_css, AppUnderTest,
};
use bc_tests::harness::{Sshd, TEST_PASSWORD, TEST_USER};
use bc_tests::sim::{self, SimConfig};
use fantoccini::Locator;

#[test]
fn a_backup_from_site_to_deleted_file_through_the_window() {
    let _one = one_window();
    let mut app = AppUnderTest::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Every answer a little slow, so the run lasts long enough to watch its progress.
    let mut config = SimConfig::default();
    config.faults.slow_ms = 60;
    let sim = rt.block_on(sim::start(config)).unwrap();
    let backups = tempfile::tempdir().unwrap();

    rt.block_on(async {
        let c = app.launch().await;
        el(&c, "page-configuration").await;
        add_site(&c, &sim.base_url).await;
        add_local_destination(&c, "Disk", backups.path(), Some("2")).await;
        shot(&c, "page-configuration.png").await;
        let notify = el(&c, "pref-notify-failuresOnly").await;
        assert!(
            notify.is_selected().await.unwrap(),
            "notifications: failures only by default"
        );
        c.execute(
            "document.querySelector('[data-testid=preferences]').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
        shot(&c, "configuration-preferences.png").await;
        add_preset_scheme(&c, None, "acme").await;

        click(&c, "nav-control-panel").await;
        el(&c, "latest-none").await;
        click_enabled(&c, "run-all").await;
        // The live progress: a bar and the phase while the snapshot is taken.
        el(&c, "run-progress").await;
        wait_css(
            &c,
            "[data-testid=latest-state][data-state=running]",
            10,
            "the latest attempt is shown running",
        )
        .await;
        let phase = text(&c, "progress-phase").await;
        assert!(!phase.is_empty(), "the phase is shown");
        shot(&c, "page-control-panel-running.png").await;
        wait_css(
            &c,
            "[data-testid=latest-state][data-state=succeeded]",
            120,
            "the run succeeds",
        )
        .await;
        assert!(
            absent(&c, "run-progress").await,
            "no progress bar after the end"
        );
        let row = wait_css(&c, "[data-testid=file-row]", 10, "the new file is listed").await;
        el(&c, "usage-1").await;
        shot(&c, "page-control-panel.png").await;
        let name = row.attr("data-name").await.unwrap().unwrap();
        let on_disk = backups.path().join("acme").join(&name);
        assert!(on_disk.is_file(), "{} must exist", on_disk.display());
        // textContent: WebDriver's visible text leaves out cells clipped with an ellipsis.
        let row_text = c
            .execute(
                "return document.querySelector('[data-testid=file-row]').textContent;",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            row_text.contains("Basic daily")
                && row_text.contains("Disk")
                && row_text.contains("Verified"),
            "the row shows scheme, destination and the verified badge: {row_text}"
        );
        let counts = text(&c, "contents-counts").await;
        assert!(counts.contains("issues"), "the snapshot's counts: {counts}");

        // Delete (X) → the warning → confirm: gone from the table and the disk.
        click(&c, "file-delete").await;
        let dialog = text(&c, "delete-dialog").await;
        assert!(
            dialog.contains(&name) && dialog.contains("cannot be recovered"),
            "the confirmation warns: {dialog}"
        );
        shot(&c, "dialog-delete.png").await;
        click(&c, "delete-cancel").await;
        assert!(on_disk.is_file(), "Cancel keeps the file");
        click(&c, "file-delete").await;
        click(&c, "delete-confirm").await;
        el(&c, "files-empty").await;
        assert!(!on_disk.exists(), "a deleted backup must be gone from disk");

        click(&c, "nav-schemes").await;
        let status = text(&c, "scheme-status").await;
        assert_eq!(status.trim(), "OK", "the scheme's status after a success");
        click(&c, "scheme-pause").await;
        wait_css(
            &c,
            "[data-testid=scheme-status][data-status=paused]",
            10,
            "pause",
        )
        .await;
        click(&c, "scheme-pause").await;
        wait_css(
            &c,
            "[data-testid=scheme-status][data-status=succeeded]",
            10,
            "resume",
        )
        .await;
        shot(&c, "page-schemes.png").await;
        click(&c, "nav-history").await;
        wait_css(
            &c,
            "[data-testid=history-row][data-outcome=succeeded]",
            10,
            "the run is in the history",
        )
        .await;
        el(&c, "history-chart").await;
        shot(&c, "page-history.png").await;
        c.close().await.unwrap();
    });
}

#[test]
fn trust_prompt_field_messages_and_a_failing_destination_in_the_window() {
    let _one = one_window();
    let mut app = AppUnderTest::start();
    let sshd = Sshd::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(sim::start(SimConfig::default())).unwrap();
    let backups = tempfile::tempdir().unwrap();
    let folder = backups.path().join("nas");

    rt.block_on(async {
        let c = app.launch().await;
        el(&c, "page-configuration").await;
        add_site(&c, &sim.base_url).await;

        // SFTP with an unknown host key: the trust prompt with the server's fingerprint.
        click(&c, "destination-kind-sftp").await;
        type_into(&c, "destination-name", "NAS").await;
        type_into(&c, "destination-host", "127.0.0.1").await;
        type_into(&c, "destination-port", &sshd.port().to_string()).await;
        type_into(&c, "destination-user", TEST_USER).await;
        type_into(&c, "destination-password", TEST_PASSWORD).await;
        type_into(
            &c,
            "destination-folder",
            &format!("{}/jira", sshd.area_in_home()),
        )
        .await;
        click(&c, "destination-test").await;
        let prompt = el(&c, "trust-prompt").await;
        assert_eq!(
            prompt.attr("data-changed").await.unwrap().as_deref(),
            Some("false")
        );
        assert_eq!(
            text(&c, "trust-fingerprint").await.trim(),
            sshd.host_key_sha256(),
            "the prompt shows the fingerprint `ssh-keygen -lf` prints on the server"
        );
        // The whole prompt in the shot, under as much of the form as fits.
        c.execute(
            "document.querySelector('[data-testid=trust-prompt]').scrollIntoView({block: 'end'});",
            vec![],
        )
        .await
        .unwrap();
        shot(&c, "configuration-trust-prompt.png").await;
        click(&c, "trust-accept").await;
        wait_css(
            &c,
            "[data-testid=destination-report][data-ok=true]",
            30,
            "a trusted server passes every step",
        )
        .await;
        assert!(absent(&c, "trust-prompt").await);

        // Plain FTP is flagged.
        click(&c, "destination-new").await;
        click(&c, "destination-kind-ftp").await;
        assert!(text(&c, "ftp-warning").await.contains("unencrypted"));

        // A local destination that will fail: its folder becomes a file after saving.
        add_local_destination(&c, "Broken disk", &folder, Some("2")).await;

        // The scheme dialog: bad input gets the engine's message next to each field.
        click(&c, "nav-schemes").await;
        new_scheme(&c).await;
        el(&c, "scheme-dialog").await;
        type_into(&c, "scheme-name", "   ").await;
        type_into(&c, "scheme-time", "25:99").await;
        type_into(&c, "scheme-keep", "0").await;
        click(&c, "scheme-save").await;
        for field in ["name", "days", "time", "keep"] {
            let msg = text(&c, &format!("scheme-error-{field}")).await;
            assert!(!msg.trim().is_empty(), "a message for {field}");
        }
        let invalid = c
            .find(Locator::Css(&format!(
                "{} [aria-invalid=true]",
                by_id("scheme-dialog")
            )))
            .await;
        assert!(
            invalid.is_ok(),
            "invalid fields are marked for assistive technology"
        );
        shot(&c, "dialog-scheme-errors.png").await;
        // Fix them: a preset and the broken destination.
        click(&c, "preset-basicDaily").await;
        wait_css(
            &c,
            "[data-testid=scheme-day-sunday]:checked",
            10,
            "the preset fills in the days",
        )
        .await;
        let dest = el(&c, "scheme-destination").await;
        dest.select_by_label("Broken disk").await.unwrap();
        click(&c, "scheme-save").await;
        wait_css(&c, "[data-testid=scheme-row]", 10, "the scheme is saved").await;
        assert!(absent(&c, "scheme-error-name").await);

        std::fs::remove_dir_all(&folder).unwrap();
        std::fs::write(&folder, b"not a folder").unwrap();
        click(&c, "nav-control-panel").await;
        click_enabled(&c, "run-all").await;
        wait_css(
            &c,
            "[data-testid=latest-state][data-state=failed]",
            120,
            "a destination that cannot be written fails the run",
        )
        .await;
        let message = text(&c, "latest-message").await;
        assert!(
            message.contains(&folder.display().to_string()) || message.contains("folder"),
            "the failure names what to fix: {message}"
        );
        shot(&c, "page-control-panel-failed.png").await;
        c.close().await.unwrap();
    });
}

#[test]
fn the_window_follows_a_dark_desktop_theme() {
    let _one = one_window();
    let mut app = AppUnderTest::start();
    app.extra_env
        .push(("GTK_THEME".into(), "Adwaita:dark".into()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = app.launch().await;
        el(&c, "page-configuration").await;
        let dark = c
            .execute(
                "return matchMedia('(prefers-color-scheme: dark)').matches;",
                vec![],
            )
            .await
            .unwrap();
        shot(&c, "page-configuration-dark.png").await;
        assert_eq!(
            dark,
            serde_json::json!(true),
            "a dark GTK theme must reach the page as prefers-color-scheme: dark"
        );
        c.close().await.unwrap();
    });
}
