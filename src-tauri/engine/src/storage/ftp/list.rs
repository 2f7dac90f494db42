//! Folder listings as FTP servers send them: `MLSD` (RFC 3659, machine-readable) where the
//! server offers it, otherwise `LIST`, whose format no standard fixes.
//!
//! # Why our own parser and not `suppaftp::list`
//! suppaftp's `ListParser` is one regular expression per style, and real servers step outside
//! them: its Unix pattern wants exactly ten permission characters (macOS adds `@`, ACLs add
//! `+`), an owner *and* a group, and an English `Mon DD` date; its DOS pattern wants two-digit
//! years and AM/PM (IIS can show `2026` and 24-hour times); names lose their leading spaces; and
//! the year of a `Nov 22 03:07` line comes from the wall clock, which makes the result untestable.
//! Here a line is cut into fields by position, the date is found by its shape wherever the owner
//! and group columns end, the name is everything after the date (spaces, `;` and non-ASCII kept),
//! and `now` is passed in.
//!
//! # What a listed time means
//! `MLSD`'s `modify` fact is UTC to the second. A `LIST` time is what the server prints: to the
//! minute for recent files, to the day for older ones, and in the server's time zone (vsftpd
//! prints UTC unless `use_localtime=YES`). It is good enough to show; where an exact time
//! matters (deciding that a temporary file is stale) the session asks `MDTM`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// What a listing line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Dir,
    /// A symbolic link (its target's size and type are unknown).
    Link,
    /// Devices, pipes, `.`/`..` entries of MLSD and anything else that is not a plain file.
    Other,
}

/// One parsed listing line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub name: String,
    pub kind: EntryKind,
    pub size: Option<u64>,
    /// The listed time, UTC as far as the server tells (see the module docs).
    pub modified: Option<DateTime<Utc>>,
}

/// Parses one `MLSD` line: `fact=value;fact=value; name`. `None` for a malformed line.
pub(crate) fn parse_mlsd_line(line: &str) -> Option<Entry> {
    let line = line.trim_end_matches(['\r', '\n']);
    // Facts never contain a space; exactly one space separates them from the name.
    let (facts, name) = line.split_once(' ')?;
    if name.is_empty() {
        return None;
    }
    let mut entry = Entry {
        name: name.to_string(),
        kind: EntryKind::Other,
        size: None,
        modified: None,
    };
    for fact in facts.split(';').filter(|f| !f.is_empty()) {
        let Some((key, value)) = fact.split_once('=') else {
            continue;
        };
        match key.to_ascii_lowercase().as_str() {
            "type" => {
                entry.kind = match value.to_ascii_lowercase().as_str() {
                    "file" => EntryKind::File,
                    "dir" => EntryKind::Dir,
                    v if v.starts_with("os.unix=slink") || v == "os.unix=symlink" => {
                        EntryKind::Link
                    }
                    // cdir, pdir, devices
                    _ => EntryKind::Other,
                }
            }
            "size" | "sizd" => entry.size = value.parse().ok(),
            "modify" => entry.modified = parse_mdtm(value),
            _ => {}
        }
    }
    Some(entry)
}

/// Parses an `MDTM` reply value or an MLSD `modify` fact: `YYYYMMDDHHMMSS[.fff]`, UTC.
pub(crate) fn parse_mdtm(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let (whole, _fraction) = value.split_once('.').unwrap_or((value, ""));
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| Utc.from_utc_datetime(&t))
}

/// Parses one `LIST` line, Unix (`ls -l`) or DOS/IIS style; `None` for lines that are neither
/// (`total 24`, blank lines, banners). `now` resolves the year of `Nov 22 03:07` dates.
pub(crate) fn parse_list_line(line: &str, now: DateTime<Utc>) -> Option<Entry> {
    let line = line.trim_end_matches(['\r', '\n']);
    parse_unix(line, now).or_else(|| parse_dos(line))
}

/// Whitespace-separated fields with their byte ranges, so the name can be cut out verbatim.
fn fields(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c == ' ' || c == '\t', start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn month(s: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = s.to_ascii_lowercase();
    // "Sep" and "Sept", with or without a trailing dot.
    let stem = lower.trim_end_matches('.');
    if !(3..=4).contains(&stem.len()) {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| stem.starts_with(m))
        .map(|i| i as u32 + 1)
}

fn day(s: &str) -> Option<u32> {
    s.parse().ok().filter(|d| (1..=31).contains(d))
}

fn hour_minute(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.split_once(':')?;
    // "03:07" or "03:07:59" (some servers add seconds).
    let m = m.split(':').next()?;
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// The time a `Mon DD HH:MM` line means: this year, unless that is more than a day ahead of
/// `now` (a file from last December listed in January), then the year before (for Feb 29, the
/// last leap year).
fn recent(month: u32, day: u32, time: NaiveTime, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (0..=4).find_map(|back| {
        NaiveDate::from_ymd_opt(now.year() - back, month, day)
            .map(|d| Utc.from_utc_datetime(&d.and_time(time)))
            .filter(|t| *t <= now + Duration::days(1))
    })
}

/// The date (and the index of its last field) starting at field `i`, in one of the shapes
/// `ls` prints: `Nov 22 03:07`, `Nov 22 2025`, `22 Nov 03:07`, `2026-11-22 03:07`.
fn date_at(f: &[(usize, &str)], i: usize, now: DateTime<Utc>) -> Option<(DateTime<Utc>, usize)> {
    let get = |k: usize| f.get(k).map(|x| x.1);
    let (a, b) = (get(i)?, get(i + 1)?);
    if let Ok(date) = NaiveDate::parse_from_str(a, "%Y-%m-%d") {
        let time = hour_minute(b)?;
        return Some((Utc.from_utc_datetime(&date.and_time(time)), i + 1));
    }
    let c = get(i + 2)?;
    let (m, d) = match (month(a), day(b), day(a), month(b)) {
        (Some(m), Some(d), _, _) => (m, d),
        (_, _, Some(d), Some(m)) => (m, d),
        _ => return None,
    };
    let when = if let Some(time) = hour_minute(c) {
        recent(m, d, time, now)?
    } else if c.len() == 4 && is_digits(c) {
        let date = NaiveDate::from_ymd_opt(c.parse().ok()?, m, d)?;
        Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
    } else {
        return None;
    };
    Some((when, i + 2))
}

fn parse_unix(line: &str, now: DateTime<Utc>) -> Option<Entry> {
    let f = fields(line);
    let mode = f.first()?.1;
    let kind = match mode.as_bytes().first()? {
        b'-' | b'f' => EntryKind::File,
        b'd' => EntryKind::Dir,
        b'l' => EntryKind::Link,
        b'p' | b's' | b'c' | b'b' | b'D' => EntryKind::Other,
        _ => return None,
    };
    // Type and nine permission letters; macOS adds '@', ACLs '+', SELinux '.'.
    let perms = mode.get(1..10)?;
    if !perms.bytes().all(|b| b"rwxsStTlL-".contains(&b)) || mode.len() > 11 {
        return None;
    }
    // The size is the field just before the date; owner, group and link count come before it
    // in whatever number (some servers leave out the group or the link count).
    let (size_at, modified, last) = (2..f.len()).find_map(|i| {
        if !is_digits(f[i - 1].1) {
            return None;
        }
        date_at(&f, i, now).map(|(t, last)| (i - 1, t, last))
    })?;
    // The name starts one separator after the date (it may itself start with spaces).
    let (end_start, end_text) = f.get(last)?;
    let rest = line.get(end_start + end_text.len() + 1..)?;
    if rest.is_empty() {
        return None;
    }
    let name = match kind {
        EntryKind::Link => rest.split_once(" -> ").map_or(rest, |(n, _)| n),
        _ => rest,
    };
    Some(Entry {
        name: name.to_string(),
        kind,
        size: f[size_at].1.parse().ok(),
        modified: Some(modified),
    })
}

/// `MM-DD-YY[YY]  HH:MM[AM|PM]  <DIR>|size  name` (IIS, and Windows servers in DOS style).
fn parse_dos(line: &str) -> Option<Entry> {
    let f = fields(line);
    let date = dos_date(f.first()?.1)?;
    let mut i = 1;
    let mut time_text = f.get(i)?.1.to_string();
    // "04:05 PM" with a space, as some servers print it.
    if let Some(ampm) = f.get(i + 1).map(|x| x.1) {
        if ampm.eq_ignore_ascii_case("AM") || ampm.eq_ignore_ascii_case("PM") {
            time_text.push_str(ampm);
            i += 1;
        }
    }
    let time = dos_time(&time_text)?;
    i += 1;
    let (size_start, size_text) = *f.get(i)?;
    let (kind, size) = if size_text.eq_ignore_ascii_case("<DIR>") {
        (EntryKind::Dir, None)
    } else {
        let digits: String = size_text
            .chars()
            .filter(|c| *c != ',' && *c != '.')
            .collect();
        if !is_digits(&digits) {
            return None;
        }
        (EntryKind::File, digits.parse().ok())
    };
    let (name_start, _) = *f.get(i + 1)?;
    debug_assert!(name_start > size_start);
    Some(Entry {
        name: line[name_start..].to_string(),
        kind,
        size,
        modified: Some(Utc.from_utc_datetime(&date.and_time(time))),
    })
}

fn dos_date(s: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if !(is_digits(a) && is_digits(b) && is_digits(c)) {
        return None;
    }
    // 2026-11-22 (ISO) or 11-22-26 / 11-22-2026 (US month-day-year, IIS's default).
    let (y, m, d) = if a.len() == 4 {
        (a.parse().ok()?, b.parse().ok()?, c.parse().ok()?)
    } else {
        let y: i32 = c.parse().ok()?;
        let y = match (c.len(), y) {
            (2, 70..) => 1900 + y,
            (2, _) => 2000 + y,
            (4, _) => y,
            _ => return None,
        };
        (y, a.parse().ok()?, b.parse().ok()?)
    };
    NaiveDate::from_ymd_opt(y, m, d)
}

fn dos_time(s: &str) -> Option<NaiveTime> {
    let upper = s.to_ascii_uppercase();
    let (clock, pm) = if let Some(c) = upper.strip_suffix("PM") {
        (c, Some(true))
    } else if let Some(c) = upper.strip_suffix("AM") {
        (c, Some(false))
    } else {
        (upper.as_str(), None)
    };
    let t = hour_minute(clock)?;
    let (h, m) = (chrono::Timelike::hour(&t), chrono::Timelike::minute(&t));
    let h = match pm {
        None => h,
        Some(_) if !(1..=12).contains(&h) => return None,
        Some(false) => h % 12,
        Some(true) => h % 12 + 12,
    };
    NaiveTime::from_hms_opt(h, m, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap())
    }

    fn list(line: &str) -> Entry {
        parse_list_line(line, now()).unwrap_or_else(|| panic!("must parse: {line:?}"))
    }

    fn file(name: &str, size: u64, modified: Option<DateTime<Utc>>) -> Entry {
        Entry {
            name: name.to_string(),
            kind: EntryKind::File,
            size: Some(size),
            modified,
        }
    }

    const OURS: &str = "acme.atlassian.net-basic-2026-11-22_0300.zip";

    #[test]
    fn vsftpd_lines() {
        assert_eq!(
            list(&format!(
                "-rw-------    1 1001     1001      3145745 Nov 22 03:07 {OURS}"
            )),
            file(OURS, 3_145_745, at(2026, 11, 22, 3, 7))
        );
        let dir = list("drwxr-xr-x    2 1001     1001         4096 Nov 22 03:07 Jira Backups");
        assert_eq!(
            (dir.kind, dir.name.as_str()),
            (EntryKind::Dir, "Jira Backups")
        );
        assert_eq!(
            list("-rw-r--r--    1 0        0              12 Jan 03  2024 old file.txt"),
            file("old file.txt", 12, at(2024, 1, 3, 0, 0))
        );
        // vsftpd's LIST -a shows the folder itself and its parent.
        assert_eq!(
            list("drwxr-xr-x    3 1001     1001         4096 Nov 22 03:07 .").kind,
            EntryKind::Dir
        );
        let hidden = list(&format!(
            "-rw-------    1 1001     1001      1048576 Nov 22 11:59 .{OURS}.part-0123456789abcdef"
        ));
        assert_eq!(hidden.name, format!(".{OURS}.part-0123456789abcdef"));
    }

    #[test]
    fn proftpd_and_pure_ftpd_lines_with_spaces_and_unicode() {
        assert_eq!(
            list("drwxr-xr-x   3 backup   backup       4096 Dec 31  2025 Überblick 日本").name,
            "Überblick 日本"
        );
        assert_eq!(
            list("-rw-r--r--    1 backup     backup        1234 Nov 22 03:07 name with  two  spaces.zip"),
            file("name with  two  spaces.zip", 1234, at(2026, 11, 22, 3, 7))
        );
        // Leading spaces in a name survive (one separator after the date).
        assert_eq!(
            list("-rw-r--r--   1 u g 5 Nov 22 03:07   three leading").name,
            "  three leading"
        );
        // Names that look like listing fields.
        assert_eq!(
            list("-rw-r--r--   1 u g 5 Nov 22 03:07 Nov 22 03:07 x").name,
            "Nov 22 03:07 x"
        );
        assert_eq!(
            list("-rw-r--r--   1 u g 5 Nov 22 03:07 a;b=c; d").name,
            "a;b=c; d"
        );
    }

    #[test]
    fn filezilla_server_and_owner_names_with_digits() {
        assert_eq!(
            list("-rw-r--r-- 1 ftp ftp        1048576 Nov 22 03:07 acme.zip"),
            file("acme.zip", 1_048_576, at(2026, 11, 22, 3, 7))
        );
        assert_eq!(
            list("drwxr-xr-x 1 ftp ftp              0 Nov 22  2025 dir").kind,
            EntryKind::Dir
        );
        // Owner and group that are numbers next to the size.
        assert_eq!(
            list("-rw-r--r--   1 2000 2000 77 Mar  4 09:15 n.zip"),
            file("n.zip", 77, at(2026, 3, 4, 9, 15))
        );
    }

    #[test]
    fn symlinks_keep_their_own_name() {
        let l =
            list("lrwxrwxrwx    1 1001     1001            9 Nov 22 03:07 latest link -> a b.zip");
        assert_eq!((l.kind, l.name.as_str()), (EntryKind::Link, "latest link"));
    }

    #[test]
    fn year_versus_time_forms() {
        // A time means "within the last months": this year unless that is in the future.
        assert_eq!(
            list("-rw-r--r-- 1 u g 1 Nov 23 00:30 a").modified,
            at(2026, 11, 23, 0, 30)
        );
        assert_eq!(
            list("-rw-r--r-- 1 u g 1 Dec 31 23:59 a").modified,
            at(2025, 12, 31, 23, 59)
        );
        assert_eq!(
            list("-rw-r--r-- 1 u g 1 Jan  1 00:00 a").modified,
            at(2026, 1, 1, 0, 0)
        );
        assert_eq!(
            list("-rw-r--r-- 1 u g 1 Jun 30  2019 a").modified,
            at(2019, 6, 30, 0, 0)
        );
        // Leap day listed in a year without one.
        let in_2027 = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
        let leap = parse_list_line("-rw-r--r-- 1 u g 1 Feb 29 10:00 a", in_2027).unwrap();
        assert_eq!(leap.modified, at(2024, 2, 29, 10, 0));
    }

    #[test]
    fn unusual_unix_variants() {
        // macOS extended attributes and ACL markers.
        assert_eq!(
            list("-rw-r--r--@ 1 user  staff  1234 Nov 22 03:07 x.zip").size,
            Some(1234)
        );
        assert_eq!(
            list("-rw-r--r--+ 1 user  staff  1234 Nov 22 03:07 x.zip").size,
            Some(1234)
        );
        // No group column (some embedded servers).
        assert_eq!(
            list("-rw-r--r-- 1 backup 1234 Nov 22 03:07 x.zip").size,
            Some(1234)
        );
        // Day before month, and ISO dates.
        assert_eq!(
            list("-rw-r--r-- 1 user group 1234 22 Nov 03:07 x.zip").modified,
            at(2026, 11, 22, 3, 7)
        );
        assert_eq!(
            list("-rw-r--r-- 1 user group 1234 2026-11-22 03:07 x y.zip"),
            file("x y.zip", 1234, at(2026, 11, 22, 3, 7))
        );
        // Bigger than 4 GB.
        assert_eq!(
            list("-rw-r--r-- 1 u g 5368709120 Nov 22 03:07 big.zip").size,
            Some(5_368_709_120)
        );
        // Tabs as separators.
        assert_eq!(
            list("-rw-r--r--\t1\tu\tg\t10\tNov\t22\t03:07\tt.zip").name,
            "t.zip"
        );
        assert_eq!(
            list("prw-r--r-- 1 u g 0 Nov 22 03:07 fifo").kind,
            EntryKind::Other
        );
    }

    #[test]
    fn dos_and_iis_lines() {
        assert_eq!(
            list("11-22-26  04:05PM       1234 name with spaces.zip"),
            file("name with spaces.zip", 1234, at(2026, 11, 22, 16, 5))
        );
        let dir = list("11-22-26  04:05PM       <DIR>          Jira Backups");
        assert_eq!(
            (dir.kind, dir.name.as_str(), dir.size),
            (EntryKind::Dir, "Jira Backups", None)
        );
        assert_eq!(
            list("02-03-2026  12:01AM            1048576 x.zip").modified,
            at(2026, 2, 3, 0, 1)
        );
        assert_eq!(
            list("02-03-2026  12:30PM  1 x.zip").modified,
            at(2026, 2, 3, 12, 30)
        );
        assert_eq!(
            list("11-22-26  16:05  77 x.zip").modified,
            at(2026, 11, 22, 16, 5)
        );
        assert_eq!(
            list("11/22/2026  04:05 PM  1,234,567 x.zip").size,
            Some(1_234_567)
        );
        assert_eq!(
            list("12-31-99  11:59PM  1 y2k.zip").modified,
            at(1999, 12, 31, 23, 59)
        );
        assert_eq!(
            list("2026-11-22  16:05  <DIR>  Überblick 日本").name,
            "Überblick 日本"
        );
    }

    #[test]
    fn lines_that_are_not_entries() {
        for junk in [
            "",
            "total 24",
            "total 0",
            "226 Transfer done",
            "-rw-r--r-- 1 u g notasize Nov 22 03:07 x",
            "-rw-r--r-- 1 u g 5 Nov 22 03:07",
            "-rw-r--r-- 1 u g 5 Foo 22 03:07 x",
            "-rw-r--r-- 1 u g 5 Nov 32 03:07 x",
            "xrw-r--r-- 1 u g 5 Nov 22 03:07 x",
            "13-45-26  04:05PM  1 x",
            "11-22-26  13:05PM  1 x",
            "11-22-26  04:05PM  <DIR>",
        ] {
            assert_eq!(parse_list_line(junk, now()), None, "{junk:?}");
        }
    }

    #[test]
    fn mlsd_lines() {
        assert_eq!(
            parse_mlsd_line(&format!(
                "type=file;size=3145745;modify=20261122030742;UNIX.mode=0600; {OURS}"
            )),
            Some(Entry {
                name: OURS.to_string(),
                kind: EntryKind::File,
                size: Some(3_145_745),
                modified: Some(Utc.with_ymd_and_hms(2026, 11, 22, 3, 7, 42).unwrap()),
            })
        );
        // Pure-FTPd's fact order, fractional seconds (ProFTPD), spaces and ';' in names.
        let e = parse_mlsd_line(
            "modify=20261122030742.123;perm=adfrw;size=7;type=file;unique=803U1; a; b  c.zip",
        )
        .unwrap();
        assert_eq!((e.name.as_str(), e.size), ("a; b  c.zip", Some(7)));
        assert_eq!(
            e.modified,
            Some(Utc.with_ymd_and_hms(2026, 11, 22, 3, 7, 42).unwrap())
        );
        let kind = |l: &str| parse_mlsd_line(l).unwrap().kind;
        assert_eq!(
            kind("type=dir;modify=20261122030742; Überblick 日本"),
            EntryKind::Dir
        );
        assert_eq!(kind("type=cdir;modify=20261122030742; ."), EntryKind::Other);
        assert_eq!(
            kind("type=pdir;modify=20261122030742; .."),
            EntryKind::Other
        );
        assert_eq!(kind("type=OS.unix=slink:/x;size=1; l"), EntryKind::Link);
        assert_eq!(kind("Type=File;Size=1; upper.zip"), EntryKind::File);
        assert_eq!(parse_mlsd_line("type=file;size=1;"), None);
        assert_eq!(
            parse_mdtm("20261122030742"),
            at(2026, 11, 22, 3, 7).map(|t| t + Duration::seconds(42))
        );
        assert_eq!(parse_mdtm("2026112203074"), None);
        assert_eq!(parse_mdtm("2026x122030742"), None);
    }
}
