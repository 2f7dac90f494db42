//! The snapshot file format, black box: what `SnapshotWriter` produces, what `verify` accepts
//! and rejects, and what stays on disk when a run does not finish.

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use backup_center_engine::snapshot::{
    inspect, layout, sanitise_file_name, verify, Compression, Manifest, SiteInfo, SnapshotKind,
    SnapshotMeta, SnapshotWriter,
};
use backup_center_engine::ErrorKind;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

fn meta(kind: SnapshotKind) -> SnapshotMeta {
    SnapshotMeta {
        kind,
        site: SiteInfo {
            url: "https://acme.atlassian.net".into(),
            server_title: "Acme Jira".into(),
            version: "1001.0.0-SNAPSHOT".into(),
            cloud: true,
        },
        started_at: Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap(),
    }
}

fn finished_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 41, 7).unwrap()
}

const NAME: &str = "acme-extended-2026-11-22_0300.zip";

/// Deterministic pseudo-random bytes (xorshift64): incompressible, reproducible.
fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A small but complete Extended snapshot: JSON, JSON Lines and stored binaries.
fn write_sample(dir: &Path) -> PathBuf {
    let mut w = SnapshotWriter::create(dir, NAME, meta(SnapshotKind::Extended)).unwrap();
    w.add_json(
        layout::SERVER_INFO,
        &json!({"baseUrl": "https://acme.atlassian.net"}),
    )
    .unwrap();
    for i in 0..3 {
        w.append_jsonl(layout::USERS, &json!({"accountId": format!("u{i}")}))
            .unwrap();
    }
    w.count("users", 3).unwrap();
    w.begin_jsonl(layout::GROUPS).unwrap(); // an empty collection is still an entry
    w.add_json(
        &layout::issue("10000", "10042"),
        &json!({"id": "10042", "key": "ACME-1", "comments": [{"id": "1"}], "worklogs": []}),
    )
    .unwrap();
    w.count("comments", 1).unwrap();
    let big = seeded_bytes(42, 3 * 1024 * 1024 + 17);
    let rec = w
        .add_stream(
            &layout::attachment("10042", "20001", "big.bin"),
            Cursor::new(&big),
            Compression::Stored,
        )
        .unwrap();
    assert_eq!(rec.size, big.len() as u64);
    w.add_bytes(
        &layout::attachment("10042", "20002", "empty.txt"),
        b"",
        Compression::Stored,
    )
    .unwrap();
    w.add_bytes(
        &layout::attachment("10042", "20003", "one.txt"),
        b"x",
        Compression::Stored,
    )
    .unwrap();
    w.mark_partial(
        "dashboards",
        "only dashboards shared with the backup user are visible",
    );
    w.record_deleted(
        "issue",
        "10043",
        "deleted in Jira while the run was walking ACME",
    );
    assert!(
        w.bytes_written() > big.len() as u64,
        "progress counts the file's bytes"
    );
    let path = w.finish(finished_at()).unwrap();
    assert_eq!(path, dir.join(NAME));
    path
}

#[test]
fn round_trip_finishes_verifies_and_inspects() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sample(dir.path());
    assert_eq!(
        files_in(dir.path()),
        vec![NAME.to_owned()],
        "only the final .zip remains"
    );

    let report = verify(&path).unwrap();
    assert_eq!(report.entries_checked, 8, "7 entries + manifest");
    assert!(report.bytes_checked > 3 * 1024 * 1024);

    let m: Manifest = inspect(&path).unwrap();
    assert_eq!(m.format_version, 1);
    assert_eq!(m.kind, SnapshotKind::Extended);
    assert_eq!(m.tool.name, "Backup Center");
    assert_eq!(m.site.server_title, "Acme Jira");
    assert_eq!(m.started_at, meta(SnapshotKind::Basic).started_at);
    assert_eq!(m.finished_at, finished_at());
    let counts: Vec<(&str, u64)> = m.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        counts,
        [
            ("attachments", 3),
            ("comments", 1),
            ("issues", 1),
            ("users", 3)
        ]
    );
    assert!(m.partial);
    assert_eq!(m.partial_sections[0].section, "dashboards");
    assert_eq!(m.deleted_during_run[0].id, "10043");
    assert_eq!(m.entries.len(), 7);
    let empty = m
        .entries
        .iter()
        .find(|e| e.path.ends_with("empty.txt"))
        .unwrap();
    assert_eq!(
        empty.sha256,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );

    // Readable with a plain ZIP reader: JSON deflated, media stored, JSONL line by line.
    let mut zip = zip::ZipArchive::new(fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(zip.name_for_index(zip.len() - 1), Some("manifest.json"));
    let mut users = String::new();
    let mut f = zip.by_name("users/users.jsonl").unwrap();
    assert_eq!(f.compression(), zip::CompressionMethod::Deflated);
    f.read_to_string(&mut users).unwrap();
    drop(f);
    assert_eq!(users.lines().count(), 3);
    let f = zip.by_name("attachments/10042/20001/big.bin").unwrap();
    assert_eq!(f.compression(), zip::CompressionMethod::Stored);
}

#[test]
fn more_than_65535_entries_verify_and_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), NAME, meta(SnapshotKind::Basic)).unwrap();
    let n = 65_600u32;
    for i in 0..n {
        let id = (10_000 + i).to_string();
        w.add_bytes(&layout::issue("1", &id), b"{}", Compression::Stored)
            .unwrap();
    }
    let path = w.finish(finished_at()).unwrap();
    let report = verify(&path).unwrap();
    assert_eq!(report.entries_checked, u64::from(n) + 1);
    assert_eq!(report.manifest.counts["issues"], u64::from(n));
    let zip = zip::ZipArchive::new(fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(
        zip.len(),
        n as usize + 1,
        "the ZIP64 end record carries the real count"
    );
}

/// Flips one bit at `offset` in the file.
fn flip(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x40;
    fs::write(path, bytes).unwrap();
}

fn data_start(path: &Path, entry: &str) -> u64 {
    let mut zip = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    let f = zip.by_name(entry).unwrap();
    f.data_start().unwrap()
}

fn corrupt_message(path: &Path) -> String {
    let err = verify(path).expect_err("a damaged snapshot must not verify");
    assert_eq!(err.kind, ErrorKind::SnapshotCorrupt, "{err:?}");
    err.message().to_owned()
}

#[test]
fn a_flipped_byte_in_a_compressed_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sample(dir.path());
    let entry = "issues/10000/10042.json";
    flip(&path, data_start(&path, entry) + 3);
    let msg = corrupt_message(&path);
    assert!(msg.contains(&format!("entry {entry}")), "{msg}");
}

#[test]
fn a_flipped_byte_in_a_stored_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sample(dir.path());
    let entry = "attachments/10042/20001/big.bin";
    flip(&path, data_start(&path, entry) + 1_000_000);
    let msg = corrupt_message(&path);
    assert!(
        msg.contains(&format!("entry {entry}: CRC-32 mismatch")),
        "{msg}"
    );
}

#[test]
fn a_truncated_file_is_reported_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sample(dir.path());
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let msg = corrupt_message(&path);
    assert!(msg.contains("truncated"), "{msg}");
    assert_eq!(inspect(&path).unwrap_err().kind, ErrorKind::SnapshotCorrupt);
}

/// Rebuilds the snapshot with raw copies of its entries, an edited manifest and extra entries.
fn rewrite(path: &Path, edit: impl FnOnce(&mut serde_json::Value), extra: &[(&str, &[u8])]) {
    let bytes = fs::read(path).unwrap();
    let mut src = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut manifest: serde_json::Value = {
        let mut s = String::new();
        src.by_name("manifest.json")
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        serde_json::from_str(&s).unwrap()
    };
    edit(&mut manifest);
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..src.len() {
        let f = src.by_index_raw(i).unwrap();
        if f.name() != "manifest.json" {
            out.raw_copy_file(f).unwrap();
        }
    }
    let options = zip::write::SimpleFileOptions::default();
    for (name, data) in extra {
        out.start_file(*name, options).unwrap();
        out.write_all(data).unwrap();
    }
    out.start_file("manifest.json", options).unwrap();
    out.write_all(&serde_json::to_vec(&manifest).unwrap())
        .unwrap();
    fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}

#[test]
fn an_edited_manifest_hash_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sample(dir.path());
    let mut edited = String::new();
    rewrite(
        &path,
        |m| {
            let e = &mut m["entries"][0];
            edited = e["path"].as_str().unwrap().to_owned();
            e["sha256"] = json!("00".repeat(32));
        },
        &[],
    );
    let msg = corrupt_message(&path);
    assert!(
        msg.contains(&format!("entry {edited}: SHA-256 mismatch")),
        "{msg}"
    );
}

#[test]
fn an_unlisted_entry_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sample(dir.path());
    rewrite(&path, |_| {}, &[("notes/smuggled.txt", b"hi")]);
    let msg = corrupt_message(&path);
    assert!(
        msg.contains("entry notes/smuggled.txt is not listed"),
        "{msg}"
    );
}

#[test]
fn a_missing_entry_and_wrong_derived_counts_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sample(dir.path());
    rewrite(
        &path,
        |m| {
            m["entries"]
                .as_array_mut()
                .unwrap()
                .push(json!({"path": "users/gone.jsonl", "size": 0, "sha256": ""}))
        },
        &[],
    );
    assert!(corrupt_message(&path)
        .contains("entry users/gone.jsonl is listed in the manifest but missing"));

    let path = {
        let dir2 = dir.path().join("second");
        fs::create_dir(&dir2).unwrap();
        write_sample(&dir2)
    };
    rewrite(&path, |m| m["counts"]["issues"] = json!(2), &[]);
    assert!(corrupt_message(&path).contains("counts.issues is 2 but the file holds 1"));
}

#[test]
fn a_newer_format_version_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_sample(dir.path());
    rewrite(&path, |m| m["formatVersion"] = json!(2), &[]);
    let err = inspect(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message().contains("Update Backup Center"),
        "{}",
        err.message()
    );
}

#[test]
fn a_dropped_writer_leaves_neither_part_nor_zip() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut w = SnapshotWriter::create(dir.path(), NAME, meta(SnapshotKind::Basic)).unwrap();
        w.add_json(layout::MYSELF, &json!({"accountId": "a"}))
            .unwrap();
        w.append_jsonl(layout::USERS, &json!({"accountId": "a"}))
            .unwrap();
        assert_eq!(files_in(dir.path()), vec![format!("{NAME}.part")]);
    }
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[test]
fn abort_leaves_neither_part_nor_zip() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), NAME, meta(SnapshotKind::Basic)).unwrap();
    w.add_json(layout::MYSELF, &json!({})).unwrap();
    w.abort();
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

#[test]
fn finish_into_a_removed_folder_fails_and_leaves_no_zip() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("backups");
    fs::create_dir(&dir).unwrap();
    let mut w = SnapshotWriter::create(&dir, NAME, meta(SnapshotKind::Basic)).unwrap();
    w.add_json(layout::MYSELF, &json!({})).unwrap();
    fs::remove_dir_all(&dir).unwrap();
    let err = w.finish(finished_at()).unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::NotFound | ErrorKind::SnapshotCorrupt),
        "{err:?}"
    );
    assert!(
        !dir.exists(),
        "nothing may recreate the folder or leave a snapshot"
    );
    assert!(files_in(parent.path()).is_empty());
}

#[test]
fn attachment_names_become_safe_unique_deterministic_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), NAME, meta(SnapshotKind::Extended)).unwrap();
    let long = "ü".repeat(300);
    let hostile = [
        ("20001", "report.pdf"),
        ("20002", "report.pdf"), // same name on the same issue
        ("20003", ".."),
        ("20004", "/etc/passwd"),
        ("20005", "a\\b"),
        ("20006", "bell\u{7}\nname.txt"),
        ("20007", long.as_str()),
        ("20008", "日本語の資料.xlsx"),
    ];
    let mut paths = Vec::new();
    for (id, original) in hostile {
        let name = sanitise_file_name(original);
        assert_eq!(name, sanitise_file_name(original), "deterministic");
        let path = layout::attachment("10042", id, &name);
        w.add_bytes(&path, original.as_bytes(), Compression::Stored)
            .unwrap_or_else(|e| panic!("{original:?} -> {path:?}: {e:?}"));
        paths.push(path);
    }
    let issue = json!({"id": "10042", "fields": {"attachment": hostile.iter()
        .map(|(id, f)| json!({"id": id, "filename": f})).collect::<Vec<_>>()}});
    w.add_json(&layout::issue("10000", "10042"), &issue)
        .unwrap();
    let path = w.finish(finished_at()).unwrap();
    verify(&path).unwrap();

    let mut unique = paths.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), paths.len(), "{paths:?}");
    assert_eq!(paths[0], "attachments/10042/20001/report.pdf");
    assert_eq!(paths[1], "attachments/10042/20002/report.pdf");
    assert_eq!(paths[2], "attachments/10042/20003/_");
    assert_eq!(paths[3], "attachments/10042/20004/_etc_passwd");
    assert_eq!(paths[4], "attachments/10042/20005/a_b");
    assert_eq!(paths[5], "attachments/10042/20006/bell__name.txt");
    assert!(paths[6].len() < 200 && paths[6].contains('ü'));
    assert_eq!(paths[7], "attachments/10042/20008/日本語の資料.xlsx");
    for p in &paths {
        assert!(!p.split('/').any(|s| s == ".." || s.is_empty()), "{p}");
    }
}

/// A real > 4 GiB entry: slow (minutes, 4 GiB of disk), so run it by hand with
/// `cargo test -p backup-center-engine --test snapshot_format -- --ignored`.
#[test]
#[ignore = "writes and verifies 4.2 GiB"]
fn an_entry_larger_than_4_gib_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), NAME, meta(SnapshotKind::Extended)).unwrap();
    let size = (1u64 << 32) + 4096;
    let rec = w
        .add_stream(
            &layout::attachment("1", "2", "huge.bin"),
            std::io::repeat(0xA5).take(size),
            Compression::Stored,
        )
        .unwrap();
    assert_eq!(rec.size, size);
    let path = w.finish(finished_at()).unwrap();
    assert_eq!(inspect(&path).unwrap().entries[0].size, size);
}
