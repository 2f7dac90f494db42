//! Writer tests that need to get between the ZIP writer and the disk (failure injection) or
//! at its internals; the black-box format tests are in `tests/snapshot_format.rs`.

use std::io::{Cursor, Read, Seek, SeekFrom};

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::snapshot::{inspect, verify, SiteInfo};

fn meta() -> SnapshotMeta {
    SnapshotMeta {
        kind: SnapshotKind::Extended,
        site: SiteInfo {
            url: "https://acme.atlassian.net".into(),
            server_title: "Acme".into(),
            version: "1001.0.0".into(),
            cloud: true,
        },
        started_at: Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap(),
    }
}

fn finished() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 7, 0).unwrap()
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// A disk that fills up after `room` bytes, failing like the OS does (ENOSPC).
struct FullDisk {
    file: File,
    room: u64,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() as u64 > self.room {
            return Err(io::Error::from_raw_os_error(28)); // ENOSPC on Linux and macOS
        }
        self.room -= buf.len() as u64;
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
impl Seek for FullDisk {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.file.seek(to)
    }
}
impl Sink for FullDisk {
    fn sync_all(&mut self) -> io::Result<()> {
        self.file.sync_all()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
}

/// A disk that silently flips one bit at a given offset: only verification can notice.
struct BitRot {
    file: File,
    at: u64,
    pos: u64,
}

impl Write for BitRot {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut data = buf.to_vec();
        if (self.pos..self.pos + buf.len() as u64).contains(&self.at) {
            data[(self.at - self.pos) as usize] ^= 0x01;
        }
        self.file.write_all(&data)?;
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
impl Seek for BitRot {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}
impl Sink for BitRot {
    fn sync_all(&mut self) -> io::Result<()> {
        self.file.sync_all()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
}

#[test]
fn disk_full_is_storage_full_with_an_actionable_message_and_leaves_nothing() {
    // The tmpfs route needs mount privileges; an injected ENOSPC exercises the same mapping.
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create_with(dir.path(), "acme.zip", meta(), |file| {
        Box::new(FullDisk {
            file,
            room: 100_000,
        })
    })
    .unwrap();
    let big = vec![7u8; 300_000];
    let err = w
        .add_stream(
            "attachments/1/2/big.bin",
            Cursor::new(big),
            Compression::Stored,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::StorageFull, "{err:?}");
    assert!(
        err.message()
            .starts_with("Not enough disk space to write the snapshot in"),
        "{}",
        err.message()
    );
    assert!(err.message().contains(&dir.path().display().to_string()));
    // A broken writer refuses further work instead of writing a half-valid archive.
    let again = w.add_json("site/myself.json", &json!({})).unwrap_err();
    assert_eq!(again.kind, ErrorKind::StorageFull);
    let err = w.finish(finished()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::StorageFull);
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn disk_full_while_writing_the_manifest_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create_with(dir.path(), "acme.zip", meta(), |file| {
        Box::new(FullDisk { file, room: 200 })
    })
    .unwrap();
    w.add_json("site/myself.json", &json!({"accountId": "x"}))
        .unwrap();
    for i in 0..40 {
        w.count(&format!("entity{i}"), i).unwrap();
    }
    let err = w.finish(finished()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::StorageFull, "{err:?}");
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn bit_rot_caught_by_the_verification_in_finish_leaves_no_zip() {
    let dir = tempfile::tempdir().unwrap();
    // Offset 30 + name length lands inside the first entry's data (stored, so byte for byte).
    let name = "avatars/project/10.png";
    let at = 30 + name.len() as u64 + 20 + 5; // local header + name + ZIP64 extra + 5
    let mut w = SnapshotWriter::create_with(dir.path(), "acme.zip", meta(), |file| {
        Box::new(BitRot { file, at, pos: 0 })
    })
    .unwrap();
    w.add_stream(name, Cursor::new(vec![0u8; 64]), Compression::Stored)
        .unwrap();
    let err = w.finish(finished()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::SnapshotCorrupt, "{err:?}");
    assert!(err.message().contains(name), "{}", err.message());
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn an_injected_verify_failure_leaves_no_zip() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), "acme.zip", meta()).unwrap();
    w.add_json("site/myself.json", &json!({})).unwrap();
    let result = w.finish_inner(finished(), |_| {
        Err(Error::new(ErrorKind::SnapshotCorrupt, "injected"))
    });
    assert!(result.is_err());
    drop(w); // finish() discards on error; the drop of an unfinished writer must too
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn streamed_entries_of_unknown_size_carry_zip64_headers() {
    // Writing 4 GiB in a unit test is too slow (see the ignored test in tests/); instead prove
    // that a streamed entry is started with a ZIP64 extra field (header id 0x0001) in its
    // local header, which is what lets the ZIP writer record a > 4 GiB size at the end.
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), "acme.zip", meta()).unwrap();
    w.add_stream(
        "attachments/1/2/a.bin",
        Cursor::new(vec![1u8; 10]),
        Compression::Stored,
    )
    .unwrap();
    w.append_jsonl("users/users.jsonl", &json!({"accountId": "a"}))
        .unwrap();
    w.add_json("site/myself.json", &json!({})).unwrap();
    let path = w.finish(finished()).unwrap();

    let bytes = fs::read(&path).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.clone())).unwrap();
    let local_extra_ids = |archive: &mut zip::ZipArchive<Cursor<Vec<u8>>>, name: &str| {
        let start = archive.by_name(name).unwrap().header_start() as usize;
        let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
        let (name_len, extra_len) = (u16_at(start + 26), u16_at(start + 28));
        let mut ids = Vec::new();
        let mut o = start + 30 + name_len;
        while o + 4 <= start + 30 + name_len + extra_len {
            ids.push(u16_at(o));
            o += 4 + u16_at(o + 2);
        }
        ids
    };
    assert!(local_extra_ids(&mut archive, "attachments/1/2/a.bin").contains(&1));
    assert!(local_extra_ids(&mut archive, "users/users.jsonl").contains(&1));
    assert!(!local_extra_ids(&mut archive, "site/myself.json").contains(&1));
}

#[test]
fn a_failing_source_drops_the_entry_and_the_writer_goes_on() {
    struct Dropped(u32);
    impl Read for Dropped {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0 += 1;
            if self.0 > 3 {
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
            }
            buf.fill(9);
            Ok(buf.len())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), "acme.zip", meta()).unwrap();
    w.add_json("site/myself.json", &json!({})).unwrap();
    let err = w
        .add_stream("attachments/1/2/big.bin", Dropped(0), Compression::Stored)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err:?}");
    w.mark_partial("attachments", "1 attachment could not be downloaded");
    // The same path may be retried after the failure.
    w.add_bytes("attachments/1/2/big.bin", b"ok", Compression::Stored)
        .unwrap();
    let path = w.finish(finished()).unwrap();
    let report = verify(&path).unwrap();
    assert_eq!(report.entries_checked, 3);
    assert_eq!(report.manifest.counts["attachments"], 1);
    assert!(inspect(&path).unwrap().partial);
}

#[test]
fn prehashed_entries_are_checked_for_size_now_and_for_digest_and_crc_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let body = b"attachment bytes".to_vec();
    let staged = dir.path().join("download.tmp");
    fs::write(&staged, &body).unwrap();
    let open = || fs::File::open(&staged).unwrap();
    let digest = crate::checksum::Sha256::digest(&body);
    let crc = crc32fast::hash(&body);
    let mut w = SnapshotWriter::create(dir.path(), "acme.zip", meta()).unwrap();
    // Fewer or more bytes than the download measured: the entry is dropped, the writer goes on.
    for wrong in [body.len() as u64 + 1, body.len() as u64 - 1] {
        let err = w
            .add_prehashed("attachments/1/2/a.bin", &mut open(), wrong, digest, crc)
            .unwrap_err();
        assert!(err.message().contains("attachments/1/2/a.bin"), "{err:?}");
    }
    let size = body.len() as u64;
    let rec = w
        .add_prehashed("attachments/1/2/a.bin", &mut open(), size, digest, crc)
        .unwrap();
    assert_eq!(rec.sha256, digest.to_hex());
    let path = w.finish(finished()).unwrap();
    assert_eq!(verify(&path).unwrap().manifest.entries, 1);
    assert_eq!(inspect(&path).unwrap().entries, vec![rec]);

    // A digest or a CRC that does not match the bytes (the staged file changed on disk) fails
    // in finish, and no snapshot is left.
    let wrong_digest = crate::checksum::Sha256::digest(b"something else");
    for (name, sha, crc) in [("d.zip", wrong_digest, crc), ("c.zip", digest, crc ^ 1)] {
        let mut w = SnapshotWriter::create(dir.path(), name, meta()).unwrap();
        w.add_prehashed("attachments/1/2/a.bin", &mut open(), size, sha, crc)
            .unwrap();
        let err = w.finish(finished()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::SnapshotCorrupt, "{err:?}");
        assert!(
            err.message().contains("attachments/1/2/a.bin"),
            "{}",
            err.message()
        );
        assert!(!dir.path().join(name).exists());
    }
}

#[test]
fn duplicates_interrupted_collections_and_derived_counts_are_bugs() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), "acme.zip", meta()).unwrap();
    w.add_json("site/myself.json", &json!({})).unwrap();
    let dup = w.add_json("site/myself.json", &json!({})).unwrap_err();
    assert_eq!(dup.kind, ErrorKind::Internal);
    assert!(dup.message().contains("written twice"), "{}", dup.message());

    w.append_jsonl("users/users.jsonl", &json!({"n": 1}))
        .unwrap();
    w.add_json("site/serverInfo.json", &json!({})).unwrap();
    let interrupted = w
        .append_jsonl("users/users.jsonl", &json!({"n": 2}))
        .unwrap_err();
    assert!(interrupted.message().contains("contiguously"));

    assert!(w.count("issues", 1).is_err());
    assert!(w.add_json("../escape.json", &json!({})).is_err());
    assert!(w.add_json("manifest.json", &json!({})).is_err());
    // Caller mistakes leave the writer usable.
    w.add_json("config/fields.json", &json!([])).unwrap();
    assert!(w.bytes_written() > 0);
    let progress = w.progress();
    let polled = std::thread::spawn(move || progress.bytes_written())
        .join()
        .unwrap();
    assert_eq!(
        polled,
        w.bytes_written(),
        "another thread sees the same progress"
    );
    verify(&w.finish(finished()).unwrap()).unwrap();
}

#[test]
fn final_names_must_be_plain_and_new() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "..", "a/b.zip", "a\\b.zip", "x\n.zip", "/abs.zip"] {
        let err = SnapshotWriter::create(dir.path(), bad, meta()).err();
        assert_eq!(
            err.map(|e| e.kind),
            Some(ErrorKind::InvalidInput),
            "{bad:?}"
        );
    }
    fs::write(dir.path().join("old.zip"), b"an earlier backup").unwrap();
    let err = SnapshotWriter::create(dir.path(), "old.zip", meta()).err();
    assert_eq!(err.map(|e| e.kind), Some(ErrorKind::InvalidInput));
    assert_eq!(
        fs::read(dir.path().join("old.zip")).unwrap(),
        b"an earlier backup"
    );
}

#[test]
fn the_writer_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<SnapshotWriter>();
}

#[test]
fn more_than_65535_entries_get_zip64_end_records_and_read_back() {
    // The 16-bit entry count of the classic end record overflows here; the ZIP64 end record
    // and its locator must carry the count, and an independent reader must agree.
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), "many.zip", meta()).unwrap();
    let n = 66_000u32;
    for i in 0..n {
        w.add_bytes(
            &format!("groups/members/{i}.json"),
            b"[]",
            Compression::Stored,
        )
        .unwrap();
    }
    let path = w.finish(finished()).unwrap();
    let report = verify(&path).unwrap();
    assert_eq!(report.entries_checked, u64::from(n) + 1);
    let bytes = fs::read(&path).unwrap();
    let has = |sig: u32| bytes.windows(4).any(|w| w == sig.to_le_bytes());
    assert!(has(0x0606_4b50), "a ZIP64 end-of-central-directory record");
    assert!(has(0x0706_4b50), "a ZIP64 end-of-central-directory locator");
}

#[test]
fn verification_progress_adds_up_to_every_entry_and_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SnapshotWriter::create(dir.path(), "acme.zip", meta()).unwrap();
    for i in 0..1_234 {
        w.add_json(&format!("config/part{i}.json"), &json!({ "i": i }))
            .unwrap();
    }
    let mut reports = Vec::new();
    let path = w
        .finish_reporting(finished(), &mut |n, total| reports.push((n, total)))
        .unwrap();
    let checked = verify(&path).unwrap().entries_checked;
    assert_eq!(reports.iter().map(|r| r.0).sum::<u64>(), checked);
    assert!(reports.iter().all(|r| r.1 == checked), "{reports:?}");
    assert_eq!(
        reports.len(),
        3,
        "every 500 entries and at the end: {reports:?}"
    );
}
