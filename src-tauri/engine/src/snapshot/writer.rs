//! [`SnapshotWriter`]: streams entries into `<name>.part`, then manifest, fsync, verify, rename.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use super::archive::{self, ArchiveWriter, Known, Method, Records};
use super::format::{
    layout, DeletedItem, EntryRecord, Manifest, PartialSection, SiteInfo, SnapshotKind, ToolInfo,
    COUNT_ATTACHMENTS, COUNT_ISSUES, FORMAT_VERSION, MANIFEST_PATH,
};
use super::names::check_entry_path;
pub(crate) use super::output::Sink;
use super::output::{sync_dir, Output, WriteProgress};
use super::{io_error, verify_reporting};
use crate::checksum::{Digest, Sha256};
use crate::{Error, ErrorKind, Result};

/// How an entry's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// JSON and other text: shrinks several-fold.
    Deflate,
    /// Attachments and images: usually compressed already, and storing is much faster.
    Stored,
}

impl Compression {
    fn method(self) -> Method {
        match self {
            Compression::Deflate => Method::Deflate,
            Compression::Stored => Method::Stored,
        }
    }
}

/// What the caller knows before the first entry.
#[derive(Debug, Clone)]
pub struct SnapshotMeta {
    pub kind: SnapshotKind,
    pub site: SiteInfo,
    pub started_at: DateTime<Utc>,
}

/// Read-buffer size for streamed entries: large enough for throughput, small enough to be
/// irrelevant for memory.
pub(super) const CHUNK: usize = 64 * 1024;

/// The entry currently being written: its bytes are counted, and hashed on their way in
/// unless the caller already knows the digest.
struct OpenEntry {
    path: String,
    hash: EntryHash,
    size: u64,
}

enum EntryHash {
    Running(Sha256),
    /// Measured by whoever produced the bytes (a download); `verify` checks it.
    Known(Digest),
}

/// Writes one snapshot ZIP, one entry after the other, in constant memory: each entry's record
/// for the manifest and the ZIP central directory goes to a scratch file (see
/// [`super::archive`]); only a 16-byte fingerprint per entry name stays, to refuse duplicates.
///
/// It is synchronous and `Send`: the async walker feeds it from a dedicated thread. Until
/// [`SnapshotWriter::finish`] succeeds the data lives in `<final_name>.part`; dropping an
/// unfinished writer, [`SnapshotWriter::abort`] and any failure in `finish` remove it, so only
/// verified snapshots ever carry the final name.
///
/// After a write error (disk full, I/O) the writer is broken: every later call fails with the
/// first error's kind, and the caller should drop or abort it.
pub struct SnapshotWriter {
    zip: Option<ArchiveWriter>,
    dir: PathBuf,
    part_path: PathBuf,
    final_path: PathBuf,
    meta: SnapshotMeta,
    seen: HashSet<u128>,
    open: Option<OpenEntry>,
    counts: BTreeMap<String, u64>,
    partial_sections: Vec<PartialSection>,
    deleted: Vec<DeletedItem>,
    progress: WriteProgress,
    broken: Option<ErrorKind>,
    /// Set once the verified file carries its final name; until then Drop cleans up.
    done: bool,
}

impl SnapshotWriter {
    /// Starts `dir/<final_name>.part` (a leftover `.part` from an interrupted run is replaced).
    ///
    /// # Errors
    /// `InvalidInput` if `final_name` is not a plain file name or a snapshot with that name
    /// already exists; `StorageFull`, `NotFound` or `Internal` if the file cannot be created.
    pub fn create(dir: &Path, final_name: &str, meta: SnapshotMeta) -> Result<Self> {
        Self::create_with(dir, final_name, meta, |file| Box::new(file))
    }

    /// [`Self::create`] with a wrapper around the file, for failure-injection tests.
    pub(crate) fn create_with(
        dir: &Path,
        final_name: &str,
        meta: SnapshotMeta,
        wrap: impl FnOnce(File) -> Box<dyn Sink>,
    ) -> Result<Self> {
        check_final_name(final_name)?;
        let final_path = dir.join(final_name);
        let part_path = dir.join(format!("{final_name}.part"));
        if final_path.exists() {
            return Err(Error::invalid_input(format!(
                "A snapshot named {final_name} already exists in {}; it is never overwritten.",
                dir.display()
            )));
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&part_path)
            .map_err(|e| io_error(e, dir, "create the snapshot file"))?;
        // Unlinked at once: a crash leaves nothing behind.
        let spill =
            tempfile::tempfile_in(dir).map_err(|e| io_error(e, dir, "create a scratch file"))?;
        let output = Output::new(wrap(file));
        let progress = output.progress();
        let dos_time = archive::dos_time(meta.started_at);
        let mut counts = BTreeMap::new();
        counts.insert(COUNT_ISSUES.to_owned(), 0);
        counts.insert(COUNT_ATTACHMENTS.to_owned(), 0);
        Ok(Self {
            zip: Some(ArchiveWriter::new(output, spill, dos_time)),
            dir: dir.to_owned(),
            part_path,
            final_path,
            meta,
            seen: HashSet::new(),
            open: None,
            counts,
            partial_sections: Vec::new(),
            deleted: Vec::new(),
            progress,
            broken: None,
            done: false,
        })
    }

    /// Bytes in the `.part` file so far (compressed), for progress events.
    pub fn bytes_written(&self) -> u64 {
        self.progress.bytes_written()
    }

    /// A handle another thread can poll for [`Self::bytes_written`] while this one writes.
    pub fn progress(&self) -> WriteProgress {
        self.progress.clone()
    }

    /// The temporary file being written.
    pub fn part_path(&self) -> &Path {
        &self.part_path
    }

    /// Adds one JSON document (Deflate). The document is serialised before the entry starts,
    /// so a value that cannot be serialised leaves the writer usable.
    ///
    /// # Errors
    /// `Internal` for an unsafe or duplicate path or an unserialisable value; `StorageFull` or
    /// `Internal` when writing fails.
    pub fn add_json(&mut self, path: &str, value: &impl Serialize) -> Result<EntryRecord> {
        let bytes = serde_json::to_vec(value).map_err(|e| {
            Error::internal(format!("Could not serialise snapshot entry {path}.")).with_source(e)
        })?;
        self.add_bytes(path, &bytes, Compression::Deflate)
    }

    /// Adds an entry whose bytes are all in memory.
    ///
    /// # Errors
    /// As [`Self::add_json`].
    pub fn add_bytes(
        &mut self,
        path: &str,
        bytes: &[u8],
        compression: Compression,
    ) -> Result<EntryRecord> {
        self.begin(path, compression, bytes.len() as u64 >= u64::from(u32::MAX))?;
        self.write_open(bytes)?;
        self.close_open()?.ok_or_else(closed)
    }

    /// Starts a JSON Lines entry (Deflate) that stays open for [`Self::append_jsonl`] until any
    /// other entry is added or the snapshot is finished. ZIP entries are written one after the
    /// other, so a collection must be written contiguously; use this to create a collection
    /// that may turn out empty.
    ///
    /// # Errors
    /// As [`Self::add_json`].
    pub fn begin_jsonl(&mut self, path: &str) -> Result<()> {
        // Size unknown up front: ZIP64 headers so that even a > 4 GiB collection is valid.
        self.begin(path, Compression::Deflate, true)
    }

    /// Appends one line to the open JSON Lines entry `path`, starting it if no entry is open.
    ///
    /// # Errors
    /// `Internal` if `path` was already closed (the collection was interrupted by another
    /// entry); otherwise as [`Self::add_json`]. Another open entry is closed first.
    pub fn append_jsonl(&mut self, path: &str, value: &impl Serialize) -> Result<()> {
        if self.open.as_ref().map(|o| o.path.as_str()) != Some(path) {
            self.begin_jsonl(path)?;
        }
        let mut line = serde_json::to_vec(value).map_err(|e| {
            Error::internal(format!("Could not serialise a line of {path}.")).with_source(e)
        })?;
        line.push(b'\n');
        self.write_open(&line)
    }

    /// Replaces the site description (known only once `serverInfo` has been read).
    pub fn set_site(&mut self, site: SiteInfo) {
        self.meta.site = site;
    }

    /// Appends one already-serialised JSON document as a line of the open JSON Lines entry
    /// `path` (the walker serialises on its own threads).
    pub(crate) fn append_jsonl_raw(&mut self, path: &str, json: &[u8]) -> Result<()> {
        if self.open.as_ref().map(|o| o.path.as_str()) != Some(path) {
            self.begin_jsonl(path)?;
        }
        let mut line = Vec::with_capacity(json.len() + 1);
        line.extend_from_slice(json);
        line.push(b'\n');
        self.write_open(&line)
    }

    /// Streams `reader` into a new entry (attachments of any size; never buffered whole).
    ///
    /// A read error from `reader` (a dropped download) removes the half-written entry and
    /// leaves the writer usable, so the caller can record a partial section and go on. An
    /// engine [`Error`] wrapped in the `io::Error` is returned as it was.
    ///
    /// # Errors
    /// The reader's error; otherwise as [`Self::add_json`].
    pub fn add_stream(
        &mut self,
        path: &str,
        mut reader: impl Read,
        compression: Compression,
    ) -> Result<EntryRecord> {
        // Size unknown up front: always ZIP64 headers (20 bytes) so a > 4 GiB file is valid.
        self.begin(path, compression, true)?;
        self.copy_into_open(&mut reader)?;
        self.close_open()?.ok_or_else(closed)
    }

    /// Copies a staged download of `size` bytes into a new stored entry whose SHA-256 and
    /// CRC-32 the download already measured: the one writer thread then only has the kernel
    /// copy the file, and [`super::verify`] later proves the copy matches both. A file of
    /// another size is an error and the entry is dropped, as in [`Self::add_stream`].
    ///
    /// # Errors
    /// As [`Self::add_stream`]; `Internal` for a size mismatch.
    pub fn add_prehashed(
        &mut self,
        path: &str,
        file: &mut File,
        size: u64,
        sha256: Digest,
        crc32: u32,
    ) -> Result<EntryRecord> {
        let on_disk = file.metadata().map(|m| m.len());
        if let Ok(n) = on_disk {
            if n != size {
                return Err(source_error(
                    io::Error::other(format!(
                        "the staged file holds {n} bytes, its download {size}"
                    )),
                    path,
                ));
            }
        }
        self.begin_known(path, Known { size, crc32 })?;
        if let Some(open) = self.open.as_mut() {
            open.hash = EntryHash::Known(sha256);
        }
        let zip = self.zip.as_mut().ok_or_else(closed)?;
        let copied = match zip.copy_file(file, size) {
            Ok(n) => n,
            // The output is fail-stopped by now: the whole snapshot fails (disk full, I/O).
            Err(e) => {
                let dir = self.dir.clone();
                return Err(self.fail(io_error(e, &dir, "write the snapshot")));
            }
        };
        if copied != size {
            return Err(self.abandon_open(io::Error::other(format!(
                "the staged file gave {copied} bytes, its download {size}"
            ))));
        }
        if let Some(open) = self.open.as_mut() {
            open.size = size;
        }
        self.close_open()?.ok_or_else(closed)
    }

    /// Copies `reader` into the open entry; returns the bytes read. A read error drops the
    /// entry (see [`Self::add_stream`]).
    fn copy_into_open(&mut self, reader: &mut impl Read) -> Result<u64> {
        let mut buf = vec![0u8; CHUNK];
        let mut copied = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(copied),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.abandon_open(e)),
            };
            copied += n as u64;
            self.write_open(&buf[..n])?;
        }
    }

    /// Adds `n` to the count of `entity`. `issues` and `attachments` are derived from the
    /// entries and cannot be counted by hand.
    ///
    /// # Errors
    /// `Internal` for a derived count.
    pub fn count(&mut self, entity: &str, n: u64) -> Result<()> {
        if entity == COUNT_ISSUES || entity == COUNT_ATTACHMENTS {
            return Err(Error::internal(format!(
                "The snapshot count {entity:?} is derived from the entries; do not count it by hand."
            )));
        }
        *self.counts.entry(entity.to_owned()).or_default() += n;
        Ok(())
    }

    /// Records that `section` could not be saved completely; the snapshot becomes partial.
    pub fn mark_partial(&mut self, section: &str, reason: &str) {
        self.partial_sections.push(PartialSection {
            section: section.to_owned(),
            reason: reason.to_owned(),
        });
    }

    /// Records something deleted in Jira while the run was walking it.
    pub fn record_deleted(&mut self, entity: &str, id: &str, note: &str) {
        self.deleted.push(DeletedItem {
            entity: entity.to_owned(),
            id: id.to_owned(),
            note: note.to_owned(),
        });
    }

    /// Writes the manifest, fsyncs, verifies the whole `.part` file, renames it to the final
    /// name and fsyncs the folder. On any failure the `.part` is removed.
    ///
    /// # Errors
    /// `InvalidInput` if `finished_at` is before `started_at`; `SnapshotCorrupt` if the written
    /// file does not verify; `StorageFull` or `Internal` for I/O failures.
    pub fn finish(self, finished_at: DateTime<Utc>) -> Result<PathBuf> {
        self.finish_reporting(finished_at, &mut |_, _| {})
    }

    /// [`finish`](Self::finish), reporting verification progress as
    /// [`verify_reporting`](super::verify_reporting) does.
    pub fn finish_reporting(
        mut self,
        finished_at: DateTime<Utc>,
        checked: &mut dyn FnMut(u64, u64),
    ) -> Result<PathBuf> {
        let result = self.finish_inner(finished_at, |path| {
            verify_reporting(path, checked).map(drop)
        });
        if result.is_err() {
            self.discard_part();
        }
        result
    }

    fn finish_inner(
        &mut self,
        finished_at: DateTime<Utc>,
        check: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<PathBuf> {
        if finished_at < self.meta.started_at {
            return Err(Error::invalid_input(format!(
                "The snapshot cannot finish ({finished_at}) before it started ({}).",
                self.meta.started_at
            )));
        }
        self.close_open()?;
        // Sections and deletions are found concurrently: list them in a stable order.
        self.partial_sections
            .sort_by(|a, b| a.section.cmp(&b.section));
        self.deleted
            .sort_by(|a, b| (&a.entity, &a.id).cmp(&(&b.entity, &b.id)));
        self.seen = HashSet::new();
        let zip = self.zip.as_mut().ok_or_else(closed)?;
        let records = zip.records();
        let streamed = records.and_then(|records| {
            let manifest = Manifest {
                format_version: FORMAT_VERSION,
                kind: self.meta.kind,
                site: self.meta.site.clone(),
                started_at: self.meta.started_at,
                finished_at,
                tool: ToolInfo::current(),
                counts: self.counts.clone(),
                partial: !self.partial_sections.is_empty(),
                partial_sections: std::mem::take(&mut self.partial_sections),
                deleted_during_run: std::mem::take(&mut self.deleted),
                entries: SpilledEntries(RefCell::new(records)),
            };
            zip.start(MANIFEST_PATH, Method::Deflate, None, false)?;
            // Streamed into the entry: on a large site the JSON is tens of MB.
            let mut out = io::BufWriter::with_capacity(CHUNK, EntryWriter(zip));
            serde_json::to_writer_pretty(&mut out, &manifest).map_err(io::Error::from)?;
            out.flush()?;
            drop(out);
            // The manifest does not list itself; its central record needs no digest.
            zip.finish_entry(Digest([0; 32])).map(drop)
        });
        if let Err(e) = streamed {
            let dir = self.dir.clone();
            return Err(self.fail(io_error(e, &dir, "write the manifest")));
        }
        let zip = self.zip.take().ok_or_else(closed)?;
        let dir = self.dir.clone();
        let output = zip
            .finish()
            .map_err(|e| io_error(e, &dir, "finish the snapshot file"))?;
        // An aborted attachment may have left bytes past the central directory.
        output
            .close()
            .map_err(|e| io_error(e, &dir, "finish the snapshot file"))?;

        check(&self.part_path)?;
        // rename() replaces silently: never clobber a backup that appeared since create().
        if self.final_path.exists() {
            return Err(Error::invalid_input(format!(
                "A snapshot named {} appeared in {} while this one was written; it is never \
                 overwritten.",
                self.final_path.display(),
                dir.display()
            )));
        }
        fs::rename(&self.part_path, &self.final_path)
            .map_err(|e| io_error(e, &dir, "rename the verified snapshot"))?;
        if let Err(e) = sync_dir(&dir) {
            // Not durable yet, so not a backup: it must not keep the final name.
            let _ = fs::remove_file(&self.final_path);
            return Err(io_error(e, &dir, "sync the backup folder"));
        }
        self.done = true;
        Ok(self.final_path.clone())
    }

    /// Stops without a snapshot: the `.part` file is removed.
    pub fn abort(mut self) {
        self.discard_part();
    }

    fn begin(&mut self, path: &str, compression: Compression, large: bool) -> Result<()> {
        self.begin_entry(path, compression.method(), None, large)
    }

    fn begin_known(&mut self, path: &str, known: Known) -> Result<()> {
        self.begin_entry(
            path,
            Method::Stored,
            Some(known),
            known.size >= u64::from(u32::MAX),
        )
    }

    fn begin_entry(
        &mut self,
        path: &str,
        method: Method,
        known: Option<Known>,
        large: bool,
    ) -> Result<()> {
        self.close_open()?;
        check_entry_path(path)?;
        let key = name_key(path);
        if self.seen.contains(&key) {
            return Err(Error::internal(format!(
                "Snapshot entry {path} was written twice (a JSON Lines collection must be \
                 written contiguously)."
            )));
        }
        self.check_usable()?;
        let zip = self.zip.as_mut().ok_or_else(closed)?;
        if let Err(e) = zip.start(path, method, known, large) {
            let dir = self.dir.clone();
            return Err(self.fail(io_error(e, &dir, "write the snapshot")));
        }
        self.seen.insert(key);
        self.open = Some(OpenEntry {
            path: path.to_owned(),
            hash: EntryHash::Running(Sha256::new()),
            size: 0,
        });
        Ok(())
    }

    fn write_open(&mut self, bytes: &[u8]) -> Result<()> {
        self.check_usable()?;
        let zip = self.zip.as_mut().ok_or_else(closed)?;
        if let Err(e) = zip.write(bytes) {
            let dir = self.dir.clone();
            return Err(self.fail(io_error(e, &dir, "write the snapshot")));
        }
        let open = self.open.as_mut().ok_or_else(closed)?;
        if let EntryHash::Running(h) = &mut open.hash {
            h.update(bytes);
        }
        open.size += bytes.len() as u64;
        Ok(())
    }

    /// Records the open entry, if any, in the manifest.
    fn close_open(&mut self) -> Result<Option<EntryRecord>> {
        self.check_usable()?;
        let Some(open) = self.open.take() else {
            return Ok(None);
        };
        let digest = match open.hash {
            EntryHash::Running(h) => h.finish(),
            EntryHash::Known(d) => d,
        };
        let zip = self.zip.as_mut().ok_or_else(closed)?;
        let done = match zip.finish_entry(digest) {
            Ok(done) => done,
            Err(e) => {
                let dir = self.dir.clone();
                return Err(self.fail(io_error(e, &dir, "write the snapshot")));
            }
        };
        debug_assert_eq!(done.size, open.size);
        let record = EntryRecord {
            sha256: digest.to_hex(),
            size: done.size,
            path: done.name,
        };
        if layout::is_issue(&record.path) {
            *self.counts.entry(COUNT_ISSUES.to_owned()).or_default() += 1;
        } else if layout::is_attachment(&record.path) {
            *self.counts.entry(COUNT_ATTACHMENTS.to_owned()).or_default() += 1;
        }
        Ok(Some(record))
    }

    /// Drops the half-written entry after a read error from the caller's source.
    fn abandon_open(&mut self, e: io::Error) -> Error {
        let open = self.open.take();
        let path = open.as_ref().map(|o| o.path.clone()).unwrap_or_default();
        self.seen.remove(&name_key(&path));
        if let Some(zip) = self.zip.as_mut() {
            if let Err(ze) = zip.abort_entry() {
                let dir = self.dir.clone();
                return self.fail(io_error(ze, &dir, "write the snapshot"));
            }
        }
        source_error(e, &path)
    }

    fn fail(&mut self, error: Error) -> Error {
        self.broken = Some(error.kind);
        error
    }

    fn check_usable(&self) -> Result<()> {
        match self.broken {
            Some(kind) => Err(Error::new(
                kind,
                "The snapshot writer failed earlier and cannot be used any more; abort it.",
            )),
            None => Ok(()),
        }
    }

    /// Best effort: nothing that looks like a backup may remain.
    fn discard_part(&mut self) {
        self.progress.discard();
        drop(self.zip.take());
        match fs::remove_file(&self.part_path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                "could not remove unfinished snapshot {}: {e}",
                self.part_path.display()
            ),
        }
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        if !self.done {
            self.discard_part();
        }
    }
}

fn closed() -> Error {
    Error::internal("The snapshot writer is already closed.")
}

/// A final name is one plain file name: the writer never writes outside `dir`.
fn check_final_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
        && super::sanitise_file_name(name) == name;
    if plain {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "The snapshot file name {name:?} must be a plain file name (no folders, no \
             special characters)."
        )))
    }
}

/// An error from the caller's reader; an engine error smuggled through `io::Error` comes back.
fn source_error(e: io::Error, path: &str) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(engine) = inner.downcast::<Error>() {
                return *engine;
            }
        }
        return Error::internal(format!("Reading the content of {path} failed."));
    }
    let kind = match e.kind() {
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::BrokenPipe => ErrorKind::Unreachable,
        _ => ErrorKind::Internal,
    };
    Error::new(
        kind,
        format!("Reading the content of {path} failed; the entry was left out."),
    )
    .with_context("entry", path)
    .with_source(e)
}

/// A 128-bit fingerprint of an entry name: duplicates are refused without keeping every name
/// in memory (a chance collision among a million names is about 1 in 10^26).
pub(super) fn name_key(path: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        path.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

/// The open entry of an [`ArchiveWriter`] as an `io::Write`, for serde's streaming output.
struct EntryWriter<'a>(&'a mut ArchiveWriter);

impl Write for EntryWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The manifest's `entries`, serialised straight from the writer's scratch file.
struct SpilledEntries(RefCell<Records>);

impl Serialize for SpilledEntries {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut records = self.0.borrow_mut();
        let mut seq = s.serialize_seq(None)?;
        while let Some(r) = records.next_record().map_err(S::Error::custom)? {
            seq.serialize_element(&EntryRecord {
                path: r.name,
                size: r.size,
                sha256: r.sha256.to_hex(),
            })?;
        }
        seq.end()
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
