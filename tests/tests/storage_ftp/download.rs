//! Downloads ("Download…" in the app) from plain FTP and FTPS: byte-identical copies checked
//! against a SHA-256 computed here with another implementation, and the control connection
//! still usable after a transfer that the local side broke off.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;

use backup_center_engine::storage::{download, RemotePath, Session};
use backup_center_engine::ErrorKind;
use bc_tests::harness::{FtpTls, Vsftpd};
use bc_tests::storage::{assert_prefix, content, entries, path, sha, snapshot_name, MIB};

use super::session;

/// A local disk that fills up after `room` bytes.
struct FillsUp {
    room: usize,
}

impl Write for FillsUp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.room {
            return Err(io::ErrorKind::StorageFull.into());
        }
        self.room -= buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn download_round_trip(tls: FtpTls) {
    let server = Vsftpd::start(tls);
    let (_, mut s) = session(&server, "downloads");
    let folder = server.home().join("downloads");
    let data = content(5 * MIB + 333);
    let (len, expected) = (data.len() as u64, sha(&data));
    let name = snapshot_name(7);
    s.put(&path(&name), &mut &data[..], Some(len)).unwrap();

    let local = tempfile::tempdir().unwrap();
    let to = local.path().join(&name);
    let mut seen = Vec::new();
    let saved = download(&mut s, &path(&name), &to, len, &expected, &mut |n| {
        seen.push(n)
    })
    .unwrap();
    assert_eq!(saved, len);
    assert_eq!(
        sha(&fs::read(&to).unwrap()),
        expected,
        "the copy must be byte-identical (binary mode, every byte value, CR/LF)"
    );
    assert_eq!(seen.len(), 6, "one progress call per MiB: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]) && seen.last() == Some(&len));
    assert_eq!(
        entries(local.path()),
        vec![name.clone()],
        "no temporary left"
    );

    // A copy that does not match what was recorded is not saved.
    let other = local.path().join("other.zip");
    let e = download(&mut s, &path(&name), &other, len, &sha(b"x"), &mut |_| {}).unwrap_err();
    assert_eq!(e.kind, ErrorKind::SnapshotCorrupt, "{e:?}");
    assert_eq!(entries(local.path()), vec![name.clone()]);

    // The local disk fills up mid-transfer: the server's reply is read, the session goes on.
    let e = s
        .get(&path(&name), &mut FillsUp { room: 2 * MIB }, &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StorageFull, "{e:?}");
    assert_prefix(e.message(), "Could not save the copy of ftp");
    let mut again = Vec::new();
    assert_eq!(s.get(&path(&name), &mut again, &mut |_| {}).unwrap(), len);
    assert_eq!(sha(&again), expected);

    let missing = snapshot_name(8);
    let e = s
        .get(&path(&missing), &mut io::sink(), &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e:?}");
    let scheme = if tls == FtpTls::None { "ftp" } else { "ftps" };
    assert_eq!(
        e.message(),
        format!(
            "{scheme}://{}@127.0.0.1:{}{}/{missing} does not exist.",
            server.user(),
            server.port(),
            folder.display()
        )
    );
    let e = s
        .get(&path("no folder/x.zip"), &mut io::sink(), &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e:?}");
    let e = s
        .get(&RemotePath::folder(), &mut io::sink(), &mut |_| {})
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::NotFound,
        "a folder is not a backup: {e:?}"
    );

    // Root's file, not readable by the FTP user: there, but refused.
    let locked = snapshot_name(9);
    fs::write(folder.join(&locked), b"secret").unwrap();
    fs::set_permissions(folder.join(&locked), fs::Permissions::from_mode(0o600)).unwrap();
    let e = s
        .get(&path(&locked), &mut io::sink(), &mut |_| {})
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::StoragePermission, "{e:?}");
    assert_prefix(e.message(), "Backup Center may not read ");
    assert_eq!(
        s.list(&RemotePath::folder()).unwrap().len(),
        2,
        "the session is still usable"
    );
}

#[test]
fn a_multi_mib_backup_downloads_byte_identical_over_plain_ftp() {
    download_round_trip(FtpTls::None);
}

#[test]
fn a_multi_mib_backup_downloads_byte_identical_over_ftps() {
    download_round_trip(FtpTls::Explicit);
}
