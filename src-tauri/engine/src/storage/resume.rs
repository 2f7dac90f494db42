//! Continuing an upload that broke off: the one mechanism behind [`Session::put_resuming`] for
//! every destination that can write from an offset (FTP with `APPE`, SFTP by writing at an
//! offset). The protocol modules only read and remove temporaries ([`Temporaries`]); which one
//! is continued, and whether at all, is decided here:
//!
//! 1. our temporaries of the final name in its folder, biggest first, none empty and none
//!    larger than the size hint ([`candidates`]);
//! 2. the last [`TAIL`] bytes the server holds of each are compared with the same bytes of the
//!    backup; the first that matches is continued from its size, with the backup sought there;
//! 3. a temporary that differs (another backup that got the same name) or cannot be read is
//!    removed; with none left the upload starts a new temporary from the start of the backup.
//!
//! What happens to the temporary when the retry fails too is [`Source::keeps_temporary`].
//!
//! [`Session::put_resuming`]: super::Session::put_resuming

use std::cmp::Reverse;
use std::io::{self, Read, Seek, SeekFrom};

use super::{names, RemotePath};
use crate::error::{Error, Result};

/// How much of an earlier attempt's temporary is compared with the backup before it is
/// continued: enough to tell two backups apart (zip entries carry their own checksums and
/// times), little enough to cost one round trip.
pub(crate) const TAIL: u64 = 256 * 1024;

/// A backup that can be read again from any offset (the snapshot file on disk), for
/// [`Session::put_resuming`](super::Session::put_resuming).
pub trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}

/// A [`ReadSeek`] seen as a plain reader (trait upcasting needs a newer Rust than ours).
pub(crate) struct ReadOnly<'a>(pub &'a mut dyn ReadSeek);

impl Read for ReadOnly<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// The backup an upload reads: a plain reader (`put`), or one that can be sought, whose
/// earlier attempt may be continued (`put_resuming`).
pub(crate) enum Source<'a> {
    Plain(&'a mut dyn Read),
    Resumable(&'a mut dyn ReadSeek),
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Plain(r) => r.read(buf),
            Source::Resumable(r) => r.read(buf),
        }
    }
}

/// Why an upload stopped before its temporary was renamed.
pub(crate) enum Failure<E> {
    /// The backup could not be read (an `Internal` error from `read_chunk`).
    Source(Error),
    /// The destination refused, or the connection broke; `E` is what the protocol needs to
    /// explain it.
    Destination(E),
}

impl Source<'_> {
    /// Whether the temporary of an upload that failed with `failure` is kept, as
    /// [`Session::put_resuming`](super::Session::put_resuming) promises: only a resumable
    /// upload whose *source* failed keeps it. Every other failure removes it, where the
    /// connection still allows (after a lost connection nothing can be removed: the next
    /// `put_resuming` continues it, or `cleanup_temporaries` removes it).
    pub(crate) fn keeps_temporary<E>(&self, failure: &Failure<E>) -> bool {
        matches!((self, failure), (Source::Resumable(_), Failure::Source(_)))
    }
}

/// What a destination that can resume provides to [`find_resumable`].
pub(crate) trait Temporaries {
    /// The bytes of the temporary `temp` (a name in `dir`) from `offset` to its end. `None`
    /// when the server cannot give them (the temporary is then not continued); `Err` only
    /// when the connection failed.
    fn read_temporary(
        &mut self,
        dir: &RemotePath,
        temp: &str,
        offset: u64,
    ) -> Result<Option<Vec<u8>>>;

    /// Removes the temporary `temp` in `dir`, best effort.
    fn discard_temporary(&mut self, dir: &RemotePath, temp: &str);
}

/// The temporaries of `name` among `listed` (names and sizes of the files in its folder) that
/// may be continued, biggest first: never an empty one, nor one larger than the backup.
pub(crate) fn candidates(
    listed: impl IntoIterator<Item = (String, u64)>,
    name: &str,
    size_hint: Option<u64>,
) -> Vec<(String, u64)> {
    let mut found: Vec<(String, u64)> = listed
        .into_iter()
        .filter(|(temp, size)| {
            names::temporary_target(temp) == Some(name)
                && *size > 0
                && size_hint.is_none_or(|h| *size <= h)
        })
        .collect();
    found.sort_by_key(|(temp, size)| (Reverse(*size), temp.clone()));
    found
}

/// The temporary among `candidates` (see [`candidates`]) that holds the start of `source`,
/// with its size; `source` is then positioned right after it. Temporaries that differ are
/// removed. Without one, `source` is positioned at its start. `shown` is the folder as the
/// user knows it, for messages.
///
/// # Errors
/// `Internal` when `source` cannot be read or sought; the connection's errors from
/// [`Temporaries::read_temporary`].
pub(crate) fn find_resumable(
    session: &mut dyn Temporaries,
    dir: &RemotePath,
    candidates: Vec<(String, u64)>,
    source: &mut dyn ReadSeek,
    shown: &str,
) -> Result<Option<(String, u64)>> {
    for (temp, size) in candidates {
        let start = size - size.min(TAIL);
        let Some(ours) = source_bytes(source, start, (size - start) as usize, shown)? else {
            // The backup is shorter than the temporary: not the same backup.
            tracing::info!(target: "storage", %temp, "a partial upload is longer than the backup: starting over");
            session.discard_temporary(dir, &temp);
            continue;
        };
        match session.read_temporary(dir, &temp, start)? {
            Some(held) if held == ours => {
                seek(source, size, shown)?;
                tracing::info!(target: "storage", %temp, size, "continuing a partial upload");
                return Ok(Some((temp, size)));
            }
            _ => {
                tracing::info!(target: "storage", %temp,
                    "a partial upload differs from the backup or cannot be read: starting over");
                session.discard_temporary(dir, &temp);
            }
        }
    }
    seek(source, 0, shown)?;
    Ok(None)
}

/// `len` bytes of `source` from `offset`; `None` if it ends before.
fn source_bytes(
    source: &mut dyn ReadSeek,
    offset: u64,
    len: usize,
    shown: &str,
) -> Result<Option<Vec<u8>>> {
    seek(source, offset, shown)?;
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match super::read_chunk(source, &mut buf[filled..], shown)? {
            0 => return Ok(None),
            n => filled += n,
        }
    }
    Ok(Some(buf))
}

fn seek(source: &mut dyn ReadSeek, offset: u64, shown: &str) -> Result<()> {
    match source.seek(SeekFrom::Start(offset)) {
        Ok(at) if at == offset => Ok(()),
        Ok(at) => Err(Error::internal(format!(
            "Could not read the backup to store in {shown} from byte {offset}: it went to \
             byte {at}."
        ))),
        Err(e) => Err(Error::internal(format!(
            "Could not read the backup to store in {shown} from byte {offset}: {e}."
        ))
        .with_source(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::collections::BTreeMap;
    use std::io::Cursor;

    const NAME: &str = "acme.atlassian.net-basic-2026-11-22_0300.zip";

    /// Temporaries held in memory, with the calls made.
    #[derive(Default)]
    struct Held {
        files: BTreeMap<String, Vec<u8>>,
        unreadable: bool,
        removed: Vec<String>,
    }

    impl Temporaries for Held {
        fn read_temporary(
            &mut self,
            _dir: &RemotePath,
            temp: &str,
            offset: u64,
        ) -> Result<Option<Vec<u8>>> {
            if self.unreadable {
                return Ok(None);
            }
            Ok(self.files.get(temp).map(|d| d[offset as usize..].to_vec()))
        }

        fn discard_temporary(&mut self, _dir: &RemotePath, temp: &str) {
            self.files.remove(temp);
            self.removed.push(temp.to_string());
        }
    }

    fn backup(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// `find_resumable` over every temporary `held` has.
    fn resume(
        held: &mut Held,
        source: &mut dyn ReadSeek,
        shown: &str,
    ) -> Result<Option<(String, u64)>> {
        let listed: Vec<(String, u64)> = held
            .files
            .iter()
            .map(|(n, d)| (n.clone(), d.len() as u64))
            .collect();
        let found = candidates(listed, NAME, None);
        find_resumable(held, &RemotePath::folder(), found, source, shown)
    }

    #[test]
    fn only_our_temporaries_of_that_name_that_fit_are_candidates_biggest_first() {
        let small = names::temporary_name(NAME);
        let big = names::temporary_name(NAME);
        let other = names::temporary_name("acme.atlassian.net-basic-2026-11-22_0301.zip");
        let listed = vec![
            (small.clone(), 10),
            (big.clone(), 20),
            (other, 30),
            (names::temporary_name(NAME), 0),
            (names::temporary_name(NAME), 101),
            (format!(".{NAME}.part-x"), 5),
            (NAME.to_string(), 50),
        ];
        assert_eq!(
            candidates(listed, NAME, Some(100)),
            vec![(big, 20), (small, 10)]
        );
    }

    #[test]
    fn the_temporary_that_matches_is_continued_and_differing_ones_removed() {
        let data = backup(600_000);
        let good = names::temporary_name(NAME);
        let foreign = names::temporary_name(NAME);
        let mut held = Held::default();
        held.files.insert(good.clone(), data[..400_000].to_vec());
        held.files.insert(
            foreign.clone(),
            data[..500_000].iter().map(|b| !b).collect(),
        );
        let mut source = Cursor::new(data.clone());
        let found = resume(&mut held, &mut source, "x").unwrap();
        assert_eq!(found, Some((good.clone(), 400_000)));
        assert_eq!(source.position(), 400_000);
        assert_eq!(held.removed, vec![foreign]);
        assert!(held.files.contains_key(&good));
    }

    #[test]
    fn without_a_match_the_source_starts_over_from_its_beginning() {
        let data = backup(1000);
        let longer = names::temporary_name(NAME);
        let mut held = Held::default();
        held.files.insert(longer.clone(), backup(2000));
        let mut source = Cursor::new(data);
        source.set_position(700);
        let found = resume(&mut held, &mut source, "x").unwrap();
        assert_eq!(found, None);
        assert_eq!(source.position(), 0, "a fresh upload reads from the start");
        assert_eq!(held.removed, vec![longer], "a longer temporary is not ours");

        let mut held = Held {
            unreadable: true,
            ..Held::default()
        };
        let temp = names::temporary_name(NAME);
        held.files.insert(temp.clone(), backup(500));
        let mut source = Cursor::new(backup(1000));
        let found = resume(&mut held, &mut source, "x").unwrap();
        assert_eq!(found, None);
        assert_eq!(
            held.removed,
            vec![temp],
            "what cannot be compared is not continued"
        );
    }

    #[test]
    fn a_source_that_cannot_seek_fails_as_a_source() {
        struct NoSeek(Cursor<Vec<u8>>);
        impl Read for NoSeek {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl Seek for NoSeek {
            fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
                Err(io::Error::other("the snapshot's disk went away"))
            }
        }
        let mut held = Held::default();
        held.files.insert(names::temporary_name(NAME), backup(10));
        let e = resume(
            &mut held,
            &mut NoSeek(Cursor::new(backup(100))),
            "sftp://nas/b",
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Internal);
        assert!(
            e.message().starts_with(
                "Could not read the backup to store in sftp://nas/b from byte 0: the snapshot's"
            ),
            "{}",
            e.message()
        );
        assert!(held.removed.is_empty(), "a failing source removes nothing");
    }

    #[test]
    fn only_a_resumable_upload_whose_source_failed_keeps_its_temporary() {
        let mut plain: &[u8] = b"";
        let mut seekable = Cursor::new(Vec::new());
        let source_failed = Failure::<()>::Source(Error::internal("gone"));
        let refused = Failure::Destination(());
        assert!(Source::Resumable(&mut seekable).keeps_temporary(&source_failed));
        assert!(!Source::Resumable(&mut seekable).keeps_temporary(&refused));
        assert!(!Source::Plain(&mut plain).keeps_temporary(&source_failed));
        assert!(!Source::Plain(&mut plain).keeps_temporary(&refused));
    }
}
