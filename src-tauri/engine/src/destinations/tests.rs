use super::check::trust_prompt;
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::secrets::MemoryStore;
use crate::storage::sftp::{hostkey, HostKeyInfo};
use std::path::Path;

const KEY_SHA256: &str = "SHA256:ly7ZUqLz07z4iVtOinaKygi9P1FN9Isms/MGUO7S9OY";

fn clock() -> ManualClock {
    ManualClock::new("2026-03-01T10:00:00Z".parse().unwrap())
}

fn local(name: &str, folder: &str) -> DestinationDraft {
    DestinationDraft {
        id: None,
        name: name.into(),
        kind: DestinationKind::Local,
        host: Some("ignored for a folder".into()),
        port: None,
        user_name: None,
        folder: folder.into(),
        quota_bytes: Some(1_000_000),
        pinned_fingerprint: None,
        password: None,
        ..Default::default()
    }
}

fn sftp(name: &str, host: &str, password: Option<&str>) -> DestinationDraft {
    DestinationDraft {
        id: None,
        name: name.into(),
        kind: DestinationKind::Sftp,
        host: Some(host.into()),
        port: None,
        user_name: Some("backup".into()),
        folder: "jira".into(),
        quota_bytes: None,
        pinned_fingerprint: None,
        password: password.map(|p| Sensitive::new(p.to_string())),
        ..Default::default()
    }
}

/// An SFTP draft logging in with the key file `path`, with `passphrase` typed.
fn sftp_key(name: &str, host: &str, path: &Path, passphrase: Option<&str>) -> DestinationDraft {
    DestinationDraft {
        sftp_login: SftpLogin::KeyFile,
        key_path: Some(path.display().to_string()),
        key_has_passphrase: passphrase.is_some(),
        passphrase: passphrase.map(|p| Sensitive::new(p.to_string())),
        ..sftp(name, host, None)
    }
}

fn passphrase(store: &MemoryStore, host: &str) -> Option<String> {
    let key = SecretKey::sftp_key_passphrase(host, 22, "backup");
    store.get(&key).unwrap().map(|s| s.expose().clone())
}

fn secret(store: &MemoryStore, account: &str) -> Option<String> {
    let key = SecretKey::sftp_password(
        account
            .split('@')
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap(),
        22,
        "backup",
    );
    assert_eq!(key.account(), format!("sftp-password:{account}"));
    store.get(&key).unwrap().map(|s| s.expose().clone())
}

#[test]
fn a_local_folder_is_saved_tested_and_measured() {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let v = save(&c, &s, &clock(), dir.path(), &local(" Disk ", "Backups")).unwrap();
    assert_eq!(v.name, "Disk", "names are trimmed");
    assert_eq!(v.host, None, "a folder keeps no server fields");
    assert!(!v.password_stored && !v.unencrypted);
    assert!(v.location.contains("Backups"), "{}", v.location);
    assert!(s.is_empty(), "a folder has no password");

    let report = test(&c, &s, dir.path(), &local("Disk", "Backups")).unwrap();
    assert!(report.ok, "{report:?}");
    assert!(report.steps.iter().all(|r| r.status == StepStatus::Passed));
    assert_eq!(report.steps.len(), 6);
    assert!(dir.path().join("Backups").is_dir());

    std::fs::write(
        dir.path()
            .join("Backups/acme.atlassian.net-basic-2026-03-01_0000.zip"),
        vec![0u8; 1234],
    )
    .unwrap();
    // A scheme's folder below the destination's counts too.
    std::fs::create_dir_all(dir.path().join("Backups/acme")).unwrap();
    std::fs::write(
        dir.path()
            .join("Backups/acme/acme.atlassian.net-basic-2026-03-02_0000.zip"),
        vec![0u8; 766],
    )
    .unwrap();
    c.insert_site("https://acme.atlassian.net", "a@b.co", clock().now())
        .unwrap();
    let scheme = crate::schemes::validate(
        &crate::schemes::SchemeInput {
            name: "N".into(),
            site_id: Some(1),
            kind: Some(crate::snapshot::SnapshotKind::Basic),
            days: vec![crate::schedule::Day::Monday],
            destination_id: Some(v.id),
            folder: "acme".into(),
            ..Default::default()
        },
        &crate::schemes::SchemeContext {
            existing: &[],
            site_time_zone: None,
            computer_time_zone: chrono_tz::UTC,
        },
    )
    .unwrap();
    let scheme = c.insert_scheme(&scheme, clock().now()).unwrap();
    let u = usage(&c, &s, dir.path()).unwrap();
    assert_eq!(u.len(), 1);
    assert_eq!(
        (u[0].used, u[0].quota, u[0].files),
        (2000, Some(1_000_000), 0),
        "the destination folder and the scheme's folder below it"
    );
    assert!(u[0].free.is_some(), "a local disk reports its free space");

    assert_eq!(list(&c, &s, dir.path()).unwrap(), vec![v.clone()]);
    c.delete_scheme(scheme.id).unwrap();
    delete(&c, &s, i64::from(v.id)).unwrap();
    assert!(list(&c, &s, dir.path()).unwrap().is_empty());
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let key = dir.path().join("id_ed25519");
    std::fs::write(&key, "not read when saving").unwrap();
    let no_passphrase = DestinationDraft {
        key_has_passphrase: true,
        ..sftp_key("NAS", "nas", &key, None)
    };
    let cases = [
        (local("", "x"), Some("name"), "Enter a name"),
        (local("a\nb", "x"), Some("name"), "line breaks"),
        (local("Disk", "../etc"), None, "\"..\" is not allowed"),
        (sftp("NAS", "", Some("pw")), None, "has no server"),
        (
            sftp("NAS", "nas", None),
            Some("password"),
            "Enter the password",
        ),
        (
            sftp_key("NAS", "nas", Path::new(""), None),
            Some("keyPath"),
            "Private key file: enter the full path",
        ),
        (
            sftp_key("NAS", "nas", Path::new("id_ed25519"), None),
            Some("keyPath"),
            "\"id_ed25519\" is not a full path",
        ),
        (
            sftp_key("NAS", "nas", &dir.path().join("missing"), None),
            Some("keyPath"),
            "missing does not exist on this computer",
        ),
        (
            sftp_key("NAS", "nas", dir.path(), None),
            Some("keyPath"),
            "is a folder",
        ),
        (
            sftp_key("NAS", "nas", &key.with_extension("pub"), None),
            Some("keyPath"),
            "the public half",
        ),
        (no_passphrase, Some("passphrase"), "Key passphrase: enter"),
    ];
    for (draft, field, want) in cases {
        let e = save(&c, &s, &clock(), dir.path(), &draft).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput, "{}", e.message());
        assert!(e.message().contains(want), "{want}: {}", e.message());
        assert_eq!(e.field(), field, "{}", e.message());
        if field != Some("passphrase") && draft.sftp_login == SftpLogin::KeyFile {
            let t = test(&c, &s, dir.path(), &draft).unwrap_err();
            assert_eq!(t.message(), e.message(), "Test connection checks the same");
        }
    }
    let mut bad_pin = sftp("NAS", "nas", Some("pw"));
    bad_pin.pinned_fingerprint = Some("MD5:aa:bb".into());
    assert!(save(&c, &s, &clock(), dir.path(), &bad_pin).is_err());
    assert!(
        c.list_destinations().unwrap().is_empty(),
        "nothing half-saved"
    );
    assert!(s.is_empty());
}

#[test]
fn the_password_lives_in_the_keychain_and_moves_with_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let v = save(
        &c,
        &s,
        &clock(),
        dir.path(),
        &sftp("NAS", "nas", Some("pw1")),
    )
    .unwrap();
    assert!(v.password_stored);
    assert_eq!(secret(&s, "backup@nas:22").as_deref(), Some("pw1"));
    assert!(!format!("{v:?}").contains("pw1"), "no password in the view");
    // A second destination on the same server and user shares the password.
    let other = save(&c, &s, &clock(), dir.path(), &{
        let mut d = sftp("NAS archive", "nas", None);
        d.password = Some(Sensitive::new("pw1".into()));
        d
    })
    .unwrap();

    // Edit without retyping the password, on another server: the password moves, and the old
    // entry stays because "NAS archive" still uses it.
    let mut edit = sftp("NAS", "nas2", None);
    edit.id = Some(v.id.into());
    let v2 = save(&c, &s, &clock(), dir.path(), &edit).unwrap();
    assert!(v2.password_stored);
    assert_eq!(secret(&s, "backup@nas2:22").as_deref(), Some("pw1"));
    assert_eq!(secret(&s, "backup@nas:22").as_deref(), Some("pw1"));

    // A refused save (the name is taken) leaves the keychain as it was.
    let mut clash = edit.clone();
    clash.name = "NAS archive".into();
    clash.password = Some(Sensitive::new("typed for nothing".into()));
    let e = save(&c, &s, &clock(), dir.path(), &clash).unwrap_err();
    assert!(e.message().contains("already exists"), "{}", e.message());
    assert_eq!(secret(&s, "backup@nas2:22").as_deref(), Some("pw1"));

    // Deleting the last user of a password removes it.
    delete(&c, &s, other.id.into()).unwrap();
    assert_eq!(secret(&s, "backup@nas:22"), None);
    // A new password replaces the stored one.
    edit.password = Some(Sensitive::new("pw2".into()));
    save(&c, &s, &clock(), dir.path(), &edit).unwrap();
    assert_eq!(secret(&s, "backup@nas2:22").as_deref(), Some("pw2"));
    delete(&c, &s, v.id.into()).unwrap();
    assert!(s.is_empty(), "no password outlives its destinations");
}

#[test]
fn fingerprints_are_trusted_normalised_and_only_where_they_mean_something() {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let v = save(
        &c,
        &s,
        &clock(),
        dir.path(),
        &sftp("NAS", "nas", Some("pw")),
    )
    .unwrap();
    let body = KEY_SHA256.strip_prefix("SHA256:").unwrap();
    let t = trust(&c, &s, dir.path(), v.id.into(), &format!(" {body}= ")).unwrap();
    assert_eq!(t.pinned_fingerprint.as_deref(), Some(KEY_SHA256));

    let disk = save(&c, &s, &clock(), dir.path(), &local("Disk", "b")).unwrap();
    let e = trust(&c, &s, dir.path(), disk.id.into(), KEY_SHA256).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    let cert = normalize_pin(DestinationKind::Ftps, &"ab".repeat(32)).unwrap();
    assert!(cert.starts_with("AB:AB:"), "{cert}");
}

#[test]
fn a_refusal_carries_the_fingerprint_to_trust() {
    let blob = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        "AAAAC3NzaC1lZDI1NTE5AAAAIGjireDtb5UOLAFbvKzcXjS4SjcnCOxvSU4Nv0/HICLI",
    )
    .unwrap();
    let key = HostKeyInfo::from_blob(&blob);
    let unknown = hostkey::verify(None, &key, "backup@nas:22").unwrap_err();
    let p = trust_prompt(DestinationKind::Sftp, &unknown).unwrap();
    assert_eq!(
        (p.subject, p.fingerprint.as_str(), p.changed),
        (TrustSubject::SshHostKey, KEY_SHA256, false)
    );
    let other = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
    let changed = hostkey::verify(Some(other), &key, "backup@nas:22").unwrap_err();
    assert!(
        trust_prompt(DestinationKind::Sftp, &changed)
            .unwrap()
            .changed
    );
    let tls = Error::new(ErrorKind::Tls, "not trusted").with_context("fingerprint", "AB:CD");
    let p = trust_prompt(DestinationKind::Ftps, &tls).unwrap();
    assert_eq!(
        (p.subject, p.changed),
        (TrustSubject::TlsCertificate, false)
    );
    assert_eq!(
        trust_prompt(DestinationKind::Ftps, &Error::internal("x")),
        None
    );
}

#[test]
fn a_server_that_refuses_fails_at_connect_and_plain_ftp_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let draft = DestinationDraft {
        kind: DestinationKind::Ftp,
        host: Some("127.0.0.1".into()),
        port: Some(port),
        ..sftp("FTP", "x", Some("typed, never saved"))
    };
    let r = test(&c, &s, dir.path(), &draft).unwrap();
    assert!(!r.ok && r.unencrypted);
    assert_eq!(r.steps[0].status, StepStatus::Failed);
    assert!(r.steps[1..].iter().all(|x| x.status == StepStatus::Skipped));
    let f = r.failure.unwrap();
    assert_eq!(f.code, ErrorKind::Unreachable, "{}", f.message);
    assert!(f.message.contains("connect and log in"), "{}", f.message);
    assert!(s.is_empty(), "testing saves no password");
    assert!(
        c.list_destinations().unwrap().is_empty(),
        "testing saves nothing"
    );
}

#[test]
fn a_key_passphrase_lives_in_the_keychain_and_is_kept_when_left_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let key = dir.path().join("id_ed25519");
    std::fs::write(&key, "a key").unwrap();
    let v = save(
        &c,
        &s,
        &clock(),
        dir.path(),
        &sftp_key("NAS", "nas", &key, Some("secret phrase")),
    )
    .unwrap();
    assert_eq!(
        (v.sftp_login, v.key_path.as_deref(), v.key_has_passphrase),
        (SftpLogin::KeyFile, Some(key.to_str().unwrap()), true)
    );
    assert!(v.passphrase_stored && !v.password_stored, "{v:?}");
    assert_eq!(passphrase(&s, "nas").as_deref(), Some("secret phrase"));
    assert_eq!(
        secret(&s, "backup@nas:22"),
        None,
        "no password for a key login"
    );
    let row = format!("{:?} {v:?}", c.list_destinations().unwrap());
    assert!(
        !row.contains("secret phrase"),
        "no passphrase in the catalog or the view"
    );

    // Edited with the field left empty: the stored passphrase stays, and moves with the server.
    let mut edit = sftp_key("NAS", "nas2", &key, None);
    edit.id = Some(v.id.into());
    edit.key_has_passphrase = true;
    let v2 = save(&c, &s, &clock(), dir.path(), &edit).unwrap();
    assert!(v2.passphrase_stored);
    assert_eq!(passphrase(&s, "nas2").as_deref(), Some("secret phrase"));
    assert_eq!(
        passphrase(&s, "nas"),
        None,
        "the old entry has no user left"
    );

    // A passphrase never turns into a password: switching asks for the password.
    let mut to_password = sftp("NAS", "nas2", None);
    to_password.id = edit.id;
    let e = save(&c, &s, &clock(), dir.path(), &to_password).unwrap_err();
    assert_eq!(e.field(), Some("password"), "{}", e.message());
    to_password.password = Some(Sensitive::new("pw".into()));
    let v3 = save(&c, &s, &clock(), dir.path(), &to_password).unwrap();
    assert!(v3.password_stored && !v3.passphrase_stored);
    assert_eq!(v3.key_path, None, "the key file is forgotten");
    assert_eq!(
        passphrase(&s, "nas2"),
        None,
        "the passphrase goes with its key"
    );

    // A key without a passphrase keeps no secret at all.
    let mut plain = sftp_key("NAS", "nas2", &key, None);
    plain.id = edit.id;
    let v4 = save(&c, &s, &clock(), dir.path(), &plain).unwrap();
    assert!(!v4.password_stored && !v4.passphrase_stored && !v4.key_has_passphrase);
    assert!(s.is_empty(), "the password went with the password login");
}

#[test]
fn implicit_ftps_is_kept_for_ftps_only_and_defaults_to_port_990() {
    let dir = tempfile::tempdir().unwrap();
    let (c, s) = (Catalog::open_in_memory().unwrap(), MemoryStore::new());
    let ftps = DestinationDraft {
        kind: DestinationKind::Ftps,
        implicit_tls: true,
        ..sftp("Old NAS", "nas", Some("pw"))
    };
    let v = save(&c, &s, &clock(), dir.path(), &ftps).unwrap();
    assert!(v.implicit_tls);
    assert!(
        v.location.starts_with("ftps://backup@nas:990/"),
        "{}",
        v.location
    );
    assert!(v.password_stored);

    let ftp = DestinationDraft {
        kind: DestinationKind::Ftp,
        name: "Plain".into(),
        ..ftps
    };
    let v = save(&c, &s, &clock(), dir.path(), &ftp).unwrap();
    assert!(!v.implicit_tls, "plain FTP has no TLS to start with");
    assert!(
        v.location.contains("ftp://backup@nas:21/"),
        "{}",
        v.location
    );
}
