//! The `run` table: every attempt of every scheme, from start to outcome.
//!
//! A running row doubles as the lock that keeps a scheme from overlapping itself, across the
//! app and the CLI (a unique index allows one `running` row per scheme). A live run refreshes
//! its heartbeat; a `running` row whose heartbeat is older than [`STALE_AFTER`] was left by a
//! process that died, and is marked `interrupted` (at start-up, or when the scheme next starts).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::{is_unique_violation, json_at, optional_time_at, time_at, time_text, Catalog};
use crate::error::{Error, ErrorKind, Result};

/// How often a live run refreshes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::seconds(30);
/// A running row not refreshed for this long belongs to a process that is gone.
pub const STALE_AFTER: Duration = Duration::seconds(120);

/// The message on runs found interrupted.
pub const INTERRUPTED_MESSAGE: &str = "The run was interrupted: Backup Center or the computer \
     stopped before it finished. Nothing it started counts as a backup; the next run starts over.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RunOutcome {
    Running,
    Succeeded,
    Failed,
    /// Stored and verified, but some sections could not be read (e.g. not a Jira admin).
    Partial,
    Interrupted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RunTrigger {
    Schedule,
    /// A slot missed while the app was closed or the machine asleep.
    CatchUp,
    Manual,
}

/// The steps of a run, in order. Named `RunPhase` across IPC, beside the snapshot's own
/// `Phase` (which walk step it is in); the container name does not reach JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", rename = "RunPhase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Phase {
    Snapshot,
    Verify,
    Store,
    Record,
    Rotate,
}

fn enum_text<T: Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn enum_from<T: serde::de::DeserializeOwned>(i: usize, text: String) -> rusqlite::Result<T> {
    serde_json::from_value(serde_json::Value::String(text)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Why a run did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    /// `None` for interrupted runs: nothing failed, the process stopped.
    pub kind: Option<ErrorKind>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub scheme_id: u32,
    pub trigger: RunTrigger,
    pub slot: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    /// Milliseconds spent in each phase that ran.
    pub phases: BTreeMap<Phase, u64>,
    pub bytes: Option<u64>,
    pub error: Option<RunError>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnding {
    pub outcome: RunOutcome,
    pub finished_at: DateTime<Utc>,
    pub phases: BTreeMap<Phase, u64>,
    pub bytes: Option<u64>,
    pub error: Option<RunError>,
}

const COLUMNS: &str = "id, scheme_id, trigger, slot, started_at, heartbeat_at, finished_at, \
                       outcome, phases, bytes, error_kind, error_message";

fn from_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let error_kind: Option<String> = r.get(10)?;
    let error_message: Option<String> = r.get(11)?;
    let bytes: Option<i64> = r.get(9)?;
    Ok(RunRecord {
        id: r.get(0)?,
        scheme_id: r.get(1)?,
        trigger: enum_from(2, r.get(2)?)?,
        slot: optional_time_at(r, 3)?,
        started_at: time_at(r, 4)?,
        heartbeat_at: time_at(r, 5)?,
        finished_at: optional_time_at(r, 6)?,
        outcome: enum_from(7, r.get(7)?)?,
        phases: json_at(r, 8)?,
        bytes: bytes.map(|b| b.max(0) as u64),
        error: error_message.map(|message| RunError {
            // A kind this build does not know (written by a newer one) reads as Internal.
            kind: error_kind.map(|k| enum_from(10, k).unwrap_or(ErrorKind::Internal)),
            message,
        }),
    })
}

fn not_found(id: i64) -> Error {
    Error::new(ErrorKind::NotFound, format!("Run #{id} does not exist."))
}

impl Catalog {
    /// Starts a run of a scheme unless one is already running; `None` means a live run holds
    /// the scheme (this process's or another's). A stale running row is marked interrupted
    /// first, so a crash never blocks a scheme for good.
    pub fn try_start_run(
        &self,
        scheme_id: u32,
        trigger: RunTrigger,
        slot: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>> {
        let id =
            {
                let mut conn = self.conn();
                let tx = conn.transaction()?;
                tx.execute(
                    "UPDATE run SET outcome = 'interrupted', finished_at = ?2, error_message = ?3 \
                 WHERE scheme_id = ?1 AND outcome = 'running' AND heartbeat_at <= ?4",
                    params![
                        scheme_id,
                        time_text(now),
                        INTERRUPTED_MESSAGE,
                        time_text(now - STALE_AFTER)
                    ],
                )?;
                let inserted = tx.execute(
                "INSERT INTO run (scheme_id, trigger, slot, started_at, heartbeat_at, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?4, 'running')",
                params![scheme_id, enum_text(trigger), slot.map(time_text), time_text(now)],
            );
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
                let id = tx.last_insert_rowid();
                tx.commit()?;
                id
            };
        self.get_run(id).map(Some)
    }

    /// Refreshes a live run's heartbeat (every [`HEARTBEAT_EVERY`]).
    pub fn heartbeat_run(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE run SET heartbeat_at = ?2 WHERE id = ?1 AND outcome = 'running'",
            params![id, time_text(now)],
        )?;
        if changed == 0 {
            return Err(not_running(id));
        }
        Ok(())
    }

    /// Records how a running run ended.
    ///
    /// # Errors
    /// `Internal` if the run is not running (already finished, or marked interrupted because
    /// its heartbeat stopped): its record must not be overwritten.
    pub fn finish_run(&self, id: i64, end: &RunEnding) -> Result<RunRecord> {
        if end.outcome == RunOutcome::Running {
            return Err(Error::internal("A run cannot finish as running."));
        }
        let phases = serde_json::to_string(&end.phases)
            .map_err(|e| Error::internal("Could not encode run phases.").with_source(e))?;
        let changed = self.conn().execute(
            "UPDATE run SET outcome = ?2, finished_at = ?3, phases = ?4, bytes = ?5, \
             error_kind = ?6, error_message = ?7 WHERE id = ?1 AND outcome = 'running'",
            params![
                id,
                enum_text(end.outcome),
                time_text(end.finished_at),
                phases,
                end.bytes.map(|b| i64::try_from(b).unwrap_or(i64::MAX)),
                end.error.as_ref().and_then(|e| e.kind).map(enum_text),
                end.error.as_ref().map(|e| e.message.clone()),
            ],
        )?;
        if changed == 0 {
            return Err(not_running(id));
        }
        self.get_run(id)
    }

    /// Crash safety at start-up: marks every `running` row whose heartbeat is at least
    /// `stale_after` old as interrupted, and returns them (their temporary files are for the
    /// caller to remove). Pass [`STALE_AFTER`]; a run of another live process (the CLI) keeps
    /// its heartbeat fresh and is left alone.
    pub fn mark_interrupted_runs(
        &self,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<Vec<RunRecord>> {
        let ids: Vec<i64> = {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            let ids = tx
                .prepare("SELECT id FROM run WHERE outcome = 'running' AND heartbeat_at <= ?1")?
                .query_map([time_text(now - stale_after)], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            for id in &ids {
                tx.execute(
                    "UPDATE run SET outcome = 'interrupted', finished_at = ?2, error_message = ?3 \
                     WHERE id = ?1",
                    params![id, time_text(now), INTERRUPTED_MESSAGE],
                )?;
            }
            tx.commit()?;
            ids
        };
        ids.into_iter().map(|id| self.get_run(id)).collect()
    }

    /// Every run still marked running (live, or left by a process that died), oldest first.
    pub fn running_runs(&self) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM run WHERE outcome = 'running' ORDER BY id"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Marks one running run interrupted, whatever its heartbeat: for a caller that knows its
    /// process is gone (its scheme lock was free, see `run::lock`). `None` if it was no
    /// longer running.
    pub fn interrupt_run(&self, id: i64, now: DateTime<Utc>) -> Result<Option<RunRecord>> {
        let changed = self.conn().execute(
            "UPDATE run SET outcome = 'interrupted', finished_at = ?2, error_message = ?3 \
             WHERE id = ?1 AND outcome = 'running'",
            params![id, time_text(now), INTERRUPTED_MESSAGE],
        )?;
        if changed == 0 {
            return Ok(None);
        }
        self.get_run(id).map(Some)
    }

    pub fn get_run(&self, id: i64) -> Result<RunRecord> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM run WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// A scheme's latest attempt, whatever its outcome.
    pub fn latest_run(&self, scheme_id: u32) -> Result<Option<RunRecord>> {
        Ok(self
            .run_history(Some(scheme_id), 1, None)?
            .into_iter()
            .next())
    }

    /// Every scheme's latest attempt (schemes that never ran have none), by scheme id.
    pub fn latest_runs(&self) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM run r WHERE id = (SELECT id FROM run WHERE scheme_id = \
             r.scheme_id ORDER BY started_at DESC, id DESC LIMIT 1) ORDER BY scheme_id"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A scheme's latest succeeded (or partial) run.
    pub fn latest_success(&self, scheme_id: u32) -> Result<Option<RunRecord>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM run WHERE scheme_id = ?1 AND outcome IN \
                     ('succeeded', 'partial') ORDER BY started_at DESC, id DESC LIMIT 1"
                ),
                [scheme_id],
                from_row,
            )
            .optional()?)
    }

    /// Attempts newest first, of one scheme or all; `before` (a run id) pages further back.
    pub fn run_history(
        &self,
        scheme_id: Option<u32>,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM run WHERE (?1 IS NULL OR scheme_id = ?1) \
             AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![scheme_id, before, limit], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn not_running(id: i64) -> Error {
    Error::internal(format!(
        "Run #{id} is no longer running (it finished, or was marked interrupted)."
    ))
}

#[cfg(test)]
#[path = "runs_tests.rs"]
mod tests;
