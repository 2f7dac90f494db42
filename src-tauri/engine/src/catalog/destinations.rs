//! The `destination` table: where backups go. Never a password or passphrase: those live in
//! the OS keychain; only the fingerprint the user accepted is kept, to detect a changed server,
//! and for an SFTP key file its path and whether it has a passphrase.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::{is_unique_violation, time_at, time_text, Catalog};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::sftp::SftpAuth;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum DestinationKind {
    // The form's first choice (a plain comment: specta would print a doc into the union).
    #[default]
    Local,
    Ftp,
    Ftps,
    Sftp,
}

impl DestinationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Ftp => "ftp",
            Self::Ftps => "ftps",
            Self::Sftp => "sftp",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Local, Self::Ftp, Self::Ftps, Self::Sftp]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A destination's settings (checked by the destinations use case before they get here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationSettings {
    pub name: String,
    pub kind: DestinationKind,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user_name: Option<String>,
    pub folder: String,
    pub quota_bytes: Option<u64>,
    pub pinned_fingerprint: Option<String>,
    /// SFTP: a password or a private key file; `Password` for the other kinds.
    pub sftp_auth: SftpAuth,
    /// FTPS: TLS from the first byte (implicit FTPS) instead of `AUTH TLS`.
    pub implicit_tls: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationRecord {
    pub id: i64,
    pub settings: DestinationSettings,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, kind, host, port, user_name, folder, quota_bytes, \
                       pinned_fingerprint, created_at, identity_file, identity_encrypted, \
                       implicit_tls";

fn from_row(r: &Row<'_>) -> rusqlite::Result<DestinationRecord> {
    let kind: String = r.get(2)?;
    let quota: Option<i64> = r.get(7)?;
    let identity_file: Option<String> = r.get(10)?;
    Ok(DestinationRecord {
        id: r.get(0)?,
        settings: DestinationSettings {
            name: r.get(1)?,
            kind: DestinationKind::parse(&kind).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Text,
                    format!("unknown destination kind {kind:?}").into(),
                )
            })?,
            host: r.get(3)?,
            port: r.get(4)?,
            user_name: r.get(5)?,
            folder: r.get(6)?,
            quota_bytes: quota.map(|q| q.max(0) as u64),
            pinned_fingerprint: r.get(8)?,
            sftp_auth: match identity_file {
                None => SftpAuth::Password,
                Some(path) => SftpAuth::KeyFile {
                    path: PathBuf::from(path),
                    has_passphrase: r.get(11)?,
                },
            },
            implicit_tls: r.get(12)?,
        },
        created_at: time_at(r, 9)?,
    })
}

fn not_found(id: i64) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("Destination #{id} does not exist (it may have been deleted)."),
    )
}

fn duplicate_or(e: rusqlite::Error, name: &str) -> Error {
    if is_unique_violation(&e) {
        return Error::invalid_input(format!(
            "A destination named \"{name}\" already exists. Choose another name."
        ));
    }
    e.into()
}

fn quota(s: &DestinationSettings) -> Option<i64> {
    s.quota_bytes.map(|q| i64::try_from(q).unwrap_or(i64::MAX))
}

/// The `identity_file` and `identity_encrypted` columns.
fn identity(s: &DestinationSettings) -> (Option<String>, bool) {
    match &s.sftp_auth {
        SftpAuth::Password => (None, false),
        SftpAuth::KeyFile {
            path,
            has_passphrase,
        } => (Some(path.to_string_lossy().into_owned()), *has_passphrase),
    }
}

impl Catalog {
    pub fn list_destinations(&self) -> Result<Vec<DestinationRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM destination ORDER BY id"))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn get_destination(&self, id: i64) -> Result<DestinationRecord> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM destination WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// # Errors
    /// `InvalidInput` when the name is taken.
    pub fn insert_destination(
        &self,
        s: &DestinationSettings,
        now: DateTime<Utc>,
    ) -> Result<DestinationRecord> {
        let (identity_file, identity_encrypted) = identity(s);
        let id = {
            let conn = self.conn();
            conn.execute(
                "INSERT INTO destination (name, kind, host, port, user_name, folder, quota_bytes, \
                 pinned_fingerprint, created_at, identity_file, identity_encrypted, implicit_tls) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    s.name,
                    s.kind.as_str(),
                    s.host,
                    s.port,
                    s.user_name,
                    s.folder,
                    quota(s),
                    s.pinned_fingerprint,
                    time_text(now),
                    identity_file,
                    identity_encrypted,
                    s.implicit_tls
                ],
            )
            .map_err(|e| duplicate_or(e, &s.name))?;
            conn.last_insert_rowid()
        };
        self.get_destination(id)
    }

    pub fn update_destination(
        &self,
        id: i64,
        s: &DestinationSettings,
    ) -> Result<DestinationRecord> {
        let (identity_file, identity_encrypted) = identity(s);
        let changed = self
            .conn()
            .execute(
                "UPDATE destination SET name = ?2, kind = ?3, host = ?4, port = ?5, user_name = ?6, \
                 folder = ?7, quota_bytes = ?8, pinned_fingerprint = ?9, identity_file = ?10, \
                 identity_encrypted = ?11, implicit_tls = ?12 WHERE id = ?1",
                params![
                    id,
                    s.name,
                    s.kind.as_str(),
                    s.host,
                    s.port,
                    s.user_name,
                    s.folder,
                    quota(s),
                    s.pinned_fingerprint,
                    identity_file,
                    identity_encrypted,
                    s.implicit_tls
                ],
            )
            .map_err(|e| duplicate_or(e, &s.name))?;
        if changed == 0 {
            return Err(not_found(id));
        }
        self.get_destination(id)
    }

    /// Forgets a destination that no scheme uses and no recorded backup lives on.
    ///
    /// # Errors
    /// `InvalidInput` naming the schemes that still use it, or when backups are recorded on it.
    pub fn delete_destination(&self, id: i64) -> Result<()> {
        let conn = self.conn();
        let users: Vec<String> = conn
            .prepare("SELECT name FROM scheme WHERE destination_id = ?1 ORDER BY name")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !users.is_empty() {
            return Err(Error::invalid_input(format!(
                "This destination is used by the scheme(s) {}. Change or delete them first.",
                users.join(", ")
            )));
        }
        let files: i64 = conn.query_row(
            "SELECT COUNT(*) FROM backup_file WHERE destination_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        if files > 0 {
            return Err(Error::invalid_input(format!(
                "{files} backup file(s) are recorded on this destination. Delete them first, \
                 so that they stay findable."
            )));
        }
        if conn.execute("DELETE FROM destination WHERE id = ?1", [id])? == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(name: &str) -> DestinationSettings {
        DestinationSettings {
            name: name.into(),
            kind: DestinationKind::Sftp,
            host: Some("nas.example.net".into()),
            port: Some(22),
            user_name: Some("backup".into()),
            folder: "/srv/jira".into(),
            quota_bytes: Some(5_000_000_000),
            pinned_fingerprint: Some("SHA256:abc".into()),
            sftp_auth: SftpAuth::Password,
            implicit_tls: false,
        }
    }

    #[test]
    fn insert_update_list_delete() {
        let c = Catalog::open_in_memory().unwrap();
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        let d = c.insert_destination(&sample("NAS"), now).unwrap();
        assert_eq!(d.settings, sample("NAS"));
        assert_eq!(d.created_at, now);
        let mut local = sample("Disk");
        local.kind = DestinationKind::Local;
        local.host = None;
        local.port = None;
        local.quota_bytes = None;
        let d = c.update_destination(d.id, &local).unwrap();
        assert_eq!(d.settings, local);
        assert_eq!(c.list_destinations().unwrap().len(), 1);
        let e = c.insert_destination(&local, now).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message().contains("already exists"));
        c.delete_destination(d.id).unwrap();
        assert_eq!(
            c.get_destination(d.id).unwrap_err().kind,
            ErrorKind::NotFound
        );
    }

    #[test]
    fn key_file_logins_and_implicit_tls_round_trip() {
        let c = Catalog::open_in_memory().unwrap();
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut key = sample("NAS");
        key.sftp_auth = SftpAuth::KeyFile {
            path: PathBuf::from("/home/me/.ssh/id_ed25519"),
            has_passphrase: true,
        };
        let d = c.insert_destination(&key, now).unwrap();
        assert_eq!(c.get_destination(d.id).unwrap().settings, key);

        // Back to a password: the key file is forgotten, not left behind.
        let mut ftps = sample("NAS");
        ftps.kind = DestinationKind::Ftps;
        ftps.port = Some(990);
        ftps.implicit_tls = true;
        c.update_destination(d.id, &ftps).unwrap();
        let (identity, encrypted): (Option<String>, bool) = c
            .conn()
            .query_row(
                "SELECT identity_file, identity_encrypted FROM destination WHERE id = ?1",
                [d.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((identity, encrypted), (None, false));
        assert_eq!(c.list_destinations().unwrap()[0].settings, ftps);
    }

    #[test]
    fn a_version_2_destination_keeps_its_password_login_and_explicit_tls() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("catalog.db");
        {
            let conn = rusqlite::Connection::open(&p).unwrap();
            for (_, sql) in &crate::catalog::MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute(
                "INSERT INTO destination (name, kind, host, port, user_name, folder, \
                 pinned_fingerprint, created_at) VALUES ('Old FTPS', 'ftps', 'nas', 21, \
                 'backup', 'jira', 'AB:CD', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        }
        let c = Catalog::open(&p).unwrap();
        assert_eq!(c.schema_version().unwrap(), crate::catalog::SCHEMA_VERSION);
        let old = &c.list_destinations().unwrap()[0].settings;
        assert_eq!(
            (&old.name, &old.sftp_auth, old.implicit_tls, old.port),
            (
                &"Old FTPS".to_string(),
                &SftpAuth::Password,
                false,
                Some(21)
            ),
            "an upgraded row logs in as before"
        );
        let e = c
            .conn()
            .execute("UPDATE destination SET implicit_tls = 2", [])
            .unwrap_err();
        assert!(e.to_string().contains("CHECK"), "{e}");
    }

    #[test]
    fn no_column_can_hold_a_secret() {
        let c = Catalog::open_in_memory().unwrap();
        let conn = c.conn();
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('destination')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for c in &columns {
            assert!(
                !["password", "passphrase", "secret", "key", "token"]
                    .iter()
                    .any(|s| c.contains(s)),
                "destination column {c} looks like it holds a secret"
            );
        }
    }
}
