//! Paths on a destination: what may be written where, checked before any byte moves.

use std::fmt;

use crate::error::{Error, Result};

/// A validated path below a destination's folder: `/`-separated, relative, normalised (no
/// empty or `.` segments), never `..`, NUL, control characters or `\` (a separator on Windows
/// servers, where `a\..\b` would escape). The empty path is the folder itself. Spaces and
/// non-ASCII letters are fine.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RemotePath(String);

impl RemotePath {
    /// The destination folder itself.
    pub fn folder() -> Self {
        Self(String::new())
    }

    /// Parses a relative path; a leading `/` is refused (use [`RemoteFolder`] for that).
    ///
    /// # Errors
    /// `InvalidInput` naming what is wrong.
    pub fn parse(text: &str) -> Result<Self> {
        if text.starts_with('/') {
            return Err(bad_path(
                text,
                "it must be relative to the destination folder",
            ));
        }
        check_characters(text)?;
        let mut segments = Vec::new();
        for segment in text.split('/') {
            match segment {
                "" | "." => {}
                ".." => return Err(bad_path(text, "\"..\" is not allowed")),
                s => segments.push(s),
            }
        }
        Ok(Self(segments.join("/")))
    }

    /// `self/name`, where `name` is one segment.
    ///
    /// # Errors
    /// `InvalidInput` if `name` is empty, `.`, `..` or contains `/` or a refused character.
    pub fn join(&self, name: &str) -> Result<Self> {
        if name.is_empty() || name == "." || name.contains('/') {
            return Err(bad_path(name, "a file name must be one non-empty segment"));
        }
        let child = Self::parse(name)?;
        if self.0.is_empty() {
            Ok(child)
        } else {
            Ok(Self(format!("{}/{}", self.0, child.0)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_folder(&self) -> bool {
        self.0.is_empty()
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// The last segment; `None` for the folder itself.
    pub fn file_name(&self) -> Option<&str> {
        self.segments().last()
    }

    /// The path without its last segment (the folder itself for a top-level name).
    pub fn parent(&self) -> Self {
        match self.0.rfind('/') {
            Some(i) => Self(self.0[..i].to_string()),
            None => Self::folder(),
        }
    }

    /// The sibling called `name`.
    ///
    /// # Errors
    /// As [`RemotePath::join`].
    pub fn with_file_name(&self, name: &str) -> Result<Self> {
        self.parent().join(name)
    }
}

impl fmt::Debug for RemotePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RemotePath({:?})", self.0)
    }
}

impl fmt::Display for RemotePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "." } else { &self.0 })
    }
}

/// A destination folder on a server as configured: relative to the login directory unless it
/// starts with `/`. Same character rules as [`RemotePath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteFolder {
    absolute: bool,
    path: RemotePath,
}

impl RemoteFolder {
    /// # Errors
    /// `InvalidInput` as [`RemotePath::parse`].
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim_start_matches('/');
        Ok(Self {
            absolute: trimmed.len() != text.len(),
            path: RemotePath::parse(trimmed)?,
        })
    }

    pub fn is_absolute(&self) -> bool {
        self.absolute
    }

    pub fn path(&self) -> &RemotePath {
        &self.path
    }

    /// The server path of `below` in this folder: `/a/b/x.zip` or `a/b/x.zip` (`.` for the
    /// login directory itself).
    pub fn resolve(&self, below: &RemotePath) -> String {
        let joined = match (self.path.as_str(), below.as_str()) {
            ("", b) => b.to_string(),
            (a, "") => a.to_string(),
            (a, b) => format!("{a}/{b}"),
        };
        match (self.absolute, joined.is_empty()) {
            (true, _) => format!("/{joined}"),
            (false, true) => ".".to_string(),
            (false, false) => joined,
        }
    }
}

impl fmt::Display for RemoteFolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resolve(&RemotePath::folder()))
    }
}

/// NUL, control characters (they corrupt listings and logs, and FTP commands end at CR/LF)
/// and `\` are refused.
fn check_characters(text: &str) -> Result<()> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(bad_path(
            text,
            &format!("it contains the control character U+{:04X}", c as u32),
        ));
    }
    if text.contains('\\') {
        return Err(bad_path(text, "use \"/\" to separate folders, not \"\\\""));
    }
    Ok(())
}

fn bad_path(text: &str, why: &str) -> Error {
    Error::invalid_input(format!("The path {text:?} cannot be used: {why}."))
}
