//! The logins the destination form configures, through the Configuration use cases
//! (`backup_center_engine::destinations`, what the app's `save_destination` and
//! `test_destination` commands call), against a real OpenSSH sshd and vsftpd: an SFTP private
//! key file whose passphrase is kept in the keychain only, and implicit FTPS. Needs root,
//! openssh-server and vsftpd; fails (never skips) without them.

use std::path::Path;

use backup_center_engine::catalog::destinations::DestinationKind;
use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::SystemClock;
use backup_center_engine::destinations::{
    self, DestinationDraft, DestinationTestReport, DestinationView, SftpLogin, StepStatus,
};
use backup_center_engine::secrets::{MemoryStore, SecretStore, Sensitive};
use backup_center_engine::storage::sftp::{SftpAuth, SftpDestination};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{FtpTls, Sshd, Vsftpd, KEY_PASSPHRASE, TEST_USER};

/// The SFTP form with "Private key file" chosen, the server's host key already trusted.
fn key_draft(sshd: &Sshd, key: &Path, passphrase: Option<&str>) -> DestinationDraft {
    DestinationDraft {
        name: "NAS".into(),
        kind: DestinationKind::Sftp,
        host: Some("127.0.0.1".into()),
        port: Some(sshd.port()),
        user_name: Some(TEST_USER.into()),
        folder: format!("{}/keyed", sshd.area_in_home()),
        pinned_fingerprint: Some(sshd.host_key_sha256()),
        sftp_login: SftpLogin::KeyFile,
        key_path: Some(key.display().to_string()),
        key_has_passphrase: passphrase.is_some(),
        passphrase: passphrase.map(|p| Sensitive::new(p.to_string())),
        ..Default::default()
    }
}

/// The form of a saved destination as it comes back: its id, nothing secret typed.
fn reopened(mut d: DestinationDraft, v: &DestinationView) -> DestinationDraft {
    d.id = Some(v.id.into());
    d.password = None;
    d.passphrase = None;
    d
}

fn all_passed(r: &DestinationTestReport) -> bool {
    r.ok && r.steps.iter().all(|s| s.status == StepStatus::Passed)
}

#[test]
fn a_saved_key_file_with_its_passphrase_in_the_keychain_passes_test_connection() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let key = sshd.encrypted_key();
    let draft = key_draft(&sshd, &key, Some(KEY_PASSPHRASE));

    let v = destinations::save(&c, &s, &SystemClock, dir.path(), &draft).unwrap();
    assert!(
        v.passphrase_stored && v.key_has_passphrase && !v.password_stored,
        "{v:?}"
    );
    assert_eq!(v.key_path.as_deref(), key.to_str());
    let engine_dest = SftpDestination::new(
        "127.0.0.1",
        sshd.port(),
        TEST_USER,
        SftpAuth::KeyFile {
            path: key.clone(),
            has_passphrase: true,
        },
        "",
    )
    .unwrap();
    assert_eq!(
        s.get(&engine_dest.passphrase_key())
            .unwrap()
            .map(|p| p.expose().clone())
            .as_deref(),
        Some(KEY_PASSPHRASE),
        "the passphrase is filed where opening the destination reads it"
    );
    assert_eq!(s.get(&engine_dest.password_key()).unwrap(), None);
    let catalog_row = format!("{:?} {v:?}", c.list_destinations().unwrap());
    assert!(
        !catalog_row.contains(KEY_PASSPHRASE),
        "no passphrase in the catalog or the view"
    );

    // Reopened with the passphrase field left empty: the keychain's passphrase logs in.
    let r = destinations::test(&c, &s, dir.path(), &reopened(draft.clone(), &v)).unwrap();
    assert!(
        all_passed(&r),
        "a key file whose passphrase is in the keychain must pass: {r:?}"
    );
    assert!(
        sshd.area().join("keyed").is_dir(),
        "the test created the folder"
    );

    // A wrong passphrase (typed, then saved) is refused with the key-file message.
    let wrong = DestinationDraft {
        passphrase: Some(Sensitive::new("not the passphrase".into())),
        ..reopened(draft.clone(), &v)
    };
    for stored in [false, true] {
        let r = if stored {
            destinations::save(&c, &s, &SystemClock, dir.path(), &wrong).unwrap();
            destinations::test(&c, &s, dir.path(), &reopened(draft.clone(), &v)).unwrap()
        } else {
            destinations::test(&c, &s, dir.path(), &wrong).unwrap()
        };
        assert!(!r.ok && r.trust.is_none(), "{r:?}");
        assert_eq!(r.steps[0].status, StepStatus::Failed, "{r:?}");
        let f = r.failure.expect("a failure message");
        assert_eq!(f.code, ErrorKind::StorageAuth, "{}", f.message);
        assert!(
            f.message.contains("connect and log in")
                && f.message.contains(&key.display().to_string())
                && f.message.contains("could not be unlocked")
                && f.message.contains("passphrase"),
            "the message names the step, the key file and its passphrase: {}",
            f.message
        );
        assert!(!f.message.contains("not the passphrase"), "{}", f.message);
    }
}

#[test]
fn a_key_file_without_a_passphrase_needs_no_secret() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let draft = key_draft(&sshd, &sshd.plain_key(), None);
    let v = destinations::save(&c, &s, &SystemClock, dir.path(), &draft).unwrap();
    assert!(!v.passphrase_stored && !v.password_stored, "{v:?}");
    assert!(s.is_empty(), "nothing to keep in the keychain");
    let r = destinations::test(&c, &s, dir.path(), &reopened(draft, &v)).unwrap();
    assert!(all_passed(&r), "{r:?}");
}

#[test]
fn implicit_ftps_is_offered_for_trust_then_passes() {
    let server = Vsftpd::start(FtpTls::Implicit);
    let pki = server.pki().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let draft = DestinationDraft {
        name: "Old NAS".into(),
        kind: DestinationKind::Ftps,
        host: Some("127.0.0.1".into()),
        port: Some(server.port()),
        user_name: Some(server.user().into()),
        folder: "implicit".into(),
        password: Some(Sensitive::new(server.password().to_string())),
        implicit_tls: true,
        ..Default::default()
    };
    let r = destinations::test(&c, &s, dir.path(), &draft).unwrap();
    let prompt = r
        .trust
        .expect("the certificate, read over TLS from the first byte, is offered");
    assert_eq!(prompt.fingerprint, pki.fingerprint());

    let v = destinations::save(&c, &s, &SystemClock, dir.path(), &draft).unwrap();
    assert!(v.implicit_tls && !v.unencrypted, "{v:?}");
    let v = destinations::trust(&c, &s, dir.path(), v.id.into(), &prompt.fingerprint).unwrap();
    let saved = DestinationDraft {
        id: Some(v.id.into()),
        pinned_fingerprint: v.pinned_fingerprint.clone(),
        password: None,
        ..draft
    };
    let r = destinations::test(&c, &s, dir.path(), &saved).unwrap();
    assert!(all_passed(&r), "{r:?}");
    assert!(server.home().join("implicit").is_dir());
}
