//! FTP and FTPS destinations against a real vsftpd (one per test, see
//! `bc_tests::harness::vsftpd`): what ends up on the server's disk, what is listed, what is left
//! behind when something fails, and the message an admin reads. Needs root and vsftpd; without
//! them every test fails with what to install.

use std::fs;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use backup_center_engine::secrets::{MemoryStore, SecretStore, Sensitive};
use backup_center_engine::snapshot::{file_name, SnapshotKind};
use backup_center_engine::storage::ftp::{
    CertFingerprint, FtpConfig, FtpDestination, FtpSecurity, FtpSession, FtpTimeouts, TlsTrust,
};
use backup_center_engine::storage::names::{is_temporary_name, temporary_name};
use backup_center_engine::storage::{test_connection, CheckStep, Destination, RemotePath, Session};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{FtpTls, TestPki, Tmpfs, Vsftpd, VsftpdOptions};
use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};

fn snapshot_name(minute: u32) -> String {
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
        + chrono::Duration::minutes(i64::from(minute));
    file_name("acme.atlassian.net", SnapshotKind::Basic, at)
}

fn path(name: &str) -> RemotePath {
    RemotePath::parse(name).unwrap()
}

/// Every byte value, CR/LF in every combination ASCII mode would rewrite, then noise.
fn content(len: usize) -> Vec<u8> {
    let mut data: Vec<u8> = (0..=255u8).collect();
    for _ in 0..64 {
        data.extend_from_slice(b"line\r\nunix\nmac\rodd\n\r\r\r\n\n");
    }
    let mut x: u32 = 0x1234_5678;
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.push(x as u8);
    }
    data.truncate(len);
    data
}

fn sha(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

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

/// A reader over `data` that runs `action` once `at` bytes have been read, and fails with
/// `fail` there if asked to. Reads in 64 KiB pieces so the action lands mid-upload.
struct Tripwire<'a> {
    data: &'a [u8],
    pos: usize,
    at: usize,
    action: Option<Box<dyn FnOnce() + 'a>>,
    fail: bool,
}

impl<'a> Tripwire<'a> {
    fn new(data: &'a [u8], at: usize, action: impl FnOnce() + 'a) -> Self {
        Self {
            data,
            pos: 0,
            at,
            action: Some(Box::new(action)),
            fail: false,
        }
    }

    fn failing(data: &'a [u8], at: usize) -> Self {
        Self {
            data,
            pos: 0,
            at,
            action: None,
            fail: true,
        }
    }
}

impl Read for Tripwire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.at {
            if let Some(action) = self.action.take() {
                action();
            }
            if self.fail {
                return Err(io::Error::other("the snapshot file vanished"));
            }
        }
        let end = self.data.len().min(self.pos + buf.len().min(64 * 1024));
        let n = end - self.pos;
        buf[..n].copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        Ok(n)
    }
}

impl Seek for Tripwire<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Start(at) = to else {
            return Err(io::Error::other("only SeekFrom::Start"));
        };
        self.pos = (at as usize).min(self.data.len());
        Ok(self.pos as u64)
    }
}

/// Counts the bytes read (what an upload actually sends).
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

fn assert_prefix(message: &str, prefix: &str) {
    assert!(
        message.starts_with(prefix),
        "message:\n  {message}\nshould start with:\n  {prefix}"
    );
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
fn a_wrong_password_is_storage_auth_at_the_connect_step() {
    let server = Vsftpd::start(FtpTls::None);
    let (dest, secrets) = destination_with_password(&server, "x", "not-the-password", |_| {});
    let report = test_connection(&dest, &secrets);
    let (step, e) = report.failed.as_ref().expect("the login must fail");
    assert_eq!(*step, CheckStep::Connect);
    assert_eq!(e.kind, ErrorKind::StorageAuth, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "The FTP server 127.0.0.1:{} refused the login (530 Login incorrect.). Check the user \
             name and the password",
            server.port()
        ),
    );
    assert!(
        !e.log_line().contains("not-the-password"),
        "no password in logs"
    );
}

#[test]
fn an_untrusted_certificate_is_tls_with_its_fingerprint_and_a_pin_trusts_it() {
    let server = Vsftpd::start(FtpTls::Explicit);
    let pki = server.pki().unwrap().clone();
    // The system roots do not know the test CA.
    let (dest, secrets) = destination(&server, "t", |c| c.trust = TlsTrust::default());
    let e = dest.session(&secrets).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "The FTPS server 127.0.0.1:{} presented a certificate that is not signed by an \
             authority this computer trusts. If it is your server's own (self-signed or \
             private) certificate, check that its SHA-256 fingerprint is {}",
            server.port(),
            pki.fingerprint()
        ),
    );
    assert!(
        e.context().contains(&("fingerprint", pki.fingerprint())),
        "{:?}",
        e.context()
    );
    let probe = dest.probe_certificate().unwrap();
    assert!(!probe.trusted);
    assert_eq!(probe.fingerprint.to_string(), pki.fingerprint());

    // "Trust": the pin replaces chain validation.
    let pin = CertFingerprint::parse(&pki.fingerprint()).unwrap();
    let (pinned, secrets) = destination(&server, "t", |c| {
        c.trust = TlsTrust {
            pinned: Some(pin),
            extra_roots_pem: None,
        }
    });
    assert!(pinned.probe_certificate().unwrap().trusted);
    let report = test_connection(&pinned, &secrets);
    assert!(report.is_ok(), "{report:?}");
}

#[test]
fn a_self_signed_certificate_can_be_pinned() {
    let pki = TestPki::self_signed();
    let server = Vsftpd::start_with(VsftpdOptions {
        pki: Some(pki.clone()),
        ..VsftpdOptions::new(FtpTls::Explicit)
    });
    let (dest, secrets) = destination(&server, "s", |c| c.trust = TlsTrust::default());
    let e = dest.session(&secrets).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls);
    assert!(e.message().contains(&pki.fingerprint()), "{}", e.message());
    let (pinned, secrets) = destination(&server, "s", |c| {
        c.trust.pinned = Some(CertFingerprint::parse(&pki.fingerprint()).unwrap());
        c.trust.extra_roots_pem = None;
    });
    let mut s = pinned.session(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    s.put(&path(&snapshot_name(0)), &mut &content(100_000)[..], None)
        .unwrap();
    assert_eq!(s.list(&RemotePath::folder()).unwrap().len(), 1);
}

#[test]
fn a_certificate_for_another_host_is_refused_with_its_fingerprint() {
    let pki = TestPki::for_names(&["nas.example"]);
    let server = Vsftpd::start_with(VsftpdOptions {
        pki: Some(pki.clone()),
        ..VsftpdOptions::new(FtpTls::Explicit)
    });
    // The chain is trusted (the test CA), the name is not the one connected to.
    let (dest, secrets) = destination(&server, "n", |_| {});
    let e = dest.session(&secrets).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "The FTPS server 127.0.0.1:{} presented a certificate that was issued for another \
             host name. If it is your server's own (self-signed or private) certificate, check \
             that its SHA-256 fingerprint is {}",
            server.port(),
            pki.fingerprint()
        ),
    );
    assert!(e.context().contains(&("fingerprint", pki.fingerprint())));
}

#[test]
fn a_changed_certificate_is_refused_despite_a_valid_chain() {
    let server = Vsftpd::start(FtpTls::Explicit);
    let current = server.pki().unwrap().clone();
    let earlier = TestPki::new();
    let (dest, secrets) = destination(&server, "c", |c| {
        c.trust.pinned = Some(CertFingerprint::parse(&earlier.fingerprint()).unwrap());
    });
    let e = dest.session(&secrets).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "Warning: the certificate of the FTPS server 127.0.0.1:{} has changed since it was \
             trusted (trusted: {}; now: {}). Someone may be intercepting the connection, so \
             nothing was sent.",
            server.port(),
            earlier.fingerprint(),
            current.fingerprint()
        ),
    );
    assert!(e
        .context()
        .contains(&("fingerprint", current.fingerprint())));
    assert!(
        !server.home().join("c").exists(),
        "nothing was done on the server"
    );
}

#[test]
fn folders_without_permission_fail_the_check_at_the_right_step() {
    let server = Vsftpd::start(FtpTls::None);
    // Owned by root, readable: the user can enter it but not write.
    let locked = server.home().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    let (dest, secrets) = destination(&server, "locked", |_| {});
    let report = test_connection(&dest, &secrets);
    assert_eq!(
        report.passed,
        vec![CheckStep::Connect, CheckStep::CreateFolder]
    );
    let e = report.into_result().unwrap_err();
    assert_eq!(e.kind, ErrorKind::StoragePermission, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "Test connection failed at \"write a test file\": Backup Center may not write to \
             ftp://{}@127.0.0.1:{}{}: permission denied (553 Could not create file.)",
            server.user(),
            server.port(),
            locked.display()
        ),
    );

    // Below it, a folder cannot be created.
    let (dest, secrets) = destination(&server, "locked/new", |_| {});
    let e = test_connection(&dest, &secrets).into_result().unwrap_err();
    assert_eq!(e.kind, ErrorKind::StoragePermission);
    assert_prefix(
        e.message(),
        &format!(
            "Test connection failed at \"create the folder\": Backup Center may not create the \
             folder ftp://{}@127.0.0.1:{}{}/new: permission denied (550 Create directory \
             operation failed.)",
            server.user(),
            server.port(),
            locked.display()
        ),
    );

    // Mode 000: it cannot even be entered.
    let sealed = server.home().join("sealed");
    fs::create_dir(&sealed).unwrap();
    fs::set_permissions(&sealed, fs::Permissions::from_mode(0o000)).unwrap();
    let (dest, secrets) = destination(&server, "sealed", |_| {});
    let e = test_connection(&dest, &secrets).into_result().unwrap_err();
    assert_eq!(e.kind, ErrorKind::StoragePermission, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "Test connection failed at \"create the folder\": Backup Center may not open the \
             folder ftp://{}@127.0.0.1:{}{}: permission denied (550 Failed to change directory.)",
            server.user(),
            server.port(),
            sealed.display()
        ),
    );

    // A file where a folder should be is a path problem, not a permission one.
    fs::write(server.home().join("a-file"), b"x").unwrap();
    let (dest, secrets) = destination(&server, "a-file/Backups", |_| {});
    let e = test_connection(&dest, &secrets).into_result().unwrap_err();
    assert_eq!(e.kind, ErrorKind::StoragePath, "{e:?}");
    assert_prefix(
        e.message(),
        "Test connection failed at \"create the folder\": Could not create the folder ",
    );

    // Listing a folder that does not exist.
    let (_, mut s) = session(&server, "");
    let e = s.list(&path("nowhere")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::StoragePath);
    assert!(
        e.message().ends_with("/nowhere: it does not exist."),
        "{}",
        e.message()
    );
}

#[test]
fn a_full_disk_is_storage_full_and_leaves_no_temporary() {
    let server = Vsftpd::start(FtpTls::None);
    let small = server.home().join("small");
    let _mount = Tmpfs::mount(&small, 8, server.uid_gid());
    let (_, mut s) = session(&server, "small");
    let earlier = content(1024 * 1024);
    s.put(&path(&snapshot_name(0)), &mut &earlier[..], None)
        .unwrap();

    let big = content(20 * 1024 * 1024);
    let e = s
        .put(
            &path(&snapshot_name(1)),
            &mut &big[..],
            Some(big.len() as u64),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageFull, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "Not enough storage for this backup: the FTP server 127.0.0.1:{} refused to store \
             more (451 Failure writing to local file.).",
            server.port()
        ),
    );
    assert!(!e.is_transient(), "retrying a full disk cannot help");
    assert_eq!(
        entries(&small),
        vec![snapshot_name(0)],
        "no temporary and no partial backup may be left"
    );
    assert_eq!(
        sha(&fs::read(small.join(snapshot_name(0))).unwrap()),
        sha(&earlier)
    );
    // The session is still usable.
    assert_eq!(s.list(&RemotePath::folder()).unwrap().len(), 1);
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
fn a_server_killed_mid_upload_is_a_clear_connection_failure() {
    let mut server = Vsftpd::start(FtpTls::None);
    let port = server.port();
    let (dest, secrets) = destination(&server, "k", |_| {});
    let folder = server.home().join("k");
    let data = content(32 * 1024 * 1024);
    {
        let mut s = dest.session(&secrets).unwrap();
        s.create_dir_all(&RemotePath::folder()).unwrap();
        s.put(
            &path(&snapshot_name(0)),
            &mut &b"an earlier backup"[..],
            None,
        )
        .unwrap();
        let mut reader = Tripwire::new(&data, 8 * 1024 * 1024, || server.kill());
        let started = Instant::now();
        let e = s
            .put(&path(&snapshot_name(1)), &mut reader, None)
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
        assert!(e.is_transient());
        assert_prefix(
            e.message(),
            &format!("Connection to storage failed: 127.0.0.1:{port} closed the connection while uploading the backup."),
        );
        // Later calls on the dead session fail at once.
        let again = s.list(&RemotePath::folder()).unwrap_err();
        assert_eq!(again.kind, ErrorKind::Unreachable);
    }
    assert!(!folder.join(snapshot_name(1)).exists(), "no final file");
    assert_eq!(
        fs::read(folder.join(snapshot_name(0))).unwrap(),
        b"an earlier backup"
    );

    // The next run cleans up what the dead server kept.
    server.restart();
    let mut s = dest.session(&secrets).unwrap();
    s.cleanup_temporaries(
        &RemotePath::folder(),
        Utc::now() + chrono::Duration::minutes(1),
    )
    .unwrap();
    assert_eq!(entries(&folder), vec![snapshot_name(0)]);
}

#[test]
fn an_interrupted_upload_resumes_where_it_stopped() {
    let mut server = Vsftpd::start(FtpTls::Explicit);
    let (dest, secrets) = destination(&server, "r", |_| {});
    let folder = server.home().join("r");
    let data = content(24 * 1024 * 1024 + 3);
    let name = snapshot_name(7);
    // The connection drops mid-upload: the temporary is kept for the next attempt. Through the
    // trait object, as the runner holds a session.
    {
        let mut s = dest.open(&secrets).unwrap();
        s.create_dir_all(&RemotePath::folder()).unwrap();
        let mut reader = Tripwire::new(&data, 10 * 1024 * 1024, || server.kill());
        let e = s
            .put_resuming(&path(&name), &mut reader, Some(data.len() as u64))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
    }
    let kept = temporaries(&folder);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(is_temporary_name(&kept[0]));
    let partial = fs::metadata(folder.join(&kept[0])).unwrap().len();
    assert!(partial > 0 && partial < data.len() as u64, "{partial}");

    server.restart();
    let mut s = dest.open(&secrets).unwrap();
    let mut source = Counting {
        inner: Cursor::new(&data[..]),
        read: 0,
    };
    let stored = s
        .put_resuming(&path(&name), &mut source, Some(data.len() as u64))
        .unwrap();
    assert_eq!(stored.size, data.len() as u64);
    assert_eq!(
        source.read,
        data.len() as u64 - partial + partial.min(256 * 1024),
        "the compared tail is read, then only what the server did not have yet"
    );
    assert_eq!(sha(&fs::read(folder.join(&name)).unwrap()), sha(&data));
    assert_eq!(entries(&folder), vec![name.clone()]);
    // vsftpd logs APPE as an upload, with the bytes it received.
    let resent = format!("{} bytes", data.len() as u64 - partial);
    assert!(
        server
            .log()
            .lines()
            .any(|l| l.contains("OK UPLOAD") && l.contains(&resent)),
        "the server must have received only the missing {resent}: {}",
        server.log()
    );

    // A reader failing midway keeps the temporary too, and the retry continues it.
    let second = snapshot_name(8);
    let mut failing = Tripwire::failing(&data, 5 * 1024 * 1024);
    let e = s
        .put_resuming(&path(&second), &mut failing, None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal);
    assert!(e.message().contains("vanished"), "{}", e.message());
    let mut source = Counting {
        inner: Cursor::new(&data[..]),
        read: 0,
    };
    s.put_resuming(&path(&second), &mut source, None).unwrap();
    assert!(source.read < data.len() as u64, "{}", source.read);
    assert_eq!(sha(&fs::read(folder.join(&second)).unwrap()), sha(&data));

    // Plain `put` never resumes and cleans up after a failing reader.
    let third = snapshot_name(9);
    let e = s
        .put(
            &path(&third),
            &mut Tripwire::failing(&data, 3 * 1024 * 1024),
            None,
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal);
    assert!(
        temporaries(&folder).is_empty(),
        "{:?}",
        temporaries(&folder)
    );

    // A temporary of the same name holding another backup is removed, not continued.
    let fourth = snapshot_name(10);
    let stale = temporary_name(&fourth);
    let other: Vec<u8> = data[..3 * 1024 * 1024].iter().map(|b| b ^ 0x5a).collect();
    fs::write(folder.join(&stale), &other).unwrap();
    server.give(&folder);
    let mut source = Cursor::new(&data[..]);
    source.set_position(1234);
    s.put_resuming(&path(&fourth), &mut source, None).unwrap();
    assert_eq!(sha(&fs::read(folder.join(&fourth)).unwrap()), sha(&data));
    assert!(
        temporaries(&folder).is_empty(),
        "the mismatching temporary is gone: {:?}",
        temporaries(&folder)
    );
}

#[test]
fn a_server_that_stops_answering_times_out_quickly() {
    // Accepts connections and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut c = config(port, "backup", "", FtpSecurity::Plain);
    c.timeouts.io = Duration::from_secs(1);
    let dest = FtpDestination::new(c).unwrap();
    let secrets = MemoryStore::new();
    secrets
        .set(&dest.secret_key(), &Sensitive::new("pw".to_string()))
        .unwrap();
    let started = Instant::now();
    let e = dest.session(&secrets).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.kind, ErrorKind::Timeout, "{e:?}");
    assert_prefix(
        e.message(),
        &format!("Connection to storage failed: 127.0.0.1:{port} did not answer for 1 s while connecting."),
    );
    drop(silent);

    // A transfer that stalls midway (the server frozen).
    let server = Vsftpd::start(FtpTls::None);
    let (dest, secrets) = destination(&server, "stall", |c| c.timeouts.io = Duration::from_secs(2));
    let mut s = dest.session(&secrets).unwrap();
    s.create_dir_all(&RemotePath::folder()).unwrap();
    let data = content(64 * 1024 * 1024);
    let mut reader = Tripwire::new(&data, 4 * 1024 * 1024, || server.pause());
    let started = Instant::now();
    let e = s
        .put(&path(&snapshot_name(0)), &mut reader, None)
        .unwrap_err();
    let took = started.elapsed();
    server.resume();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e:?}");
    assert!(
        took < Duration::from_secs(5),
        "a stall must fail within about one timeout (2 s): {took:?}"
    );
    assert_prefix(
        e.message(),
        &format!(
            "Connection to storage failed: 127.0.0.1:{} did not answer for 2 s while uploading \
             the backup.",
            server.port()
        ),
    );
}

#[test]
fn a_server_that_does_not_accept_connections_times_out_at_connect() {
    // A listener that never accepts, its queue filled: further connection attempts are not
    // answered at all, as with a firewall that drops packets.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
        assert!(fillers.len() < 10_000, "the listen queue never filled");
    }
    let mut c = config(addr.port(), "backup", "", FtpSecurity::Plain);
    c.timeouts.connect = Duration::from_secs(1);
    let dest = FtpDestination::new(c).unwrap();
    let secrets = MemoryStore::new();
    secrets
        .set(&dest.secret_key(), &Sensitive::new("pw".to_string()))
        .unwrap();
    let started = Instant::now();
    let e = dest.session(&secrets).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(e.kind, ErrorKind::Timeout, "{e:?}");
    assert_prefix(
        e.message(),
        &format!(
            "Connection to storage failed: 127.0.0.1:{} did not accept a connection within 1 s.",
            addr.port()
        ),
    );
    drop(listener);
}

#[test]
fn unreachable_servers_say_so() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dest = FtpDestination::new(config(port, "backup", "", FtpSecurity::Plain)).unwrap();
    let secrets = MemoryStore::new();
    secrets
        .set(&dest.secret_key(), &Sensitive::new("pw".to_string()))
        .unwrap();
    let e = dest.open(&secrets).map(|_| ()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
    assert_prefix(
        e.message(),
        &format!("Connection to storage failed: 127.0.0.1:{port} refused the connection."),
    );

    let mut c = config(21, "backup", "", FtpSecurity::Plain);
    c.host = "backup-center-test.invalid".into();
    let dest = FtpDestination::new(c).unwrap();
    secrets
        .set(&dest.secret_key(), &Sensitive::new("pw".to_string()))
        .unwrap();
    let e = dest.open(&secrets).map(|_| ()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Dns, "{e:?}");
    assert_prefix(
        e.message(),
        "Connection to storage failed: the host name \"backup-center-test.invalid\" could not be found.",
    );
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
