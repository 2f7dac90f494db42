//! Support for the snapshot benchmarks (`src/bin/snapshot-bench.rs`, `make bench`): the
//! per-issue walker the engine is measured against ([`per_issue`]), content digests
//! ([`digest`]), engine runs and the simulator's request counts, and the results table.

pub mod digest;
pub mod per_issue;
pub mod rss;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backup_center_engine::clock::SystemClock;
use backup_center_engine::jira::throttle::ThrottleOptions;
use backup_center_engine::jira::{ClientOptions, JiraClient, SiteUrl};
use backup_center_engine::secrets::Sensitive;
use backup_center_engine::snapshot::progress::{Phase, Progress, Tracker};
use backup_center_engine::snapshot::sink;
use backup_center_engine::snapshot::walk::{walk, WalkOptions};
use backup_center_engine::snapshot::{take_snapshot, SnapshotKind};
use backup_center_engine::Result;

use crate::sim;
use digest::DigestSink;

/// A client for the simulator's admin. `concurrency` fixes the throttle (the sequential walker
/// uses 1); `None` keeps the engine's defaults.
pub fn client(base_url: &str, concurrency: Option<usize>) -> JiraClient {
    let mut options = ClientOptions::default();
    if let Some(n) = concurrency {
        options.throttle = ThrottleOptions {
            initial: n,
            max: n,
            ..ThrottleOptions::default()
        };
    }
    JiraClient::new(
        SiteUrl::parse(base_url).expect("the simulator's URL is a site URL"),
        sim::ADMIN_EMAIL.into(),
        Sensitive::new(sim::ADMIN_TOKEN.into()),
        options,
    )
    .expect("an HTTP client")
}

/// The simulator's request counts per route template (the control API is not counted).
pub async fn requests(base_url: &str) -> BTreeMap<String, u64> {
    reqwest::get(format!("{base_url}/_sim/requests"))
        .await
        .and_then(|r| r.error_for_status())
        .expect("GET /_sim/requests")
        .json()
        .await
        .expect("request counts are JSON")
}

pub async fn total_requests(base_url: &str) -> u64 {
    requests(base_url).await.values().sum()
}

pub async fn reset_requests(base_url: &str) {
    reqwest::Client::new()
        .delete(format!("{base_url}/_sim/requests"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("DELETE /_sim/requests");
}

/// The engine's walk into a [`DigestSink`] (no ZIP), and how long it took.
pub async fn engine_walk(
    client: &JiraClient,
    kind: SnapshotKind,
    temp: &Path,
) -> Result<(DigestSink, Duration)> {
    let opts = WalkOptions::new(kind, temp.to_path_buf());
    let (handle, thread) = sink::spawn(DigestSink::default(), 256);
    let tracker = Tracker::new(Arc::new(|_| {}));
    let t = Instant::now();
    let walked = walk(client, &opts, &handle, &tracker).await;
    drop(handle);
    let (sink, written) = tokio::task::spawn_blocking(move || thread.join())
        .await
        .expect("the sink thread");
    walked?;
    written?;
    Ok((sink, t.elapsed()))
}

/// When the attachment downloads ran, from the progress events.
#[derive(Debug, Default, Clone)]
pub struct MediaTiming {
    started: Option<Instant>,
    /// When the last attachment was downloaded, and the bytes received by then.
    finished: Option<(Instant, u64)>,
}

impl MediaTiming {
    /// Bytes per second of the attachment phase.
    pub fn rate(&self) -> Option<(u64, Duration)> {
        let (end, bytes) = self.finished?;
        Some((bytes, end.duration_since(self.started?)))
    }
}

/// A real snapshot (ZIP, verified) into `out_dir`: its path, the whole time, the media timing.
pub async fn engine_snapshot(
    client: &JiraClient,
    kind: SnapshotKind,
    out_dir: &Path,
) -> Result<(PathBuf, Duration, MediaTiming)> {
    let opts = WalkOptions::new(kind, out_dir.join("downloads"));
    let timing = Arc::new(Mutex::new(MediaTiming::default()));
    let t2 = timing.clone();
    let tracker = Tracker::new(Arc::new(move |p: Progress| {
        if p.phase != Phase::Attachments {
            return;
        }
        let mut t = t2.lock().unwrap_or_else(|e| e.into_inner());
        if t.started.is_none() {
            t.started = Some(Instant::now());
        }
        if t.finished.is_none() && p.total.is_some_and(|n| p.done >= n) {
            t.finished = Some((Instant::now(), p.bytes));
        }
    }));
    let t = Instant::now();
    let path = take_snapshot(client, &opts, out_dir, &SystemClock, &tracker).await?;
    let elapsed = t.elapsed();
    let timing = timing.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok((path, elapsed, timing))
}

/// One line of the results table.
#[derive(Debug, Clone)]
pub struct Row {
    pub metric: String,
    pub figure: String,
    pub goal: String,
    /// `None`: informational.
    pub pass: Option<bool>,
}

impl Row {
    pub fn new(metric: &str, figure: String, goal: &str, pass: Option<bool>) -> Self {
        Row {
            metric: metric.into(),
            figure,
            goal: goal.into(),
            pass,
        }
    }
}

/// The table, as printed at the end.
pub fn table(rows: &[Row]) -> String {
    let w = |f: fn(&Row) -> usize, head: usize| rows.iter().map(f).max().unwrap_or(0).max(head);
    let (wm, wf, wg) = (
        w(|r| r.metric.chars().count(), 6),
        w(|r| r.figure.chars().count(), 6),
        w(|r| r.goal.chars().count(), 4),
    );
    let pad = |s: &str, n: usize| format!("{s}{}", " ".repeat(n.saturating_sub(s.chars().count())));
    let mut out = format!(
        "| {} | {} | {} | result |\n|{}|{}|{}|--------|\n",
        pad("metric", wm),
        pad("figure", wf),
        pad("goal", wg),
        "-".repeat(wm + 2),
        "-".repeat(wf + 2),
        "-".repeat(wg + 2)
    );
    for r in rows {
        let result = match r.pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "info",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {}   |\n",
            pad(&r.metric, wm),
            pad(&r.figure, wf),
            pad(&r.goal, wg),
            result
        ));
    }
    out
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
