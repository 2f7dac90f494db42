//! What happens when the server, its disk, the network or the backup itself fails: clear
//! errors, no final file, temporaries kept only where a retry continues them, and resuming.

use std::fs;
use std::io::Cursor;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use backup_center_engine::secrets::MemoryStore;
use backup_center_engine::storage::names::temporary_name;
use backup_center_engine::storage::sftp::{SftpAuth, SftpDestination, Timeouts};
use backup_center_engine::storage::{RemotePath, Session};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{Sshd, TEST_USER};
use bc_tests::storage::{
    content, entries, path, sha, snapshot_name, temporaries, Counting, Tripwire, MIB,
};
use chrono::Utc;

use super::{open_dyn, open_error, password_dest};

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
        let mut reader = Tripwire::new(&data, 6 * MIB, move || sshd.kill());
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

#[test]
fn an_interrupted_upload_resumes_where_it_stopped() {
    let sshd = Sshd::start();
    let mut s = open_dyn(&sshd, "resume");
    let dir = sshd.area().join("resume");
    let data = content(12 * MIB + 777);
    let name = snapshot_name(6);

    let mut first = Tripwire::failing(&data, 7 * MIB + 5);
    let e = s
        .put_resuming(&path(&name), &mut first, Some(data.len() as u64))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal, "{e:?}");
    assert!(
        e.message().contains("the snapshot file vanished"),
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
    let mut second = Counting::new(Cursor::new(&data[..]));
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
    let e = s
        .put(
            &path(&third),
            &mut Tripwire::failing(&data, 2 * MIB + 1),
            None,
        )
        .unwrap_err();
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
        let mut reader = Tripwire::new(&data, 3 * MIB, move || sshd.freeze_connections());
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
