//! Basic auth as Jira Cloud does it: `email:api_token`, 401 with `X-Seraph-LoginReason` on a
//! bad pair, anonymous access where Jira allows it.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::SimState;

#[derive(Debug, Clone)]
pub struct SimUser {
    pub account_id: String,
    pub email: String,
    pub display_name: String,
    pub token: String,
    /// Holds the global "Administer Jira" permission.
    pub admin: bool,
    /// Has product access to Jira (without it, `/myself` answers 403).
    pub jira_access: bool,
    pub time_zone: String,
}

pub enum Caller<'a> {
    Anonymous,
    User(&'a SimUser),
}

/// Who is calling, or the 401 Jira sends for credentials it rejects.
pub fn caller<'a>(state: &'a SimState, headers: &HeaderMap) -> Result<Caller<'a>, Rejected> {
    let Some(value) = headers.get("authorization") else {
        return Ok(Caller::Anonymous);
    };
    let pair = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    let user = pair
        .as_deref()
        .and_then(|p| p.split_once(':'))
        .and_then(|(email, token)| {
            state
                .config
                .users
                .iter()
                .find(|u| u.email.eq_ignore_ascii_case(email) && u.token == token)
        });
    match user {
        Some(u) => Ok(Caller::User(u)),
        None => Err(Rejected),
    }
}

/// A Basic auth pair Jira does not accept.
pub struct Rejected;

impl IntoResponse for Rejected {
    fn into_response(self) -> Response {
        rejected()
    }
}

/// What Jira Cloud answers to a Basic auth pair it does not accept.
fn rejected() -> Response {
    let mut resp = (
        StatusCode::UNAUTHORIZED,
        "Basic authentication with passwords is deprecated.  For more information, see: \
         https://developer.atlassian.com/cloud/confluence/deprecation-notice-basic-auth/\n",
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(
        "X-Seraph-LoginReason",
        HeaderValue::from_static("AUTHENTICATED_FAILED"),
    );
    h.insert(
        "WWW-Authenticate",
        HeaderValue::from_static("Basic realm=\"protected-area\""),
    );
    h.insert(
        "content-type",
        HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    resp
}
