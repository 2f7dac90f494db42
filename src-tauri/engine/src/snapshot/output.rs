//! The layer between the ZIP writer and the disk: buffering, progress, fail-stop and fsync.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::writer::CHUNK;

/// The file under the ZIP writer. A trait so tests can inject failures (ENOSPC, bit rot)
/// between the ZIP writer and the disk.
pub(crate) trait Sink: Write + Seek + Send {
    fn sync_all(&mut self) -> io::Result<()>;
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Appends `len` bytes of `src` at the current position; returns the bytes copied.
    fn copy_from(&mut self, src: &mut File, len: u64) -> io::Result<u64> {
        io::copy(&mut Read::by_ref(src).take(len), self)
    }
}

impl Sink for File {
    fn sync_all(&mut self) -> io::Result<()> {
        File::sync_all(self)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
    fn copy_from(&mut self, src: &mut File, len: u64) -> io::Result<u64> {
        // File to file: std's io::copy then uses copy_file_range (or sendfile), so the bytes
        // never pass through user space.
        io::copy(&mut Read::by_ref(src).take(len), self)
    }
}

/// How far a [`super::SnapshotWriter`] has got; cheap to clone and poll from another thread.
#[derive(Debug, Clone, Default)]
pub struct WriteProgress(Arc<ProgressState>);

#[derive(Debug, Default)]
struct ProgressState {
    len: AtomicU64,
    discard: AtomicBool,
}

impl WriteProgress {
    /// Bytes in the `.part` file so far (compressed size, headers included).
    pub fn bytes_written(&self) -> u64 {
        self.0.len.load(Ordering::Relaxed)
    }

    /// From now on every write is dropped (the file is about to be removed).
    pub(super) fn discard(&self) {
        self.0.discard.store(true, Ordering::Relaxed);
    }

    fn discarding(&self) -> bool {
        self.0.discard.load(Ordering::Relaxed)
    }
}

/// Buffers the many small header writes and tracks the file size. After the first I/O error
/// (or once told to discard) it drops every write: the caller has the error and will remove
/// the file, and the ZIP writer's own drop-time finalising then neither writes a central
/// directory nor prints a second failure to stderr.
pub(super) struct Output {
    sink: BufWriter<Box<dyn Sink>>,
    pos: u64,
    progress: WriteProgress,
}

impl Output {
    pub(super) fn new(sink: Box<dyn Sink>) -> Self {
        Self {
            sink: BufWriter::with_capacity(CHUNK, sink),
            pos: 0,
            progress: WriteProgress::default(),
        }
    }

    pub(super) fn progress(&self) -> WriteProgress {
        self.progress.clone()
    }

    /// Flushes, cuts anything past the end (a rewound, aborted entry may have left bytes after
    /// the central directory) and fsyncs.
    /// Bytes written so far (the position of the next write).
    pub(super) fn position(&self) -> u64 {
        self.pos
    }

    /// Appends `len` bytes of `src` (see [`Sink::copy_from`]); returns the bytes copied.
    pub(super) fn copy_file(&mut self, src: &mut File, len: u64) -> io::Result<u64> {
        if self.progress.discarding() {
            return Err(io::Error::other("the snapshot file failed earlier"));
        }
        let flushed = self.sink.flush();
        self.fail_stop(flushed)?;
        let copied = self.sink.get_mut().copy_from(src, len);
        let n = self.fail_stop(copied)?;
        self.pos += n;
        self.progress.0.len.fetch_max(self.pos, Ordering::Relaxed);
        Ok(n)
    }

    pub(super) fn close(mut self) -> io::Result<()> {
        if self.progress.discarding() {
            return Err(io::Error::other("the snapshot file failed earlier"));
        }
        let end = self.pos;
        let flushed = self.sink.flush();
        self.fail_stop(flushed)?;
        let file = self.sink.get_mut();
        file.set_len(end)?;
        file.sync_all()
    }

    fn fail_stop<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.progress.discard();
        }
        result
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.progress.discarding() {
            return Ok(buf.len());
        }
        let written = self.sink.write(buf);
        let n = self.fail_stop(written)?;
        self.pos += n as u64;
        self.progress.0.len.fetch_max(self.pos, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.progress.discarding() {
            return Ok(());
        }
        let flushed = self.sink.flush();
        self.fail_stop(flushed)
    }
}

impl Seek for Output {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        if self.progress.discarding() {
            // Nothing reaches the disk any more; keep the arithmetic plausible for the caller.
            self.pos = match to {
                SeekFrom::Start(n) => n,
                SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
                SeekFrom::End(_) => self.pos,
            };
            return Ok(self.pos);
        }
        let sought = self.sink.seek(to);
        self.pos = self.fail_stop(sought)?;
        Ok(self.pos)
    }
}

#[cfg(unix)]
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
pub(super) fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Windows cannot open a directory as a file; NTFS journals the rename itself.
    Ok(())
}
