//! Talking to Jira Cloud: the site address, the HTTP client and what it reads.

mod client;
mod connection;
mod download;
pub mod paging;
mod site_url;
pub mod throttle;

pub use client::{status_error, ClientOptions, JiraClient};
pub use connection::{check_connection, ConnectionReport};
pub use download::Downloaded;
pub use site_url::{validate_email, SiteUrl};
