//! Comparing the engine's snapshot with the per-issue walker without keeping either in memory:
//! a SHA-256 per part of each issue, over the JSON with object keys sorted (so key order
//! never matters), and a [`SnapshotSink`] that digests the engine's issue documents as they
//! are written and counts everything else.

use std::collections::BTreeMap;

use backup_center_engine::snapshot::sink::{SnapshotSink, StagedFile};
use backup_center_engine::Result;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn of(v: &Value) -> Self {
        let mut h = Sha256::new();
        feed(&mut h, v);
        Digest(h.finalize().into())
    }
}

fn feed(h: &mut Sha256, v: &Value) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            h.update(b"{");
            for k in keys {
                feed(h, &Value::String(k.clone()));
                h.update(b":");
                feed(h, &m[k]);
                h.update(b",");
            }
            h.update(b"}");
        }
        Value::Array(a) => {
            h.update(b"[");
            for x in a {
                feed(h, x);
                h.update(b",");
            }
            h.update(b"]");
        }
        other => h.update(other.to_string().as_bytes()),
    }
}

/// Digests of an issue's parts, as the engine's issue document holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IssueDigest {
    pub issue: Digest,
    pub comments: Digest,
    pub worklogs: Digest,
    pub changelog: Digest,
    pub remote_links: Digest,
    pub watchers: Digest,
    pub votes: Digest,
    pub properties: Digest,
}

impl IssueDigest {
    /// From the engine's `issues/<project>/<id>.json` document.
    pub fn of_doc(doc: &Value) -> Self {
        IssueDigest {
            issue: Digest::of(&doc["issue"]),
            comments: Digest::of(&doc["comments"]),
            worklogs: Digest::of(&doc["worklogs"]),
            changelog: Digest::of(&doc["changelog"]),
            remote_links: Digest::of(&doc["remoteLinks"]),
            watchers: Digest::of(&doc["watchers"]),
            votes: Digest::of(&doc["votes"]),
            properties: Digest::of(&doc["properties"]),
        }
    }

    /// The names of the parts that differ.
    pub fn differences(&self, o: &IssueDigest) -> Vec<&'static str> {
        let parts = [
            ("issue", self.issue == o.issue),
            ("comments", self.comments == o.comments),
            ("worklogs", self.worklogs == o.worklogs),
            ("changelog", self.changelog == o.changelog),
            ("remoteLinks", self.remote_links == o.remote_links),
            ("watchers", self.watchers == o.watchers),
            ("votes", self.votes == o.votes),
            ("properties", self.properties == o.properties),
        ];
        parts
            .into_iter()
            .filter(|(_, same)| !same)
            .map(|(n, _)| n)
            .collect()
    }
}

/// The engine's walk into digests and counts (no ZIP: figure 1 counts requests and content).
#[derive(Debug, Default)]
pub struct DigestSink {
    pub issues: BTreeMap<String, IssueDigest>,
    pub counts: BTreeMap<String, u64>,
    /// Issues whose watchers / votes were recorded (the manifest does not count these).
    pub with_watchers: u64,
    pub with_votes: u64,
    pub bytes: u64,
    pub partial: Vec<String>,
}

impl SnapshotSink for DigestSink {
    fn add_json(&mut self, path: &str, json: &[u8]) -> Result<()> {
        self.bytes += json.len() as u64;
        if let Some(rest) = path.strip_prefix("issues/") {
            let id = rest
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".json");
            let doc: Value = serde_json::from_slice(json).unwrap_or(Value::Null);
            self.with_watchers += u64::from(!doc["watchers"].is_null());
            self.with_votes += u64::from(!doc["votes"].is_null());
            self.issues
                .insert(id.to_string(), IssueDigest::of_doc(&doc));
        }
        Ok(())
    }
    fn begin_jsonl(&mut self, _path: &str) -> Result<()> {
        Ok(())
    }
    fn jsonl_line(&mut self, json: &[u8]) -> Result<()> {
        self.bytes += json.len() as u64;
        Ok(())
    }
    fn end_jsonl(&mut self) -> Result<()> {
        Ok(())
    }
    fn add_file(&mut self, _path: &str, staged: StagedFile) -> Result<()> {
        let _ = std::fs::remove_file(staged.file);
        Ok(())
    }
    fn count(&mut self, entity: &str, n: u64) {
        *self.counts.entry(entity.to_string()).or_default() += n;
    }
    fn mark_partial(&mut self, section: &str, _reason: &str) {
        self.partial.push(section.to_string());
    }
    fn record_deleted(&mut self, _entity: &str, _id: &str, _note: &str) {}
}
