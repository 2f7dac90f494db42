//! "Download…" for a backup kept on a server, in the real window (Xvfb + WebKitWebDriver),
//! driven by clicks and typing only: site (the simulator) → SFTP destination (a real sshd,
//! password login, its host key trusted through the prompt) → scheme from a preset →
//! Backup now → the file in the table has a download button → the dialog, pre-filled with the
//! Downloads folder → another folder typed in → saved there, byte for byte the copy on the
//! server (size and SHA-256) → a second download into the same folder is refused and leaves the
//! saved file as it was. The dialog is saved as screenshots in `.test-artifacts/` to look at.
//!
//! Needs the app built first (`make test` does it), Xvfb, dbus, gnome-keyring,
//! webkit2gtk-driver, root and openssh-server; a missing part fails the test.

use std::path::Path;

use bc_tests::harness::app::{
    absent, add_preset_scheme, add_sftp_destination, add_site, by_id, click, click_enabled, el,
    shot, text, type_into, value, wait_css, AppUnderTest,
};
use bc_tests::harness::Sshd;
use bc_tests::sim::{self, SimConfig};
use bc_tests::storage::{entries, sha};
use fantoccini::{Client, Locator};

/// Size and lowercase hex SHA-256 of a file.
fn size_and_sha256(path: &Path) -> (u64, String) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (bytes.len() as u64, sha(&bytes))
}

/// Makes the app's Downloads folder `downloads`, as `xdg-user-dirs-update` would: a
/// `user-dirs.dirs` in the app's XDG_CONFIG_HOME (next to its XDG_DATA_HOME).
fn set_downloads_folder(app: &AppUnderTest, downloads: &Path) {
    let config_home = app.data_home.parent().unwrap().join("xdg_config_home");
    assert!(config_home.is_dir(), "{} must exist", config_home.display());
    std::fs::write(
        config_home.join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()),
    )
    .unwrap();
}

/// Control panel: the download button of the (only) file row opens the dialog.
async fn open_download_dialog(c: &Client) {
    click(c, "file-download").await;
    el(c, "download-dialog").await;
}

#[test]
fn a_backup_on_an_sftp_server_is_downloaded_through_the_window() {
    let mut app = AppUnderTest::start();
    let sshd = Sshd::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(sim::start(SimConfig::default())).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let downloads = scratch.path().join("Downloads");
    std::fs::create_dir(&downloads).unwrap();
    set_downloads_folder(&app, &downloads);
    // A folder name with a space, as users' folders often have.
    let target = scratch.path().join("saved copies");
    std::fs::create_dir(&target).unwrap();

    rt.block_on(async {
        let c = app.launch().await;
        el(&c, "page-configuration").await;
        add_site(&c, &sim.base_url).await;
        add_sftp_destination(&c, &sshd, "NAS").await;
        add_preset_scheme(&c, Some("NAS"), "acme").await;

        click(&c, "nav-control-panel").await;
        el(&c, "latest-none").await;
        click_enabled(&c, "run-all").await;
        wait_css(
            &c,
            "[data-testid=latest-state][data-state=succeeded]",
            120,
            "the backup to the SFTP server succeeds",
        )
        .await;
        let row = wait_css(&c, "[data-testid=file-row]", 10, "the new file is listed").await;
        let name = row.attr("data-name").await.unwrap().unwrap();
        let on_server = sshd.area().join("jira").join("acme").join(&name);
        assert!(on_server.is_file(), "{} must exist", on_server.display());
        let (server_size, server_sha) = size_and_sha256(&on_server);
        // A file on a server has "Download…", not "Show in folder".
        row.find(Locator::Css(&by_id("file-download")))
            .await
            .expect("a download button in the row of a file on a server");
        assert!(absent(&c, "file-show").await, "no Show in folder for SFTP");

        // The dialog: the file, its destination, the Downloads folder suggested.
        open_download_dialog(&c).await;
        let dialog = text(&c, "download-dialog").await;
        assert!(
            dialog.contains(&name) && dialog.contains("NAS"),
            "the dialog names the file and its destination: {dialog}"
        );
        assert_eq!(
            value(&c, "download-folder").await,
            downloads.display().to_string(),
            "the folder field starts with the Downloads folder"
        );
        shot(&c, "download-dialog.png").await;
        type_into(&c, "download-folder", &target.display().to_string()).await;
        assert_eq!(
            value(&c, "download-folder").await,
            target.display().to_string()
        );
        shot(&c, "download-dialog-folder.png").await;
        click_enabled(&c, "download-confirm").await;

        // Saved: the status names the file; it is the server's copy, byte for byte.
        let saved = target.join(&name);
        let status = wait_css(
            &c,
            &by_id("control-status"),
            60,
            "the download finishes with a status",
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(
            status.starts_with(&format!("Saved {}", saved.display())),
            "the status says where the copy is: {status}"
        );
        assert!(absent(&c, "download-dialog").await, "the dialog closes");
        assert!(absent(&c, "control-error").await, "no error: {status}");
        assert_eq!(
            size_and_sha256(&saved),
            (server_size, server_sha.clone()),
            "the saved copy is the server's file"
        );
        assert_eq!(entries(&target), vec![name.clone()], "no temporary left");
        assert!(
            entries(&downloads).is_empty(),
            "nothing in the suggested folder"
        );
        shot(&c, "download-saved.png").await;

        // Again into the same folder: refused, the saved file untouched.
        let before = std::fs::metadata(&saved).unwrap().modified().unwrap();
        open_download_dialog(&c).await;
        assert!(absent(&c, "control-status").await, "the old status goes");
        assert_eq!(
            value(&c, "download-folder").await,
            target.display().to_string(),
            "the dialog remembers the folder last typed"
        );
        click_enabled(&c, "download-confirm").await;
        let error = wait_css(
            &c,
            &by_id("control-error"),
            60,
            "a second download into the same folder is refused",
        )
        .await
        .text()
        .await
        .unwrap();
        assert!(
            error.contains(&format!("{} already exists", saved.display())),
            "the error says the file exists: {error}"
        );
        assert!(absent(&c, "download-dialog").await, "the dialog closes");
        assert!(absent(&c, "control-status").await, "no success status");
        assert_eq!(
            size_and_sha256(&saved),
            (server_size, server_sha),
            "the saved copy is unchanged"
        );
        assert_eq!(
            std::fs::metadata(&saved).unwrap().modified().unwrap(),
            before,
            "the saved copy was not written again"
        );
        assert_eq!(entries(&target), vec![name], "nothing else in the folder");
        shot(&c, "download-exists.png").await;
        c.close().await.unwrap();
    });
}
