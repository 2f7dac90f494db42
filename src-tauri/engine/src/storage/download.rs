//! Saving a stored backup on this computer ("Download…").
//!
//! [`download`] streams the backup from any destination ([`Session::get`]) into a temporary
//! file next to the target, hashing it as it is written, and gives it the target's name only
//! once its size and SHA-256 match what was recorded when the backup was stored. A copy that
//! does not match, or a failure halfway, leaves nothing behind: the temporary is a
//! `tempfile::NamedTempFile`, removed when dropped on every error path. The copy is readable by
//! the user only (as `tempfile` creates it), like the backups themselves: it holds a whole site.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use super::{backup_name, io_error, RemotePath, Session};
use crate::checksum::{Digest, Sha256};
use crate::error::{Error, ErrorKind, Result};

/// Read size of a download: what the remote protocols want (see `local.rs`), and a progress
/// step small enough to show.
pub(crate) const CHUNK: usize = 1 << 20;

/// Saves the backup at `path` (relative to the destination folder) as the new file `to`,
/// whose folder must exist, and returns its size. `progress` gets the bytes received so far.
///
/// # Errors
/// `InvalidInput` for a checksum that is not 64 hex digits (either case) or a `to` without a
/// file name; `StorageConflict` if `to` exists (nothing is overwritten); `StoragePath` if its
/// folder does not exist; `SnapshotCorrupt` if the size or the SHA-256 differ from those
/// expected; otherwise as [`Session::get`]. No file is left behind on any failure.
pub fn download(
    session: &mut dyn Session,
    path: &RemotePath,
    to: &Path,
    expected_size: u64,
    expected_sha256: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let name = backup_name(path)?;
    let expected = Digest::from_hex(expected_sha256.trim()).ok_or_else(|| {
        Error::invalid_input(format!(
            "The recorded checksum of {name} is not a SHA-256 (64 hexadecimal digits), so a \
             download could not be checked."
        ))
    })?;
    let shown = to.display().to_string();
    let (Some(file_name), Some(parent)) = (to.file_name(), to.parent()) else {
        return Err(Error::invalid_input(format!(
            "The backup cannot be saved as {shown:?}: choose a file name."
        )));
    };
    // A bare file name has the parent "": the current folder.
    let parent = match parent.as_os_str().is_empty() {
        true => Path::new("."),
        false => parent,
    };
    // Checked before a byte is fetched; the final rename refuses a file that appears meanwhile.
    if fs::symlink_metadata(to).is_ok() {
        return Err(exists_error(&shown));
    }
    check_folder(parent)?;

    let mut prefix = OsString::from(".");
    prefix.push(file_name);
    prefix.push(".download-");
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempfile_in(parent)
        .map_err(|e| save_error(e, &shown))?;
    let mut saving = Saving {
        file: temp.as_file_mut(),
        hasher: Sha256::new(),
        written: 0,
        limit: expected_size,
        failure: None,
        shown: &shown,
        name: &name,
    };
    let got = session.get(path, &mut saving, progress);
    let (hasher, written, failure) = (saving.hasher, saving.written, saving.failure);
    match (got, failure) {
        // Our own record says best why writing stopped (the session saw only an io::Error).
        (_, Some(failure)) => return Err(failure),
        (Err(e), None) => return Err(e),
        (Ok(_), None) => {}
    }
    if written != expected_size {
        return Err(mismatch(
            &name,
            &format!("it has {written} bytes, the backup had {expected_size}"),
        ));
    }
    if hasher.finish() != expected {
        return Err(mismatch(&name, "SHA-256 differs"));
    }
    temp.as_file()
        .sync_all()
        .map_err(|e| save_error(e, &shown))?;
    if let Err(e) = temp.persist_noclobber(to) {
        // `e.file` is the temporary; dropping it removes it.
        return Err(match e.error.kind() {
            io::ErrorKind::AlreadyExists => exists_error(&shown),
            _ => save_error(e.error, &shown),
        });
    }
    // Make the rename itself durable; failing here loses nothing already written.
    let _ = super::local::sync_dir(parent);
    Ok(written)
}

/// The temporary being written: hashes what it is given, refuses more than the backup's size
/// (a file that grew on the server must not fill the disk), and keeps the first failure with
/// the message for the user.
struct Saving<'a> {
    file: &'a mut fs::File,
    hasher: Sha256,
    written: u64,
    limit: u64,
    failure: Option<Error>,
    shown: &'a str,
    name: &'a str,
}

impl Write for Saving<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written.saturating_add(buf.len() as u64) > self.limit {
            let why = format!("it has more than the {} bytes the backup had", self.limit);
            self.failure = Some(mismatch(self.name, &why));
            return Err(io::Error::other("more data than the stored backup had"));
        }
        if let Err(e) = self.file.write_all(buf) {
            let kind = e.kind();
            self.failure = Some(save_error(e, self.shown));
            return Err(io::Error::from(kind));
        }
        self.hasher.update(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

fn exists_error(shown: &str) -> Error {
    Error::new(
        ErrorKind::StorageConflict,
        format!(
            "{shown} already exists. Backup Center does not overwrite it: choose another name or \
             folder."
        ),
    )
}

fn mismatch(name: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::SnapshotCorrupt,
        format!(
            "The downloaded copy of {name} does not match the backup that was stored ({why}): \
             the stored file changed or was damaged. Nothing was saved."
        ),
    )
}

/// The folder a download goes to must exist (and be a folder): creating folders the user did
/// not pick is not this function's business.
fn check_folder(dir: &Path) -> Result<()> {
    let shown = dir.display().to_string();
    let problem = match fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => "it is a file, not a folder",
        Err(e) if e.kind() == io::ErrorKind::NotFound => "the folder does not exist",
        Err(e) => return Err(io_error(e, "save the backup in", &shown)),
    };
    Err(Error::new(
        ErrorKind::StoragePath,
        format!("Could not save the backup in {shown}: {problem}. Choose an existing folder."),
    )
    .with_context("target", shown))
}

/// A failure to write a downloaded backup to `what` (a file on this computer as the user knows
/// it): a full disk is `StorageFull` with a message about this computer, not the destination.
pub(crate) fn save_error(e: io::Error, what: &str) -> Error {
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Error::new(
            ErrorKind::StorageFull,
            format!(
                "Could not save {what}: the disk is full. Free some space or choose another \
                 folder."
            ),
        )
        .with_context("target", what.to_string())
        .with_source(e),
        _ => io_error(e, "save", what),
    }
}

/// Why [`copy_out`] stopped: reading the source (the caller maps it as its protocol does) or
/// writing to `out` (already mapped).
pub(crate) enum CopyFailure {
    Read(io::Error),
    Write(Error),
}

impl CopyFailure {
    pub(crate) fn into_error(self, read: impl FnOnce(io::Error) -> Error) -> Error {
        match self {
            CopyFailure::Read(e) => read(e),
            CopyFailure::Write(e) => e,
        }
    }
}

/// Copies `source` to its end into `out` in [`CHUNK`]s (every chunk but the last is full,
/// whatever sizes the source reads in), calling `progress` after each; the bytes copied.
/// `shown` is the file being read, as the user knows it.
pub(crate) fn copy_out(
    source: &mut dyn Read,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
    shown: &str,
) -> std::result::Result<u64, CopyFailure> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let mut filled = 0;
        while filled < CHUNK {
            match source.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CopyFailure::Read(e)),
            }
        }
        if filled > 0 {
            out.write_all(&buf[..filled])
                .map_err(|e| CopyFailure::Write(save_error(e, &format!("the copy of {shown}"))))?;
            total += filled as u64;
            progress(total);
        }
        // Short only at the end: no read after the end (a TLS data stream may fail it).
        if filled < CHUNK {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::Utc;
    use sha2::Digest as _;

    use super::*;
    use crate::storage::{Fault, LocalDestination, MemoryDestination};

    const NAME: &str = "acme.atlassian.net-basic-2026-11-22_0300.zip";

    /// 2.5 MiB that is not all the same byte, and its SHA-256 from an independent implementation.
    fn backup() -> (Vec<u8>, String) {
        let data: Vec<u8> = (0..5 * CHUNK / 2).map(|i| (i * 7 % 251) as u8).collect();
        let sha = hex::encode(sha2::Sha256::digest(&data));
        (data, sha)
    }

    fn name() -> RemotePath {
        RemotePath::parse(NAME).unwrap()
    }

    fn memory_with(data: &[u8]) -> MemoryDestination {
        let dest = MemoryDestination::new();
        dest.insert(NAME, data, Utc::now());
        dest
    }

    /// A local destination in `dir/dest` holding `data` as the backup.
    fn local_with(dir: &Path, data: &[u8]) -> LocalDestination {
        let dest = LocalDestination::new(dir, "dest", None).unwrap();
        fs::create_dir_all(dest.folder()).unwrap();
        fs::write(dest.folder().join(NAME), data).unwrap();
        dest
    }

    /// The names in `dir`, sorted.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// A folder to save into, and the target path in it.
    fn target() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("saved copy.zip");
        (dir, to)
    }

    #[test]
    fn the_right_checksum_saves_the_file_with_progress_up_to_its_size() {
        let (data, sha) = backup();
        let len = data.len() as u64;
        let memory = memory_with(&data);
        let scratch = tempfile::tempdir().unwrap();
        let local = local_with(scratch.path(), &data);
        let sessions: [Box<dyn Session>; 2] =
            [Box::new(memory.session()), Box::new(local.session())];
        for mut session in sessions {
            let (dir, to) = target();
            let mut seen = Vec::new();
            // Either case: manifests are lowercase, users paste uppercase.
            let saved = download(
                &mut *session,
                &name(),
                &to,
                len,
                &sha.to_uppercase(),
                &mut |n| seen.push(n),
            )
            .unwrap();
            assert_eq!(saved, len);
            assert_eq!(fs::read(&to).unwrap(), data);
            assert_eq!(
                seen,
                vec![CHUNK as u64, 2 * CHUNK as u64, len],
                "one call per 1 MiB"
            );
            assert_eq!(
                names_in(dir.path()),
                vec!["saved copy.zip"],
                "no temporary left"
            );
        }
        assert_eq!(memory.read(NAME).unwrap(), data, "the source is untouched");
    }

    #[test]
    fn a_wrong_checksum_or_size_is_snapshot_corrupt_and_saves_nothing() {
        let (data, sha) = backup();
        let len = data.len() as u64;
        let wrong = hex::encode(sha2::Sha256::digest(b"another backup"));
        let scratch = tempfile::tempdir().unwrap();
        let local = local_with(scratch.path(), &data);
        for (size, checksum, why) in [
            (len, wrong.as_str(), "(SHA-256 differs)"),
            (
                len + 1,
                sha.as_str(),
                "(it has 2621440 bytes, the backup had 2621441)",
            ),
            (
                len - 1,
                sha.as_str(),
                "(it has more than the 2621439 bytes the backup had)",
            ),
        ] {
            let memory = memory_with(&data);
            let sessions: [Box<dyn Session>; 2] =
                [Box::new(memory.session()), Box::new(local.session())];
            for mut session in sessions {
                let (dir, to) = target();
                let e =
                    download(&mut *session, &name(), &to, size, checksum, &mut |_| {}).unwrap_err();
                assert_eq!(e.kind, ErrorKind::SnapshotCorrupt, "{e:?}");
                assert_eq!(
                    e.message(),
                    format!(
                        "The downloaded copy of {NAME} does not match the backup that was \
                         stored {why}: the stored file changed or was damaged. Nothing was \
                         saved."
                    )
                );
                assert!(
                    names_in(dir.path()).is_empty(),
                    "{:?}",
                    names_in(dir.path())
                );
            }
        }
    }

    #[test]
    fn an_existing_target_is_a_conflict_and_stays_untouched() {
        let (data, sha) = backup();
        let (dir, to) = target();
        fs::write(&to, b"the user's own file").unwrap();
        let mut fetched = false;
        let e = download(
            &mut memory_with(&data).session(),
            &name(),
            &to,
            data.len() as u64,
            &sha,
            &mut |_| fetched = true,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::StorageConflict, "{e:?}");
        assert_eq!(
            e.message(),
            format!(
                "{} already exists. Backup Center does not overwrite it: choose another name or \
                 folder.",
                to.display()
            )
        );
        assert!(!fetched, "nothing is fetched for a target that exists");
        assert_eq!(fs::read(&to).unwrap(), b"the user's own file");
        assert_eq!(names_in(dir.path()), vec!["saved copy.zip"]);
    }

    #[test]
    fn a_target_appearing_during_the_download_is_not_overwritten() {
        let (data, sha) = backup();
        let (dir, to) = target();
        let mut progress = |_| {
            let _ = fs::write(&to, b"written meanwhile");
        };
        let e = download(
            &mut memory_with(&data).session(),
            &name(),
            &to,
            data.len() as u64,
            &sha,
            &mut progress,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::StorageConflict, "{e:?}");
        assert_eq!(fs::read(&to).unwrap(), b"written meanwhile");
        assert_eq!(names_in(dir.path()), vec!["saved copy.zip"]);
    }

    #[test]
    fn a_missing_backup_is_not_found_and_leaves_nothing() {
        let (_, sha) = backup();
        let scratch = tempfile::tempdir().unwrap();
        let local = local_with(scratch.path(), b"x");
        let memory = MemoryDestination::new();
        // Reading is not a change: it works under "permission denied" for changes.
        memory.inject(Some(Fault::PermissionDenied));
        let missing =
            RemotePath::parse("daily/acme.atlassian.net-basic-2026-11-23_0300.zip").unwrap();
        let cases: [(Box<dyn Session>, String); 2] = [
            (
                Box::new(memory.session()),
                format!("memory:/{}", missing.as_str()),
            ),
            (
                Box::new(local.session()),
                local.folder().join(missing.as_str()).display().to_string(),
            ),
        ];
        for (mut session, shown) in cases {
            let (dir, to) = target();
            let e = download(&mut *session, &missing, &to, 1, &sha, &mut |_| {}).unwrap_err();
            assert_eq!(e.kind, ErrorKind::NotFound, "{e:?}");
            assert_eq!(e.message(), format!("{shown} does not exist."));
            assert!(names_in(dir.path()).is_empty());
            let e = session
                .get(&missing, &mut io::sink(), &mut |_| {})
                .unwrap_err();
            assert_eq!(e.kind, ErrorKind::NotFound, "{e:?}");
        }
        // A folder is not a backup.
        let e = local
            .session()
            .get(&RemotePath::folder(), &mut io::sink(), &mut |_| {})
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e:?}");
    }

    #[test]
    fn the_target_folder_must_exist_and_the_checksum_be_sha256() {
        let (data, sha) = backup();
        let len = data.len() as u64;
        let dir = tempfile::tempdir().unwrap();
        let mut s = memory_with(&data).session();
        let to = dir.path().join("not there").join("x.zip");
        let e = download(&mut s, &name(), &to, len, &sha, &mut |_| {}).unwrap_err();
        assert_eq!(e.kind, ErrorKind::StoragePath, "{e:?}");
        let said = format!(
            "in {}: the folder does not exist.",
            to.parent().unwrap().display()
        );
        assert!(e.message().contains(&said), "{}", e.message());
        fs::write(dir.path().join("a file"), b"x").unwrap();
        let to = dir.path().join("a file").join("x.zip");
        let e = download(&mut s, &name(), &to, len, &sha, &mut |_| {}).unwrap_err();
        assert_eq!(e.kind, ErrorKind::StoragePath, "{e:?}");
        assert!(
            e.message().contains("it is a file, not a folder"),
            "{}",
            e.message()
        );

        let to = dir.path().join("x.zip");
        for bad in [
            "",
            "abc",
            &sha[..63],
            &format!("{sha}0"),
            &sha.replace(|_| true, "g"),
        ] {
            let e = download(&mut s, &name(), &to, len, bad, &mut |_| {}).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad:?}");
        }
        let e = download(&mut s, &name(), Path::new("/"), len, &sha, &mut |_| {}).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput, "{e:?}");
        assert_eq!(names_in(dir.path()), vec!["a file"]);
    }

    /// A writer that fails as a full disk does.
    struct FullDisk;

    impl Write for FullDisk {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::StorageFull.into())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_local_disk_is_storage_full_about_this_computer() {
        let (data, _) = backup();
        let scratch = tempfile::tempdir().unwrap();
        let local = local_with(scratch.path(), &data);
        let sessions: [Box<dyn Session>; 2] = [
            Box::new(memory_with(&data).session()),
            Box::new(local.session()),
        ];
        for mut session in sessions {
            let e = session
                .get(&name(), &mut FullDisk, &mut |_| {})
                .unwrap_err();
            assert_eq!(e.kind, ErrorKind::StorageFull, "{e:?}");
            assert!(
                e.message().starts_with("Could not save the copy of ")
                    && e.message()
                        .ends_with(": the disk is full. Free some space or choose another folder."),
                "{}",
                e.message()
            );
        }
    }

    #[test]
    fn get_streams_every_byte_in_full_chunks_whatever_the_source_reads() {
        /// Reads at most 1000 bytes per call, with an interruption now and then.
        struct Trickle<'a>(&'a [u8], u32);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.1 += 1;
                if self.1 % 7 == 0 {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                let n = buf.len().min(1000).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (data, _) = backup();
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let n = copy_out(&mut Trickle(&data, 0), &mut out, &mut |n| seen.push(n), "x")
            .ok()
            .unwrap();
        assert_eq!((n, out == data), (data.len() as u64, true));
        assert_eq!(
            seen,
            vec![CHUNK as u64, 2 * CHUNK as u64, data.len() as u64]
        );
        let mut seen = Vec::new();
        let empty = copy_out(&mut &b""[..], &mut Vec::new(), &mut |n| seen.push(n), "x");
        assert_eq!((empty.ok(), seen), (Some(0), vec![]));
    }
}
