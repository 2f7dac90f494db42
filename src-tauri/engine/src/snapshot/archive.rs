//! The ZIP container of a snapshot, written here rather than with the `zip` crate's writer,
//! for two reasons measured on the large simulated site (110,000 entries, 5 GB):
//! - memory: `zip::ZipWriter` keeps a ~250-byte record and several allocations per entry
//!   until the end (27 MB there, the largest item of the peak heap); here each entry's
//!   central-directory record goes to an unlinked spill file, so memory does not grow with the
//!   site;
//! - speed: a downloaded attachment already has its CRC-32 and size, so it goes into the file
//!   with `copy_file_range` (std's `io::copy` between files) instead of through user space.
//!
//! Reading is done by `rawzip` (see [`super::verify`]), so every snapshot is checked by an
//! independent implementation of the format. The format is APPNOTE 6.3.10: entries with a
//! known size carry it in the local header; streamed entries use a data descriptor (ZIP64 when
//! they may pass 4 GiB); ZIP64 end records when counts or offsets need them.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use flate2::{Compress, FlushCompress, Status};

use super::output::Output;
use crate::checksum::Digest;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EXTRA: u16 = 0x0001;
/// Bit 3: sizes and CRC follow the data; bit 11: the name is UTF-8.
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_UTF8: u16 = 1 << 11;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;
/// Unix host (3), spec version 6.3 (63): unzip then applies the permissions below.
const VERSION_MADE_BY: u16 = (3 << 8) | 63;
const VERSION_DEFAULT: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// A regular file, rw-r--r--.
const EXTERNAL_ATTRS: u32 = 0o100_644 << 16;
const U32_MAX: u64 = u32::MAX as u64;

/// What an entry's bytes are known to be before they are written.
#[derive(Debug, Clone, Copy)]
pub(super) struct Known {
    pub size: u64,
    pub crc32: u32,
}

/// How an entry's data is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Stored,
    Deflate,
}

/// One finished entry, as the central directory and the manifest need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Finished {
    pub name: String,
    pub size: u64,
    pub sha256: Digest,
}

struct Open {
    name: String,
    offset: u64,
    method: Method,
    descriptor: Option<Descriptor>,
    crc: crc32fast::Hasher,
    known_crc: Option<u32>,
    compressed: u64,
    size: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Descriptor {
    /// 32-bit sizes: the caller promised the entry stays below 4 GiB.
    Small,
    Zip64,
}

/// Writes entries one after the other into `out`; [`Self::finish`] appends the central
/// directory and returns `out`.
pub(super) struct ArchiveWriter {
    out: Output,
    dos_time: (u16, u16),
    deflate: Compress,
    buf: Vec<u8>,
    /// Central-directory records of the finished entries, in order (see [`Self::spill`]).
    spill: BufWriter<File>,
    entries: u64,
    /// Set while a [`Records`] reader may have moved the spill file's shared offset.
    reading: bool,
    open: Option<Open>,
}

impl ArchiveWriter {
    /// `spill` is a scratch file (unlinked, so nothing is left after a crash); `dos_time` the
    /// (time, date) every entry carries.
    pub(super) fn new(out: Output, spill: File, dos_time: (u16, u16)) -> Self {
        Self {
            out,
            dos_time,
            // Level 6 (zlib's default): several-fold on JSON at a fraction of level 9's cost.
            deflate: Compress::new(flate2::Compression::new(6), false),
            buf: vec![0; 64 * 1024],
            spill: BufWriter::with_capacity(64 * 1024, spill),
            entries: 0,
            reading: false,
            open: None,
        }
    }

    /// Starts an entry. `known` gives the size and CRC of stored data up front (a staged
    /// download), so no data descriptor is needed; otherwise `large` says whether the entry
    /// may pass 4 GiB (ZIP64 sizes in its descriptor).
    pub(super) fn start(
        &mut self,
        name: &str,
        method: Method,
        known: Option<Known>,
        large: bool,
    ) -> io::Result<()> {
        if self.open.is_some() {
            return Err(io::Error::other("an entry is already open"));
        }
        let name_len = u16::try_from(name.len())
            .map_err(|_| io::Error::other(format!("entry name too long: {name}")))?;
        let offset = self.out.position();
        let (time, date) = self.dos_time;
        let mut h = Vec::with_capacity(64 + name.len());
        put32(&mut h, LOCAL_SIG);
        let descriptor = match known {
            Some(k) if method == Method::Stored => {
                let zip64 = k.size >= U32_MAX;
                put16(
                    &mut h,
                    if zip64 {
                        VERSION_ZIP64
                    } else {
                        VERSION_DEFAULT
                    },
                );
                put16(&mut h, FLAG_UTF8);
                put16(&mut h, METHOD_STORED);
                put16(&mut h, time);
                put16(&mut h, date);
                put32(&mut h, k.crc32);
                let small = if zip64 { u32::MAX } else { k.size as u32 };
                put32(&mut h, small);
                put32(&mut h, small);
                put16(&mut h, name_len);
                put16(&mut h, if zip64 { 20 } else { 0 });
                h.extend_from_slice(name.as_bytes());
                if zip64 {
                    put16(&mut h, ZIP64_EXTRA);
                    put16(&mut h, 16);
                    put64(&mut h, k.size);
                    put64(&mut h, k.size);
                }
                None
            }
            _ => {
                put16(
                    &mut h,
                    if large {
                        VERSION_ZIP64
                    } else {
                        VERSION_DEFAULT
                    },
                );
                put16(&mut h, FLAG_UTF8 | FLAG_DESCRIPTOR);
                put16(&mut h, method_code(method));
                put16(&mut h, time);
                put16(&mut h, date);
                put32(&mut h, 0);
                // With a ZIP64 extra the 32-bit sizes say "see the extra field".
                let sizes = if large { u32::MAX } else { 0 };
                put32(&mut h, sizes);
                put32(&mut h, sizes);
                put16(&mut h, name_len);
                put16(&mut h, if large { 20 } else { 0 });
                h.extend_from_slice(name.as_bytes());
                if large {
                    put16(&mut h, ZIP64_EXTRA);
                    put16(&mut h, 16);
                    put64(&mut h, 0);
                    put64(&mut h, 0);
                }
                Some(if large {
                    Descriptor::Zip64
                } else {
                    Descriptor::Small
                })
            }
        };
        self.out.write_all(&h)?;
        if method == Method::Deflate {
            self.deflate.reset();
        }
        self.open = Some(Open {
            name: name.to_owned(),
            offset,
            method,
            descriptor,
            crc: crc32fast::Hasher::new(),
            known_crc: known.map(|k| k.crc32),
            compressed: 0,
            size: 0,
        });
        Ok(())
    }

    /// Appends data to the open entry.
    pub(super) fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let open = self.open.as_mut().ok_or_else(no_entry)?;
        if open.known_crc.is_none() {
            open.crc.update(data);
        }
        open.size += data.len() as u64;
        match open.method {
            Method::Stored => {
                self.out.write_all(data)?;
                open.compressed += data.len() as u64;
            }
            Method::Deflate => {
                let mut input = data;
                while !input.is_empty() {
                    let (used, made, _) =
                        deflate_step(&mut self.deflate, input, &mut self.buf, FlushCompress::None)?;
                    self.out.write_all(&self.buf[..made])?;
                    open.compressed += made as u64;
                    input = &input[used..];
                }
            }
        }
        Ok(())
    }

    /// Appends `len` bytes of `file` to the open stored entry, file to file in the kernel
    /// where the OS can (the CRC was given to [`Self::start`]); returns the bytes copied.
    pub(super) fn copy_file(&mut self, file: &mut File, len: u64) -> io::Result<u64> {
        let open = self.open.as_mut().ok_or_else(no_entry)?;
        if open.method != Method::Stored || open.known_crc.is_none() {
            return Err(io::Error::other(
                "a file copy needs a stored entry of known CRC",
            ));
        }
        let n = self.out.copy_file(file, len)?;
        open.size += n;
        open.compressed += n;
        Ok(n)
    }

    /// Ends the open entry; `sha256` is what the manifest records for it.
    pub(super) fn finish_entry(&mut self, sha256: Digest) -> io::Result<Finished> {
        let mut open = self.open.take().ok_or_else(no_entry)?;
        if open.method == Method::Deflate {
            loop {
                let (_, made, status) =
                    deflate_step(&mut self.deflate, &[], &mut self.buf, FlushCompress::Finish)?;
                self.out.write_all(&self.buf[..made])?;
                open.compressed += made as u64;
                if status == Status::StreamEnd {
                    break;
                }
            }
        }
        let crc = open
            .known_crc
            .unwrap_or_else(|| open.crc.clone().finalize());
        match open.descriptor {
            Some(Descriptor::Small) => {
                if open.compressed >= U32_MAX || open.size >= U32_MAX {
                    return Err(io::Error::other(format!(
                        "entry {} passed 4 GiB without ZIP64 headers",
                        open.name
                    )));
                }
                let mut d = Vec::with_capacity(16);
                put32(&mut d, DESCRIPTOR_SIG);
                put32(&mut d, crc);
                put32(&mut d, open.compressed as u32);
                put32(&mut d, open.size as u32);
                self.out.write_all(&d)?;
            }
            Some(Descriptor::Zip64) => {
                let mut d = Vec::with_capacity(24);
                put32(&mut d, DESCRIPTOR_SIG);
                put32(&mut d, crc);
                put64(&mut d, open.compressed);
                put64(&mut d, open.size);
                self.out.write_all(&d)?;
            }
            None => {}
        }
        let record = Record {
            name: open.name,
            method: open.method,
            descriptor: open.descriptor.is_some(),
            crc,
            compressed: open.compressed,
            size: open.size,
            offset: open.offset,
            sha256,
        };
        if std::mem::take(&mut self.reading) {
            // The reader shares the file offset: append at the end again.
            self.spill.seek(SeekFrom::End(0))?;
        }
        record.write_to(&mut self.spill)?;
        self.entries += 1;
        Ok(Finished {
            name: record.name,
            size: record.size,
            sha256,
        })
    }

    /// Drops the open entry: the file position goes back to where it started, so the next
    /// entry overwrites it (and [`Output::close`] cuts anything left past the end).
    pub(super) fn abort_entry(&mut self) -> io::Result<()> {
        if let Some(open) = self.open.take() {
            self.out.seek(SeekFrom::Start(open.offset))?;
        }
        Ok(())
    }

    /// The finished entries so far, read back from the spill file in order.
    pub(super) fn records(&mut self) -> io::Result<Records> {
        self.spill.flush()?;
        let mut file = self.spill.get_ref().try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        self.reading = true;
        Ok(Records {
            reader: BufReader::with_capacity(64 * 1024, file),
            left: self.entries,
        })
    }

    /// Writes the central directory and the end records; returns the output.
    pub(super) fn finish(mut self) -> io::Result<Output> {
        if self.open.is_some() {
            return Err(io::Error::other("an entry is still open"));
        }
        let start = self.out.position();
        let mut records = self.records()?;
        let mut h = Vec::with_capacity(128);
        while let Some(r) = records.next_record()? {
            h.clear();
            r.central_header(&mut h, self.dos_time);
            self.out.write_all(&h)?;
        }
        let end = self.out.position();
        let (count, size) = (self.entries, end - start);
        let mut e = Vec::with_capacity(98);
        if count >= 0xFFFF || start >= U32_MAX || size >= U32_MAX {
            put32(&mut e, ZIP64_EOCD_SIG);
            put64(&mut e, 44);
            put16(&mut e, VERSION_MADE_BY);
            put16(&mut e, VERSION_ZIP64);
            put32(&mut e, 0);
            put32(&mut e, 0);
            put64(&mut e, count);
            put64(&mut e, count);
            put64(&mut e, size);
            put64(&mut e, start);
            put32(&mut e, ZIP64_LOCATOR_SIG);
            put32(&mut e, 0);
            put64(&mut e, end);
            put32(&mut e, 1);
        }
        put32(&mut e, EOCD_SIG);
        put16(&mut e, 0);
        put16(&mut e, 0);
        put16(&mut e, count.min(0xFFFF) as u16);
        put16(&mut e, count.min(0xFFFF) as u16);
        put32(&mut e, size.min(U32_MAX) as u32);
        put32(&mut e, start.min(U32_MAX) as u32);
        put16(&mut e, 0);
        self.out.write_all(&e)?;
        Ok(self.out)
    }
}

/// One entry's central-directory record (and manifest line) in the spill file.
pub(super) struct Record {
    pub name: String,
    method: Method,
    descriptor: bool,
    crc: u32,
    compressed: u64,
    pub size: u64,
    offset: u64,
    pub sha256: Digest,
}

impl Record {
    fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let mut b = Vec::with_capacity(64 + self.name.len());
        put16(&mut b, self.name.len() as u16);
        b.extend_from_slice(self.name.as_bytes());
        b.push(u8::from(self.method == Method::Deflate) | (u8::from(self.descriptor) << 1));
        put32(&mut b, self.crc);
        put64(&mut b, self.compressed);
        put64(&mut b, self.size);
        put64(&mut b, self.offset);
        b.extend_from_slice(&self.sha256.0);
        w.write_all(&b)
    }

    fn central_header(&self, h: &mut Vec<u8>, (time, date): (u16, u16)) {
        let mut extra = Vec::new();
        for v in [self.size, self.compressed, self.offset] {
            if v >= U32_MAX {
                put64(&mut extra, v);
            }
        }
        let small = |v: u64| if v >= U32_MAX { u32::MAX } else { v as u32 };
        put32(h, CENTRAL_SIG);
        put16(h, VERSION_MADE_BY);
        put16(
            h,
            if extra.is_empty() {
                VERSION_DEFAULT
            } else {
                VERSION_ZIP64
            },
        );
        let flags = FLAG_UTF8 | if self.descriptor { FLAG_DESCRIPTOR } else { 0 };
        put16(h, flags);
        put16(h, method_code(self.method));
        put16(h, time);
        put16(h, date);
        put32(h, self.crc);
        put32(h, small(self.compressed));
        put32(h, small(self.size));
        put16(h, self.name.len() as u16);
        put16(
            h,
            if extra.is_empty() {
                0
            } else {
                extra.len() as u16 + 4
            },
        );
        put16(h, 0); // comment
        put16(h, 0); // disk
        put16(h, 0); // internal attributes
        put32(h, EXTERNAL_ATTRS);
        put32(h, small(self.offset));
        h.extend_from_slice(self.name.as_bytes());
        if !extra.is_empty() {
            put16(h, ZIP64_EXTRA);
            put16(h, extra.len() as u16);
            h.extend_from_slice(&extra);
        }
    }
}

/// Reads the spill file back, one [`Record`] at a time.
pub(super) struct Records {
    reader: BufReader<File>,
    left: u64,
}

impl Records {
    pub(super) fn next_record(&mut self) -> io::Result<Option<Record>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let r = &mut self.reader;
        let name_len = usize::from(read16(r)?);
        let mut name = vec![0; name_len];
        r.read_exact(&mut name)?;
        let name = String::from_utf8(name).map_err(io::Error::other)?;
        let mut kind = [0u8; 1];
        r.read_exact(&mut kind)?;
        let crc = read32(r)?;
        let (compressed, size, offset) = (read64(r)?, read64(r)?, read64(r)?);
        let mut sha = [0u8; 32];
        r.read_exact(&mut sha)?;
        Ok(Some(Record {
            name,
            method: if kind[0] & 1 == 1 {
                Method::Deflate
            } else {
                Method::Stored
            },
            descriptor: kind[0] & 2 == 2,
            crc,
            compressed,
            size,
            offset,
            sha256: Digest(sha),
        }))
    }
}

/// One call of the compressor: returns (input bytes used, output bytes made, status).
fn deflate_step(
    c: &mut Compress,
    input: &[u8],
    out: &mut [u8],
    flush: FlushCompress,
) -> io::Result<(usize, usize, Status)> {
    let (in0, out0) = (c.total_in(), c.total_out());
    let status = c.compress(input, out, flush).map_err(io::Error::other)?;
    let used = (c.total_in() - in0) as usize;
    let made = (c.total_out() - out0) as usize;
    if used == 0 && made == 0 && status != Status::StreamEnd {
        return Err(io::Error::other("the compressor made no progress"));
    }
    Ok((used, made, status))
}

/// MS-DOS time and date (two-second resolution, years 1980 to 2107).
pub(super) fn dos_time(at: chrono::DateTime<chrono::Utc>) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    let year = at.year().clamp(1980, 2107) as u16;
    let time = (at.hour() as u16) << 11 | (at.minute() as u16) << 5 | (at.second() as u16 / 2);
    let date = (year - 1980) << 9 | (at.month() as u16) << 5 | at.day() as u16;
    (time, date)
}

fn method_code(m: Method) -> u16 {
    match m {
        Method::Stored => METHOD_STORED,
        Method::Deflate => METHOD_DEFLATE,
    }
}

fn no_entry() -> io::Error {
    io::Error::other("no entry is open")
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn read16(r: &mut impl Read) -> io::Result<u16> {
    let mut b = [0; 2];
    r.read_exact(&mut b)?;
    Ok(u16::from_le_bytes(b))
}
fn read32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}
fn read64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}
