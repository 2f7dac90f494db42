//! Taking a snapshot end to end: walk the site into a [`SnapshotWriter`] through the sink
//! thread, then finish (manifest, verify, rename). On any failure the `.part` file is removed,
//! so nothing half-written ever looks like a backup.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::progress::{Phase, Tracker};
use super::sink::{self, SnapshotSink, StagedFile};
use super::walk::{walk, WalkOptions};
use super::{
    Compression, SiteInfo, SnapshotKind, SnapshotMeta, SnapshotWriter, COUNT_ATTACHMENTS,
    COUNT_ISSUES,
};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::jira::JiraClient;

/// The ZIP writer as the walk's sink.
struct ZipSink {
    writer: SnapshotWriter,
    open: Option<String>,
}

impl SnapshotSink for ZipSink {
    fn add_json(&mut self, path: &str, json: &[u8]) -> Result<()> {
        self.writer
            .add_bytes(path, json, Compression::Deflate)
            .map(|_| ())
    }

    fn begin_jsonl(&mut self, path: &str) -> Result<()> {
        self.writer.begin_jsonl(path)?;
        self.open = Some(path.to_string());
        Ok(())
    }

    fn jsonl_line(&mut self, json: &[u8]) -> Result<()> {
        let path = self
            .open
            .clone()
            .ok_or_else(|| Error::internal("a line outside a JSON Lines entry"))?;
        self.writer.append_jsonl_raw(&path, json)
    }

    fn end_jsonl(&mut self) -> Result<()> {
        // The writer closes an open entry when the next one starts.
        self.open = None;
        Ok(())
    }

    fn add_file(&mut self, path: &str, staged: StagedFile) -> Result<()> {
        let f = std::fs::File::open(&staged.file).map_err(|e| {
            Error::internal(format!(
                "Could not read the downloaded file {}.",
                staged.file.display()
            ))
            .with_source(e)
        });
        let result = f.and_then(|mut f| {
            self.writer
                .add_prehashed(path, &mut f, staged.size, staged.sha256, staged.crc32)
        });
        let _ = std::fs::remove_file(&staged.file);
        result.map(|_| ())
    }

    fn count(&mut self, entity: &str, n: u64) {
        // Issues and attachments are counted from the entries themselves.
        if entity != COUNT_ISSUES && entity != COUNT_ATTACHMENTS {
            let _ = self.writer.count(entity, n);
        }
    }

    fn mark_partial(&mut self, section: &str, reason: &str) {
        self.writer.mark_partial(section, reason);
    }

    fn record_deleted(&mut self, entity: &str, id: &str, note: &str) {
        self.writer.record_deleted(entity, id, note);
    }
}

/// `<host>-<basic|extended>-<YYYY-MM-DD_HHMM>.zip`, the host made safe for file names.
pub fn file_name(site_host: &str, kind: SnapshotKind, at: DateTime<Utc>) -> String {
    let host: String = site_host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = match kind {
        SnapshotKind::Basic => "basic",
        SnapshotKind::Extended => "extended",
    };
    format!("{host}-{kind}-{}.zip", at.format("%Y-%m-%d_%H%M"))
}

/// Walks the site and writes a verified snapshot into `out_dir`; returns its path.
pub async fn take_snapshot(
    client: &JiraClient,
    opts: &WalkOptions,
    out_dir: &Path,
    clock: &dyn Clock,
    tracker: &Tracker,
) -> Result<PathBuf> {
    tracker.count_received(client.received_counter());
    let started_at = clock.now();
    let name = file_name(&client.site().host(), opts.kind, started_at);
    let meta = SnapshotMeta {
        kind: opts.kind,
        // Filled in properly from serverInfo below; the writer keeps what it is given here.
        site: SiteInfo {
            url: client.site().as_str().to_string(),
            server_title: String::new(),
            version: String::new(),
            cloud: true,
        },
        started_at,
    };
    let writer = SnapshotWriter::create(out_dir, &name, meta)?;
    let (handle, thread) = sink::spawn(ZipSink { writer, open: None }, 64);
    let walked = walk(client, opts, &handle, tracker).await;
    drop(handle);
    let (sink, written) = tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|e| Error::internal("The snapshot writer thread failed.").with_source(e))?;
    let outcome = match (walked, written) {
        (Ok(o), Ok(())) => o,
        // Dropping the writer removes the .part file.
        (Err(e), _) | (Ok(_), Err(e)) => return Err(e),
    };
    let mut writer = sink.writer;
    writer.set_site(SiteInfo {
        url: client.site().as_str().to_string(),
        server_title: outcome.server_info["serverTitle"]
            .as_str()
            .unwrap_or("Jira")
            .to_string(),
        version: outcome.server_info["version"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        cloud: outcome.server_info["deploymentType"].as_str() == Some("Cloud"),
    });
    tracker.start(Phase::Verifying, None);
    let finished_at = clock.now();
    // Verification runs on a blocking thread; its progress comes back over a channel that
    // closes when it ends.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, u64)>();
    let finishing = tokio::task::spawn_blocking(move || {
        writer.finish_reporting(finished_at, &mut |n, total| {
            let _ = tx.send((n, total));
        })
    });
    while let Some((n, total)) = rx.recv().await {
        tracker.step(Phase::Verifying, n, Some(total));
    }
    finishing
        .await
        .map_err(|e| Error::internal("The snapshot writer failed.").with_source(e))?
}
