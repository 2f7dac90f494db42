//! The catalog: a small SQLite database in the app-data folder that remembers sites (and,
//! later, schemes, runs and backup files).
//!
//! Migrations are plain `.sql` files embedded in the binary and applied in order; the schema
//! version lives in `PRAGMA user_version`. A catalog written by a newer version is refused with
//! a clear message instead of being silently misread.

pub mod sites;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::error::{Error, ErrorKind, Result};

/// Every migration, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[(&str, &str)] = &[(
    "0001_jira_sites",
    include_str!("migrations/0001_jira_sites.sql"),
)];

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

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
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
