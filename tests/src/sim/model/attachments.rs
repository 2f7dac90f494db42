//! Attachments: metadata derived per attachment index, bytes generated from a seeded
//! stream on demand (never stored), plus tiny PNGs for avatars.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::rng::{hash, mix, Rng};
use super::text::timestamp;
use super::{Site, ID0};

/// Attachments 0..SPECIAL all sit on issue 0, so one issue has the same file name twice.
const SPECIAL: u64 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub id: u64,
    pub issue: u64,
    pub filename: String,
    pub size: u64,
    pub mime: String,
    pub created: i64,
    pub author: u64,
    /// Bytes of attachments added through the control endpoint (generated ones have none).
    pub added: bool,
}

const NAMES: &[&str] = &[
    "screenshot 2026-01-05 at 10.22.31.png",
    "日本語のファイル名.txt",
    "..secret..txt",
    "..",
    "trailing space .txt ",
    "résumé (final) [v2].docx",
    "مرحبا بالعالم.pdf",
    "emoji 🎉 party.png",
    "log.tar.gz",
    "CON.txt",
    "a-b_c d.e f.csv",
];

fn mime_of(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "png" => "image/png",
        "txt" | "log" => "text/plain",
        "pdf" => "application/pdf",
        "csv" => "text/csv",
        "gz" => "application/gzip",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

impl Site {
    /// Owner of generated attachment `j`: the first few on issue 0, the rest spread evenly.
    fn attachment_owner(&self, j: u64) -> u64 {
        let (a, n) = (self.dims.attachments, self.dims.issues);
        if j < SPECIAL {
            0
        } else {
            (j - SPECIAL) * n / (a - SPECIAL)
        }
    }

    /// Generated attachment indexes of issue `i` (inverse of `attachment_owner`).
    fn attachment_range(&self, i: u64) -> std::ops::Range<u64> {
        let (a, n) = (self.dims.attachments - SPECIAL, self.dims.issues);
        if i >= n {
            return 0..0;
        }
        let first = |k: u64| (k * a).div_ceil(n) + SPECIAL;
        let start = if i == 0 { 0 } else { first(i) };
        start..first(i + 1)
    }

    pub fn attachment_meta(&self, j: u64) -> AttachmentMeta {
        let mut r = Rng::derive(self.seed, "attachment", j);
        let issue = self.attachment_owner(j);
        let mean = self.dims.mean_attachment;
        let (filename, size) = match j {
            0 => ("empty file.txt".to_string(), 0),
            1 => ("big dump.bin".to_string(), self.dims.big_attachment),
            2 | 3 => ("report.pdf".to_string(), 1000 + j),
            _ if j % 97 == 50 => (
                format!("{}.log", "very-long-name-".repeat(14)),
                r.below(2 * mean),
            ),
            _ if j == self.dims.attachments / 2 && self.dims.attachments > 50 => {
                ("second big.bin".into(), self.dims.big_attachment / 2)
            }
            _ => (r.pick(NAMES).to_string(), r.below(2 * mean)),
        };
        let s = self.shape(issue);
        AttachmentMeta {
            id: ID0 + j,
            issue,
            mime: mime_of(&filename).to_string(),
            filename,
            size,
            created: s.created + 60 * (j as i64 % 50 + 1),
            author: self.pick_person(&mut r),
            added: false,
        }
    }

    /// Attachments of an issue, generated then added ones.
    pub fn attachments_of(&self, i: u64) -> Vec<AttachmentMeta> {
        let mut v: Vec<_> = self
            .attachment_range(i)
            .map(|j| self.attachment_meta(j))
            .collect();
        for a in self.overlay().attachments.get(&i).into_iter().flatten() {
            v.push(AttachmentMeta {
                id: a.id,
                issue: i,
                mime: mime_of(&a.filename).into(),
                filename: a.filename.clone(),
                size: a.bytes.len() as u64,
                created: a.created,
                author: 0,
                added: true,
            });
        }
        v
    }

    /// Ground truth for an issue's attachments (None if the issue does not exist).
    pub fn attachments(&self, id: &str) -> Option<Vec<AttachmentMeta>> {
        self.live(id).map(|i| self.attachments_of(i))
    }

    /// An attachment by id, if it and its issue exist.
    pub fn find_attachment(&self, id: u64) -> Option<AttachmentMeta> {
        let j = id.checked_sub(ID0)?;
        if j < self.dims.attachments {
            let m = self.attachment_meta(j);
            return self.issue_exists(m.issue).then_some(m);
        }
        let issue = {
            let o = self.overlay();
            o.attachments
                .iter()
                .find(|(_, v)| v.iter().any(|a| a.id == id))
                .map(|(i, _)| *i)?
        };
        self.attachments_of(issue)
            .into_iter()
            .find(|a| a.id == id)
            .filter(|_| self.issue_exists(issue))
    }

    pub fn attachment_json(&self, a: &AttachmentMeta) -> Value {
        let mut v = json!({"self": format!("{}/rest/api/3/attachment/{}", self.base_url, a.id), "id": a.id.to_string(),
            "filename": a.filename, "author": self.user_ref(a.author), "created": timestamp(a.created), "size": a.size,
            "mimeType": a.mime, "content": format!("{}/rest/api/3/attachment/content/{}", self.base_url, a.id)});
        if a.mime == "image/png" {
            v["thumbnail"] = json!(format!(
                "{}/rest/api/3/attachment/thumbnail/{}",
                self.base_url, a.id
            ));
        }
        v
    }

    /// `len` bytes of attachment `a` from `offset`; random access, so Range costs nothing.
    pub fn attachment_bytes(&self, a: &AttachmentMeta, offset: u64, len: usize) -> Vec<u8> {
        if a.added {
            let o = self.overlay();
            let bytes = o
                .attachments
                .get(&a.issue)
                .and_then(|v| v.iter().find(|x| x.id == a.id))
                .map(|x| &x.bytes[..])
                .unwrap_or(&[]);
            let start = (offset as usize).min(bytes.len());
            return bytes[start..(start + len).min(bytes.len())].to_vec();
        }
        let key = hash(self.seed, "content", a.id);
        let end = (offset + len as u64).min(a.size);
        // Byte k is byte k % 8 (little-endian) of mix(key ^ k / 8): one mix per 8 bytes.
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        let mut k = offset;
        while k < end {
            let word = mix(key ^ (k / 8)).to_le_bytes();
            let from = (k % 8) as usize;
            let n = (8 - from).min((end - k) as usize);
            out.extend_from_slice(&word[from..from + n]);
            k += n as u64;
        }
        out
    }

    /// SHA-256 (hex) of an attachment's content, computed by streaming the generator.
    pub fn attachment_sha256(&self, att_id: &str) -> Option<String> {
        let a = self.find_attachment(att_id.parse().ok()?)?;
        let mut h = Sha256::new();
        let mut off = 0;
        while off < a.size {
            let chunk = self.attachment_bytes(&a, off, CHUNK);
            off += chunk.len() as u64;
            h.update(&chunk);
        }
        Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A small PNG whose colour depends on `what` (avatars).
    pub fn png(&self, what: &str) -> Vec<u8> {
        let c = hash(self.seed, what, 0).to_le_bytes();
        png_solid(16, [c[0], c[1], c[2]])
    }
}

/// Bytes per streamed chunk.
pub const CHUNK: usize = 64 * 1024;

/// An uncompressed (stored-deflate) RGB PNG: valid, tiny, and needs no image crate.
fn png_solid(side: u32, rgb: [u8; 3]) -> Vec<u8> {
    // Each row: filter byte 0, then the pixels.
    let row: Vec<u8> = std::iter::once(0u8)
        .chain(rgb.iter().copied().cycle().take(3 * side as usize))
        .collect();
    let raw = row.repeat(side as usize);
    let mut z = vec![0x78, 0x01, 0x01];
    let len = raw.len() as u16;
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (&b"IHDR"[..], &ihdr[..]),
        (b"IDAT", &z[..]),
        (b"IEND", &[][..]),
    ] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}
