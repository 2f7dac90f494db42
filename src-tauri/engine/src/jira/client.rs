//! The HTTP client for one Jira Cloud site: Basic auth with an API token, timeouts, no
//! automatic redirects (credentials must never follow one to another origin), and every
//! failure turned into an actionable [`Error`].

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, LOCATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::SiteUrl;
use crate::error::{Error, ErrorKind, Result, Retry};
use crate::secrets::Sensitive;

/// Knobs for [`JiraClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Connect and whole-request timeout.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
        }
    }
}

/// A client bound to one site and one account.
pub struct JiraClient {
    http: reqwest::Client,
    site: SiteUrl,
    email: String,
    token: Sensitive<String>,
    options: ClientOptions,
}

impl std::fmt::Debug for JiraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraClient")
            .field("site", &self.site.as_str())
            .field("email", &self.email)
            .field("token", &self.token)
            .finish()
    }
}

impl JiraClient {
    pub fn new(
        site: SiteUrl,
        email: String,
        token: Sensitive<String>,
        options: ClientOptions,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("BackupCenter/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.timeout)
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal("Could not set up the HTTP client.").with_source(e))?;
        Ok(Self {
            http,
            site,
            email,
            token,
            options,
        })
    }

    pub fn site(&self) -> &SiteUrl {
        &self.site
    }

    /// GETs `path_and_query` and decodes the JSON body. `what` names the data in messages,
    /// e.g. "your user profile".
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        what: &str,
    ) -> Result<T> {
        let (status, headers, body) = self.send(Method::GET, path_and_query, what).await?;
        if !status.is_success() {
            return Err(status_error(status, &headers, &body, &self.site, what));
        }
        serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                ErrorKind::JiraServer,
                format!("Jira sent a reply we could not read for {what}."),
            )
            .with_context("path", path_and_query)
            .with_source(e)
        })
    }

    /// Sends a request and returns status, headers and the body (errors are the caller's).
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        what: &str,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>)> {
        let url = self.site.join(path_and_query);
        tracing::debug!(%method, url = %url, "jira request");
        let resp = self
            .http
            .request(method, &url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, self.basic_auth())
            .send()
            .await
            .map_err(|e| transport_error(e, &self.site, &self.options, what))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport_error(e, &self.site, &self.options, what))?;
        tracing::debug!(status = status.as_u16(), bytes = body.len(), "jira reply");
        Ok((status, headers, body.to_vec()))
    }

    fn basic_auth(&self) -> String {
        use base64::Engine as _;
        let raw = format!("{}:{}", self.email, self.token.expose());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
        )
    }
}

/// The `errorMessages` of Jira's ErrorCollection body, joined; empty when there are none.
fn jira_error_messages(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorCollection {
        #[serde(default, rename = "errorMessages")]
        error_messages: Vec<String>,
        #[serde(default)]
        errors: std::collections::BTreeMap<String, String>,
    }
    match serde_json::from_slice::<ErrorCollection>(body) {
        Ok(c) => c
            .error_messages
            .into_iter()
            .chain(c.errors.into_iter().map(|(k, v)| format!("{k}: {v}")))
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => String::new(),
    }
}

/// Maps a non-success HTTP answer to an actionable error.
pub fn status_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    site: &SiteUrl,
    what: &str,
) -> Error {
    let detail = jira_error_messages(body);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let err =
        match status.as_u16() {
            401 if header("X-Seraph-LoginReason").contains("AUTHENTICATION_DENIED") => Error::new(
                ErrorKind::JiraAuth,
                format!(
                    "Jira has temporarily blocked sign-ins for this account after repeated \
                 failures (CAPTCHA). Sign in to {site} once in a web browser, then try again."
                ),
            ),
            401 => Error::new(
                ErrorKind::JiraAuth,
                format!(
                "Jira rejected the email or API token for {site} (401 Unauthorized). Check the \
                 email, and if the token was revoked or has expired (API tokens expire after at \
                 most a year), create a new one at id.atlassian.com → Security → API tokens and \
                 enter it here."
            ),
            ),
            403 => Error::new(
                ErrorKind::JiraForbidden,
                format!(
                "Jira refused access to {what} on {site} (403 Forbidden): the account signed in \
                 but lacks the permission.{}",
                if detail.is_empty() { String::new() } else { format!(" Jira said: {detail}") }
            ),
            ),
            429 => {
                let after = header("Retry-After");
                Error::new(
                    ErrorKind::JiraRateLimited,
                    format!(
                    "Jira is rate-limiting requests from this account{}. Backup Center will slow \
                     down and retry.",
                    if after.is_empty() {
                        String::new()
                    } else {
                        format!(" (retry after {after} s)")
                    }
                ),
                )
                .with_context("ratelimit_reason", header("RateLimit-Reason"))
            }
            300..=399 => Error::new(
                ErrorKind::NotJiraCloud,
                format!(
                    "{site} redirected to {}. Use the address Jira itself uses as the site URL.",
                    header(LOCATION.as_str())
                ),
            ),
            500..=599 => Error::new(
                ErrorKind::JiraServer,
                format!(
                "Jira had a problem answering {what} ({}). This is usually temporary; try again \
                 in a few minutes.",
                status
            ),
            ),
            _ => Error::new(
                ErrorKind::JiraServer,
                format!(
                    "Jira answered {status} for {what}.{}",
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(" Jira said: {detail}")
                    }
                ),
            )
            .with_retry(Retry::Permanent),
        };
    err.with_context("status", status.as_u16().to_string())
        .with_context("site", site.as_str())
}

/// Maps a failure below HTTP (DNS, TCP, TLS, timeouts) to an actionable error.
fn transport_error(
    e: reqwest::Error,
    site: &SiteUrl,
    options: &ClientOptions,
    what: &str,
) -> Error {
    let host = site.host();
    let chain = {
        let mut s = String::new();
        let mut cur: Option<&dyn std::error::Error> = Some(&e);
        while let Some(c) = cur {
            s.push_str(&c.to_string().to_lowercase());
            s.push(' ');
            cur = c.source();
        }
        s
    };
    let io_kind = {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
        let mut kind = None;
        while let Some(c) = cur {
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                kind = Some(io.kind());
            }
            cur = c.source();
        }
        kind
    };
    let (kind, message) = if e.is_timeout() {
        (
            ErrorKind::Timeout,
            format!(
                "{host} did not answer within {} s while reading {what}. Check your network \
                 connection or proxy, then try again.",
                options.timeout.as_secs()
            ),
        )
    } else if chain.contains("dns error") || chain.contains("failed to lookup address") {
        (
            ErrorKind::Dns,
            format!(
                "The name {host} could not be found (DNS). Check the site URL, e.g. \
                 https://your-team.atlassian.net, and your network connection."
            ),
        )
    } else if chain.contains("certificate") || chain.contains("invalid peer") {
        (
            ErrorKind::Tls,
            format!(
                "The secure connection to {host} failed: its TLS certificate could not be \
                 verified. Check the site URL; if your network inspects HTTPS traffic, its \
                 certificate authority must be installed in the system's trust store."
            ),
        )
    } else if chain.contains("tls") || chain.contains("handshake") || chain.contains("ssl") {
        (
            ErrorKind::Tls,
            format!(
                "The secure (TLS) connection to {host} failed during the handshake. Check that \
                 the site URL is right and that nothing on your network intercepts HTTPS."
            ),
        )
    } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused) || e.is_connect() {
        (
            ErrorKind::Unreachable,
            format!(
                "Could not connect to {host}: the connection was refused or the host is \
                 unreachable. Check the site URL and your network connection."
            ),
        )
    } else {
        (
            ErrorKind::Unreachable,
            format!(
                "The connection to {host} failed while reading {what}. Check your network \
                 connection and try again."
            ),
        )
    };
    Error::new(kind, message)
        .with_context("site", site.as_str())
        .with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> SiteUrl {
        SiteUrl::parse("https://acme.atlassian.net").unwrap()
    }

    #[test]
    fn statuses_map_to_kinds_and_actionable_messages() {
        let h = HeaderMap::new();
        let e = status_error(StatusCode::UNAUTHORIZED, &h, b"", &site(), "x");
        assert_eq!(e.kind, ErrorKind::JiraAuth);
        assert!(e.message().contains("expire"), "{}", e.message());
        let body = br#"{"errorMessages":["You do not have permission."],"errors":{}}"#;
        let e = status_error(StatusCode::FORBIDDEN, &h, body, &site(), "your profile");
        assert_eq!(e.kind, ErrorKind::JiraForbidden);
        assert!(e.message().contains("You do not have permission."));
        let e = status_error(StatusCode::BAD_GATEWAY, &h, b"<html>", &site(), "x");
        assert_eq!(e.kind, ErrorKind::JiraServer);
        assert!(e.is_transient());
        let e = status_error(StatusCode::TOO_MANY_REQUESTS, &h, b"", &site(), "x");
        assert_eq!(e.kind, ErrorKind::JiraRateLimited);
        assert!(e.is_transient());
    }

    #[test]
    fn captcha_lockout_is_told_apart() {
        let mut h = HeaderMap::new();
        h.insert(
            "X-Seraph-LoginReason",
            "AUTHENTICATION_DENIED".parse().unwrap(),
        );
        let e = status_error(StatusCode::UNAUTHORIZED, &h, b"", &site(), "x");
        assert!(e.message().contains("CAPTCHA"), "{}", e.message());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = JiraClient::new(
            site(),
            "a@b.co".into(),
            Sensitive::new("super-secret-token".into()),
            ClientOptions::default(),
        )
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("super-secret-token"), "{dbg}");
    }
}
