//! # Backup Center engine
//!
//! Everything Backup Center does that is not a window: the Jira Cloud client ([`jira`]), the
//! local catalog ([`catalog`]), the OS keychain ([`secrets`]), the configured sites
//! ([`sites`]), the snapshot files a backup produces ([`snapshot`]), the destinations that
//! keep them ([`storage`]), backup schemes ([`schemes`]), when they run ([`schedule`]) and
//! which old files rotation removes ([`retention`]). It never depends on tauri, so the desktop
//! app, the headless CLI and the tests drive the same code.
//!
//! Data flows one way: the caller (a Tauri command or the CLI) calls a use-case function in
//! [`sites`], which validates input, reads secrets from a [`secrets::SecretStore`], talks to
//! Jira through [`jira::JiraClient`] and records what it learned in the [`catalog::Catalog`].
//! Every failure is an [`Error`] with a kind, a retry class and an actionable message.

pub mod catalog;
pub mod checksum;
pub mod clock;
pub mod data_dir;
pub mod destinations;
pub mod error;
pub mod jira;
pub mod process;
pub mod retention;
pub mod run;
pub mod schedule;
pub mod schemes;
pub mod secrets;
pub mod sites;
pub mod snapshot;
pub mod storage;

pub use error::{Error, ErrorKind, Result, Retry};
