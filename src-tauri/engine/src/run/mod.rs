//! Backup runs: snapshot → verify → store → record → rotate, for one or several schemes.
//!
//! # A run
//! 1. **Lock**: the scheme's OS lock ([`lock`]) and then its running row in the catalog
//!    ([`Catalog::try_start_run`]); a scheme already running elsewhere (the app, the CLI) is
//!    reported [`SchemeResult::Busy`] and not touched. Heartbeats refresh the row meanwhile.
//! 2. **Snapshot** into a staging folder (`<data dir>/staging/run-<id>/`), through
//!    [`take_snapshot`], which verifies every entry before it names the file `.zip`.
//! 3. **Verify**: the manifest (entity counts, partial sections) and the whole file's SHA-256
//!    and size, for the catalog.
//! 4. **Store** on each destination: the catalog first records the file as *unverified*, then
//!    [`Session::put`] streams it to a temporary name and renames it; the listing must show it
//!    with the size sent before the record is marked verified.
//! 5. **Rotate** with [`retention::files_to_delete`], only after that verified success, and
//!    only the scheme's own recorded files.
//!
//! When several schemes of one site and type are due in the same slot ([`Group`]), the site is
//! snapshotted once and the file goes to each scheme's destination; each scheme still gets its
//! own run record. A failure before storing fails every scheme of the group and deletes
//! nothing. Only transient errors ([`crate::Retry::Transient`]) are retried.
//!
//! # Crash safety
//! [`Runner::recover`] runs at start-up (app and CLI): runs whose process is gone are marked
//! interrupted, their staging folders and remote temporaries removed, their unverified
//! records settled against what the destination lists, and the catalog integrity-checked.
//!
//! Time comes from the [`Clock`]; phase durations use the monotonic clock (they describe a
//! run and decide nothing).
//!
//! [`Catalog::try_start_run`]: crate::catalog::Catalog::try_start_run
//! [`take_snapshot`]: crate::snapshot::take_snapshot
//! [`Session::put`]: crate::storage::Session::put
//! [`retention::files_to_delete`]: crate::retention::files_to_delete

mod execute;
pub mod lock;
mod pause;
mod recover;
mod store;
pub mod targets;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::backups::BackupRecord;
use crate::catalog::runs::{RunOutcome, RunRecord, RunTrigger};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::jira::ClientOptions;
use crate::schemes::Scheme;
use crate::secrets::SecretStore;
use crate::snapshot::progress::Progress;
use crate::snapshot::SnapshotKind;

pub use recover::Recovery;
pub use targets::{CatalogDestinations, Destinations};

/// Retries and pacing of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Whole snapshots tried when one fails transiently (the Jira client already retries each
    /// request; this covers a walk that still broke off).
    pub snapshot_attempts: u32,
    /// Uploads tried per destination when the connection fails transiently; later attempts
    /// reconnect and continue the temporary where the protocol can.
    pub store_attempts: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            snapshot_attempts: 2,
            store_attempts: 3,
            retry_delay: Duration::from_secs(30),
        }
    }
}

/// What a run reports while it works.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum RunEvent {
    /// These schemes' runs started (one snapshot for all of them).
    Started {
        scheme_ids: Vec<u32>,
        run_ids: Vec<i64>,
    },
    /// Snapshot progress (shared by the group).
    Snapshot { progress: Progress },
    /// Bytes stored so far on one scheme's destination.
    Upload {
        scheme_id: u32,
        sent: u64,
        total: u64,
    },
    /// One scheme's run ended.
    Finished {
        scheme_id: u32,
        run_id: i64,
        outcome: RunOutcome,
        message: Option<String>,
    },
}

pub type RunEventFn = Arc<dyn Fn(RunEvent) + Send + Sync>;

/// Everything a run needs from outside.
#[derive(Clone)]
pub struct RunContext {
    pub catalog: Arc<Catalog>,
    pub secrets: Arc<dyn SecretStore>,
    pub clock: Arc<dyn Clock>,
    pub destinations: Arc<dyn Destinations>,
    pub jira_options: ClientOptions,
    /// Backup Center's data folder: staging and run locks live here.
    pub data_dir: PathBuf,
    pub options: RunOptions,
    pub events: RunEventFn,
}

impl RunContext {
    /// The real thing for `data_dir`: local destination folders below it, no event listener.
    pub fn new(
        catalog: Arc<Catalog>,
        secrets: Arc<dyn SecretStore>,
        clock: Arc<dyn Clock>,
        data_dir: &Path,
    ) -> Self {
        Self {
            catalog,
            secrets,
            clock,
            destinations: Arc::new(CatalogDestinations::new(data_dir)),
            jira_options: ClientOptions::default(),
            data_dir: data_dir.to_path_buf(),
            options: RunOptions::default(),
            events: Arc::new(|_| {}),
        }
    }

    fn staging_root(&self) -> PathBuf {
        self.data_dir.join("staging")
    }
}

/// Schemes of one site and type run together from one snapshot.
#[derive(Debug, Clone)]
pub struct Group {
    pub site_id: u32,
    pub kind: SnapshotKind,
    /// The scheduled slot they stand for; `None` for a manual run.
    pub slot: Option<DateTime<Utc>>,
    pub members: Members,
}

/// The schemes of a [`Group`], each with why it runs.
pub type Members = Vec<(Scheme, RunTrigger)>;

impl Group {
    /// Groups schemes by site and type (for one slot, or a manual run). Order is kept.
    pub fn of(schemes: Members, slot: Option<DateTime<Utc>>) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        for (scheme, trigger) in schemes {
            let (site_id, kind) = (scheme.settings.site_id, scheme.settings.kind);
            match groups
                .iter_mut()
                .find(|g| g.site_id == site_id && g.kind == kind)
            {
                Some(g) => g.members.push((scheme, trigger)),
                None => groups.push(Group {
                    site_id,
                    kind,
                    slot,
                    members: vec![(scheme, trigger)],
                }),
            }
        }
        groups
    }
}

/// How one scheme's part of a run ended.
#[derive(Debug, Clone)]
pub enum SchemeResult {
    /// The scheme is running elsewhere (the app, the CLI, or this process): nothing was done.
    Busy { scheme_id: u32 },
    /// It ran; the record says how it ended.
    Ran(Box<SchemeRun>),
}

/// A scheme's run that took place.
#[derive(Debug, Clone)]
pub struct SchemeRun {
    pub run: RunRecord,
    /// The new file, verified on the destination, when the run stored one.
    pub file: Option<BackupRecord>,
    /// Old files rotation deleted.
    pub deleted: Vec<String>,
}

impl SchemeResult {
    pub fn scheme_id(&self) -> u32 {
        match self {
            SchemeResult::Busy { scheme_id } => *scheme_id,
            SchemeResult::Ran(r) => r.run.scheme_id,
        }
    }

    /// The run, unless the scheme was busy.
    pub fn ran(&self) -> Option<&SchemeRun> {
        match self {
            SchemeResult::Ran(r) => Some(r),
            SchemeResult::Busy { .. } => None,
        }
    }

    /// The failure, when the run failed (a busy scheme is not a failure).
    pub fn error(&self) -> Option<Error> {
        let run = &self.ran()?.run;
        if !matches!(run.outcome, RunOutcome::Failed | RunOutcome::Interrupted) {
            return None;
        }
        let e = run.error.as_ref();
        Some(Error::new(
            e.and_then(|e| e.kind).unwrap_or(ErrorKind::Internal),
            e.map(|e| e.message.clone())
                .unwrap_or_else(|| "The run failed.".into()),
        ))
    }
}

/// Runs schemes. Cheap to share (`Arc`); every run is independent.
pub struct Runner {
    ctx: RunContext,
}

impl Runner {
    pub fn new(ctx: RunContext) -> Self {
        Self { ctx }
    }

    pub fn context(&self) -> &RunContext {
        &self.ctx
    }

    /// Runs one scheme now (a manual run, or the CLI's `run --scheme`), paused or not.
    ///
    /// # Errors
    /// `NotFound` for an unknown scheme; `Catalog` when the catalog fails. A failed run is
    /// not an error here: see [`SchemeResult::Ran`].
    pub async fn run_scheme_now(&self, scheme_id: u32) -> Result<SchemeResult> {
        let scheme = self.ctx.catalog.get_scheme(scheme_id)?;
        let group = Group::of(vec![(scheme, RunTrigger::Manual)], None);
        let mut results = Vec::new();
        for g in group {
            results.extend(self.run_group(g).await?);
        }
        results
            .pop()
            .ok_or_else(|| Error::internal("A manual run produced no result."))
    }

    /// Runs `group` (see [`Group`]); one result per member.
    ///
    /// # Errors
    /// Only when the catalog cannot record the runs; a failing Jira or destination is the
    /// runs' outcome.
    pub async fn run_group(&self, group: Group) -> Result<Vec<SchemeResult>> {
        execute::run_group(&self.ctx, group).await
    }

    /// Runs what is due now, once per missed period ([`crate::schedule::due`]), grouping
    /// schemes of one site, type and slot; records each slot handled once its run ended.
    /// Schemes running elsewhere are left for that process.
    ///
    /// # Errors
    /// As [`Runner::run_group`].
    pub async fn run_due(&self) -> Result<Vec<SchemeResult>> {
        let now = self.ctx.clock.now();
        let schemes = self.ctx.catalog.list_schemes_with_last_handled()?;
        let mut results = Vec::new();
        for group in crate::schedule::scheduler::due_groups(&schemes, now) {
            results.extend(self.run_due_group(group).await?);
        }
        Ok(results)
    }

    /// Runs a due group and records its slot handled for every member that ran (whatever
    /// the outcome: retries happen inside the run, not every minute after it).
    ///
    /// # Errors
    /// As [`Runner::run_group`].
    pub async fn run_due_group(&self, group: Group) -> Result<Vec<SchemeResult>> {
        let slot = group.slot;
        let results = self.run_group(group).await?;
        if let Some(slot) = slot {
            for r in &results {
                if let Some(ran) = r.ran() {
                    self.ctx
                        .catalog
                        .record_slot_handled(ran.run.scheme_id, slot)?;
                }
            }
        }
        Ok(results)
    }

    /// Crash safety at start-up; see [`recover::recover`].
    ///
    /// # Errors
    /// `Catalog` when the catalog is damaged or cannot be written. Destinations that cannot
    /// be reached are reported in [`Recovery::problems`], not as an error.
    pub async fn recover(&self) -> Result<Recovery> {
        recover::recover(&self.ctx).await
    }
}
