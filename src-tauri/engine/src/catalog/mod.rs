//! The catalog: a small SQLite database in the app-data folder that remembers sites,
//! destinations, schemes, every run and every backup file. One module per table.
//!
//! Migrations are plain `.sql` files embedded in the binary and applied in order; the schema
//! version lives in `PRAGMA user_version`. A catalog written by a newer version is refused with
//! a clear message instead of being silently misread.

pub mod backups;
pub mod destinations;
pub mod runs;
pub mod schemes;
pub mod sites;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;

use crate::error::{Error, ErrorKind, Result};

/// Every migration, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_jira_sites",
        include_str!("migrations/0001_jira_sites.sql"),
    ),
    (
        "0002_schemes_runs_backups",
        include_str!("migrations/0002_schemes_runs_backups.sql"),
    ),
    (
        "0003_destination_logins",
        include_str!("migrations/0003_destination_logins.sql"),
    ),
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub struct Catalog {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path` and brings it up to date.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::new(
                    ErrorKind::Catalog,
                    format!(
                        "Could not create the folder for the Backup Center catalog ({}). \
                         Check that it is writable.",
                        dir.display()
                    ),
                )
                .with_source(e)
            })?;
        }
        let conn = Connection::open(path)?;
        Self::init(conn, path.to_path_buf())
    }

    /// A throw-away catalog for tests.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn init(mut conn: Connection, path: PathBuf) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL: readers never block the writer, and a crash mid-write leaves the last commit.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        check_integrity(&conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Runs SQLite's `PRAGMA integrity_check` (also done at open).
    ///
    /// # Errors
    /// `Catalog` when the database is damaged, with SQLite's first findings in the log context.
    pub fn check_integrity(&self) -> Result<()> {
        check_integrity(&self.conn())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn check_integrity(conn: &Connection) -> Result<()> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let findings: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .take(10)
        .collect::<rusqlite::Result<_>>()?;
    if findings == ["ok"] {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Catalog,
        "The Backup Center catalog (its local database) is damaged. Your backup files are not \
         affected. Restore an earlier copy of the catalog, or move it aside to start afresh.",
    )
    .with_context("integrity_check", findings.join("; ")))
}

/// Times are stored as RFC 3339 UTC with milliseconds and a `Z`: fixed width, so SQL can
/// compare and sort them as text.
fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a time written by [`time_text`] (or any RFC 3339 time).
fn time_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = r.get(i)?;
    parse_time(i, &text)
}

fn optional_time_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = r.get(i)?;
    text.map(|t| parse_time(i, &t)).transpose()
}

fn parse_time(i: usize, text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
}

/// A JSON column read into `T`.
fn json_at<T: serde::de::DeserializeOwned>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// An id the UI sees (u32: TypeScript numbers) from a row id.
fn ui_id(id: i64) -> Result<u32> {
    u32::try_from(id).map_err(|_| Error::internal(format!("Catalog id {id} is out of range.")))
}

/// Whether `e` is a violated UNIQUE constraint.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorKind::Catalog,
            format!(
                "This Backup Center catalog was written by a newer version of Backup Center \
                 (catalog format {current}; this version understands up to {SCHEMA_VERSION}). \
                 Install the newer version again, or restore an older copy of the catalog."
            ),
        ));
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql).map_err(|e| {
            Error::new(
                ErrorKind::Catalog,
                format!("Upgrading the Backup Center catalog failed at step {name}."),
            )
            .with_source(e)
        })?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
        tracing::info!(migration = name, "catalog migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_catalog_is_at_latest_version_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("sub/catalog.db")).unwrap();
        assert_eq!(c.schema_version().unwrap(), SCHEMA_VERSION);
        let mode: String = c
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn reopening_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("catalog.db");
        drop(Catalog::open(&p).unwrap());
        let c = Catalog::open(&p).unwrap();
        assert_eq!(c.schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_version_1_catalog_is_upgraded_keeping_its_sites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("catalog.db");
        {
            let conn = Connection::open(&p).unwrap();
            conn.execute_batch(MIGRATIONS[0].1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO jira_site (url, email, created_at) VALUES ('https://a.atlassian.net', \
                 'a@b.co', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        }
        let c = Catalog::open(&p).unwrap();
        assert_eq!(c.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(c.list_sites().unwrap().len(), 1);
        assert!(c.list_schemes().unwrap().is_empty());
    }

    #[test]
    fn a_fresh_catalog_passes_the_integrity_check() {
        let c = Catalog::open_in_memory().unwrap();
        c.check_integrity().unwrap();
    }

    #[test]
    fn a_damaged_catalog_is_refused_as_a_catalog_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("catalog.db");
        {
            let c = Catalog::open(&p).unwrap();
            let conn = c.conn();
            conn.execute_batch(
                "CREATE TABLE filler (x TEXT); CREATE INDEX filler_x ON filler (x);",
            )
            .unwrap();
            for i in 0..2000 {
                conn.execute(
                    "INSERT INTO filler VALUES (?1)",
                    [format!("row {i:05} padding padding")],
                )
                .unwrap();
            }
            conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        }
        // Scribble over pages in the middle of the file (tables and index pages).
        let mut bytes = std::fs::read(&p).unwrap();
        let len = bytes.len();
        for b in &mut bytes[len / 3..len / 3 + 20_000] {
            *b = 0x5a;
        }
        std::fs::write(&p, bytes).unwrap();
        let err = Catalog::open(&p)
            .err()
            .expect("a damaged catalog must be refused");
        assert_eq!(err.kind, ErrorKind::Catalog, "{}", err.log_line());
    }

    #[test]
    fn catalog_from_a_newer_version_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("catalog.db");
        {
            let conn = Connection::open(&p).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        let err = Catalog::open(&p)
            .err()
            .expect("a newer catalog must be refused");
        assert_eq!(err.kind, ErrorKind::Catalog);
        assert!(err.message().contains("newer version"), "{}", err.message());
    }
}
