//! Turning untrusted names (attachment file names from Jira) into safe ZIP path segments, and
//! checking the entry paths the writer is given.
//!
//! A snapshot is meant to be unzipped by people with ordinary tools on any OS, so a stored name
//! must not traverse (`..`, `/abs`, `a\b`), must not carry control characters, must be a valid
//! Windows file name and must fit common file-system limits. The original name is kept in the
//! issue JSON (`fields.attachment[].filename`), so nothing is lost by sanitising.

use unicode_normalization::UnicodeNormalization;

use crate::{Error, Result};

/// Longest sanitised name in UTF-8 bytes: below the usual 255-byte limit, with room for
/// extraction tools that append suffixes.
pub const MAX_NAME_BYTES: usize = 150;

/// Longest extension kept when a name is shortened (`.tar.gz` is not special: `.gz` is kept).
const MAX_EXTENSION_BYTES: usize = 16;

/// Windows device names that cannot be file names, with or without an extension.
const RESERVED_STEMS: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A safe, deterministic file name for `original`: NFC; path separators, control characters and
/// the characters Windows forbids (`<>:"|?*`) become `_`; trailing dots and spaces go (Windows
/// drops them); names made only of dots, empty names and device names (`CON`, `nul.txt`) are
/// prefixed with `_`; longer than [`MAX_NAME_BYTES`] is cut at a character boundary, keeping
/// the extension. Non-ASCII letters are kept.
pub fn sanitise_file_name(original: &str) -> String {
    let mut name: String = original
        .nfc()
        .map(|c| match c {
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed_len = name.trim_end_matches(['.', ' ']).len();
    name.truncate(trimmed_len);
    let name = name.trim_start_matches(' ');

    let mut name = if name.is_empty() {
        "_".to_owned()
    } else if is_reserved(name) {
        format!("_{name}")
    } else {
        name.to_owned()
    };
    if name.len() > MAX_NAME_BYTES {
        name = shorten(&name);
    }
    name
}

fn is_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    RESERVED_STEMS.iter().any(|r| r.eq_ignore_ascii_case(stem))
}

/// Cuts the stem so that stem + extension fits [`MAX_NAME_BYTES`].
fn shorten(name: &str) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_EXTENSION_BYTES => name.split_at(dot),
        _ => (name, ""),
    };
    let mut cut = MAX_NAME_BYTES - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = stem[..cut].trim_end_matches(['.', ' ']);
    let stem = if stem.is_empty() { "_" } else { stem };
    format!("{stem}{ext}")
}

/// Checks an entry path given to the writer: relative, `/`-separated, every segment safe (as
/// [`sanitise_file_name`] would leave it, so ids from Jira cannot escape the layout), and not
/// the manifest. A failure is a bug in the caller, hence [`crate::ErrorKind::Internal`].
pub fn check_entry_path(path: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::internal(format!(
            "Refusing snapshot entry path {path:?}: {why}."
        )))
    };
    if path.is_empty() || path.len() > 1024 {
        return bad("empty or longer than 1024 bytes");
    }
    if path == super::MANIFEST_PATH {
        return bad("the manifest is written by the writer itself");
    }
    for segment in path.split('/') {
        if segment.is_empty() || segment.len() > MAX_NAME_BYTES + 32 {
            return bad("empty or overlong segment (leading, trailing or double slash?)");
        }
        if segment.bytes().all(|b| b == b'.') {
            return bad("`.` and `..` segments are not allowed");
        }
        if sanitise_file_name(segment) != segment {
            return bad("a segment contains characters that are unsafe in a file name");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_separators_are_neutralised() {
        assert_eq!(sanitise_file_name(".."), "_");
        assert_eq!(sanitise_file_name("."), "_");
        assert_eq!(sanitise_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(sanitise_file_name("/abs/path.txt"), "_abs_path.txt");
        assert_eq!(sanitise_file_name("a\\b"), "a_b");
        assert_eq!(sanitise_file_name("C:\\x.txt"), "C__x.txt");
        assert_eq!(sanitise_file_name(""), "_");
    }

    #[test]
    fn control_and_windows_characters_become_underscores() {
        assert_eq!(sanitise_file_name("a\u{0}b\nc\u{7f}.txt"), "a_b_c_.txt");
        assert_eq!(sanitise_file_name("what?<x>|\"*.png"), "what__x____.png");
        assert_eq!(sanitise_file_name("report. . "), "report");
        assert_eq!(sanitise_file_name("CON"), "_CON");
        assert_eq!(sanitise_file_name("nul.txt"), "_nul.txt");
        assert_eq!(sanitise_file_name("console.txt"), "console.txt");
    }

    #[test]
    fn unicode_is_kept_and_normalised_to_nfc() {
        assert_eq!(
            sanitise_file_name("Überblick 日本語.pdf"),
            "Überblick 日本語.pdf"
        );
        // "e" + combining acute accent becomes the single precomposed "é".
        assert_eq!(sanitise_file_name("cafe\u{301}.txt"), "caf\u{e9}.txt");
    }

    #[test]
    fn long_names_are_cut_at_a_char_boundary_keeping_the_extension() {
        let long = format!("{}.docx", "ä".repeat(300));
        let short = sanitise_file_name(&long);
        assert!(short.len() <= MAX_NAME_BYTES, "{}", short.len());
        assert!(short.ends_with(".docx"));
        assert!(short.starts_with("ää"));
        assert_eq!(short, sanitise_file_name(&long), "must be deterministic");

        let no_ext = "x".repeat(300);
        assert_eq!(sanitise_file_name(&no_ext).len(), MAX_NAME_BYTES);
    }

    #[test]
    fn entry_paths_are_checked() {
        assert!(check_entry_path("issues/10000/10042.json").is_ok());
        assert!(check_entry_path("attachments/1/2/Überblick.pdf").is_ok());
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/",
            "../x",
            "a/./b",
            "a\\b",
            "a/b\n",
            "manifest.json",
            "C:/x",
        ] {
            assert!(check_entry_path(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
