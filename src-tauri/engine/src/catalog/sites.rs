//! The `jira_site` table.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

use super::Catalog;
use crate::error::{Error, ErrorKind, Result};

/// A configured Jira site as the catalog remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRecord {
    pub id: i64,
    pub url: String,
    pub email: String,
    pub display_name: Option<String>,
    pub account_id: Option<String>,
    pub is_admin: Option<bool>,
    pub time_zone: Option<String>,
    pub last_checked: Option<DateTime<Utc>>,
}

/// What a successful connection check learned about the account.
#[derive(Debug, Clone)]
pub struct SiteIdentity {
    pub display_name: String,
    pub account_id: String,
    pub is_admin: bool,
    pub time_zone: Option<String>,
    pub checked_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, url, email, display_name, account_id, is_admin, time_zone, last_checked";

fn from_row(r: &Row<'_>) -> rusqlite::Result<SiteRecord> {
    let last: Option<String> = r.get(7)?;
    Ok(SiteRecord {
        id: r.get(0)?,
        url: r.get(1)?,
        email: r.get(2)?,
        display_name: r.get(3)?,
        account_id: r.get(4)?,
        is_admin: r.get(5)?,
        time_zone: r.get(6)?,
        last_checked: last
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|d| d.with_timezone(&Utc)),
    })
}

fn not_found(id: i64) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("Jira site #{id} does not exist (it may have been deleted)."),
    )
}

impl Catalog {
    pub fn list_sites(&self) -> Result<Vec<SiteRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM jira_site ORDER BY id"))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn get_site(&self, id: i64) -> Result<SiteRecord> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM jira_site WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    pub fn find_site(&self, url: &str, email: &str) -> Result<Option<SiteRecord>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM jira_site WHERE url = ?1 AND email = ?2"),
                [url, email],
                from_row,
            )
            .optional()?)
    }

    pub fn insert_site(&self, url: &str, email: &str, now: DateTime<Utc>) -> Result<SiteRecord> {
        let id = {
            let conn = self.conn();
            conn.execute(
                "INSERT INTO jira_site (url, email, created_at) VALUES (?1, ?2, ?3)",
                params![url, email, now.to_rfc3339()],
            )
            .map_err(|e| duplicate_or(e, url, email))?;
            conn.last_insert_rowid()
        };
        self.get_site(id)
    }

    /// Changes the address or account of a site; what was learned about the old account is
    /// forgotten because it may no longer be true.
    pub fn update_site_address(&self, id: i64, url: &str, email: &str) -> Result<SiteRecord> {
        let changed = self
            .conn()
            .execute(
                "UPDATE jira_site SET url = ?2, email = ?3, display_name = NULL, \
                 account_id = NULL, is_admin = NULL, time_zone = NULL, last_checked = NULL \
                 WHERE id = ?1",
                params![id, url, email],
            )
            .map_err(|e| duplicate_or(e, url, email))?;
        if changed == 0 {
            return Err(not_found(id));
        }
        self.get_site(id)
    }

    pub fn record_site_identity(&self, id: i64, who: &SiteIdentity) -> Result<SiteRecord> {
        let changed = self.conn().execute(
            "UPDATE jira_site SET display_name = ?2, account_id = ?3, is_admin = ?4, \
             time_zone = ?5, last_checked = ?6 WHERE id = ?1",
            params![
                id,
                who.display_name,
                who.account_id,
                who.is_admin,
                who.time_zone,
                who.checked_at.to_rfc3339()
            ],
        )?;
        if changed == 0 {
            return Err(not_found(id));
        }
        self.get_site(id)
    }

    /// # Errors
    /// `InvalidInput` naming the schemes that still back the site up.
    pub fn delete_site(&self, id: i64) -> Result<()> {
        let conn = self.conn();
        let users: Vec<String> = conn
            .prepare("SELECT name FROM scheme WHERE site_id = ?1 ORDER BY name")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !users.is_empty() {
            return Err(Error::invalid_input(format!(
                "This site is backed up by the scheme(s) {}. Delete them first.",
                users.join(", ")
            )));
        }
        let changed = conn.execute("DELETE FROM jira_site WHERE id = ?1", [id])?;
        if changed == 0 {
            return Err(not_found(id));
        }
        Ok(())
    }
}

fn duplicate_or(e: rusqlite::Error, url: &str, email: &str) -> Error {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE {
            return Error::invalid_input(format!(
                "The site {url} is already configured for {email}."
            ));
        }
    }
    e.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn insert_update_identity_delete() {
        let c = Catalog::open_in_memory().unwrap();
        let s = c
            .insert_site(
                "https://a.atlassian.net",
                "x@y.co",
                t("2026-01-01T00:00:00Z"),
            )
            .unwrap();
        assert_eq!(s.is_admin, None);
        let who = SiteIdentity {
            display_name: "Ada".into(),
            account_id: "acc-1".into(),
            is_admin: true,
            time_zone: Some("Europe/Paris".into()),
            checked_at: t("2026-01-02T03:04:05Z"),
        };
        let s = c.record_site_identity(s.id, &who).unwrap();
        assert_eq!(s.display_name.as_deref(), Some("Ada"));
        assert_eq!(s.is_admin, Some(true));
        assert_eq!(s.last_checked, Some(t("2026-01-02T03:04:05Z")));
        assert_eq!(c.list_sites().unwrap().len(), 1);

        let s = c
            .update_site_address(s.id, "https://b.atlassian.net", "x@y.co")
            .unwrap();
        assert_eq!(
            s.display_name, None,
            "identity must be forgotten on a new address"
        );
        c.delete_site(s.id).unwrap();
        assert_eq!(c.get_site(s.id).unwrap_err().kind, ErrorKind::NotFound);
    }

    #[test]
    fn duplicates_are_refused_as_invalid_input() {
        let c = Catalog::open_in_memory().unwrap();
        let now = t("2026-01-01T00:00:00Z");
        c.insert_site("https://a.atlassian.net", "x@y.co", now)
            .unwrap();
        let e = c
            .insert_site("https://a.atlassian.net", "x@y.co", now)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message().contains("already configured"));
    }
}
