//! The `backup_file` table: every backup file a run stored, where, and what it holds.
//!
//! A row is what makes a file "ours" for rotation ([`crate::retention`]): the app deletes only
//! files it recorded for the scheme. Deleting a scheme keeps its rows (the scheme becomes
//! `None`) so the files stay findable for a restore.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::{is_unique_violation, json_at, time_at, time_text, Catalog};
use crate::error::{Error, ErrorKind, Result};
use crate::retention::RecordedFile;
use crate::snapshot::PartialSection;

/// A stored file, as recorded right after upload (verified or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBackup {
    pub name: String,
    pub scheme_id: Option<u32>,
    pub run_id: Option<i64>,
    pub destination_id: i64,
    pub folder: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Entity name → number saved, from the snapshot's manifest.
    pub entity_counts: BTreeMap<String, u64>,
    pub partial_sections: Vec<PartialSection>,
    pub verified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRecord {
    pub id: i64,
    pub file: NewBackup,
}

impl BackupRecord {
    /// What rotation needs to know about this file.
    pub fn recorded_file(&self) -> RecordedFile {
        RecordedFile {
            name: self.file.name.clone(),
            created_at: self.file.created_at,
            verified: self.file.verified,
        }
    }
}

const COLUMNS: &str = "id, name, scheme_id, run_id, destination_id, folder, size, sha256, \
                       created_at, entity_counts, partial_sections, verified";

fn from_row(r: &Row<'_>) -> rusqlite::Result<BackupRecord> {
    let size: i64 = r.get(6)?;
    Ok(BackupRecord {
        id: r.get(0)?,
        file: NewBackup {
            name: r.get(1)?,
            scheme_id: r.get(2)?,
            run_id: r.get(3)?,
            destination_id: r.get(4)?,
            folder: r.get(5)?,
            size: size.max(0) as u64,
            sha256: r.get(7)?,
            created_at: time_at(r, 8)?,
            entity_counts: json_at(r, 9)?,
            partial_sections: json_at(r, 10)?,
            verified: r.get(11)?,
        },
    })
}

fn not_found(id: i64) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("Backup file #{id} is not in the catalog."),
    )
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::internal("Could not encode a backup record.").with_source(e))
}

impl Catalog {
    /// # Errors
    /// `StorageConflict` when a file of that name is already recorded in that folder: backups
    /// are never overwritten.
    pub fn insert_backup(&self, b: &NewBackup) -> Result<BackupRecord> {
        let id = {
            let conn = self.conn();
            conn.execute(
                "INSERT INTO backup_file (name, scheme_id, run_id, destination_id, folder, size, \
                 sha256, created_at, entity_counts, partial_sections, verified) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    b.name,
                    b.scheme_id,
                    b.run_id,
                    b.destination_id,
                    b.folder,
                    i64::try_from(b.size).unwrap_or(i64::MAX),
                    b.sha256,
                    time_text(b.created_at),
                    to_json(&b.entity_counts)?,
                    to_json(&b.partial_sections)?,
                    b.verified
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::new(
                        ErrorKind::StorageConflict,
                        format!(
                            "A backup named {} is already recorded in that folder.",
                            b.name
                        ),
                    )
                } else {
                    e.into()
                }
            })?;
            conn.last_insert_rowid()
        };
        self.get_backup(id)
    }

    /// Marks a file verified (after the destination's copy was checked) or not.
    pub fn set_backup_verified(&self, id: i64, verified: bool) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE backup_file SET verified = ?2 WHERE id = ?1",
            params![id, verified],
        )?;
        if changed == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    pub fn get_backup(&self, id: i64) -> Result<BackupRecord> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM backup_file WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// A scheme's files, newest first.
    pub fn backups_for_scheme(&self, scheme_id: u32) -> Result<Vec<BackupRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM backup_file WHERE scheme_id = ?1 \
             ORDER BY created_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map([scheme_id], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The files one run recorded (normally one per destination it stored to).
    pub fn backups_of_run(&self, run_id: i64) -> Result<Vec<BackupRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM backup_file WHERE run_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([run_id], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every recorded file in one destination folder (any scheme, or none), newest first.
    pub fn backups_in_folder(
        &self,
        destination_id: i64,
        folder: &str,
    ) -> Result<Vec<BackupRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM backup_file WHERE destination_id = ?1 AND folder = ?2 \
             ORDER BY created_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map(params![destination_id, folder], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every recorded file, newest first: the control panel's table (tens of thousands of
    /// rows are a few MB; the UI sorts and filters them itself).
    pub fn list_backups(&self) -> Result<Vec<BackupRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM backup_file ORDER BY created_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// What rotation may consider: the scheme's files in the folder it writes to.
    pub fn rotation_records(
        &self,
        scheme_id: u32,
        destination_id: i64,
        folder: &str,
    ) -> Result<Vec<RecordedFile>> {
        Ok(self
            .backups_for_scheme(scheme_id)?
            .into_iter()
            .filter(|b| b.file.destination_id == destination_id && b.file.folder == folder)
            .map(|b| b.recorded_file())
            .collect())
    }

    /// Forgets a file (after rotation deleted it, or it was found gone).
    pub fn delete_backup(&self, id: i64) -> Result<()> {
        if self
            .conn()
            .execute("DELETE FROM backup_file WHERE id = ?1", [id])?
            == 0
        {
            return Err(not_found(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::runs::{RunOutcome, RunTrigger};
    use crate::catalog::schemes::tests::{at, catalog, settings};

    fn backup(name: &str, scheme_id: Option<u32>, created: &str) -> NewBackup {
        NewBackup {
            name: name.into(),
            scheme_id,
            run_id: None,
            destination_id: 1,
            folder: "jira/acme".into(),
            size: 10_485_760,
            sha256: "ab".repeat(32),
            created_at: at(created),
            entity_counts: BTreeMap::from([("issues".into(), 1200), ("users".into(), 40)]),
            partial_sections: vec![PartialSection {
                section: "workflows".into(),
                reason: "needs Jira admin".into(),
            }],
            verified: false,
        }
    }

    #[test]
    fn a_backup_round_trips_and_is_verified_later() {
        let c = catalog();
        let s = c
            .insert_scheme(&settings("N"), at("2026-02-01T00:00:00Z"))
            .unwrap();
        let run = c
            .try_start_run(s.id, RunTrigger::Schedule, None, at("2026-02-02T01:00:00Z"))
            .unwrap()
            .unwrap();
        let mut b = backup(
            "acme.atlassian.net-extended-2026-02-02_0100.zip",
            Some(s.id),
            "2026-02-02T01:00:00Z",
        );
        b.run_id = Some(run.id);
        let rec = c.insert_backup(&b).unwrap();
        assert_eq!(rec.file, b);
        c.set_backup_verified(rec.id, true).unwrap();
        assert!(c.get_backup(rec.id).unwrap().file.verified);
        assert_eq!(run.outcome, RunOutcome::Running);

        let e = c.insert_backup(&b).unwrap_err();
        assert_eq!(e.kind, ErrorKind::StorageConflict);
    }

    #[test]
    fn per_scheme_queries_newest_first_and_rotation_records() {
        let c = catalog();
        let a = c
            .insert_scheme(&settings("A"), at("2026-02-01T00:00:00Z"))
            .unwrap();
        let b = c
            .insert_scheme(&settings("B"), at("2026-02-01T00:00:00Z"))
            .unwrap();
        c.insert_backup(&backup("a1.zip", Some(a.id), "2026-02-02T01:00:00Z"))
            .unwrap();
        c.insert_backup(&backup("a2.zip", Some(a.id), "2026-02-03T01:00:00Z"))
            .unwrap();
        c.insert_backup(&backup("b1.zip", Some(b.id), "2026-02-02T02:00:00Z"))
            .unwrap();
        let mut elsewhere = backup("a0.zip", Some(a.id), "2026-02-01T01:00:00Z");
        elsewhere.folder = "old".into();
        c.insert_backup(&elsewhere).unwrap();

        let names: Vec<_> = c
            .backups_for_scheme(a.id)
            .unwrap()
            .into_iter()
            .map(|r| r.file.name)
            .collect();
        assert_eq!(names, vec!["a2.zip", "a1.zip", "a0.zip"]);
        let rot: Vec<_> = c
            .rotation_records(a.id, 1, "jira/acme")
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(
            rot,
            vec!["a2.zip", "a1.zip"],
            "only the folder the scheme writes to"
        );
        assert_eq!(c.backups_in_folder(1, "jira/acme").unwrap().len(), 3);
        let all: Vec<_> = c
            .list_backups()
            .unwrap()
            .into_iter()
            .map(|r| r.file.name)
            .collect();
        assert_eq!(
            all,
            vec!["a2.zip", "b1.zip", "a1.zip", "a0.zip"],
            "newest first"
        );
    }

    #[test]
    fn deleting_a_scheme_keeps_its_files_recorded() {
        let c = catalog();
        let s = c
            .insert_scheme(&settings("N"), at("2026-02-01T00:00:00Z"))
            .unwrap();
        let rec = c
            .insert_backup(&backup("n1.zip", Some(s.id), "2026-02-02T01:00:00Z"))
            .unwrap();
        c.delete_scheme(s.id).unwrap();
        let kept = c.get_backup(rec.id).unwrap();
        assert_eq!(
            kept.file.scheme_id, None,
            "kept, no longer tied to a scheme"
        );
        let e = c.delete_destination(1).unwrap_err();
        assert!(e.message().contains("backup file"), "{}", e.message());
        c.delete_backup(rec.id).unwrap();
        assert_eq!(c.get_backup(rec.id).unwrap_err().kind, ErrorKind::NotFound);
        c.delete_destination(1).unwrap();
    }
}
