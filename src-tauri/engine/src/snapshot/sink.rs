//! Where a snapshot's entries go while the site is walked.
//!
//! The walker is async and concurrent; a ZIP is written one entry at a time. A [`SinkHandle`]
//! bridges the two: walker tasks send ready-made entries over a bounded channel (back-pressure
//! keeps memory constant) to one thread that owns the [`SnapshotSink`]. Documents are
//! serialised on the walker's side so JSON encoding runs in parallel.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::checksum::{Digest, Sha256};
use crate::error::{Error, Result};

/// A downloaded file waiting in the temporary folder to be copied into the snapshot, with
/// the size, SHA-256 and CRC-32 the download measured (so the single writer thread neither
/// hashes nor reads it; `verify` later proves the copy in the ZIP matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    pub file: PathBuf,
    pub size: u64,
    pub sha256: Digest,
    pub crc32: u32,
}

/// What a snapshot's entries are written into: the ZIP writer, or memory in tests.
pub trait SnapshotSink: Send + 'static {
    /// A whole JSON document (already serialised).
    fn add_json(&mut self, path: &str, json: &[u8]) -> Result<()>;
    /// Starts a JSON Lines entry; lines follow until [`end_jsonl`](Self::end_jsonl). No other
    /// entry is written in between.
    fn begin_jsonl(&mut self, path: &str) -> Result<()>;
    fn jsonl_line(&mut self, json: &[u8]) -> Result<()>;
    fn end_jsonl(&mut self) -> Result<()>;
    /// A binary entry (attachment, avatar) from a local temporary file, stored uncompressed.
    /// The sink removes the file once copied.
    fn add_file(&mut self, path: &str, file: StagedFile) -> Result<()>;
    fn count(&mut self, entity: &str, n: u64);
    fn mark_partial(&mut self, section: &str, reason: &str);
    fn record_deleted(&mut self, entity: &str, id: &str, note: &str);
}

enum Op {
    Json(String, Vec<u8>),
    BeginJsonl(String),
    Line(Vec<u8>),
    EndJsonl,
    File(String, StagedFile),
    Count(String, u64),
    Partial(String, String),
    Deleted(String, String, String),
    Finish(oneshot::Sender<()>),
}

/// The walker's end of the sink: cheap to clone, async, bounded.
#[derive(Clone)]
pub struct SinkHandle {
    tx: mpsc::Sender<Op>,
}

/// The writer thread; [`SinkThread::join`] returns the sink (or the first write error).
pub struct SinkThread<S> {
    thread: std::thread::JoinHandle<(S, Result<()>)>,
}

/// Starts the thread that owns `sink`. `capacity` bounds queued entries (memory).
pub fn spawn<S: SnapshotSink>(mut sink: S, capacity: usize) -> (SinkHandle, SinkThread<S>) {
    let (tx, mut rx) = mpsc::channel::<Op>(capacity.max(1));
    let thread = std::thread::Builder::new()
        .name("snapshot-writer".into())
        .spawn(move || {
            let mut result = Ok(());
            while let Some(op) = rx.blocking_recv() {
                // After a failure, keep draining (so senders never block) but write nothing.
                if result.is_err() {
                    if let Op::Finish(done) = op {
                        let _ = done.send(());
                    }
                    continue;
                }
                result = match op {
                    Op::Json(p, b) => sink.add_json(&p, &b),
                    Op::BeginJsonl(p) => sink.begin_jsonl(&p),
                    Op::Line(b) => sink.jsonl_line(&b),
                    Op::EndJsonl => sink.end_jsonl(),
                    Op::File(p, f) => sink.add_file(&p, f),
                    Op::Count(e, n) => {
                        sink.count(&e, n);
                        Ok(())
                    }
                    Op::Partial(s, r) => {
                        sink.mark_partial(&s, &r);
                        Ok(())
                    }
                    Op::Deleted(e, i, n) => {
                        sink.record_deleted(&e, &i, &n);
                        Ok(())
                    }
                    Op::Finish(done) => {
                        let _ = done.send(());
                        Ok(())
                    }
                };
            }
            (sink, result)
        })
        .expect("spawn the snapshot writer thread");
    (SinkHandle { tx }, SinkThread { thread })
}

impl<S> SinkThread<S> {
    /// Waits for every queued entry to be written (all handles must be dropped first).
    pub fn join(self) -> (S, Result<()>) {
        self.thread
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

fn gone() -> Error {
    Error::internal("The snapshot writer stopped early; see the log for the cause.")
}

impl SinkHandle {
    async fn send(&self, op: Op) -> Result<()> {
        self.tx.send(op).await.map_err(|_| gone())
    }

    pub async fn json(&self, path: impl Into<String>, value: &impl Serialize) -> Result<()> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::internal("Could not encode a snapshot document.").with_source(e))?;
        self.send(Op::Json(path.into(), bytes)).await
    }

    /// A document the caller already serialised.
    pub async fn json_bytes(&self, path: impl Into<String>, json: Vec<u8>) -> Result<()> {
        self.send(Op::Json(path.into(), json)).await
    }

    pub async fn begin_jsonl(&self, path: impl Into<String>) -> Result<()> {
        self.send(Op::BeginJsonl(path.into())).await
    }

    pub async fn line(&self, value: &impl Serialize) -> Result<()> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::internal("Could not encode a snapshot line.").with_source(e))?;
        self.send(Op::Line(bytes)).await
    }

    pub async fn end_jsonl(&self) -> Result<()> {
        self.send(Op::EndJsonl).await
    }

    pub async fn file(&self, path: impl Into<String>, file: StagedFile) -> Result<()> {
        self.send(Op::File(path.into(), file)).await
    }

    pub async fn count(&self, entity: &str, n: u64) -> Result<()> {
        self.send(Op::Count(entity.into(), n)).await
    }

    pub async fn partial(&self, section: &str, reason: &str) -> Result<()> {
        self.send(Op::Partial(section.into(), reason.into())).await
    }

    pub async fn deleted(&self, entity: &str, id: &str, note: &str) -> Result<()> {
        self.send(Op::Deleted(entity.into(), id.into(), note.into()))
            .await
    }

    /// Waits until everything sent so far has been written.
    pub async fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Op::Finish(tx)).await?;
        rx.await.map_err(|_| gone())
    }
}

/// A sink that keeps everything in memory, for tests.
#[derive(Debug, Default)]
pub struct MemorySink {
    pub entries: BTreeMap<String, Vec<u8>>,
    pub counts: BTreeMap<String, u64>,
    pub partial: Vec<(String, String)>,
    pub deleted: Vec<(String, String, String)>,
    open: Option<(String, Vec<u8>)>,
}

impl MemorySink {
    fn put(&mut self, path: &str, bytes: Vec<u8>) -> Result<()> {
        if self.open.is_some() {
            return Err(Error::internal(format!(
                "{path}: written inside an open JSON Lines entry"
            )));
        }
        if self.entries.insert(path.to_string(), bytes).is_some() {
            return Err(Error::internal(format!("{path}: written twice")));
        }
        Ok(())
    }

    /// A JSON entry, decoded.
    pub fn json(&self, path: &str) -> Option<serde_json::Value> {
        self.entries
            .get(path)
            .and_then(|b| serde_json::from_slice(b).ok())
    }

    /// A JSON Lines entry, decoded line by line.
    pub fn jsonl(&self, path: &str) -> Vec<serde_json::Value> {
        self.entries
            .get(path)
            .map(|b| {
                b.split(|c| *c == b'\n')
                    .filter(|l| !l.is_empty())
                    .filter_map(|l| serde_json::from_slice(l).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl SnapshotSink for MemorySink {
    fn add_json(&mut self, path: &str, json: &[u8]) -> Result<()> {
        self.put(path, json.to_vec())
    }

    fn begin_jsonl(&mut self, path: &str) -> Result<()> {
        if self.open.is_some() {
            return Err(Error::internal("nested JSON Lines entries"));
        }
        self.open = Some((path.to_string(), Vec::new()));
        Ok(())
    }

    fn jsonl_line(&mut self, json: &[u8]) -> Result<()> {
        let (_, buf) = self
            .open
            .as_mut()
            .ok_or_else(|| Error::internal("a line outside a JSON Lines entry"))?;
        buf.extend_from_slice(json);
        buf.push(b'\n');
        Ok(())
    }

    fn end_jsonl(&mut self) -> Result<()> {
        let (path, buf) = self
            .open
            .take()
            .ok_or_else(|| Error::internal("no JSON Lines entry open"))?;
        self.put(&path, buf)
    }

    fn add_file(&mut self, path: &str, file: StagedFile) -> Result<()> {
        let bytes = std::fs::read(&file.file)
            .map_err(|e| Error::internal("read a downloaded file").with_source(e))?;
        let _ = std::fs::remove_file(&file.file);
        // Tests rely on this sink: prove the download's own figures on the way.
        if bytes.len() as u64 != file.size
            || Sha256::digest(&bytes) != file.sha256
            || crc32fast::hash(&bytes) != file.crc32
        {
            return Err(Error::internal(format!(
                "{path}: the staged file does not match its download's size, SHA-256 and CRC-32"
            )));
        }
        self.put(path, bytes)
    }

    fn count(&mut self, entity: &str, n: u64) {
        *self.counts.entry(entity.to_string()).or_default() += n;
    }

    fn mark_partial(&mut self, section: &str, reason: &str) {
        self.partial.push((section.to_string(), reason.to_string()));
    }

    fn record_deleted(&mut self, entity: &str, id: &str, note: &str) {
        self.deleted
            .push((entity.to_string(), id.to_string(), note.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn entries_arrive_in_order_and_jsonl_is_contiguous() {
        let (h, t) = spawn(MemorySink::default(), 4);
        h.json("a.json", &json!({"x": 1})).await.unwrap();
        h.begin_jsonl("u.jsonl").await.unwrap();
        for i in 0..10 {
            h.line(&json!({ "i": i })).await.unwrap();
        }
        h.end_jsonl().await.unwrap();
        h.count("users", 10).await.unwrap();
        h.partial("groups", "403").await.unwrap();
        h.flush().await.unwrap();
        drop(h);
        let (sink, result) = t.join();
        result.unwrap();
        assert_eq!(sink.json("a.json").unwrap()["x"], 1);
        assert_eq!(sink.jsonl("u.jsonl").len(), 10);
        assert_eq!(sink.counts["users"], 10);
        assert_eq!(
            sink.partial,
            vec![("groups".to_string(), "403".to_string())]
        );
    }

    #[tokio::test]
    async fn the_first_write_error_is_kept_and_later_writes_are_skipped() {
        let (h, t) = spawn(MemorySink::default(), 2);
        h.json("a.json", &1).await.unwrap();
        h.json("a.json", &2).await.unwrap(); // duplicate: an error in the sink
        h.json("b.json", &3).await.unwrap();
        drop(h);
        let (sink, result) = t.join();
        assert!(result.is_err());
        assert!(!sink.entries.contains_key("b.json"));
    }
}
