//! Snapshots: what a Basic or Extended snapshot holds ([`walk`]), how the walk is fed to the
//! file ([`sink`]), and progress events ([`progress`]).

pub mod issues;
pub mod media;
pub mod progress;
pub mod sink;
pub mod walk;
