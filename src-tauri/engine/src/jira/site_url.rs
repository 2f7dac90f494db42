//! A Jira Cloud site address, validated and normalised.

use std::fmt;

use url::{Host, Url};

use crate::error::{Error, Result};

/// `scheme://host[:port]` with no path, query or trailing slash. Only `https`, except plain
/// `http` on the loopback address (the simulator and local test servers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteUrl(Url);

const EXAMPLE: &str = "https://your-team.atlassian.net";

impl SiteUrl {
    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid_input(format!(
                "Enter the Jira site URL, e.g. {EXAMPLE}."
            )));
        }
        // People paste "acme.atlassian.net": assume https.
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_string()
        } else {
            format!("https://{trimmed}")
        };
        let bad = || {
            Error::invalid_input(format!(
                "\"{trimmed}\" is not a valid site URL. Use the address you open Jira with, \
                 e.g. {EXAMPLE}."
            ))
        };
        let mut url = Url::parse(&with_scheme).map_err(|_| bad())?;
        let host = url.host().ok_or_else(bad)?;
        let loopback = match &host {
            Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
            Host::Ipv4(ip) => ip.is_loopback(),
            Host::Ipv6(ip) => ip.is_loopback(),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(Error::invalid_input(format!(
                    "Use an https:// address (Jira Cloud only speaks HTTPS), e.g. {EXAMPLE}."
                )))
            }
            _ => return Err(bad()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid_input(
                "Do not put the email or token in the site URL; enter them in their own fields.",
            ));
        }
        url.set_path("");
        url.set_query(None);
        url.set_fragment(None);
        Ok(Self(url))
    }

    /// The normalised form, e.g. `https://acme.atlassian.net`.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    pub fn host(&self) -> String {
        self.0.host_str().unwrap_or_default().to_string()
    }

    /// An absolute URL for an API path such as `/rest/api/3/myself`.
    pub fn join(&self, path_and_query: &str) -> String {
        format!("{}{}", self.as_str(), path_and_query)
    }
}

impl fmt::Display for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plausible email address: one `@`, a non-empty local part, a dotted domain, no spaces.
/// Jira is the real judge; this only catches typos early.
pub fn validate_email(input: &str) -> Result<String> {
    let email = input.trim();
    let bad = || {
        Error::invalid_input(format!(
            "\"{email}\" is not a valid email address. Use the email of the Atlassian account \
             that owns the API token."
        ))
    };
    if email.is_empty() {
        return Err(Error::invalid_input(
            "Enter the email of the Atlassian account that owns the API token.",
        ));
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let ok = !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(email.to_string())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn norm(s: &str) -> String {
        SiteUrl::parse(s).unwrap().as_str().to_string()
    }

    #[test]
    fn normalises_slashes_paths_and_case() {
        assert_eq!(
            norm("https://acme.atlassian.net/"),
            "https://acme.atlassian.net"
        );
        assert_eq!(
            norm("  https://ACME.atlassian.net/jira/software/projects/X/boards/1?x=1#y "),
            "https://acme.atlassian.net"
        );
        assert_eq!(norm("acme.atlassian.net"), "https://acme.atlassian.net");
        assert_eq!(norm("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(norm("http://localhost:9/x"), "http://localhost:9");
        assert_eq!(
            norm("https://jira.example.com:8443"),
            "https://jira.example.com:8443"
        );
    }

    #[test]
    fn refuses_plain_http_other_schemes_and_garbage() {
        for bad in [
            "",
            "http://acme.atlassian.net",
            "ftp://acme.atlassian.net",
            "https://",
            "https://user:pw@acme.atlassian.net",
            "not a url at all",
            "http://10.0.0.1",
        ] {
            let e = SiteUrl::parse(bad).expect_err(bad);
            assert_eq!(e.kind, ErrorKind::InvalidInput, "{bad}");
            assert!(!e.message().is_empty());
        }
        let e = SiteUrl::parse("http://acme.atlassian.net").unwrap_err();
        assert!(e.message().contains("https://"), "{}", e.message());
    }

    #[test]
    fn join_builds_api_urls() {
        let u = SiteUrl::parse("https://acme.atlassian.net/").unwrap();
        assert_eq!(
            u.join("/rest/api/3/myself"),
            "https://acme.atlassian.net/rest/api/3/myself"
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            validate_email(" ada@example.com ").unwrap(),
            "ada@example.com"
        );
        assert!(validate_email("a.b+c@sub.example.co.uk").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.com",
            "ada@.com",
            "ada@example..com",
        ] {
            assert_eq!(
                validate_email(bad).unwrap_err().kind,
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }
}
