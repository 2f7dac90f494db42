//! The HTTP client for one Jira Cloud site: Basic auth with an API token, timeouts, no
//! automatic redirects (credentials must never follow one to another origin), and every
//! failure turned into an actionable [`Error`].

use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, LOCATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::paging::{read_page, with_offset, Next, PageStyle};
use super::throttle::{near_limit, retry_after, Jitter, Throttle, ThrottleOptions};
use super::SiteUrl;
use crate::error::{Error, ErrorKind, Result, Retry};
use crate::secrets::Sensitive;

/// Knobs for [`JiraClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Connect and whole-request timeout.
    pub timeout: Duration,
    /// Retries of a transient failure (timeouts, dropped connections, 5xx) before giving up.
    pub max_retries: u32,
    /// 429 answers tolerated in a row for one request before giving up.
    pub max_rate_limited: u32,
    pub throttle: ThrottleOptions,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_retries: 6,
            max_rate_limited: 30,
            throttle: ThrottleOptions::default(),
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
    throttle: Arc<Throttle>,
    jitter: Jitter,
    /// Bytes of successful JSON answers, for progress (downloads count their own).
    received: Arc<AtomicU64>,
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
        let throttle = Arc::new(Throttle::new(options.throttle.clone()));
        // Jitter only spreads retries apart; any seed that differs between runs will do.
        let seed = std::process::id() as u64 ^ (&throttle as *const _ as u64);
        Ok(Self {
            http,
            site,
            email,
            token,
            options,
            throttle,
            jitter: Jitter::new(seed),
            received: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The running count of JSON bytes received, shared with whoever reports progress.
    pub fn received_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.received)
    }

    pub fn site(&self) -> &SiteUrl {
        &self.site
    }

    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// A request to this site with Jira's credentials.
    pub(crate) fn authed(&self, method: Method, path_and_query: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.site.join(path_and_query))
            .header(AUTHORIZATION, self.basic_auth())
    }

    /// A request to any URL without credentials (public media on other origins).
    pub(crate) fn anonymous(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.get(url)
    }

    pub(crate) fn transport(&self, e: reqwest::Error, what: &str) -> Error {
        transport_error(e, &self.site, &self.options, what)
    }

    /// GETs `path_and_query` and decodes the JSON body. `what` names the data in messages,
    /// e.g. "your user profile".
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        what: &str,
    ) -> Result<T> {
        let answer = self.send(Method::GET, path_and_query, what).await?;
        self.decode(answer, path_and_query, what)
    }

    /// Sends one request, once, and returns status, headers and the body (HTTP errors are the
    /// caller's). "Test connection" uses it directly: the user wants a quick answer.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        what: &str,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>)> {
        self.send_once(method, path_and_query, None, what).await
    }

    async fn send_once(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>)> {
        let url = self.site.join(path_and_query);
        tracing::debug!(%method, url = %url, "jira request");
        let mut req = self
            .http
            .request(method, &url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, self.basic_auth());
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
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

    /// Sends a request through the throttle, retrying what may succeed later: transient
    /// failures with exponential backoff and jitter, rate limits after Jira's `Retry-After`.
    /// Returns the final answer, successful or not.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>)> {
        let (mut failures, mut limited) = (0u32, 0u32);
        loop {
            let permit = self.throttle.acquire().await;
            let result = self
                .send_once(method.clone(), path_and_query, body, what)
                .await;
            drop(permit);
            match result {
                Ok((status, headers, bytes)) => {
                    let wait = retry_after(&headers);
                    let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                        || (status == StatusCode::SERVICE_UNAVAILABLE && wait.is_some());
                    if rate_limited && limited < self.options.max_rate_limited {
                        limited += 1;
                        let wait = wait
                            .unwrap_or_else(|| self.throttle.backoff(limited, self.jitter.unit()));
                        tracing::debug!(
                            path = path_and_query,
                            wait_ms = wait.as_millis() as u64,
                            "rate limited"
                        );
                        self.throttle.on_rate_limited(wait);
                        continue;
                    }
                    if status.is_server_error()
                        && !rate_limited
                        && failures < self.options.max_retries
                    {
                        self.pause_before_retry(&mut failures, path_and_query, status.as_str())
                            .await;
                        continue;
                    }
                    if status.is_success() {
                        self.throttle.on_success();
                        if near_limit(&headers) {
                            self.throttle.on_near_limit();
                        }
                    }
                    return Ok((status, headers, bytes));
                }
                Err(e) if e.is_transient() && failures < self.options.max_retries => {
                    self.pause_before_retry(&mut failures, path_and_query, e.message())
                        .await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn pause_before_retry(&self, failures: &mut u32, path: &str, why: &str) {
        let wait = self.throttle.backoff(*failures, self.jitter.unit());
        *failures += 1;
        tracing::debug!(
            path,
            attempt = *failures,
            wait_ms = wait.as_millis() as u64,
            why,
            "retrying"
        );
        tokio::time::sleep(wait).await;
    }

    /// [`call`](Self::call), then a successful JSON body decoded, or an actionable error.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<T> {
        let answer = self.call(method, path_and_query, body, what).await?;
        self.decode(answer, path_and_query, what)
    }

    /// A successful answer's JSON body, or the actionable error for the answer.
    fn decode<T: DeserializeOwned>(
        &self,
        (status, headers, bytes): (StatusCode, HeaderMap, Vec<u8>),
        path_and_query: &str,
        what: &str,
    ) -> Result<T> {
        if !status.is_success() {
            return Err(status_error(status, &headers, &bytes, &self.site, what));
        }
        self.received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(
                ErrorKind::JiraServer,
                format!("Jira sent a reply we could not read for {what}."),
            )
            .with_context("path", path_and_query)
            .with_source(e)
        })
    }

    /// Walks every page of an offset-paged GET endpoint, handing each page's items to `each`.
    pub async fn for_each_page(
        &self,
        style: PageStyle,
        path: &str,
        page_size: u32,
        what: &str,
        mut each: impl FnMut(Vec<Value>) -> Result<()>,
    ) -> Result<()> {
        let mut start = 0u64;
        loop {
            let body: Value = self
                .json(
                    Method::GET,
                    &with_offset(path, start, page_size),
                    None,
                    what,
                )
                .await?;
            let page = read_page(style, body, start, what)?;
            each(page.items)?;
            match page.next {
                Next::Offset(next) => start = next,
                Next::Done => return Ok(()),
                Next::Token(_) => {
                    return Err(Error::internal(format!(
                        "{what}: token paging needs its own walker"
                    )))
                }
            }
        }
    }

    /// Every item of an offset-paged GET endpoint (for collections that fit in memory).
    pub async fn collect(
        &self,
        style: PageStyle,
        path: &str,
        page_size: u32,
        what: &str,
    ) -> Result<Vec<Value>> {
        let mut all = Vec::new();
        self.for_each_page(style, path, page_size, what, |items| {
            all.extend(items);
            Ok(())
        })
        .await?;
        Ok(all)
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
            404 => {
                Error::new(
                    ErrorKind::NotFound,
                    format!(
                "Jira found no {what} (404): it was deleted, or this account may not see it.{}",
                if detail.is_empty() { String::new() } else { format!(" Jira said: {detail}") }
            ),
                )
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
