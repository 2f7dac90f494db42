//! "Test connection": is this a Jira Cloud site, do the credentials work, is the account an
//! admin? Three calls: `serverInfo`, `myself`, `mypermissions?permissions=ADMINISTER`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{status_error, JiraClient};
use crate::error::{Error, ErrorKind, Result};

/// What a successful check found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConnectionReport {
    /// The normalised site URL that was checked.
    pub site_url: String,
    pub server_title: String,
    pub version: String,
    pub display_name: String,
    pub account_id: String,
    pub email_address: Option<String>,
    /// The account has the global "Administer Jira" permission.
    pub is_admin: bool,
    /// The Jira user's time zone (the default for new schemes).
    pub time_zone: Option<String>,
    pub checked_at: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServerInfo {
    base_url: Option<String>,
    version: Option<String>,
    deployment_type: Option<String>,
    server_title: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Myself {
    account_id: String,
    display_name: Option<String>,
    email_address: Option<String>,
    time_zone: Option<String>,
}

#[derive(Deserialize)]
struct MyPermissions {
    permissions: HashMap<String, Permission>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Permission {
    have_permission: bool,
}

/// Runs the three checks in order; the first failure is returned.
pub async fn check_connection(client: &JiraClient, now: DateTime<Utc>) -> Result<ConnectionReport> {
    let site = client.site().clone();
    let not_jira = || {
        Error::new(
            ErrorKind::NotJiraCloud,
            format!(
                "{site} does not look like a Jira Cloud site: it has no Jira server information \
                 at /rest/api/3/serverInfo. Use the address you open Jira with, e.g. \
                 https://your-team.atlassian.net."
            ),
        )
    };
    let (status, headers, body) = client
        .send(
            reqwest::Method::GET,
            "/rest/api/3/serverInfo",
            "the server information",
        )
        .await?;
    match status.as_u16() {
        200..=299 => {}
        // Credentials, rate limits and server trouble say nothing about what the site is.
        401 | 429 | 500..=599 => {
            return Err(status_error(
                status,
                &headers,
                &body,
                &site,
                "the server information",
            ))
        }
        _ => return Err(not_jira().with_context("status", status.as_u16().to_string())),
    }
    let info: ServerInfo = serde_json::from_slice(&body).map_err(|e| not_jira().with_source(e))?;
    if info.base_url.is_none() || info.version.is_none() {
        return Err(not_jira());
    }
    match info.deployment_type.as_deref() {
        Some("Cloud") => {}
        Some(other) => {
            return Err(Error::new(
                ErrorKind::NotJiraCloud,
                format!(
                    "{site} is a Jira {other} site. Backup Center backs up Jira Cloud sites \
                     (*.atlassian.net) only."
                ),
            ))
        }
        None => return Err(not_jira()),
    }

    let me: Myself = client
        .get_json("/rest/api/3/myself", "your user profile")
        .await?;
    let perms: MyPermissions = client
        .get_json(
            "/rest/api/3/mypermissions?permissions=ADMINISTER",
            "your global permissions",
        )
        .await?;
    let is_admin = perms
        .permissions
        .get("ADMINISTER")
        .is_some_and(|p| p.have_permission);

    Ok(ConnectionReport {
        site_url: site.as_str().to_string(),
        server_title: info.server_title.unwrap_or_else(|| "Jira".into()),
        version: info.version.unwrap_or_default(),
        display_name: me.display_name.unwrap_or_else(|| me.account_id.clone()),
        account_id: me.account_id,
        email_address: me.email_address,
        is_admin,
        time_zone: me.time_zone,
        checked_at: now,
    })
}
