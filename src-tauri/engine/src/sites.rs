//! Configured Jira sites: the use cases behind the Configuration page and the CLI.
//!
//! A site is a URL and an email in the catalog plus an API token in the keychain, filed under a
//! key derived from both. These functions keep the two in step: a token moves with its site
//! when the address changes and is removed with it.

use chrono::{DateTime, Utc};

use crate::catalog::sites::{SiteIdentity, SiteRecord};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::jira::{
    check_connection, validate_email, ClientOptions, ConnectionReport, JiraClient, SiteUrl,
};
use crate::secrets::{SecretKey, SecretStore, Sensitive};

/// What the user typed. `token: None` keeps the stored token.
#[derive(Debug, Clone)]
pub struct SiteDraft {
    pub id: Option<i64>,
    pub url: String,
    pub email: String,
    pub token: Option<Sensitive<String>>,
}

/// A site as the UI shows it: never the token, only whether one is stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SiteView {
    pub id: u32,
    pub url: String,
    pub email: String,
    pub display_name: Option<String>,
    pub account_id: Option<String>,
    pub is_admin: Option<bool>,
    pub last_checked: Option<DateTime<Utc>>,
    pub token_stored: bool,
}

struct Valid {
    url: SiteUrl,
    email: String,
    token: Option<Sensitive<String>>,
}

fn validate(draft: &SiteDraft) -> Result<Valid> {
    let url = SiteUrl::parse(&draft.url)?;
    let email = validate_email(&draft.email)?;
    let token = match &draft.token {
        Some(t) if t.expose().trim().is_empty() => {
            return Err(Error::invalid_input(
                "Enter the API token (create one at id.atlassian.com → Security → API tokens).",
            ))
        }
        Some(t) => Some(Sensitive::new(t.expose().trim().to_string())),
        None => None,
    };
    Ok(Valid { url, email, token })
}

fn key_of(r: &SiteRecord) -> SecretKey {
    SecretKey::jira_token(&r.url, &r.email)
}

fn view(r: SiteRecord, secrets: &dyn SecretStore) -> Result<SiteView> {
    let token_stored = match secrets.get(&key_of(&r)) {
        Ok(t) => t.is_some(),
        // Listing must still work without a keychain; saving will explain what is wrong.
        Err(e) if e.kind == ErrorKind::SecretStoreUnavailable => {
            tracing::warn!(error = %e.log_line(), "keychain unavailable while listing sites");
            false
        }
        Err(e) => return Err(e),
    };
    Ok(SiteView {
        id: u32::try_from(r.id).map_err(|_| Error::internal("Site id out of range."))?,
        url: r.url,
        email: r.email,
        display_name: r.display_name,
        account_id: r.account_id,
        is_admin: r.is_admin,
        last_checked: r.last_checked,
        token_stored,
    })
}

pub fn list(catalog: &Catalog, secrets: &dyn SecretStore) -> Result<Vec<SiteView>> {
    catalog
        .list_sites()?
        .into_iter()
        .map(|r| view(r, secrets))
        .collect()
}

/// Validates and stores a site; the token (when given) goes to the keychain only.
pub fn save(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    clock: &dyn Clock,
    draft: &SiteDraft,
) -> Result<SiteView> {
    let v = validate(draft)?;
    let record = match draft.id {
        None => {
            let token = v.token.as_ref().ok_or_else(|| {
                Error::invalid_input(
                    "Enter the API token (create one at id.atlassian.com → Security → API tokens).",
                )
            })?;
            let rec = catalog.insert_site(v.url.as_str(), &v.email, clock.now())?;
            if let Err(e) = secrets.set(&key_of(&rec), token) {
                // No site without its token: undo the insert so the user can simply retry.
                catalog.delete_site(rec.id)?;
                return Err(e);
            }
            rec
        }
        Some(id) => {
            let old = catalog.get_site(id)?;
            let old_key = key_of(&old);
            let rec = if old.url != v.url.as_str() || old.email != v.email {
                catalog.update_site_address(id, v.url.as_str(), &v.email)?
            } else {
                old
            };
            let new_key = key_of(&rec);
            match (&v.token, new_key != old_key) {
                (Some(t), _) => secrets.set(&new_key, t)?,
                (None, true) => {
                    if let Some(t) = secrets.get(&old_key)? {
                        secrets.set(&new_key, &t)?;
                    }
                }
                (None, false) => {}
            }
            if new_key != old_key {
                secrets.delete(&old_key)?;
            }
            rec
        }
    };
    tracing::info!(site = %record.url, email = %record.email, id = record.id, "site saved");
    view(record, secrets)
}

/// Checks the draft's address and credentials against Jira. The token is the draft's, or the
/// stored one when the draft has none. A successful check of a saved site updates what the
/// catalog knows about the account.
pub async fn test_connection(
    catalog: &Catalog,
    secrets: &dyn SecretStore,
    clock: &dyn Clock,
    draft: &SiteDraft,
    options: ClientOptions,
) -> Result<ConnectionReport> {
    let v = validate(draft)?;
    let saved = draft.id.map(|id| catalog.get_site(id)).transpose()?;
    let token = match (v.token, &saved) {
        (Some(t), _) => t,
        (None, Some(rec)) => secrets.get(&key_of(rec))?.ok_or_else(|| {
            Error::new(
                ErrorKind::SecretMissing,
                "No API token is stored for this site. Enter the API token, then test again.",
            )
        })?,
        (None, None) => {
            return Err(Error::invalid_input(
                "Enter the API token (create one at id.atlassian.com → Security → API tokens).",
            ))
        }
    };
    tracing::info!(site = %v.url, email = %v.email, token = ?token, "testing Jira connection");
    let client = JiraClient::new(v.url.clone(), v.email.clone(), token, options)?;
    let report = match check_connection(&client, clock.now()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(site = %v.url, error = %e.log_line(), "Jira connection test failed");
            return Err(e);
        }
    };
    tracing::info!(
        site = %report.site_url,
        user = %report.display_name,
        admin = report.is_admin,
        "Jira connection test succeeded"
    );
    if let Some(rec) = saved.filter(|r| r.url == v.url.as_str() && r.email == v.email) {
        catalog.record_site_identity(
            rec.id,
            &SiteIdentity {
                display_name: report.display_name.clone(),
                account_id: report.account_id.clone(),
                is_admin: report.is_admin,
                time_zone: report.time_zone.clone(),
                checked_at: report.checked_at,
            },
        )?;
    }
    Ok(report)
}

pub fn remove_token(catalog: &Catalog, secrets: &dyn SecretStore, id: i64) -> Result<SiteView> {
    let rec = catalog.get_site(id)?;
    secrets.delete(&key_of(&rec))?;
    tracing::info!(site = %rec.url, id, "API token removed from the keychain");
    view(rec, secrets)
}

/// Forgets a site and removes its token from the keychain.
pub fn delete(catalog: &Catalog, secrets: &dyn SecretStore, id: i64) -> Result<()> {
    let rec = catalog.get_site(id)?;
    secrets.delete(&key_of(&rec))?;
    catalog.delete_site(id)?;
    tracing::info!(site = %rec.url, id, "site deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::secrets::MemoryStore;

    fn clock() -> ManualClock {
        ManualClock::new("2026-11-22T10:00:00Z".parse().unwrap())
    }

    fn draft(id: Option<i64>, url: &str, email: &str, token: Option<&str>) -> SiteDraft {
        SiteDraft {
            id,
            url: url.into(),
            email: email.into(),
            token: token.map(|t| Sensitive::new(t.to_string())),
        }
    }

    #[test]
    fn save_new_site_puts_token_in_keychain_only() {
        let (c, s, k) = (
            Catalog::open_in_memory().unwrap(),
            MemoryStore::new(),
            clock(),
        );
        let v = save(
            &c,
            &s,
            &k,
            &draft(
                None,
                "https://Acme.atlassian.net/",
                " a@b.co ",
                Some(" tok "),
            ),
        )
        .unwrap();
        assert_eq!(v.url, "https://acme.atlassian.net");
        assert_eq!(v.email, "a@b.co");
        assert!(v.token_stored);
        let stored = s
            .get(&SecretKey::jira_token(
                "https://acme.atlassian.net",
                "a@b.co",
            ))
            .unwrap();
        assert_eq!(stored.unwrap().expose(), "tok");
        let json = serde_json::to_string(&v).unwrap();
        assert!(
            !json.contains("tok\""),
            "a view must never carry the token: {json}"
        );
    }

    #[test]
    fn new_site_needs_a_token_and_valid_fields() {
        let (c, s, k) = (
            Catalog::open_in_memory().unwrap(),
            MemoryStore::new(),
            clock(),
        );
        for d in [
            draft(None, "https://a.atlassian.net", "a@b.co", None),
            draft(None, "https://a.atlassian.net", "a@b.co", Some("  ")),
            draft(None, "http://a.atlassian.net", "a@b.co", Some("t")),
            draft(None, "https://a.atlassian.net", "nope", Some("t")),
        ] {
            assert_eq!(
                save(&c, &s, &k, &d).unwrap_err().kind,
                ErrorKind::InvalidInput
            );
        }
        assert!(c.list_sites().unwrap().is_empty());
        assert!(s.is_empty());
    }

    #[test]
    fn changing_the_address_moves_the_token() {
        let (c, s, k) = (
            Catalog::open_in_memory().unwrap(),
            MemoryStore::new(),
            clock(),
        );
        let v = save(
            &c,
            &s,
            &k,
            &draft(None, "https://a.atlassian.net", "a@b.co", Some("t1")),
        )
        .unwrap();
        let v2 = save(
            &c,
            &s,
            &k,
            &draft(Some(v.id.into()), "https://b.atlassian.net", "a@b.co", None),
        )
        .unwrap();
        assert!(v2.token_stored);
        assert_eq!(s.len(), 1);
        assert!(s
            .get(&SecretKey::jira_token("https://a.atlassian.net", "a@b.co"))
            .unwrap()
            .is_none());
        let v3 = save(
            &c,
            &s,
            &k,
            &draft(
                Some(v.id.into()),
                "https://b.atlassian.net",
                "a@b.co",
                Some("t2"),
            ),
        )
        .unwrap();
        assert!(v3.token_stored);
        assert_eq!(
            s.get(&SecretKey::jira_token("https://b.atlassian.net", "a@b.co"))
                .unwrap()
                .unwrap()
                .expose(),
            "t2"
        );
    }

    #[test]
    fn remove_token_and_delete_site() {
        let (c, s, k) = (
            Catalog::open_in_memory().unwrap(),
            MemoryStore::new(),
            clock(),
        );
        let v = save(
            &c,
            &s,
            &k,
            &draft(None, "https://a.atlassian.net", "a@b.co", Some("t1")),
        )
        .unwrap();
        let v = remove_token(&c, &s, v.id.into()).unwrap();
        assert!(!v.token_stored);
        save(
            &c,
            &s,
            &k,
            &draft(
                Some(v.id.into()),
                "https://a.atlassian.net",
                "a@b.co",
                Some("t2"),
            ),
        )
        .unwrap();
        delete(&c, &s, v.id.into()).unwrap();
        assert!(s.is_empty(), "deleting a site must remove its token");
        assert!(list(&c, &s).unwrap().is_empty());
    }

    #[tokio::test]
    async fn testing_a_saved_site_without_a_stored_token_says_so() {
        let (c, s, k) = (
            Catalog::open_in_memory().unwrap(),
            MemoryStore::new(),
            clock(),
        );
        let v = save(
            &c,
            &s,
            &k,
            &draft(None, "https://a.atlassian.net", "a@b.co", Some("t1")),
        )
        .unwrap();
        remove_token(&c, &s, v.id.into()).unwrap();
        let e = test_connection(
            &c,
            &s,
            &k,
            &draft(Some(v.id.into()), "https://a.atlassian.net", "a@b.co", None),
            ClientOptions::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::SecretMissing);
    }
}
