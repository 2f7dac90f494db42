//! Reading a snapshot back: [`verify`] checks every byte, [`inspect`] reads only the manifest.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use zip::ZipArchive;

use super::format::{
    layout, Manifest, COUNT_ATTACHMENTS, COUNT_ISSUES, FORMAT_VERSION, MANIFEST_PATH,
};
use crate::checksum::Sha256;
use crate::{Error, ErrorKind, Result};

/// What [`verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries read back, the manifest included.
    pub entries_checked: u64,
    /// Uncompressed bytes read back, the manifest included.
    pub bytes_checked: u64,
    pub manifest: Manifest,
}

/// A manifest larger than this is not ours (about 5 million entries): refuse rather than
/// allocate without bound on a hostile file.
const MAX_MANIFEST_BYTES: u64 = 1 << 30;

/// Reads every entry back, streaming, and checks it against the manifest: CRC-32 (checked by
/// the ZIP reader at end of entry), size and SHA-256; every listed entry present, no unlisted
/// entry, the manifest last, and the derived counts (`issues`, `attachments`) right.
///
/// # Errors
/// `SnapshotCorrupt` naming the first bad entry (or saying the file is truncated);
/// `NotFound` if the file does not exist; `InvalidInput` for a newer format version.
pub fn verify(path: &Path) -> Result<VerifyReport> {
    let mut archive = open(path)?;
    let (manifest, manifest_size) = read_manifest(&mut archive, path)?;

    let last = archive
        .len()
        .checked_sub(1)
        .and_then(|i| archive.name_for_index(i));
    if last != Some(MANIFEST_PATH) {
        return Err(corrupt(
            path,
            "manifest.json is not the last entry (unfinished or altered file)",
        ));
    }

    let mut expected: HashMap<&str, (u64, &str)> = HashMap::with_capacity(manifest.entries.len());
    for e in &manifest.entries {
        if expected.insert(&e.path, (e.size, &e.sha256)).is_some() {
            return Err(corrupt(
                path,
                &format!("entry {} is listed twice in the manifest", e.path),
            ));
        }
    }

    let mut report_bytes = manifest_size;
    let mut seen = 0usize;
    let (mut issues, mut attachments) = (0u64, 0u64);
    let mut buf = vec![0u8; 64 * 1024];
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|e| corrupt(path, &format!("entry #{index} cannot be opened ({e})")))?;
        let name = file.name().to_owned();
        if name == MANIFEST_PATH {
            continue; // read (and CRC-checked) above
        }
        // Removing what was seen catches a duplicate name as "not listed" the second time.
        let Some((size, sha)) = expected.remove(name.as_str()) else {
            return Err(corrupt(
                path,
                &format!("entry {name} is not listed in the manifest"),
            ));
        };
        let mut hasher = Sha256::new();
        let mut actual = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unreadable(path, &name, e)),
            };
            hasher.update(&buf[..n]);
            actual += n as u64;
        }
        if actual != size {
            return Err(corrupt(
                path,
                &format!(
                    "entry {name}: size mismatch (manifest says {size} bytes, found {actual})"
                ),
            ));
        }
        if hasher.finish().to_hex() != sha {
            return Err(corrupt(path, &format!("entry {name}: SHA-256 mismatch")));
        }
        seen += 1;
        report_bytes += actual;
        if layout::is_issue(&name) {
            issues += 1;
        } else if layout::is_attachment(&name) {
            attachments += 1;
        }
    }
    if let Some(missing) = manifest
        .entries
        .iter()
        .find(|e| expected.contains_key(e.path.as_str()))
    {
        return Err(corrupt(
            path,
            &format!(
                "entry {} is listed in the manifest but missing from the file",
                missing.path
            ),
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
    Ok(VerifyReport {
        entries_checked: seen as u64 + 1,
        bytes_checked: report_bytes,
        manifest,
    })
}

/// Reads only the manifest (for `inspect`: counts, partial sections, when and what).
///
/// # Errors
/// `SnapshotCorrupt` if the file is not a complete snapshot; `NotFound` if it does not exist;
/// `InvalidInput` for a newer format version.
pub fn inspect(path: &Path) -> Result<Manifest> {
    let mut archive = open(path)?;
    read_manifest(&mut archive, path).map(|(manifest, _)| manifest)
}

fn open(path: &Path) -> Result<ZipArchive<BufReader<File>>> {
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
    ZipArchive::new(BufReader::new(file)).map_err(|e| {
        corrupt(
            path,
            &format!("the ZIP directory is missing or damaged; the file may be truncated ({e})"),
        )
    })
}

fn read_manifest(
    archive: &mut ZipArchive<BufReader<File>>,
    path: &Path,
) -> Result<(Manifest, u64)> {
    let file = archive
        .by_name(MANIFEST_PATH)
        .map_err(|e| corrupt(path, &format!("manifest.json cannot be opened ({e})")))?;
    // Parsed as it is read: on a large site the manifest is tens of MB of JSON, and holding
    // it beside the parsed copy would double verification's memory.
    let mut counted = Counted {
        inner: BufReader::with_capacity(64 * 1024, file.take(MAX_MANIFEST_BYTES)),
        n: 0,
    };
    let parsed: std::result::Result<Manifest, _> = serde_json::from_reader(&mut counted);
    let manifest = match parsed {
        Ok(m) => m,
        Err(e) if e.is_io() => {
            return Err(unreadable(path, MANIFEST_PATH, io::Error::from(e)));
        }
        Err(e) => {
            // An unknown version may have a different shape: say so rather than "bad JSON".
            // Only on this error path is the whole text read into memory.
            drop(counted);
            let mut bytes = Vec::new();
            if let Ok(file) = archive.by_name(MANIFEST_PATH) {
                let _ = file.take(MAX_MANIFEST_BYTES).read_to_end(&mut bytes);
            }
            return Err(newer_version(&bytes, path).unwrap_or_else(|| {
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
    // from_reader stops at the end of the value: read the rest so the size (and the CRC,
    // checked at the end of the entry) cover every byte.
    io::copy(&mut counted, &mut io::sink()).map_err(|e| unreadable(path, MANIFEST_PATH, e))?;
    Ok((manifest, counted.n))
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

fn newer_version(bytes: &[u8], path: &Path) -> Option<Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
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

/// A read error inside an entry: a CRC mismatch or a broken Deflate stream are corruption.
fn unreadable(path: &Path, entry: &str, e: io::Error) -> Error {
    let what = if e.to_string().contains("checksum") {
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
