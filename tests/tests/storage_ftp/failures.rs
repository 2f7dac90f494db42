//! What happens when the server, its disk, the network or the backup itself fails: clear
//! errors, no final file, temporaries kept only where a retry continues them, and resuming.

use std::fs;
use std::io::Cursor;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use backup_center_engine::secrets::{MemoryStore, SecretStore, Sensitive};
use backup_center_engine::storage::ftp::{FtpConfig, FtpDestination, FtpSecurity};
use backup_center_engine::storage::names::{is_temporary_name, temporary_name};
use backup_center_engine::storage::{test_connection, CheckStep, Destination, RemotePath, Session};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{FtpTls, Tmpfs, Vsftpd};
use bc_tests::storage::{
    assert_prefix, content, entries, path, sha, snapshot_name, temporaries, Counting, Tripwire,
};
use chrono::Utc;

use super::{config, destination, session};

/// A destination on `c` (no vsftpd behind it) and a keychain with a password for it.
fn keyed(c: FtpConfig) -> (FtpDestination, MemoryStore) {
    let dest = FtpDestination::new(c).unwrap();
    let secrets = MemoryStore::new();
    secrets
        .set(&dest.secret_key(), &Sensitive::new("pw".to_string()))
        .unwrap();
    (dest, secrets)
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
    let (dest, secrets) = keyed(c);
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
    let (dest, secrets) = keyed(c);
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
    let (dest, secrets) = keyed(config(port, "backup", "", FtpSecurity::Plain));
    let e = dest.open(&secrets).map(|_| ()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unreachable, "{e:?}");
    assert_prefix(
        e.message(),
        &format!("Connection to storage failed: 127.0.0.1:{port} refused the connection."),
    );

    let mut c = config(21, "backup", "", FtpSecurity::Plain);
    c.host = "backup-center-test.invalid".into();
    let (dest, secrets) = keyed(c);
    let e = dest.open(&secrets).map(|_| ()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Dns, "{e:?}");
    assert_prefix(
        e.message(),
        "Connection to storage failed: the host name \"backup-center-test.invalid\" could not be found.",
    );
}
