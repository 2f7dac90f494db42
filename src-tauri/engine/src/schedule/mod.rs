//! Scheduling: when schemes run.
//!
//! Everything here but [`scheduler`] is pure: the caller passes the instant (from a [`crate::clock::Clock`]), so
//! months of schedule can be tested in milliseconds.
//! - [`timing`]: days of the week, a time of day and an IANA zone ([`Timing`]).
//! - [`next_run_after`]: the first slot after an instant, correct across daylight-saving
//!   changes (see [`next`] for the rule).
//! - [`due`]: whether a run should start now, catching up a missed slot once.
//! - [`scheduler`]: the loop that starts due schemes while the app runs (not pure: it takes a
//!   clock, a way to sleep and an executor).
//!
//! Time zones come from `chrono-tz` (the IANA database compiled in, maintained by the chrono
//! project), so a schedule means the same on Windows, macOS and Linux.

pub mod next;
pub mod scheduler;
pub mod timing;

#[cfg(test)]
mod simulation;

pub use next::{due, latest_slot_at_or_before, next_run_after, slot_on, Due, MISSED_COUNT_LIMIT};
pub use timing::{parse_time_zone, Day, DaySet, TimeOfDay, Timing};
