//! The SFTP destination against a real OpenSSH sshd (see `bc_tests::harness::Sshd`): logins,
//! host keys, what ends up on the server's disk, and what happens when the server, the disk or
//! the network fails. Needs root and openssh-server; fails (never skips) without them.

use std::fs;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backup_center_engine::secrets::{MemoryStore, SecretStore, Sensitive};
use backup_center_engine::snapshot::{file_name, SnapshotKind};
use backup_center_engine::storage::names::{is_temporary_name, temporary_name};
use backup_center_engine::storage::sftp::{SftpAuth, SftpDestination, SftpSession, Timeouts};
use backup_center_engine::storage::{test_connection, CheckStep, Destination, RemotePath, Session};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{Sshd, KEY_PASSPHRASE, TEST_PASSWORD, TEST_USER};
use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

fn snapshot_name(minute: u32) -> String {
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
        + chrono::Duration::minutes(i64::from(minute));
    file_name("acme.atlassian.net", SnapshotKind::Basic, at)
}

fn path(name: &str) -> RemotePath {
    RemotePath::parse(name).unwrap()
}

/// Every byte value in order (CR, LF, NUL, 0xFF included), then bytes that do not compress.
fn content(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|i| {
            if i < 4 * 256 {
                return (i % 256) as u8;
            }
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn sha(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

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

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn temporaries(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.contains(".part-"))
        .collect()
}

/// Reads `data` in 64 KiB pieces and runs `hook` once `at` bytes have been read.
struct HookReader<'a> {
    data: &'a [u8],
    pos: usize,
    at: usize,
    hook: Option<Box<dyn FnOnce() + 'a>>,
}

impl Read for HookReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.at {
            if let Some(hook) = self.hook.take() {
                hook();
            }
        }
        let n = buf.len().min(64 * 1024).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn password_login_round_trip_is_byte_identical() {
    let sshd = Sshd::start();
    let (mut s, dir) = ready(&sshd, "Backups");
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
fn a_full_disk_is_storage_full_leaves_no_temporary_and_keeps_earlier_backups() {
    let mut sshd = Sshd::start();
    let disk = sshd.mount_tmpfs("small", 8);
    let (dest, secrets) = password_dest(&sshd, &format!("{}/small", sshd.area_in_home()));
    let mut s = dest.session(&secrets).unwrap();
    let earlier = content(2 * MIB);
    s.put(&path(&snapshot_name(0)), &mut &earlier[..], None)
        .unwrap();
    let usage = s.usage().unwrap();
    let free = usage.disk_free.expect("tmpfs free space via statvfs");
    assert!(
        free > 5 * MIB as u64 && free < 7 * MIB as u64,
        "8 MiB disk, 2 MiB used: {free}"
    );

    let big = content(20_000_000);
    // Size known: refused before a byte is sent.
    let e = s
        .put(&path(&snapshot_name(1)), &mut &big[..], Some(20_000_000))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageFull, "{e:?}");
    assert!(
        e.message()
            .starts_with("Not enough storage for this backup: 20.0 MB needed, 6."),
        "{}",
        e.message()
    );
    // Size unknown: the server's bare "failure" while streaming, explained by statvfs.
    let e = s
        .put(&path(&snapshot_name(2)), &mut &big[..], None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageFull, "{e:?}");
    assert!(
        e.message()
            .starts_with("Not enough storage for this backup: "),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("MB free"),
        "the free space is shown: {}",
        e.message()
    );

    assert!(
        temporaries(&disk).is_empty(),
        "a failed upload must not leave a temporary file"
    );
    assert_eq!(entries(&disk), vec![snapshot_name(0)]);
    assert_eq!(
        sha(&fs::read(disk.join(snapshot_name(0))).unwrap()),
        sha(&earlier)
    );
    assert_eq!(s.usage().unwrap().used, earlier.len() as u64);
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

#[test]
fn a_server_killed_mid_upload_fails_clearly_and_the_next_run_cleans_up() {
    let mut sshd = Sshd::start();
    let (dest, secrets) = password_dest(&sshd, &format!("{}/Backups", sshd.area_in_home()));
    let dir = sshd.area().join("Backups");
    let mut s = dest.session(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    let earlier = content(MIB);
    s.put(&path(&snapshot_name(0)), &mut &earlier[..], None)
        .unwrap();

    let data = content(24 * MIB);
    let started = Instant::now();
    let e = {
        let sshd = &mut sshd;
        let mut reader = HookReader {
            data: &data,
            pos: 0,
            at: 6 * MIB,
            hook: Some(Box::new(move || sshd.kill())),
        };
        s.put(&path(&snapshot_name(1)), &mut reader, None)
            .unwrap_err()
    };
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
    assert!(e.is_transient(), "the runner may retry a lost connection");
    assert!(
        e.message().starts_with(&format!(
            "Connection to storage failed: the connection to {TEST_USER}@127.0.0.1:{} was lost",
            sshd.port()
        )),
        "{}",
        e.message()
    );
    let again = s.list(&RemotePath::folder()).unwrap_err();
    assert_eq!(
        again.kind,
        ErrorKind::Unreachable,
        "a broken session refuses further calls"
    );
    drop(s);

    assert!(
        !dir.join(snapshot_name(1)).exists(),
        "no final file after a failed upload"
    );
    assert_eq!(
        fs::read(dir.join(snapshot_name(0))).unwrap(),
        earlier,
        "earlier backups untouched"
    );
    sshd.restart();
    let mut next = dest.session(&secrets).unwrap();
    let names: Vec<String> = next
        .list(&RemotePath::folder())
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, vec![snapshot_name(0)]);
    let left = temporaries(&dir).len();
    let removed = next
        .cleanup_temporaries(
            &RemotePath::folder(),
            Utc::now() + chrono::Duration::minutes(1),
        )
        .unwrap();
    assert_eq!(removed, left);
    assert!(
        temporaries(&dir).is_empty(),
        "the next run removes what the failed one left"
    );
}

/// A seekable source that fails once `fail_at` bytes have been read, and counts what it reads.
struct FlakySource {
    inner: Cursor<Vec<u8>>,
    fail_at: Option<u64>,
    read: u64,
}

impl Read for FlakySource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pos = self.inner.position();
        let limit = match self.fail_at {
            Some(at) if pos >= at => return Err(io::Error::other("the snapshot's disk went away")),
            Some(at) => ((at - pos) as usize).min(buf.len()),
            None => buf.len(),
        };
        let n = self.inner.read(&mut buf[..limit])?;
        self.read += n as u64;
        Ok(n)
    }
}

impl Seek for FlakySource {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
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
fn an_interrupted_upload_resumes_where_it_stopped() {
    let sshd = Sshd::start();
    let mut s = open_dyn(&sshd, "resume");
    let dir = sshd.area().join("resume");
    let data = content(12 * MIB + 777);
    let name = snapshot_name(6);

    let mut first = FlakySource {
        inner: Cursor::new(data.clone()),
        fail_at: Some(7 * MIB as u64 + 5),
        read: 0,
    };
    let e = s
        .put_resuming(&path(&name), &mut first, Some(data.len() as u64))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal, "{e:?}");
    assert!(
        e.message().contains("the snapshot's disk went away"),
        "{}",
        e.message()
    );
    let partial = temporaries(&dir);
    assert_eq!(
        partial.len(),
        1,
        "the partial upload is kept for the next attempt"
    );
    let held = fs::metadata(dir.join(&partial[0])).unwrap().len();
    assert_eq!(
        held,
        7 * MIB as u64,
        "every full chunk read before the failure was stored"
    );

    // A new connection, as the runner's next attempt would have; the source was left
    // wherever the failure stopped it.
    drop(s);
    let mut s = open_dyn(&sshd, "resume");
    let mut second = FlakySource {
        inner: Cursor::new(data.clone()),
        fail_at: None,
        read: 0,
    };
    second.inner.set_position(3);
    let stored = s
        .put_resuming(&path(&name), &mut second, Some(data.len() as u64))
        .unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(
        sha(&fs::read(dir.join(&name)).unwrap()),
        sha(&data),
        "resumed backup must be identical"
    );
    assert_eq!(
        second.read,
        data.len() as u64 - held + 256 * 1024,
        "the second attempt reads the compared tail and what the server did not have"
    );
    assert_eq!(entries(&dir), vec![name]);

    // Plain `put` never resumes and removes its temporary after a failing source.
    let third = snapshot_name(9);
    let mut failing = FlakySource {
        inner: Cursor::new(data.clone()),
        fail_at: Some(2 * MIB as u64 + 1),
        read: 0,
    };
    let e = s.put(&path(&third), &mut failing, None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal, "{e:?}");
    assert!(temporaries(&dir).is_empty(), "{:?}", temporaries(&dir));
}

#[test]
fn a_partial_upload_of_other_content_is_not_resumed() {
    let sshd = Sshd::start();
    let mut s = open_dyn(&sshd, "other");
    let dir = sshd.area().join("other");
    let name = snapshot_name(7);
    let stale = temporary_name(&name);
    fs::write(
        dir.join(&stale),
        content(3 * MIB)
            .iter()
            .map(|b| b ^ 0x5a)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let data = content(5 * MIB);
    let mut source = Cursor::new(data.clone());
    s.put_resuming(&path(&name), &mut source, None).unwrap();
    assert_eq!(sha(&fs::read(dir.join(&name)).unwrap()), sha(&data));
    assert_eq!(
        entries(&dir),
        vec![name],
        "the mismatching partial upload is removed"
    );
}

#[test]
fn a_server_that_never_answers_times_out_quickly() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dest = SftpDestination::new("127.0.0.1", port, TEST_USER, SftpAuth::Password, "")
        .unwrap()
        .with_timeouts(Timeouts {
            connect: Duration::from_secs(1),
            io: Duration::from_secs(1),
        });
    let started = Instant::now();
    let e = dest.host_key().unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        e.message().starts_with(&format!(
            "Connection to storage failed: 127.0.0.1:{port} accepted the connection but did not \
             complete the SSH handshake within 1 s."
        )),
        "{}",
        e.message()
    );
    drop(silent);
}

#[test]
fn a_server_that_hangs_mid_upload_times_out() {
    let sshd = Sshd::start();
    let (dest, secrets) = password_dest(&sshd, &sshd.area_in_home());
    let dest = dest.with_timeouts(Timeouts {
        connect: Duration::from_secs(5),
        io: Duration::from_secs(2),
    });
    let mut s = dest.session(&secrets).unwrap();
    let data = content(64 * MIB);
    let started = Instant::now();
    let e = {
        let sshd = &sshd;
        let mut reader = HookReader {
            data: &data,
            pos: 0,
            at: 3 * MIB,
            hook: Some(Box::new(move || sshd.freeze_connections())),
        };
        s.put(&path(&snapshot_name(8)), &mut reader, None)
            .unwrap_err()
    };
    let took = started.elapsed();
    sshd.thaw_connections();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e:?}");
    assert!(
        took < Duration::from_secs(15),
        "a stalled transfer must fail quickly: {took:?}"
    );
    assert!(
        e.message()
            .contains("stopped answering (no reply within 2 s)"),
        "{}",
        e.message()
    );
    let started = Instant::now();
    assert_eq!(s.usage().unwrap_err().kind, ErrorKind::Unreachable);
    drop(s);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a broken session must not wait again"
    );
}

#[test]
fn unreachable_servers_say_why() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dest =
        SftpDestination::new("127.0.0.1", closed, TEST_USER, SftpAuth::Password, "").unwrap();
    let e = open_error(&dest, &MemoryStore::new());
    assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
    assert!(
        e.message().starts_with(&format!(
            "Connection to storage failed: 127.0.0.1:{closed} refused the connection."
        )),
        "{}",
        e.message()
    );
    // A label longer than 63 characters fails in the resolver itself: no DNS query leaves.
    let host = format!("{}.invalid", "a".repeat(64));
    let dest = SftpDestination::new(&host, 22, TEST_USER, SftpAuth::Password, "").unwrap();
    let e = open_error(&dest, &MemoryStore::new());
    assert_eq!(e.kind, ErrorKind::Dns, "{e:?}");
    assert!(
        e.message().starts_with(&format!(
            "Connection to storage failed: the host name \"{host}\" could not be found."
        )),
        "{}",
        e.message()
    );
}
