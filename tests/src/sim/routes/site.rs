//! Site and caller: `serverInfo`, `myself`, `mypermissions` (what "Test connection" needs).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::{error_collection, json_ok, not_authenticated, St};
use crate::sim::auth::{caller, Caller};
use crate::sim::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/rest/api/3/serverInfo", get(server_info))
        .route("/rest/api/3/myself", get(myself))
        .route("/rest/api/3/mypermissions", get(my_permissions))
}
async fn server_info(State(s): St, headers: HeaderMap) -> Response {
    // Anonymous access is allowed, but a rejected pair is still a 401.
    let who = match caller(&s, &headers) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let account = match who {
        Caller::User(u) => Some(u.account_id.as_str()),
        Caller::Anonymous => None,
    };
    json_ok(
        json!({
            "baseUrl": s.base_url,
            "displayUrl": s.base_url,
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100292,
            "buildDate": "2026-11-20T10:00:00.000+0000",
            "serverTime": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
            "scmInfo": "6f2d1b3a9c8e7f6d5c4b3a291807f6e5d4c3b2a1",
            "serverTitle": s.config.server_title,
            "serverTimeZone": "Etc/UTC"
        }),
        account,
    )
}

async fn myself(State(s): St, headers: HeaderMap) -> Response {
    let user = match caller(&s, &headers) {
        Ok(Caller::User(u)) => u,
        Ok(Caller::Anonymous) => return not_authenticated(),
        Err(r) => return r.into_response(),
    };
    if !user.jira_access {
        return error_collection(
            StatusCode::FORBIDDEN,
            &["You do not have access to Jira on this site. Ask a site admin for product access."],
        );
    }
    let avatar = |size: u32| {
        format!(
            "{}/avatar-management/initials/{}.png?size={size}",
            s.base_url, user.account_id
        )
    };
    json_ok(
        json!({
            "self": format!("{}/rest/api/3/user?accountId={}", s.base_url, user.account_id),
            "accountId": user.account_id,
            "accountType": "atlassian",
            "emailAddress": user.email,
            "displayName": user.display_name,
            "active": true,
            "timeZone": user.time_zone,
            "locale": "en_US",
            "avatarUrls": {
                "16x16": avatar(16), "24x24": avatar(24), "32x32": avatar(32), "48x48": avatar(48)
            },
            "groups": { "size": if user.admin { 3 } else { 1 }, "items": [] },
            "applicationRoles": { "size": 1, "items": [] },
            "expand": "groups,applicationRoles"
        }),
        Some(&user.account_id),
    )
}

/// The global permissions we know; Jira answers 400 for an unknown key.
const GLOBAL: &[(&str, &str, &str, &str)] = &[
    ("ADMINISTER", "0", "Administer Jira", "Create and administer projects, issue types, fields, workflows, and schemes for all projects. Users with this permission can perform most administration tasks, except: managing users, importing data, and editing system email settings."),
    ("SYSTEM_ADMIN", "44", "Administer Jira system", "Ability to perform all administration functions."),
    ("USER_PICKER", "27", "Browse users and groups", "View and select users or groups from the user picker, and share issues. Users with this permission can see the names of all users and groups on your site."),
    ("BROWSE_PROJECTS", "10", "Browse Projects", "Ability to browse projects and the issues within them."),
    ("ADMINISTER_PROJECTS", "23", "Administer Projects", "Ability to administer a project in Jira."),
];

async fn my_permissions(
    State(s): St,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let who = match caller(&s, &headers) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let Some(keys) = q.get("permissions").filter(|k| !k.trim().is_empty()) else {
        return error_collection(
            StatusCode::BAD_REQUEST,
            &["The 'permissions' query parameter is required."],
        );
    };
    let mut out = serde_json::Map::new();
    for key in keys.split(',').map(str::trim) {
        let Some((k, id, name, desc)) = GLOBAL.iter().find(|g| g.0 == key) else {
            return error_collection(
                StatusCode::BAD_REQUEST,
                &[&format!("Permission '{key}' does not exist.")],
            );
        };
        let have = match &who {
            Caller::Anonymous => false,
            Caller::User(u) if !u.jira_access => false,
            Caller::User(u) => match *k {
                "ADMINISTER" | "SYSTEM_ADMIN" | "ADMINISTER_PROJECTS" => u.admin,
                _ => true,
            },
        };
        let kind = if *k == "BROWSE_PROJECTS" || *k == "ADMINISTER_PROJECTS" {
            "PROJECT"
        } else {
            "GLOBAL"
        };
        out.insert(
            k.to_string(),
            json!({ "id": id, "key": k, "name": name, "type": kind, "description": desc, "havePermission": have }),
        );
    }
    let account = match who {
        Caller::User(u) => Some(u.account_id.as_str()),
        Caller::Anonymous => None,
    };
    json_ok(json!({ "permissions": out }), account)
}
