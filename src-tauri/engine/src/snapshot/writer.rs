//! [`SnapshotWriter`]: streams entries into `<name>.part`, then manifest, fsync, verify, rename.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serialize;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::format::{
    layout, DeletedItem, EntryRecord, Manifest, PartialSection, SiteInfo, SnapshotKind, ToolInfo,
    COUNT_ATTACHMENTS, COUNT_ISSUES, FORMAT_VERSION, MANIFEST_PATH,
};
use super::names::check_entry_path;
pub(crate) use super::output::Sink;
use super::output::{sync_dir, Output, WriteProgress};
use super::{io_error, verify, zip_error};
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
    fn method(self) -> CompressionMethod {
        match self {
            Compression::Deflate => CompressionMethod::Deflated,
            Compression::Stored => CompressionMethod::Stored,
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

/// Copy-buffer size for staged downloads: fewer, larger reads and writes for big files.
const STAGED_CHUNK: usize = 1 << 20;

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

/// Writes one snapshot ZIP, one entry after the other, in constant memory (plus one small
/// record per entry for the manifest and the ZIP central directory).
///
/// It is synchronous and `Send`: the async walker feeds it from a dedicated thread. Until
/// [`SnapshotWriter::finish`] succeeds the data lives in `<final_name>.part`; dropping an
/// unfinished writer, [`SnapshotWriter::abort`] and any failure in `finish` remove it, so only
/// verified snapshots ever carry the final name.
///
/// After a write error (disk full, I/O) the writer is broken: every later call fails with the
/// first error's kind, and the caller should drop or abort it.
pub struct SnapshotWriter {
    zip: Option<ZipWriter<Output>>,
    dir: PathBuf,
    part_path: PathBuf,
    final_path: PathBuf,
    meta: SnapshotMeta,
    mtime: zip::DateTime,
    entries: Vec<EntryRecord>,
    seen: HashSet<String>,
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
        let output = Output::new(wrap(file));
        let progress = output.progress();
        let mtime = zip_time(meta.started_at);
        let mut counts = BTreeMap::new();
        counts.insert(COUNT_ISSUES.to_owned(), 0);
        counts.insert(COUNT_ATTACHMENTS.to_owned(), 0);
        Ok(Self {
            zip: Some(ZipWriter::new(output)),
            dir: dir.to_owned(),
            part_path,
            final_path,
            meta,
            mtime,
            entries: Vec::new(),
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
        self.copy_into_open(&mut reader, CHUNK, u64::MAX)?;
        self.close_open()?.ok_or_else(closed)
    }

    /// Streams exactly `size` bytes from `reader` (a staged download) into a new stored entry
    /// whose SHA-256 the caller already measured: the one writer thread then only copies, and
    /// [`super::verify`] later proves the copy matches. A reader that yields another number of
    /// bytes is an error and the entry is dropped, as in [`Self::add_stream`].
    ///
    /// # Errors
    /// As [`Self::add_stream`]; `Internal` for a size mismatch.
    pub fn add_prehashed(
        &mut self,
        path: &str,
        mut reader: impl Read,
        size: u64,
        sha256: Digest,
    ) -> Result<EntryRecord> {
        self.begin(path, Compression::Stored, size >= u64::from(u32::MAX))?;
        if let Some(open) = self.open.as_mut() {
            open.hash = EntryHash::Known(sha256);
        }
        let copied = self.copy_into_open(&mut reader, STAGED_CHUNK, size)?;
        if copied != size {
            return Err(self.abandon_open(io::Error::other(format!(
                "the staged file holds {copied} bytes, its download {size}"
            ))));
        }
        self.close_open()?.ok_or_else(closed)
    }

    /// Copies `reader` into the open entry in `chunk`-sized reads; returns the bytes read.
    /// Stops, without writing it, at the read that goes past `limit` (the caller compares).
    /// A read error drops the entry (see [`Self::add_stream`]).
    fn copy_into_open(&mut self, reader: &mut impl Read, chunk: usize, limit: u64) -> Result<u64> {
        let mut buf = vec![0u8; chunk];
        let mut copied = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(copied),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.abandon_open(e)),
            };
            copied += n as u64;
            if copied > limit {
                return Ok(copied);
            }
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
    pub fn finish(mut self, finished_at: DateTime<Utc>) -> Result<PathBuf> {
        let result = self.finish_inner(finished_at, |path| verify(path).map(drop));
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
            entries: std::mem::take(&mut self.entries),
        };
        self.seen = HashSet::new();
        self.start_zip_entry(MANIFEST_PATH, Compression::Deflate, false)?;
        // Streamed into the entry: on a large site the pretty JSON is tens of MB, more than
        // everything else the writer holds.
        let streamed = {
            let zip = self.zip.as_mut().ok_or_else(closed)?;
            let mut out = io::BufWriter::with_capacity(CHUNK, zip);
            serde_json::to_writer_pretty(&mut out, &manifest)
                .map_err(io::Error::from)
                .and_then(|()| out.flush())
        };
        // Verification reads its own copy back: free ours (one record per entry) first.
        drop(manifest);
        if let Err(e) = streamed {
            let dir = self.dir.clone();
            return Err(self.fail(io_error(e, &dir, "write the manifest")));
        }
        let zip = self.zip.take().ok_or_else(closed)?;
        let dir = self.dir.clone();
        let output = zip.finish().map_err(|e| zip_error(e, &dir))?;
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
        self.close_open()?;
        check_entry_path(path)?;
        if self.seen.contains(path) {
            return Err(Error::internal(format!(
                "Snapshot entry {path} was written twice (a JSON Lines collection must be \
                 written contiguously)."
            )));
        }
        self.start_zip_entry(path, compression, large)?;
        self.seen.insert(path.to_owned());
        self.open = Some(OpenEntry {
            path: path.to_owned(),
            hash: EntryHash::Running(Sha256::new()),
            size: 0,
        });
        Ok(())
    }

    fn write_open(&mut self, bytes: &[u8]) -> Result<()> {
        self.write_zip(bytes)?;
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
        let record = EntryRecord {
            sha256: match open.hash {
                EntryHash::Running(h) => h.finish().to_hex(),
                EntryHash::Known(d) => d.to_hex(),
            },
            size: open.size,
            path: open.path,
        };
        if layout::is_issue(&record.path) {
            *self.counts.entry(COUNT_ISSUES.to_owned()).or_default() += 1;
        } else if layout::is_attachment(&record.path) {
            *self.counts.entry(COUNT_ATTACHMENTS.to_owned()).or_default() += 1;
        }
        self.entries.push(record.clone());
        Ok(Some(record))
    }

    /// Drops the half-written entry after a read error from the caller's source.
    fn abandon_open(&mut self, e: io::Error) -> Error {
        let open = self.open.take();
        let path = open.as_ref().map(|o| o.path.clone()).unwrap_or_default();
        self.seen.remove(&path);
        if let Some(zip) = self.zip.as_mut() {
            if let Err(ze) = zip.abort_file() {
                let err = zip_error(ze, &self.dir);
                self.broken = Some(err.kind);
                return err;
            }
        }
        source_error(e, &path)
    }

    fn start_zip_entry(&mut self, path: &str, compression: Compression, large: bool) -> Result<()> {
        self.check_usable()?;
        let options = SimpleFileOptions::default()
            .compression_method(compression.method())
            .last_modified_time(self.mtime)
            .unix_permissions(0o644)
            .large_file(large);
        let zip = self.zip.as_mut().ok_or_else(closed)?;
        let result = zip.start_file(path, options);
        result.map_err(|e| self.fail(zip_error(e, &self.dir.clone())))
    }

    fn write_zip(&mut self, bytes: &[u8]) -> Result<()> {
        self.check_usable()?;
        let zip = self.zip.as_mut().ok_or_else(closed)?;
        let result = zip.write_all(bytes);
        result.map_err(|e| {
            let dir = self.dir.clone();
            self.fail(io_error(e, &dir, "write the snapshot"))
        })
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

/// ZIP timestamps are local-time-less DOS dates from 1980 to 2107; entries carry the run's
/// start (UTC) so the same input gives the same bytes.
fn zip_time(at: DateTime<Utc>) -> zip::DateTime {
    let year = u16::try_from(at.year()).unwrap_or(1980);
    zip::DateTime::from_date_and_time(
        year,
        at.month() as u8,
        at.day() as u8,
        at.hour() as u8,
        at.minute() as u8,
        at.second() as u8,
    )
    .unwrap_or_default()
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
