//! The SFTP destination against a real OpenSSH sshd (see `bc_tests::harness::Sshd`): logins,
//! host keys, what ends up on the server's disk, (in `storage_sftp/failures.rs`) what happens
//! when the server, the disk, the network or the backup itself fails, and (in
//! `storage_sftp/download.rs`) downloads. Needs root and
//! openssh-server; fails (never skips) without them.

#[path = "storage_sftp/download.rs"]
mod download;
#[path = "storage_sftp/failures.rs"]
mod failures;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use backup_center_engine::secrets::{MemoryStore, SecretStore, Sensitive};
use backup_center_engine::storage::names::is_temporary_name;
use backup_center_engine::storage::sftp::{SftpAuth, SftpDestination, SftpSession, Timeouts};
use backup_center_engine::storage::{test_connection, CheckStep, Destination, RemotePath, Session};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{Sshd, KEY_PASSPHRASE, TEST_PASSWORD, TEST_USER};
use bc_tests::storage::{content, entries, path, sha, snapshot_name, temporaries, MIB};
use chrono::Utc;

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        io: Duration::from_secs(10),
    }
}

/// A password destination on `folder` with the server's key trusted, and its keychain.
fn password_dest(sshd: &Sshd, folder: &str) -> (SftpDestination, MemoryStore) {
    let dest = SftpDestination::new(
        "127.0.0.1",
        sshd.port(),
        TEST_USER,
        SftpAuth::Password,
        folder,
    )
    .unwrap()
    .with_host_key(&sshd.host_key_sha256())
    .unwrap()
    .with_timeouts(quick());
    let secrets = MemoryStore::new();
    secrets
        .set(
            &dest.password_key(),
            &Sensitive::new(TEST_PASSWORD.to_string()),
        )
        .unwrap();
    (dest, secrets)
}

fn key_dest(
    sshd: &Sshd,
    folder: &str,
    key: PathBuf,
    passphrase: Option<&str>,
) -> (SftpDestination, MemoryStore) {
    let auth = SftpAuth::KeyFile {
        path: key,
        has_passphrase: passphrase.is_some(),
    };
    let dest = SftpDestination::new("127.0.0.1", sshd.port(), TEST_USER, auth, folder)
        .unwrap()
        .with_host_key(&sshd.host_key_sha256())
        .unwrap()
        .with_timeouts(quick());
    let secrets = MemoryStore::new();
    if let Some(p) = passphrase {
        secrets
            .set(&dest.passphrase_key(), &Sensitive::new(p.to_string()))
            .unwrap();
    }
    (dest, secrets)
}

/// A session on `<area>/<sub>` (relative to the login directory), folder created.
fn ready(sshd: &Sshd, sub: &str) -> (SftpSession, PathBuf) {
    let (dest, secrets) = password_dest(sshd, &format!("{}/{sub}", sshd.area_in_home()));
    let mut s = dest.session(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    (s, sshd.area().join(sub))
}

/// Why opening `dest` failed (it must fail).
fn open_error(dest: &SftpDestination, secrets: &dyn SecretStore) -> backup_center_engine::Error {
    match dest.open(secrets) {
        Ok(_) => panic!("{} must refuse", dest.describe()),
        Err(e) => e,
    }
}

/// A session through the trait object, as the runner holds it, on `<area>/<sub>`.
fn open_dyn(sshd: &Sshd, sub: &str) -> Box<dyn Session> {
    let (dest, secrets) = password_dest(sshd, &format!("{}/{sub}", sshd.area_in_home()));
    let mut s = dest.open(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    s
}

#[test]
fn password_login_round_trip_is_byte_identical() {
    let sshd = Sshd::start();
    let (mut s, dir) = ready(&sshd, "Backups");
    // OpenSSH offers it; it is the cheaper cipher for both ends (see storage/sftp/mod.rs).
    assert_eq!(s.upload_cipher(), "aes128-gcm@openssh.com");
    let data = content(5 * MIB + 123);
    let name = snapshot_name(0);

    let stored = s
        .put(&path(&name), &mut &data[..], Some(data.len() as u64))
        .unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.size),
        (name.as_str(), data.len() as u64)
    );
    assert!(stored.modified.is_some());
    assert_eq!(
        sha(&fs::read(dir.join(&name)).unwrap()),
        sha(&data),
        "the stored backup must be byte-identical to what was sent"
    );
    assert!(temporaries(&dir).is_empty(), "no temporary may be left");

    let listed = s.list(&RemotePath::folder()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].size),
        (name.as_str(), data.len() as u64)
    );
    let usage = s.usage().unwrap();
    assert_eq!(usage.used, data.len() as u64);
    assert!(
        usage.disk_free.is_some_and(|f| f > 0),
        "statvfs@openssh.com gives free space: {usage:?}"
    );

    s.remove(&path(&name)).unwrap();
    assert!(s.list(&RemotePath::folder()).unwrap().is_empty());
    let again = s.remove(&path(&name)).unwrap_err();
    assert_eq!(again.kind, ErrorKind::NotFound, "{again:?}");
}

#[test]
fn key_logins_with_and_without_passphrase_work() {
    let sshd = Sshd::start();
    let folder = format!("{}/keys", sshd.area_in_home());
    let (plain, secrets) = key_dest(&sshd, &folder, sshd.plain_key(), None);
    let report = test_connection(&plain, &secrets);
    assert!(report.is_ok(), "{report:?}\n{}", sshd.log());
    assert_eq!(report.passed.len(), 6, "every check step passes");

    let (encrypted, secrets) = key_dest(&sshd, &folder, sshd.encrypted_key(), Some(KEY_PASSPHRASE));
    let mut s = encrypted.session(&secrets).unwrap();
    let data = content(MIB + 1);
    s.put(&path(&snapshot_name(1)), &mut &data[..], None)
        .unwrap();
    assert_eq!(s.list(&RemotePath::folder()).unwrap().len(), 1);
    assert_eq!(
        fs::read(sshd.area().join("keys").join(snapshot_name(1))).unwrap(),
        data
    );
    assert!(
        entries(&sshd.area().join("keys")).len() == 1,
        "the check's probe must be gone"
    );
}

#[test]
fn refused_logins_are_storage_auth_with_a_clear_message() {
    let sshd = Sshd::start();
    let folder = sshd.area_in_home();

    let (dest, secrets) = password_dest(&sshd, &folder);
    secrets
        .set(
            &dest.password_key(),
            &Sensitive::new("not the password".to_string()),
        )
        .unwrap();
    let e = open_error(&dest, &secrets);
    assert_eq!(e.kind, ErrorKind::StorageAuth, "{e:?}");
    assert!(
        e.message().starts_with(&format!(
            "The SFTP server {TEST_USER}@127.0.0.1:{} refused the password for {TEST_USER}.",
            sshd.port()
        )),
        "{}",
        e.message()
    );
    assert!(
        !e.log_line().contains("not the password"),
        "a password must never be logged"
    );

    let (dest, secrets) = key_dest(
        &sshd,
        &folder,
        sshd.encrypted_key(),
        Some("wrong passphrase"),
    );
    let e = open_error(&dest, &secrets);
    assert_eq!(e.kind, ErrorKind::StorageAuth, "{e:?}");
    assert!(
        e.message()
            .contains("could not be unlocked: the passphrase in the keychain is wrong"),
        "{}",
        e.message()
    );
    assert!(!e.log_line().contains("wrong passphrase"));

    let (dest, secrets) = key_dest(&sshd, &folder, sshd.encrypted_key(), None);
    let e = open_error(&dest, &secrets);
    assert_eq!(e.kind, ErrorKind::StorageAuth);
    assert!(
        e.message().contains("it needs a passphrase (none is set)"),
        "{}",
        e.message()
    );

    let stranger = tempfile::tempdir().unwrap();
    let key = stranger.path().join("id_ed25519");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let (dest, secrets) = key_dest(&sshd, &folder, key.clone(), None);
    let e = open_error(&dest, &secrets);
    assert_eq!(e.kind, ErrorKind::StorageAuth, "{e:?}");
    assert!(
        e.message()
            .contains(&format!("refused the key {}", key.display()))
            && e.message().contains("authorized_keys"),
        "{}",
        e.message()
    );

    let (dest, _) = password_dest(&sshd, &folder);
    let e = open_error(&dest, &MemoryStore::new());
    assert_eq!(e.kind, ErrorKind::SecretMissing, "{e:?}");
    assert!(
        e.message().contains("is not in the system keychain"),
        "{}",
        e.message()
    );
}

#[test]
fn an_unknown_host_key_is_refused_with_the_ssh_keygen_fingerprint() {
    let sshd = Sshd::start();
    let expected = sshd.host_key_sha256();
    assert!(
        sshd.host_key_line().ends_with("(ED25519)"),
        "{}",
        sshd.host_key_line()
    );
    let dest = SftpDestination::new("127.0.0.1", sshd.port(), TEST_USER, SftpAuth::Password, "")
        .unwrap()
        .with_timeouts(quick());

    let key = dest.host_key().unwrap();
    assert_eq!(
        key.sha256, expected,
        "the fingerprint must equal what ssh-keygen -lf prints"
    );
    assert_eq!(key.key_type, "ED25519");

    // No password is needed (or read) to be told about the key.
    let e = open_error(&dest, &MemoryStore::new());
    assert_eq!(e.kind, ErrorKind::Tls, "{e:?}");
    assert!(
        e.message().contains(&format!(
            "Its ED25519 host key has the fingerprint {expected}."
        )),
        "{}",
        e.message()
    );
    assert!(e.context().contains(&("host_key_sha256", expected.clone())));

    let (pinned, secrets) = password_dest(&sshd, "");
    assert_eq!(pinned.trusted_host_key(), Some(expected.as_str()));
    pinned.open(&secrets).expect("the trusted key connects");
}

#[test]
fn a_changed_host_key_is_refused_before_any_password_is_sent() {
    let mut sshd = Sshd::start();
    let (dest, secrets) = password_dest(&sshd, "");
    dest.open(&secrets).expect("the trusted key connects");
    let old = sshd.host_key_sha256();
    sshd.replace_host_key();
    let new = sshd.host_key_sha256();
    assert_ne!(old, new);
    let logins_before = sshd.log().matches("password for").count();

    let e = open_error(&dest, &secrets);
    assert_eq!(e.kind, ErrorKind::Tls, "{e:?}");
    assert!(
        !e.is_transient(),
        "a changed key must not be retried as if it were a glitch"
    );
    assert!(
        e.message().starts_with("The server's host key has changed"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("possible man-in-the-middle attack"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains(&old) && e.message().contains(&new),
        "{}",
        e.message()
    );
    assert_eq!(
        sshd.log().matches("password for").count(),
        logins_before,
        "no password may be sent to a server whose key changed:\n{}",
        sshd.log()
    );

    let repinned = dest.with_host_key(&new).unwrap();
    repinned
        .open(&secrets)
        .expect("the newly trusted key connects");
}

#[test]
fn spaces_and_unicode_work_in_relative_and_absolute_folders() {
    let sshd = Sshd::start();
    let sub = "Jira Backups/Überblick 日本";
    let data = content(300_000);
    for folder in [
        format!("{}/{sub}", sshd.area_in_home()),
        format!("{}/abs/{sub}", sshd.area().display()),
    ] {
        let (dest, secrets) = password_dest(&sshd, &folder);
        assert!(folder.starts_with('/') == dest.folder().is_absolute());
        let mut s = dest.session(&secrets).unwrap();
        s.create_dir_all(&path("Année 2026/März")).unwrap();
        let name = snapshot_name(2);
        s.put(&path(&name), &mut &data[..], None).unwrap();
        let odd = path("Année 2026/März/Résumé du projet – 日本語.zip");
        s.put(&odd, &mut &b"xyz"[..], None).unwrap();

        let on_disk = if folder.starts_with('/') {
            PathBuf::from(&folder)
        } else {
            sshd.user().home.join(&folder)
        };
        assert_eq!(fs::read(on_disk.join(&name)).unwrap(), data, "{folder}");
        assert_eq!(
            fs::read(on_disk.join("Année 2026/März/Résumé du projet – 日本語.zip")).unwrap(),
            b"xyz"
        );
        assert_eq!(s.list(&RemotePath::folder()).unwrap()[0].name, name);
        assert!(
            dest.describe().contains("Überblick 日本"),
            "{}",
            dest.describe()
        );
        s.remove(&odd).unwrap();
    }
}

#[test]
fn put_never_overwrites_and_rename_refuses_an_existing_name() {
    let sshd = Sshd::start();
    let (mut s, dir) = ready(&sshd, "Backups");
    let name = snapshot_name(3);
    s.put(&path(&name), &mut &b"the first backup"[..], None)
        .unwrap();
    let e = s
        .put(&path(&name), &mut &b"a second one"[..], None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageConflict, "{e:?}");
    assert!(e
        .message()
        .ends_with("already exists. Backup Center never overwrites a backup."));
    assert_eq!(fs::read(dir.join(&name)).unwrap(), b"the first backup");

    let other = snapshot_name(4);
    s.put(&path(&other), &mut &b"x"[..], None).unwrap();
    let e = s.rename(&path(&other), &path(&name)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageConflict, "{e:?}");
    assert_eq!(fs::read(dir.join(&name)).unwrap(), b"the first backup");
    let e = s.rename(&path("nope.zip"), &path("nope2.zip")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    s.rename(&path(&other), &path(&snapshot_name(5))).unwrap();
    assert_eq!(entries(&dir), vec![snapshot_name(3), snapshot_name(5)]);
    assert!(temporaries(&dir).is_empty());
}

#[test]
fn a_folder_without_permission_fails_the_check_at_the_write_step() {
    let sshd = Sshd::start();
    sshd.root_owned_folder("locked");
    let (dest, secrets) = password_dest(&sshd, &format!("{}/locked", sshd.area_in_home()));
    let report = test_connection(&dest, &secrets);
    assert_eq!(
        report.passed,
        vec![CheckStep::Connect, CheckStep::CreateFolder]
    );
    let (step, e) = report.failed.as_ref().expect("the check must fail");
    assert_eq!(*step, CheckStep::WriteProbe);
    assert_eq!(e.kind, ErrorKind::StoragePermission, "{e:?}");
    let e = report.into_result().unwrap_err();
    assert!(
        e.message().starts_with(&format!(
            "Test connection failed at \"write a test file\": Backup Center may not write to \
             {}: permission denied",
            dest.describe()
        )),
        "{}",
        e.message()
    );

    let (below, secrets) = password_dest(&sshd, &format!("{}/locked/new", sshd.area_in_home()));
    let report = test_connection(&below, &secrets);
    let (step, e) = report.failed.expect("the check must fail");
    assert_eq!(step, CheckStep::CreateFolder);
    assert_eq!(e.kind, ErrorKind::StoragePermission, "{e:?}");
    assert!(
        e.message()
            .starts_with("Backup Center may not create the folder"),
        "{}",
        e.message()
    );

    // A part of the folder that is a file.
    fs::write(sshd.area().join("a-file"), b"x").unwrap();
    let (dest, secrets) = password_dest(&sshd, &format!("{}/a-file/sub", sshd.area_in_home()));
    let (step, e) = test_connection(&dest, &secrets).failed.expect("must fail");
    assert_eq!(
        (step, e.kind),
        (CheckStep::CreateFolder, ErrorKind::StoragePath),
        "{e:?}"
    );
    assert!(
        e.message().contains("is a file, not a folder"),
        "{}",
        e.message()
    );
    assert!(entries(sshd.area()).iter().all(|n| !is_temporary_name(n)));
}

#[test]
fn ten_thousand_files_are_listed_and_foreign_files_left_alone() {
    let sshd = Sshd::start();
    let (mut s, dir) = ready(&sshd, "many");
    let mut expected = Vec::new();
    for i in 0..10_000u32 {
        let name = snapshot_name(i);
        fs::write(dir.join(&name), i.to_le_bytes()).unwrap();
        expected.push(name);
        if i % 100 == 0 {
            fs::write(dir.join(format!("foreign-{i}.txt")), b"x").unwrap();
        }
    }
    expected.sort();
    let foreign = [
        "notes.txt",
        "acme-basic-2026-11-22_0300.zip.bak",
        ".notes.txt.part-0123456789abcdef",
    ];
    for f in foreign {
        fs::write(dir.join(f), b"someone else's").unwrap();
    }
    fs::create_dir(dir.join(snapshot_name(20_000))).unwrap();

    let started = Instant::now();
    let listed = s.list(&RemotePath::folder()).unwrap();
    let took = started.elapsed();
    let names: Vec<&str> = listed.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names, expected,
        "every snapshot once, sorted, no foreign file or folder"
    );
    assert!(listed.iter().all(|f| f.size == 4 && f.modified.is_some()));
    assert!(
        took < Duration::from_secs(20),
        "listing 10,000 files took {took:?}"
    );
    assert_eq!(s.usage().unwrap().used, 40_000, "only our files count");

    let removed = s
        .cleanup_temporaries(
            &RemotePath::folder(),
            Utc::now() + chrono::Duration::days(1),
        )
        .unwrap();
    assert_eq!(removed, 0, "a stranger's .part file is not ours");
    for f in foreign {
        assert_eq!(
            fs::read(dir.join(f)).unwrap(),
            b"someone else's",
            "{f} must be untouched"
        );
    }
}
