//! The real OS keychain on Linux: gnome-keyring's Secret Service on a private session bus.
//! One test function, because the bus address is process-wide environment (and libdbus
//! keeps one shared session connection per process; `keychain_no_bus.rs` covers "no bus").

use backup_center_engine::secrets::{KeyringStore, SecretKey, SecretStore, Sensitive};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{SecretService, SessionBus};

#[test]
fn secret_service_round_trip_and_clear_error_without_it() {
    let bus = SessionBus::start();
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    let store = KeyringStore::with_service("Backup Center tests");
    let key = SecretKey::jira_token("https://acme.atlassian.net", "ada@example.com");

    // No Secret Service on the bus yet: the user must be told what is missing, not D-Bus jargon.
    let e = store
        .set(&key, &Sensitive::new("t".into()))
        .expect_err("storing must fail without a Secret Service");
    assert_eq!(e.kind, ErrorKind::SecretStoreUnavailable, "{e:?}");
    assert!(e.message().contains("Secret Service"), "{}", e.message());
    assert!(
        e.message().contains("gnome-keyring"),
        "the message must say what to install: {}",
        e.message()
    );
    assert!(
        !e.message().contains("org.freedesktop"),
        "no raw D-Bus error: {}",
        e.message()
    );

    let service = SecretService::start(&bus);
    assert!(store.get(&key).unwrap().is_none());
    store
        .set(&key, &Sensitive::new("tok-ÄÖ-123".into()))
        .unwrap();
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "tok-ÄÖ-123");
    // Another program sees it under documented attributes.
    let seen = service.lookup(&[
        ("service", "Backup Center tests"),
        ("username", key.account()),
    ]);
    assert_eq!(seen.as_deref(), Some("tok-ÄÖ-123"));
    store.set(&key, &Sensitive::new("replaced".into())).unwrap();
    assert_eq!(store.get(&key).unwrap().unwrap().expose(), "replaced");
    store.delete(&key).unwrap();
    store.delete(&key).unwrap();
    assert!(store.get(&key).unwrap().is_none());
}
