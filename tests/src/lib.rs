//! Test support for Backup Center: the Jira Cloud simulator ([`sim`]) and the harness that
//! starts real parts (Xvfb, the Secret Service, WebKitWebDriver, vsftpd, sshd) for end-to-end
//! tests ([`harness`]); what the destination tests share ([`storage`]); the snapshot
//! benchmarks' parts ([`bench`], run by `make bench`).

pub mod bench;
pub mod harness;
pub mod sim;
pub mod storage;
