//! Test support for Backup Center: the Jira Cloud simulator ([`sim`]) and the harness that
//! starts real parts (Xvfb, the Secret Service, WebKitWebDriver) for end-to-end tests
//! ([`harness`]).

pub mod harness;
pub mod sim;
