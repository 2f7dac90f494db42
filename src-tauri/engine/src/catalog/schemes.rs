//! The `scheme` table, and each scheme's `last_handled`: the last slot the scheduler ran (or
//! the moment the scheme was saved or resumed), from which [`crate::schedule::due`] decides
//! what is due.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{is_unique_violation, time_at, time_text, ui_id, Catalog};
use crate::error::{Error, ErrorKind, Result};
use crate::schedule::{parse_time_zone, DaySet};
use crate::schemes::{name_key, Scheme, SchemeSettings};
use crate::snapshot::SnapshotKind;

const COLUMNS: &str = "id, name, site_id, kind, days, time_of_day, time_zone, keep, \
                       destination_id, folder, paused, last_handled";

fn conversion(i: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.into())
}

fn kind_text(kind: SnapshotKind) -> &'static str {
    match kind {
        SnapshotKind::Basic => "basic",
        SnapshotKind::Extended => "extended",
    }
}

/// A row, with its `last_handled`.
fn from_row(r: &Row<'_>) -> rusqlite::Result<(Scheme, DateTime<Utc>)> {
    let kind: String = r.get(3)?;
    let days: u8 = r.get(4)?;
    let time: String = r.get(5)?;
    let zone: String = r.get(6)?;
    let id: i64 = r.get(0)?;
    let settings = SchemeSettings {
        name: r.get(1)?,
        site_id: r.get(2)?,
        kind: match kind.as_str() {
            "basic" => SnapshotKind::Basic,
            "extended" => SnapshotKind::Extended,
            other => return Err(conversion(3, format!("unknown kind {other:?}"))),
        },
        days: DaySet::from_bits(days).ok_or_else(|| conversion(4, format!("days {days}")))?,
        time: time.parse().map_err(|e| conversion(5, e))?,
        time_zone: parse_time_zone(&zone)
            .ok_or_else(|| conversion(6, format!("unknown time zone {zone:?}")))?,
        keep: r.get(7)?,
        destination_id: r.get(8)?,
        folder: r.get(9)?,
        paused: r.get(10)?,
    };
    let id = u32::try_from(id).map_err(|_| conversion(0, format!("id {id}")))?;
    Ok((Scheme { id, settings }, time_at(r, 11)?))
}

fn not_found(id: u32) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("Scheme #{id} does not exist (it may have been deleted)."),
    )
}

fn duplicate_or(e: rusqlite::Error, name: &str) -> Error {
    if is_unique_violation(&e) {
        return Error::invalid_input(format!(
            "A scheme named \"{name}\" already exists. Choose another name."
        ));
    }
    e.into()
}

/// The site and destination must exist; says which one is gone, in the form's words.
fn check_references(conn: &Connection, s: &SchemeSettings) -> Result<()> {
    let exists = |table: &str, id: u32| -> Result<bool> {
        Ok(conn
            .query_row(
                &format!("SELECT 1 FROM {table} WHERE id = ?1"),
                [id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    };
    if !exists("jira_site", s.site_id)? {
        return Err(Error::invalid_input(
            "The chosen Jira site no longer exists. Choose another site.",
        ));
    }
    if !exists("destination", s.destination_id)? {
        return Err(Error::invalid_input(
            "The chosen destination no longer exists. Choose another destination.",
        ));
    }
    Ok(())
}

impl Catalog {
    pub fn list_schemes(&self) -> Result<Vec<Scheme>> {
        Ok(self
            .list_schemes_with_last_handled()?
            .into_iter()
            .map(|(s, _)| s)
            .collect())
    }

    /// Every scheme with its last handled slot: what the scheduler needs.
    pub fn list_schemes_with_last_handled(&self) -> Result<Vec<(Scheme, DateTime<Utc>)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM scheme ORDER BY id"))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every scheme's id and name, for [`crate::schemes::SchemeContext::existing`].
    pub fn scheme_names(&self) -> Result<Vec<(u32, String)>> {
        Ok(self
            .list_schemes()?
            .into_iter()
            .map(|s| (s.id, s.settings.name))
            .collect())
    }

    pub fn get_scheme(&self, id: u32) -> Result<Scheme> {
        Ok(self.get_scheme_with_last_handled(id)?.0)
    }

    pub fn get_scheme_with_last_handled(&self, id: u32) -> Result<(Scheme, DateTime<Utc>)> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM scheme WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// Saves a new scheme; slots before `now` will not run.
    ///
    /// # Errors
    /// `InvalidInput` when the name is taken or the site or destination is gone.
    pub fn insert_scheme(&self, s: &SchemeSettings, now: DateTime<Utc>) -> Result<Scheme> {
        let id = {
            let conn = self.conn();
            check_references(&conn, s)?;
            conn.execute(
                "INSERT INTO scheme (name, name_key, site_id, kind, days, time_of_day, \
                 time_zone, keep, destination_id, folder, paused, last_handled, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
                params![
                    s.name,
                    name_key(&s.name),
                    s.site_id,
                    kind_text(s.kind),
                    s.days.bits(),
                    s.time.to_string(),
                    s.time_zone.name(),
                    s.keep,
                    s.destination_id,
                    s.folder,
                    s.paused,
                    time_text(now)
                ],
            )
            .map_err(|e| duplicate_or(e, &s.name))?;
            ui_id(conn.last_insert_rowid())?
        };
        self.get_scheme(id)
    }

    /// Replaces a scheme's settings. Resuming (paused → not paused) restarts the schedule at
    /// `now`, so slots that passed while paused do not run as a catch-up.
    pub fn update_scheme(&self, id: u32, s: &SchemeSettings, now: DateTime<Utc>) -> Result<Scheme> {
        {
            let conn = self.conn();
            check_references(&conn, s)?;
            let changed = conn
                .execute(
                    "UPDATE scheme SET name = ?2, name_key = ?3, site_id = ?4, kind = ?5, \
                     days = ?6, time_of_day = ?7, time_zone = ?8, keep = ?9, \
                     destination_id = ?10, folder = ?11, \
                     last_handled = CASE WHEN paused AND NOT ?12 AND last_handled < ?13 \
                                    THEN ?13 ELSE last_handled END, \
                     paused = ?12 WHERE id = ?1",
                    params![
                        id,
                        s.name,
                        name_key(&s.name),
                        s.site_id,
                        kind_text(s.kind),
                        s.days.bits(),
                        s.time.to_string(),
                        s.time_zone.name(),
                        s.keep,
                        s.destination_id,
                        s.folder,
                        s.paused,
                        time_text(now)
                    ],
                )
                .map_err(|e| duplicate_or(e, &s.name))?;
            if changed == 0 {
                return Err(not_found(id));
            }
        }
        self.get_scheme(id)
    }

    /// Pauses or resumes; see [`Catalog::update_scheme`] for what resuming means.
    pub fn set_scheme_paused(&self, id: u32, paused: bool, now: DateTime<Utc>) -> Result<Scheme> {
        let mut s = self.get_scheme(id)?.settings;
        s.paused = paused;
        self.update_scheme(id, &s, now)
    }

    /// Records that `slot` was handled. Never moves backwards, so a late or repeated call
    /// cannot make a slot due again.
    pub fn record_slot_handled(&self, id: u32, slot: DateTime<Utc>) -> Result<()> {
        let conn = self.conn();
        let found = conn.execute(
            "UPDATE scheme SET last_handled = max(last_handled, ?2) WHERE id = ?1",
            params![id, time_text(slot)],
        )?;
        if found == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// Deletes a scheme and its run history. Its backup files stay on the destination and in
    /// the catalog (no longer tied to a scheme); deleting them is a separate, explicit step.
    pub fn delete_scheme(&self, id: u32) -> Result<()> {
        if self
            .conn()
            .execute("DELETE FROM scheme WHERE id = ?1", [id])?
            == 0
        {
            return Err(not_found(id));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::schedule::{Day, TimeOfDay};

    pub(crate) fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// A catalog with one site (#1) and one destination (#1).
    pub(crate) fn catalog() -> Catalog {
        let c = Catalog::open_in_memory().unwrap();
        let now = at("2026-01-01T00:00:00Z");
        c.insert_site("https://acme.atlassian.net", "a@b.co", now)
            .unwrap();
        c.insert_destination(&super::super::destinations::tests::sample("NAS"), now)
            .unwrap();
        c
    }

    pub(crate) fn settings(name: &str) -> SchemeSettings {
        SchemeSettings {
            name: name.into(),
            site_id: 1,
            kind: SnapshotKind::Extended,
            days: DaySet::new([Day::Monday, Day::Sunday]).unwrap(),
            time: TimeOfDay::new(2, 30).unwrap(),
            time_zone: chrono_tz::Europe::Berlin,
            keep: 12,
            destination_id: 1,
            folder: "jira/acme".into(),
            paused: false,
        }
    }

    #[test]
    fn round_trips_every_setting() {
        let c = catalog();
        let now = at("2026-02-01T10:00:00Z");
        let s = c.insert_scheme(&settings("Nightly"), now).unwrap();
        assert_eq!(s.settings, settings("Nightly"));
        let (again, last) = c.get_scheme_with_last_handled(s.id).unwrap();
        assert_eq!(again, s);
        assert_eq!(last, now, "slots before creation must not run");
        assert_eq!(
            c.scheme_names().unwrap(),
            vec![(s.id, "Nightly".to_string())]
        );

        let mut changed = settings("Weekly");
        changed.kind = SnapshotKind::Basic;
        changed.days = DaySet::EVERY_DAY;
        changed.time_zone = chrono_tz::Asia::Kolkata;
        let s2 = c.update_scheme(s.id, &changed, now).unwrap();
        assert_eq!(s2.settings, changed);
    }

    #[test]
    fn names_are_unique_ignoring_case_and_references_must_exist() {
        let c = catalog();
        let now = at("2026-02-01T10:00:00Z");
        c.insert_scheme(&settings("Nightly"), now).unwrap();
        let e = c.insert_scheme(&settings("NIGHTLY"), now).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message().contains("already exists"), "{}", e.message());

        let mut bad = settings("Other");
        bad.site_id = 99;
        assert!(c
            .insert_scheme(&bad, now)
            .unwrap_err()
            .message()
            .contains("Jira site"));
        let mut bad = settings("Other");
        bad.destination_id = 99;
        assert!(c
            .insert_scheme(&bad, now)
            .unwrap_err()
            .message()
            .contains("destination"));
    }

    #[test]
    fn handled_slots_only_move_forward_and_resuming_skips_the_paused_time() {
        let c = catalog();
        let s = c
            .insert_scheme(&settings("N"), at("2026-02-01T00:00:00Z"))
            .unwrap();
        c.record_slot_handled(s.id, at("2026-02-02T01:30:00Z"))
            .unwrap();
        c.record_slot_handled(s.id, at("2026-02-01T12:00:00Z"))
            .unwrap();
        let last = |c: &Catalog| c.get_scheme_with_last_handled(s.id).unwrap().1;
        assert_eq!(last(&c), at("2026-02-02T01:30:00Z"));

        c.set_scheme_paused(s.id, true, at("2026-02-03T00:00:00Z"))
            .unwrap();
        assert_eq!(
            last(&c),
            at("2026-02-02T01:30:00Z"),
            "pausing keeps the mark"
        );
        let resumed = c
            .set_scheme_paused(s.id, false, at("2026-02-20T00:00:00Z"))
            .unwrap();
        assert!(!resumed.settings.paused);
        assert_eq!(
            last(&c),
            at("2026-02-20T00:00:00Z"),
            "no catch-up for paused weeks"
        );
        assert_eq!(
            resumed.due(last(&c), at("2026-02-20T06:00:00Z")),
            None,
            "nothing due right after resuming"
        );
    }

    #[test]
    fn delete_and_not_found() {
        let c = catalog();
        let s = c
            .insert_scheme(&settings("N"), at("2026-02-01T00:00:00Z"))
            .unwrap();
        c.delete_scheme(s.id).unwrap();
        assert_eq!(c.get_scheme(s.id).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(c.delete_scheme(s.id).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(
            c.update_scheme(s.id, &settings("N"), at("2026-02-01T00:00:00Z"))
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
    }

    #[test]
    fn a_site_or_destination_in_use_cannot_be_deleted() {
        let c = catalog();
        c.insert_scheme(&settings("Nightly"), at("2026-02-01T00:00:00Z"))
            .unwrap();
        let e = c.delete_destination(1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message().contains("Nightly"), "{}", e.message());
        let e = c.delete_site(1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message().contains("Nightly"), "{}", e.message());
    }
}
