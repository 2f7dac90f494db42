//! The destination form's logins in the real window (Xvfb + WebKitWebDriver), by clicks and
//! typing only: an SFTP destination on a real sshd logging in with a private key file and its
//! passphrase (a missing path is refused beside the field, the unknown host key is trusted
//! through the prompt, every step passes, the passphrase never comes back to the window), and
//! FTPS with implicit TLS moving the port to 990. Screenshots in `.test-artifacts/`.
//!
//! Needs the app built first (`make test` does it), Xvfb, dbus, gnome-keyring,
//! webkit2gtk-driver, root and openssh-server; a missing part fails the test.

use bc_tests::harness::app::{
    click, click_enabled, destinations, el, one_window, shot, text, type_into, value, wait_css,
    AppUnderTest,
};
use bc_tests::harness::{Sshd, KEY_PASSPHRASE, TEST_USER};
use fantoccini::Client;

/// Scrolls the destinations section to the top of the window: the whole form in the shot.
async fn show_destinations(c: &Client) {
    c.execute(
        "document.querySelector('[data-testid=destinations]').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
}

#[test]
fn an_sftp_key_file_and_implicit_ftps_are_configured_in_the_window() {
    let _one = one_window();
    let mut app = AppUnderTest::start();
    let sshd = Sshd::start();
    let rt = tokio::runtime::Runtime::new().unwrap();

    rt.block_on(async {
        let c = app.launch().await;
        el(&c, "page-configuration").await;
        click(&c, "destination-new").await;
        click(&c, "destination-kind-sftp").await;
        type_into(&c, "destination-name", "NAS (key)").await;
        type_into(&c, "destination-host", "127.0.0.1").await;
        type_into(&c, "destination-port", &sshd.port().to_string()).await;
        click(&c, "destination-login-keyFile").await;
        type_into(&c, "destination-user", TEST_USER).await;
        let folder = format!("{}/keyed", sshd.area_in_home());
        type_into(&c, "destination-folder", &folder).await;

        // A key path that does not exist: the engine's message beside the field.
        let missing = sshd.area().join("no-such-key");
        type_into(&c, "destination-key-path", &missing.display().to_string()).await;
        click(&c, "destination-test").await;
        let message = text(&c, "destination-error-keyPath").await;
        assert!(
            message.starts_with("Private key file:") && message.contains("does not exist"),
            "the message names the field: {message}"
        );
        shot(&c, "destination-key-file-missing.png").await;

        let key = sshd.encrypted_key().display().to_string();
        type_into(&c, "destination-key-path", &key).await;
        click(&c, "destination-key-has-passphrase").await;
        type_into(&c, "destination-passphrase", KEY_PASSPHRASE).await;
        click(&c, "destination-test").await;
        el(&c, "trust-prompt").await;
        click(&c, "trust-accept").await;
        wait_css(
            &c,
            "[data-testid=destination-report][data-ok=true]",
            30,
            "the key file with its passphrase passes every step",
        )
        .await;
        click_enabled(&c, "destination-save").await;
        el(&c, "destination-status").await;
        assert_eq!(
            value(&c, "destination-passphrase").await,
            "",
            "the passphrase is not shown again"
        );
        show_destinations(&c).await;
        shot(&c, "configuration-sftp-key-file.png").await;

        let list = destinations(&c).await;
        let saved = serde_json::to_string(&list).unwrap();
        assert!(
            !saved.contains(KEY_PASSPHRASE),
            "no reply carries it: {saved}"
        );
        assert_eq!(list[0]["sftpLogin"], "keyFile", "{saved}");
        assert_eq!(list[0]["keyPath"], key.as_str(), "{saved}");
        assert_eq!(
            list[0]["passphraseStored"], true,
            "in the keychain: {saved}"
        );
        assert!(
            sshd.area().join("keyed").is_dir(),
            "the test created the folder"
        );

        // FTPS: implicit TLS moves a default port to 990.
        click(&c, "destination-new").await;
        click(&c, "destination-kind-ftps").await;
        assert_eq!(value(&c, "destination-port").await, "21");
        click(&c, "destination-implicit-tls").await;
        assert_eq!(value(&c, "destination-port").await, "990");
        show_destinations(&c).await;
        shot(&c, "configuration-ftps-implicit.png").await;
        c.close().await.unwrap();
    });
}
