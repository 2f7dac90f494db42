//! What the destination tests against real servers (`storage_ftp`, `storage_sftp`) share:
//! snapshot names, content that catches text-mode and off-by-one bugs, what a folder on the
//! server's disk holds, and readers that fail or act at a given point of an upload.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use backup_center_engine::snapshot::{file_name, SnapshotKind};
use backup_center_engine::storage::RemotePath;
use chrono::{TimeZone, Utc};
use sha2::{Digest, Sha256};

/// One MiB.
pub const MIB: usize = 1024 * 1024;

/// The name of a snapshot of acme.atlassian.net taken `minute` minutes after 03:00 on
/// 2026-11-22 (one name per minute).
pub fn snapshot_name(minute: u32) -> String {
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
        + chrono::Duration::minutes(i64::from(minute));
    file_name("acme.atlassian.net", SnapshotKind::Basic, at)
}

pub fn path(name: &str) -> RemotePath {
    RemotePath::parse(name).unwrap()
}

/// `len` bytes: every byte value (CR, LF, NUL, 0xFF included), CR/LF in every combination a
/// text-mode transfer would rewrite, then noise that does not compress.
pub fn content(len: usize) -> Vec<u8> {
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

/// SHA-256 as hex: compares big contents with a short message when they differ.
pub fn sha(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// The names in `dir` on the server's disk, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The temporary upload files in `dir` (ours or not).
pub fn temporaries(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.contains(".part-"))
        .collect()
}

/// `message` starts with `prefix`, or the assertion shows both.
pub fn assert_prefix(message: &str, prefix: &str) {
    assert!(
        message.starts_with(prefix),
        "message:\n  {message}\nshould start with:\n  {prefix}"
    );
}

/// A reader over `data` that runs `action` once `at` bytes have been read, or fails there
/// ([`Tripwire::failing`]). Reads in 64 KiB pieces so the action lands mid-upload; seeks
/// (from the start only) for `put_resuming`.
pub struct Tripwire<'a> {
    data: &'a [u8],
    pos: usize,
    at: usize,
    action: Option<Box<dyn FnOnce() + 'a>>,
    fail: bool,
}

impl<'a> Tripwire<'a> {
    pub fn new(data: &'a [u8], at: usize, action: impl FnOnce() + 'a) -> Self {
        Self {
            data,
            pos: 0,
            at,
            action: Some(Box::new(action)),
            fail: false,
        }
    }

    /// Fails every read once `at` bytes have been read, as a snapshot file on a disk that went
    /// away.
    pub fn failing(data: &'a [u8], at: usize) -> Self {
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

/// Counts the bytes read (what an upload actually reads of the backup).
pub struct Counting<R> {
    pub inner: R,
    pub read: u64,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, read: 0 }
    }
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
