//! Reading a snapshot back: [`verify`] checks every byte, [`inspect`] reads only the manifest.
//!
//! Reading uses `rawzip`, an implementation independent of our writer (`super::archive`), so a
//! bug in one is caught by the other. rawzip walks the central directory without keeping it,
//! and the manifest's entry list is kept as a 56-byte fingerprint per entry, so verifying a
//! 110,000-entry snapshot needs a few MB instead of the 50+ MB a materialised directory and
//! manifest took.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::read::DeflateDecoder;
use rawzip::{CompressionMethod, ZipArchive, ZipArchiveEntryWayfinder, RECOMMENDED_BUFFER_SIZE};
use serde::de::{DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::format::{
    layout, EntryRecord, Manifest, COUNT_ATTACHMENTS, COUNT_ISSUES, FORMAT_VERSION, MANIFEST_PATH,
};
use super::writer::name_key;
use crate::checksum::Sha256;
use crate::{Error, ErrorKind, Result};

/// The manifest as [`verify`] reports it: every field, with the entry list only counted.
pub type ManifestSummary = Manifest<usize>;

/// What [`verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries read back, the manifest included.
    pub entries_checked: u64,
    /// Uncompressed bytes read back, the manifest included.
    pub bytes_checked: u64,
    pub manifest: ManifestSummary,
}

/// A manifest larger than this is not ours (about 5 million entries): refuse rather than
/// read without bound on a hostile file.
const MAX_MANIFEST_BYTES: u64 = 1 << 30;

type Archive = ZipArchive<rawzip::FileReader>;

/// Reads every entry back, streaming, and checks it against the manifest: CRC-32 and size
/// (against the ZIP directory), size and SHA-256 (against the manifest); every listed entry
/// present, in the listed order, no unlisted entry, the manifest last, and the derived counts
/// (`issues`, `attachments`) right.
///
/// # Errors
/// `SnapshotCorrupt` naming the first bad entry (or saying the file is truncated);
/// `NotFound` if the file does not exist; `InvalidInput` for a newer format version.
pub fn verify(path: &Path) -> Result<VerifyReport> {
    verify_reporting(path, &mut |_, _| {})
}

/// Entries checked between two progress reports: often enough for a progress bar, rarely
/// enough to cost nothing.
const REPORT_EVERY: u64 = 500;

/// [`verify`], telling `checked(entries, total)` how many more entries were checked, every
/// few hundred entries and at the end.
pub fn verify_reporting(path: &Path, checked: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport> {
    let mut buf = vec![0u8; RECOMMENDED_BUFFER_SIZE];
    let archive = open(path, &mut buf)?;
    let (last, count) = last_entry(&archive, &mut buf, path)?;
    if last.0 != MANIFEST_PATH {
        return Err(corrupt(
            path,
            "manifest.json is not the last entry (unfinished or altered file)",
        ));
    }
    let (manifest, manifest_size) = read_manifest::<Listed>(&archive, last.1, path)?;
    let listed = &manifest.entries.0;

    let mut data = vec![0u8; 64 * 1024];
    let mut report_bytes = manifest_size;
    let (mut issues, mut attachments) = (0u64, 0u64);
    let mut entries = archive.entries(&mut buf);
    let mut index = 0usize;
    while let Some(record) = entries.next_entry().map_err(|e| damaged(path, &e))? {
        if index + 1 == count {
            break; // the manifest, read and checked above
        }
        let name = String::from_utf8_lossy(record.file_path().as_bytes()).into_owned();
        let key = name_key(&name);
        let Some(expected) = listed.get(index).filter(|e| e.key == key) else {
            let why = if manifest.entries.1.contains(&key) {
                "is not where the manifest lists it (entries out of order)"
            } else {
                "is not listed in the manifest"
            };
            return Err(corrupt(path, &format!("entry {name} {why}")));
        };
        let method = record.compression_method();
        let wayfinder = record.wayfinder();
        let (size, sha) = read_entry(&archive, wayfinder, method, &name, path, &mut data)?;
        if size != expected.size {
            return Err(corrupt(
                path,
                &format!(
                    "entry {name}: size mismatch (manifest says {} bytes, found {size})",
                    expected.size
                ),
            ));
        }
        if sha != expected.sha256 {
            return Err(corrupt(path, &format!("entry {name}: SHA-256 mismatch")));
        }
        report_bytes += size;
        if layout::is_issue(&name) {
            issues += 1;
        } else if layout::is_attachment(&name) {
            attachments += 1;
        }
        index += 1;
        if index as u64 % REPORT_EVERY == 0 {
            checked(REPORT_EVERY, count as u64);
        }
    }
    if index < listed.len() {
        let missing = listed_path(&archive, last.1, index, path)?;
        return Err(corrupt(
            path,
            &format!("entry {missing} is listed in the manifest but missing from the file"),
        ));
    }
    for (key, found) in [(COUNT_ISSUES, issues), (COUNT_ATTACHMENTS, attachments)] {
        let claimed = manifest.counts.get(key).copied();
        if claimed != Some(found) {
            return Err(corrupt(
                path,
                &format!(
                    "counts.{key} is {} but the file holds {found}",
                    claimed.map_or("missing".to_owned(), |n| n.to_string())
                ),
            ));
        }
    }
    let entries_checked = index as u64 + 1;
    let reported = index as u64 / REPORT_EVERY * REPORT_EVERY;
    checked(entries_checked - reported, count as u64);
    Ok(VerifyReport {
        entries_checked,
        bytes_checked: report_bytes,
        manifest: summary(manifest),
    })
}

/// Reads only the manifest (for `inspect`: counts, partial sections, when and what).
///
/// # Errors
/// `SnapshotCorrupt` if the file is not a complete snapshot; `NotFound` if it does not exist;
/// `InvalidInput` for a newer format version.
pub fn inspect(path: &Path) -> Result<Manifest> {
    let mut buf = vec![0u8; RECOMMENDED_BUFFER_SIZE];
    let archive = open(path, &mut buf)?;
    let (last, _) = last_entry(&archive, &mut buf, path)?;
    if last.0 != MANIFEST_PATH {
        return Err(corrupt(
            path,
            "manifest.json is missing or not the last entry",
        ));
    }
    read_manifest::<Vec<EntryRecord>>(&archive, last.1, path).map(|(m, _)| m)
}

fn open(path: &Path, buf: &mut [u8]) -> Result<Archive> {
    let file = File::open(path).map_err(|e| {
        let kind = if e.kind() == io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Internal
        };
        Error::new(
            kind,
            format!("Could not open the snapshot {}: {e}.", path.display()),
        )
        .with_source(e)
    })?;
    ZipArchive::from_file(file, buf).map_err(|e| damaged(path, &e))
}

/// The last entry of the directory (name, where) and the number of entries.
fn last_entry(
    archive: &Archive,
    buf: &mut [u8],
    path: &Path,
) -> Result<((String, ZipArchiveEntryWayfinder), usize)> {
    let mut entries = archive.entries(buf);
    let mut last = None;
    let mut count = 0usize;
    while let Some(record) = entries.next_entry().map_err(|e| damaged(path, &e))? {
        count += 1;
        last = Some((record.file_path().as_bytes().to_vec(), record.wayfinder()));
    }
    let (name, wayfinder) = last.ok_or_else(|| corrupt(path, "the file holds no entries"))?;
    Ok((
        (String::from_utf8_lossy(&name).into_owned(), wayfinder),
        count,
    ))
}

/// Reads an entry's data through the decompressor and rawzip's CRC-32 and size check;
/// returns the size and SHA-256.
fn read_entry(
    archive: &Archive,
    wayfinder: ZipArchiveEntryWayfinder,
    method: CompressionMethod,
    name: &str,
    path: &Path,
    buf: &mut [u8],
) -> Result<(u64, crate::checksum::Digest)> {
    let entry = archive
        .get_entry(wayfinder)
        .map_err(|e| corrupt(path, &format!("entry {name} cannot be opened ({e})")))?;
    let raw = entry.reader();
    let mut reader: Box<dyn Read + '_> = match method {
        CompressionMethod::Store => Box::new(entry.verifying_reader(raw)),
        CompressionMethod::Deflate => Box::new(entry.verifying_reader(DeflateDecoder::new(raw))),
        other => {
            return Err(corrupt(
                path,
                &format!(
                    "entry {name} uses a compression method Backup Center never writes ({other:?})"
                ),
            ))
        }
    };
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(unreadable(path, name, e)),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hasher.finish()))
}

/// Parses the manifest as it is decompressed (its CRC-32 checked at the end); returns it and
/// its size. `E` is how the entry list is kept.
fn read_manifest<E: DeserializeOwned>(
    archive: &Archive,
    wayfinder: ZipArchiveEntryWayfinder,
    path: &Path,
) -> Result<(Manifest<E>, u64)> {
    let entry = archive
        .get_entry(wayfinder)
        .map_err(|e| corrupt(path, &format!("manifest.json cannot be opened ({e})")))?;
    let reader = entry.verifying_reader(DeflateDecoder::new(entry.reader()));
    let mut counted = Counted {
        inner: BufReader::with_capacity(64 * 1024, reader.take(MAX_MANIFEST_BYTES)),
        n: 0,
    };
    let parsed: std::result::Result<Manifest<E>, _> = serde_json::from_reader(&mut counted);
    let manifest = match parsed {
        Ok(m) => m,
        Err(e) if e.is_io() => {
            return Err(unreadable(path, MANIFEST_PATH, io::Error::from(e)));
        }
        Err(e) => {
            // An unknown version may have a different shape: say so rather than "bad JSON".
            return Err(newer_version(archive, wayfinder, path).unwrap_or_else(|| {
                corrupt(
                    path,
                    &format!("manifest.json is not a valid manifest ({e})"),
                )
            }));
        }
    };
    if manifest.format_version > FORMAT_VERSION {
        return Err(newer(path, manifest.format_version));
    }
    // from_reader stops at the end of the value: read the rest so that the size (and the
    // CRC-32, checked at the end of the entry) cover every byte.
    io::copy(&mut counted, &mut io::sink()).map_err(|e| unreadable(path, MANIFEST_PATH, e))?;
    Ok((manifest, counted.n))
}

/// The path of the `index`-th listed entry, for the message when it is missing (read again
/// only on that error path, so the entry list need not keep every path).
fn listed_path(
    archive: &Archive,
    wayfinder: ZipArchiveEntryWayfinder,
    index: usize,
    path: &Path,
) -> Result<String> {
    let (m, _) = read_manifest::<Vec<EntryRecord>>(archive, wayfinder, path)?;
    Ok(m.entries
        .into_iter()
        .nth(index)
        .map_or_else(|| format!("#{index}"), |e| e.path))
}

fn summary(m: Manifest<Listed>) -> ManifestSummary {
    Manifest {
        format_version: m.format_version,
        kind: m.kind,
        site: m.site,
        started_at: m.started_at,
        finished_at: m.finished_at,
        tool: m.tool,
        counts: m.counts,
        partial: m.partial,
        partial_sections: m.partial_sections,
        deleted_during_run: m.deleted_during_run,
        entries: m.entries.0.len(),
    }
}

/// One listed entry, kept small: the name's fingerprint, the size and the digest.
struct ListedEntry {
    key: u128,
    size: u64,
    sha256: crate::checksum::Digest,
}

/// The manifest's entry list, in order, and the set of names (to tell "unlisted" from "out of
/// order"). A name listed twice is refused while reading.
struct Listed(Vec<ListedEntry>, HashSet<u128>);

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Listed;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Listed, A::Error> {
                let mut list = Listed(Vec::new(), HashSet::new());
                while let Some(e) = seq.next_element::<EntryRecord>()? {
                    let key = name_key(&e.path);
                    if !list.1.insert(key) {
                        return Err(serde::de::Error::custom(format!(
                            "entry {} is listed twice",
                            e.path
                        )));
                    }
                    let sha256 = crate::checksum::Digest::from_hex(&e.sha256)
                        .unwrap_or(crate::checksum::Digest([0; 32]));
                    list.0.push(ListedEntry {
                        key,
                        size: e.size,
                        sha256,
                    });
                }
                Ok(list)
            }
        }
        d.deserialize_seq(V)
    }
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

fn newer_version(
    archive: &Archive,
    wayfinder: ZipArchiveEntryWayfinder,
    path: &Path,
) -> Option<Error> {
    let entry = archive.get_entry(wayfinder).ok()?;
    let reader = DeflateDecoder::new(entry.reader()).take(MAX_MANIFEST_BYTES);
    let value: serde_json::Value = serde_json::from_reader(reader).ok()?;
    let version = value.get("formatVersion")?.as_u64()?;
    (version > u64::from(FORMAT_VERSION)).then(|| newer(path, version as u32))
}

fn newer(path: &Path, version: u32) -> Error {
    Error::invalid_input(format!(
        "The snapshot {} uses format version {version}, newer than this Backup Center \
         understands ({FORMAT_VERSION}). Update Backup Center to read it.",
        path.display()
    ))
}

/// The ZIP structure itself cannot be read.
fn damaged(path: &Path, e: &rawzip::Error) -> Error {
    corrupt(
        path,
        &format!("the ZIP directory is missing or damaged; the file may be truncated ({e})"),
    )
}

/// A read error inside an entry: a CRC mismatch or a broken Deflate stream are corruption.
fn unreadable(path: &Path, entry: &str, e: io::Error) -> Error {
    // rawzip says "Invalid checksum: expected ..., got ..." for a CRC-32 that does not match.
    let what = if e.to_string().to_lowercase().contains("checksum") {
        "CRC-32 mismatch".to_owned()
    } else {
        format!("cannot be read back ({e})")
    };
    corrupt(path, &format!("entry {entry}: {what}")).with_source(e)
}

fn corrupt(path: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::SnapshotCorrupt,
        format!(
            "The snapshot {} is damaged and must not be trusted: {what}.",
            path.display()
        ),
    )
    .with_context("snapshot", path.display().to_string())
}
