//! No D-Bus session bus at all (a bare server, a broken desktop session): the keychain error
//! must still say what is missing. Its own test binary, because libdbus shares one session
//! connection per process.

use backup_center_engine::secrets::{KeyringStore, SecretKey, SecretStore, Sensitive};
use backup_center_engine::ErrorKind;

#[test]
fn no_session_bus_is_reported_as_an_unavailable_keychain() {
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/backup-center-test-bus",
    );
    let store = KeyringStore::with_service("Backup Center tests");
    let key = SecretKey::jira_token("https://acme.atlassian.net", "ada@example.com");
    for e in [
        store
            .get(&key)
            .expect_err("reading must fail without a bus"),
        store
            .set(&key, &Sensitive::new("t".into()))
            .expect_err("storing must fail without a bus"),
    ] {
        assert_eq!(e.kind, ErrorKind::SecretStoreUnavailable, "{e:?}");
        assert!(e.message().contains("gnome-keyring"), "{}", e.message());
    }
}
