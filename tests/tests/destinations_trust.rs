//! Trust on first use through the Configuration use cases (`backup_center_engine::destinations`,
//! what the app's `test_destination` and `trust_destination_fingerprint` commands call), against
//! a real OpenSSH sshd and vsftpd: Test connection on an unknown server answers with the
//! fingerprint to compare, trusting it pins it and the next test passes every step, and a
//! changed key is flagged as changed. Plain FTP is flagged unencrypted. Needs root,
//! openssh-server and vsftpd; fails (never skips) without them.

use backup_center_engine::catalog::destinations::DestinationKind;
use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::SystemClock;
use backup_center_engine::destinations::{
    self, DestinationDraft, StepStatus, TestStep, TrustSubject,
};
use backup_center_engine::secrets::{MemoryStore, Sensitive};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{FtpTls, Sshd, Vsftpd, TEST_PASSWORD, TEST_USER};

fn draft(
    kind: DestinationKind,
    port: u16,
    user: &str,
    password: &str,
    folder: &str,
) -> DestinationDraft {
    DestinationDraft {
        id: None,
        name: format!("{kind:?} server"),
        kind,
        host: Some("127.0.0.1".into()),
        port: Some(port),
        user_name: Some(user.into()),
        folder: folder.into(),
        quota_bytes: None,
        pinned_fingerprint: None,
        password: Some(Sensitive::new(password.to_string())),
        ..Default::default()
    }
}

/// The draft of a saved destination as the form sends it back: its id and pin, no password.
fn saved(mut d: DestinationDraft, v: &destinations::DestinationView) -> DestinationDraft {
    d.id = Some(v.id.into());
    d.pinned_fingerprint = v.pinned_fingerprint.clone();
    d.password = None;
    d
}

#[test]
fn an_unknown_sftp_host_key_is_offered_then_pinned_and_a_changed_one_is_flagged() {
    let mut sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let folder = format!("{}/trusted", sshd.area_in_home());
    let d = draft(
        DestinationKind::Sftp,
        sshd.port(),
        TEST_USER,
        TEST_PASSWORD,
        &folder,
    );

    let r = destinations::test(&c, &s, dir.path(), &d).unwrap();
    assert!(!r.ok && !r.unencrypted, "{r:?}");
    assert_eq!(
        (r.steps[0].step, r.steps[0].status),
        (TestStep::Connect, StepStatus::Failed)
    );
    assert_eq!(r.failure.as_ref().unwrap().code, ErrorKind::Tls);
    let prompt = r
        .trust
        .expect("an unknown host key must be offered for trust");
    assert_eq!(prompt.subject, TrustSubject::SshHostKey);
    assert_eq!(
        prompt.fingerprint,
        sshd.host_key_sha256(),
        "the fingerprint must be the one `ssh-keygen -lf` prints on the server"
    );
    assert!(!prompt.changed);
    assert!(s.is_empty(), "testing must not save the password");

    let v = destinations::save(&c, &s, &SystemClock, dir.path(), &d).unwrap();
    assert_eq!(v.pinned_fingerprint, None);
    let v = destinations::trust(&c, &s, dir.path(), v.id.into(), &prompt.fingerprint).unwrap();
    assert_eq!(
        v.pinned_fingerprint.as_deref(),
        Some(prompt.fingerprint.as_str())
    );
    let r = destinations::test(&c, &s, dir.path(), &saved(d.clone(), &v)).unwrap();
    assert!(
        r.ok,
        "a trusted server with the stored password must pass: {r:?}"
    );
    assert!(
        r.steps.iter().all(|s| s.status == StepStatus::Passed),
        "{r:?}"
    );
    assert!(
        sshd.area().join("trusted").is_dir(),
        "the test created the folder"
    );

    sshd.replace_host_key();
    let r = destinations::test(&c, &s, dir.path(), &saved(d, &v)).unwrap();
    let prompt = r.trust.expect("a changed key must be shown");
    assert!(prompt.changed, "{prompt:?}");
    assert_eq!(prompt.fingerprint, sshd.host_key_sha256());
    let f = r.failure.unwrap();
    assert!(f.message.contains("man-in-the-middle"), "{}", f.message);
}

#[test]
fn an_untrusted_ftps_certificate_is_offered_and_plain_ftp_is_flagged_unencrypted() {
    let server = Vsftpd::start(FtpTls::Explicit);
    let pki = server.pki().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let d = draft(
        DestinationKind::Ftps,
        server.port(),
        server.user(),
        server.password(),
        "t",
    );
    let r = destinations::test(&c, &s, dir.path(), &d).unwrap();
    let prompt = r
        .trust
        .expect("a certificate of an unknown authority must be offered");
    assert_eq!(
        (prompt.subject, prompt.fingerprint.as_str(), prompt.changed),
        (
            TrustSubject::TlsCertificate,
            pki.fingerprint().as_str(),
            false
        )
    );
    let v = destinations::save(&c, &s, &SystemClock, dir.path(), &d).unwrap();
    let v = destinations::trust(&c, &s, dir.path(), v.id.into(), &prompt.fingerprint).unwrap();
    let r = destinations::test(&c, &s, dir.path(), &saved(d, &v)).unwrap();
    assert!(r.ok && !r.unencrypted, "{r:?}");

    let plain = Vsftpd::start(FtpTls::None);
    let d = draft(
        DestinationKind::Ftp,
        plain.port(),
        plain.user(),
        plain.password(),
        "p",
    );
    let r = destinations::test(&c, &s, dir.path(), &d).unwrap();
    assert!(r.ok && r.unencrypted && r.trust.is_none(), "{r:?}");
    let v = destinations::save(&c, &s, &SystemClock, dir.path(), &d).unwrap();
    assert!(v.unencrypted && v.location.contains("unencrypted"), "{v:?}");
}
