//! FTP and FTPS destinations against a real vsftpd (one per test, see
//! `bc_tests::harness::vsftpd`): what ends up on the server's disk, what is listed, what is left
//! behind when something fails, and the message an admin reads. Logins and certificates are in
//! `storage_ftp/tls.rs`, failures of the server, disk, network and backup in
//! `storage_ftp/failures.rs`, downloads in `storage_ftp/download.rs`. Needs root and vsftpd;
//! without them every test fails with what to install.

#[path = "storage_ftp/download.rs"]
mod download;
#[path = "storage_ftp/failures.rs"]
mod failures;
#[path = "storage_ftp/tls.rs"]
mod tls;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use backup_center_engine::secrets::{MemoryStore, SecretStore, Sensitive};
use backup_center_engine::storage::ftp::{
    FtpConfig, FtpDestination, FtpSecurity, FtpSession, FtpTimeouts, TlsTrust,
};
use backup_center_engine::storage::names::temporary_name;
use backup_center_engine::storage::{test_connection, Destination, RemotePath, Session};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{FtpTls, Vsftpd};
use bc_tests::storage::{assert_prefix, content, entries, path, sha, snapshot_name, temporaries};
use chrono::Utc;

fn config(server_port: u16, user: &str, folder: &str, security: FtpSecurity) -> FtpConfig {
    FtpConfig {
        host: "127.0.0.1".into(),
        port: Some(server_port),
        username: user.into(),
        folder: folder.into(),
        security,
        trust: TlsTrust::default(),
        quota: None,
        timeouts: FtpTimeouts {
            connect: Duration::from_secs(5),
            io: Duration::from_secs(10),
        },
    }
}

/// A destination on `server` and a keychain holding its password.
fn destination(
    server: &Vsftpd,
    folder: &str,
    adjust: impl FnOnce(&mut FtpConfig),
) -> (FtpDestination, MemoryStore) {
    destination_with_password(server, folder, server.password(), adjust)
}

fn destination_with_password(
    server: &Vsftpd,
    folder: &str,
    password: &str,
    adjust: impl FnOnce(&mut FtpConfig),
) -> (FtpDestination, MemoryStore) {
    let security = match server.pki() {
        None => FtpSecurity::Plain,
        Some(_) => FtpSecurity::ExplicitTls,
    };
    let mut c = config(server.port(), server.user(), folder, security);
    if let Some(pki) = server.pki() {
        c.trust.extra_roots_pem = Some(pki.ca_pem.clone());
    }
    adjust(&mut c);
    let dest = FtpDestination::new(c).unwrap();
    let secrets = MemoryStore::new();
    secrets
        .set(&dest.secret_key(), &Sensitive::new(password.to_string()))
        .unwrap();
    (dest, secrets)
}

/// A session on `folder` (relative to the login folder), folder created.
fn session(server: &Vsftpd, folder: &str) -> (FtpDestination, FtpSession) {
    let (dest, secrets) = destination(server, folder, |_| {});
    let mut s = dest.session(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    (dest, s)
}

#[test]
fn plain_ftp_round_trip_is_byte_identical_in_a_unicode_folder() {
    let server = Vsftpd::start(FtpTls::None);
    let folder = "Jira Backups/Überblick 日本";
    let (dest, mut s) = session(&server, folder);
    assert!(!dest.is_encrypted());
    assert!(
        dest.describe()
            .ends_with("(unencrypted: the password travels in clear text)"),
        "{}",
        dest.describe()
    );
    let on_disk = server.home().join(folder);
    assert!(on_disk.is_dir(), "create_dir_all must create the folder");
    assert_eq!(s.folder_on_server(), on_disk.to_str().unwrap());

    let data = content(3 * 1024 * 1024 + 17);
    let name = snapshot_name(0);
    let stored = s
        .put(&path(&name), &mut &data[..], Some(data.len() as u64))
        .unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.size),
        (name.as_str(), data.len() as u64)
    );
    assert!(stored.modified.is_some(), "MDTM gives the stored time");
    assert_eq!(
        sha(&fs::read(on_disk.join(&name)).unwrap()),
        sha(&data),
        "the stored backup must be byte-identical (binary mode, every byte value, CR/LF)"
    );

    // Foreign files, a folder with our name and a stranger's temporary are not ours.
    for f in ["notes.txt", "photo.zip", ".notes.txt.part-0123456789abcdef"] {
        fs::write(on_disk.join(f), b"someone else's").unwrap();
    }
    fs::create_dir(on_disk.join(snapshot_name(59))).unwrap();
    let listed = s.list(&RemotePath::folder()).unwrap();
    assert_eq!(listed.len(), 1, "only our snapshots are listed: {listed:?}");
    assert_eq!(
        (listed[0].name.as_str(), listed[0].size),
        (name.as_str(), data.len() as u64)
    );
    let usage = s.usage().unwrap();
    assert_eq!(
        (usage.used, usage.quota, usage.disk_free),
        (data.len() as u64, None, None),
        "FTP cannot tell free space"
    );
    assert!(temporaries(&on_disk)
        .iter()
        .all(|t| t.starts_with(".notes")));

    s.remove(&path(&name)).unwrap();
    assert!(s.list(&RemotePath::folder()).unwrap().is_empty());
    let again = s.remove(&path(&name)).unwrap_err();
    assert_eq!(again.kind, ErrorKind::NotFound, "{again:?}");
    assert_prefix(
        again.message(),
        &format!(
            "ftp://{}@127.0.0.1:{}{}/{name} does not exist.",
            server.user(),
            server.port(),
            on_disk.display()
        ),
    );
    assert_eq!(
        fs::read(on_disk.join("notes.txt")).unwrap(),
        b"someone else's"
    );
}

#[test]
fn ftps_with_the_test_ca_round_trips_and_passes_the_check() {
    let server = Vsftpd::start(FtpTls::Explicit);
    let (dest, secrets) = destination(&server, "ftps backups", |_| {});
    assert!(dest.is_encrypted());
    assert_eq!(
        dest.describe(),
        format!(
            "ftps://{}@127.0.0.1:{}/~/ftps backups",
            server.user(),
            server.port()
        )
    );
    let report = test_connection(&dest, &secrets);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.passed.len(), 6);

    let mut s = dest.session(&secrets).unwrap();
    let data = content(2 * 1024 * 1024 + 5);
    let name = snapshot_name(1);
    s.put(&path(&name), &mut &data[..], None).unwrap();
    let folder = server.home().join("ftps backups");
    assert_eq!(sha(&fs::read(folder.join(&name)).unwrap()), sha(&data));
    assert_eq!(
        entries(&folder),
        vec![name.clone()],
        "the check left nothing behind"
    );
    assert_eq!(
        s.list(&RemotePath::folder()).unwrap()[0].size,
        data.len() as u64
    );
    assert!(
        server.log().contains("OK UPLOAD"),
        "vsftpd (forcing TLS for logins and data) logged the upload: {}",
        server.log()
    );
}

#[test]
fn implicit_ftps_works() {
    let server = Vsftpd::start(FtpTls::Implicit);
    let (dest, secrets) = destination(&server, "implicit", |c| {
        c.security = FtpSecurity::ImplicitTls
    });
    let mut s = dest.session(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    let data = content(300_000);
    s.put(&path(&snapshot_name(2)), &mut &data[..], None)
        .unwrap();
    assert_eq!(s.list(&RemotePath::folder()).unwrap().len(), 1);
    assert_eq!(
        sha(&fs::read(server.home().join("implicit").join(snapshot_name(2))).unwrap()),
        sha(&data)
    );
}

#[test]
fn absolute_folders_subfolders_and_odd_names_work() {
    let server = Vsftpd::start(FtpTls::None);
    let outside = tempfile::Builder::new()
        .prefix("ftp-abs-")
        .tempdir()
        .unwrap();
    fs::set_permissions(outside.path(), fs::Permissions::from_mode(0o755)).unwrap();
    server.give(outside.path());
    let absolute = format!("{}/Sicherung 2026", outside.path().display());
    let (dest, secrets) = destination(&server, &absolute, |_| {});
    assert!(
        dest.describe()
            .contains(&format!("{}{absolute}", server.port())),
        "{}",
        dest.describe()
    );
    let mut s = dest.session(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    assert_eq!(s.folder_on_server(), absolute);
    s.put(&path(&snapshot_name(3)), &mut &b"abs"[..], None)
        .unwrap();
    assert_eq!(
        fs::read(Path::new(&absolute).join(snapshot_name(3))).unwrap(),
        b"abs"
    );

    let sub = path("Année 2026/März");
    s.create_dir_all(&sub).unwrap();
    let odd = sub.join("Résumé du projet – 日本語 ; x.zip").unwrap();
    s.put(&odd, &mut &b"xyz"[..], None).unwrap();
    let odd_on_disk: PathBuf =
        Path::new(&absolute).join("Année 2026/März/Résumé du projet – 日本語 ; x.zip");
    assert_eq!(fs::read(&odd_on_disk).unwrap(), b"xyz");
    let nested = sub.join(&snapshot_name(4)).unwrap();
    s.put(&nested, &mut &b"n"[..], None).unwrap();
    let listed = s.list(&sub).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].name, snapshot_name(4));
    s.remove(&odd).unwrap();
    assert!(!odd_on_disk.exists());

    // A relative folder lands in the login folder.
    let (_, mut rel) = session(&server, "relative/deeper");
    rel.put(&path(&snapshot_name(5)), &mut &b"r"[..], None)
        .unwrap();
    assert!(server
        .home()
        .join("relative/deeper")
        .join(snapshot_name(5))
        .is_file());
}

#[test]
fn put_and_rename_never_overwrite_a_backup() {
    let server = Vsftpd::start(FtpTls::None);
    let (_, mut s) = session(&server, "b");
    let folder = server.home().join("b");
    let name = snapshot_name(2);
    s.put(&path(&name), &mut &b"the first backup"[..], None)
        .unwrap();
    let e = s
        .put(&path(&name), &mut &b"a second one"[..], None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageConflict, "{e:?}");
    assert!(e
        .message()
        .ends_with("already exists. Backup Center never overwrites a backup."));
    assert_eq!(fs::read(folder.join(&name)).unwrap(), b"the first backup");
    let other = snapshot_name(3);
    s.put(&path(&other), &mut &b"x"[..], None).unwrap();
    let e = s.rename(&path(&other), &path(&name)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageConflict);
    assert_eq!(fs::read(folder.join(&name)).unwrap(), b"the first backup");
    let missing = s
        .rename(&path(&snapshot_name(9)), &path(&snapshot_name(10)))
        .unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
    assert!(temporaries(&folder).is_empty());
}

#[test]
fn quota_is_enforced_before_and_while_uploading() {
    let server = Vsftpd::start(FtpTls::None);
    let (dest, secrets) = destination(&server, "q", |c| c.quota = Some(1_000));
    let mut s = dest.session(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    s.put(&path(&snapshot_name(0)), &mut &[0u8; 600][..], None)
        .unwrap();
    let e = s
        .put(&path(&snapshot_name(1)), &mut &[0u8; 500][..], Some(500))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageFull);
    assert_prefix(
        e.message(),
        "Not enough storage for this backup: 500 bytes needed, 400 bytes free",
    );
    let e = s
        .put(&path(&snapshot_name(2)), &mut &[0u8; 5_000][..], Some(10))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageFull);
    assert_eq!(entries(&server.home().join("q")), vec![snapshot_name(0)]);
    assert_eq!(s.usage().unwrap().quota, Some(1_000));
}

#[test]
fn ten_thousand_files_are_listed_correctly_and_quickly() {
    let server = Vsftpd::start(FtpTls::None);
    let (_, mut s) = session(&server, "many");
    let folder = server.home().join("many");
    let mut expected = Vec::new();
    for i in 0..5_000u32 {
        let name = snapshot_name(i);
        fs::write(folder.join(&name), i.to_le_bytes()).unwrap();
        expected.push(name);
        fs::write(folder.join(format!("foreign {i}.txt")), b"x").unwrap();
    }
    expected.sort();
    let started = Instant::now();
    let listed = s.list(&RemotePath::folder()).unwrap();
    let took = started.elapsed();
    let names: Vec<&str> = listed.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names, expected,
        "every snapshot once, sorted, no foreign file"
    );
    assert!(listed.iter().all(|f| f.size == 4));
    assert!(
        took < Duration::from_secs(5),
        "listing 10,000 files took {took:?}"
    );
    assert_eq!(s.usage().unwrap().used, 20_000);
}

#[test]
fn stale_temporaries_are_cleaned_and_fresh_and_foreign_ones_kept() {
    let server = Vsftpd::start(FtpTls::None);
    let (_, mut s) = session(&server, "tmp");
    let folder = server.home().join("tmp");
    let stale = temporary_name(&snapshot_name(5));
    let fresh = temporary_name(&snapshot_name(6));
    for t in [
        &stale,
        &fresh,
        &".notes.txt.part-0123456789abcdef".to_string(),
    ] {
        fs::write(folder.join(t), b"half a backup").unwrap();
    }
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    for t in [&stale, &".notes.txt.part-0123456789abcdef".to_string()] {
        fs::File::options()
            .write(true)
            .open(folder.join(t))
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
    }
    server.give(&folder);
    let run_started = Utc::now() - chrono::Duration::hours(1);
    let removed = s
        .cleanup_temporaries(&RemotePath::folder(), run_started)
        .unwrap();
    assert_eq!(removed, 1);
    let mut expected = vec![fresh, ".notes.txt.part-0123456789abcdef".to_string()];
    expected.sort();
    assert_eq!(entries(&folder), expected);
    assert_eq!(
        s.cleanup_temporaries(&path("not-there"), run_started)
            .unwrap(),
        0
    );
}
