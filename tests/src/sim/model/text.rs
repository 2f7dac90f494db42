//! Words, sentences and Atlassian Document Format in several scripts, so a backup has to
//! round-trip emoji, CJK and right-to-left text.

use serde_json::{json, Value};

use super::rng::Rng;

const WORDS: &[&str] = &[
    "login",
    "page",
    "crash",
    "export",
    "report",
    "billing",
    "search",
    "cache",
    "timeout",
    "upload",
    "mobile",
    "dashboard",
    "invoice",
    "latency",
    "onboarding",
    "sync",
    "token",
    "refactor",
    "migration",
    "audit",
    "permissions",
    "webhook",
    "backup",
    "restore",
    "email",
];
const VERBS: &[&str] = &[
    "fails on",
    "is slow in",
    "breaks",
    "needs",
    "improve",
    "add",
    "remove",
    "fix",
    "document",
];

/// Sentences in one script each: Latin, emoji, CJK, Arabic (RTL), Hebrew (RTL), mixed.
const SCRIPTS: &[&str] = &[
    "The quick brown fox jumps over the lazy dog.",
    "Ship it 🚀 then celebrate 🎉 — unless the build is 🔥.",
    "日本語のテキストと中文文本，还有한국어 문장도 있습니다。",
    "هذا نص عربي للاختبار من اليمين إلى اليسار.",
    "זהו טקסט בעברית לבדיקת כיוון מימין לשמאל.",
    "Mixed: naïve café Ωmega — ∑ ≠ ∞ «quotes» ‹single›.",
];

pub fn summary(r: &mut Rng) -> String {
    let s = format!("{} {} {}", r.pick(WORDS), r.pick(VERBS), r.pick(WORDS));
    let mut c = s.chars();
    let first = c
        .next()
        .map(|f| f.to_uppercase().collect::<String>())
        .unwrap_or_default();
    let tail: String = c.collect();
    match r.below(8) {
        0 => format!(
            "{first}{tail} {}",
            SCRIPTS[1].split(' ').nth(2).unwrap_or("🚀")
        ),
        1 => format!("{first}{tail} / 日本語"),
        2 => format!("{first}{tail} — عربي"),
        _ => format!("{first}{tail}"),
    }
}

pub fn sentence(r: &mut Rng) -> &'static str {
    SCRIPTS[r.below(SCRIPTS.len() as u64) as usize]
}

pub fn word(r: &mut Rng) -> &'static str {
    WORDS[r.below(WORDS.len() as u64) as usize]
}

/// A short ADF document: a paragraph in one script, sometimes a heading and a bullet list.
pub fn adf(r: &mut Rng, script: usize) -> Value {
    let mut content = vec![];
    if r.chance(0.3) {
        content.push(json!({"type": "heading", "attrs": {"level": 2},
            "content": [{"type": "text", "text": word(r)}]}));
    }
    content.push(paragraph(SCRIPTS[script % SCRIPTS.len()]));
    if r.chance(0.4) {
        let items: Vec<Value> = (0..r.range(1, 3))
            .map(|_| json!({"type": "listItem", "content": [paragraph(sentence(r))]}))
            .collect();
        content.push(json!({"type": "bulletList", "content": items}));
    }
    json!({"type": "doc", "version": 1, "content": content})
}

pub fn adf_text(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [paragraph(text)]})
}

fn paragraph(text: &str) -> Value {
    json!({"type": "paragraph", "content": [{"type": "text", "text": text}]})
}

/// Jira's timestamp format: millisecond precision, offset without a colon.
pub fn timestamp(epoch_secs: i64) -> String {
    chrono::DateTime::from_timestamp(epoch_secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// 2024-01-01T00:00:00Z: everything generated happens after this.
pub const EPOCH: i64 = 1_704_067_200;
