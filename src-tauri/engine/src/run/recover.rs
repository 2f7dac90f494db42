//! Crash safety at start-up: what a killed run left behind is cleaned up before anything runs.

use std::collections::HashSet;

use super::lock::SchemeLock;
use super::RunContext;
use crate::catalog::runs::{RunOutcome, RunRecord, STALE_AFTER};
use crate::error::{Error, Result};
use crate::storage::{missing_is_empty, RemotePath};

/// What start-up recovery did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Runs found dead and marked interrupted.
    pub interrupted: Vec<RunRecord>,
    /// Temporary uploads removed from destinations.
    pub remote_temporaries_removed: usize,
    /// Records of files a killed run never finished, removed from the catalog.
    pub records_removed: usize,
    /// Staging folders (snapshot `.part` files, downloads) removed.
    pub staging_removed: usize,
    /// What could not be cleaned now (an unreachable destination); the next run of the scheme
    /// removes old temporaries itself.
    pub problems: Vec<String>,
}

/// 1. The catalog passes `PRAGMA integrity_check`.
/// 2. Running rows whose scheme lock is free (their process died, even seconds ago) and rows
///    whose heartbeat is stale are marked interrupted.
/// 3. For each interrupted run's destination folder: temporaries are removed, and the run's
///    unverified records are settled against the listing: a file listed with the size
///    recorded was renamed complete (the rename follows the full upload) and is marked
///    verified; any other is removed with its record. Records of the scheme whose file is
///    gone (a rotation cut short) are forgotten.
/// 4. Staging folders of runs no longer running are removed.
pub(super) async fn recover(ctx: &RunContext) -> Result<Recovery> {
    ctx.catalog.check_integrity()?;
    let now = ctx.clock.now();
    let mut report = Recovery::default();
    let mut held = Vec::new();
    for run in ctx.catalog.running_runs()? {
        // Held through the clean-up, so that no new run of the scheme starts meanwhile.
        if let Some(lock) = SchemeLock::try_take(&ctx.data_dir, run.scheme_id)? {
            if let Some(r) = ctx.catalog.interrupt_run(run.id, now)? {
                report.interrupted.push(r);
            }
            held.push(lock);
        }
    }
    // A live process whose heartbeat stopped (hung) is interrupted too; its own lock still
    // keeps a second run of the scheme out.
    report
        .interrupted
        .extend(ctx.catalog.mark_interrupted_runs(now, STALE_AFTER)?);
    for r in &report.interrupted {
        tracing::warn!(run = r.id, scheme = r.scheme_id, "run found interrupted");
    }

    let ctx2 = ctx.clone();
    let runs = report.interrupted.clone();
    let remote = tokio::task::spawn_blocking(move || clean_destinations(&ctx2, &runs))
        .await
        .map_err(|e| Error::internal("The recovery thread failed.").with_source(e))?;
    report.remote_temporaries_removed = remote.0;
    report.records_removed = remote.1;
    report.problems = remote.2;
    report.staging_removed = clean_staging(ctx)?;
    drop(held);
    Ok(report)
}

/// (temporaries removed, records removed, problems)
fn clean_destinations(ctx: &RunContext, runs: &[RunRecord]) -> (usize, usize, Vec<String>) {
    let mut totals = (0, 0, Vec::new());
    let mut done = HashSet::new();
    for run in runs {
        let Ok(scheme) = ctx.catalog.get_scheme(run.scheme_id) else {
            continue;
        };
        let s = &scheme.settings;
        if !done.insert((run.scheme_id, s.destination_id, s.folder.clone())) {
            continue;
        }
        match clean_folder(ctx, run, s.destination_id, &s.folder) {
            Ok((temporaries, records)) => {
                totals.0 += temporaries;
                totals.1 += records;
            }
            Err(e) => {
                tracing::warn!(run = run.id, error = %e.log_line(), "could not clean up after an interrupted run");
                totals.2.push(format!(
                    "Scheme \"{}\": could not clean up after the interrupted run: {}",
                    s.name,
                    e.message()
                ));
            }
        }
    }
    totals
}

fn clean_folder(
    ctx: &RunContext,
    run: &RunRecord,
    destination_id: u32,
    folder: &str,
) -> Result<(usize, usize)> {
    let destination_id = i64::from(destination_id);
    let folder = RemotePath::parse(folder)?;
    let destination = ctx
        .destinations
        .build(&ctx.catalog.get_destination(destination_id)?)?;
    let mut session = destination.open(ctx.secrets.as_ref())?;
    // The dead run's temporaries are older than now; a live upload elsewhere keeps writing
    // (and so its modification time moving) and is not the dead run's.
    let temporaries = session.cleanup_temporaries(&folder, ctx.clock.now())?;
    let listed = missing_is_empty(session.list(&folder))?;
    let mut records = 0;
    for b in ctx
        .catalog
        .backups_in_folder(destination_id, folder.as_str())?
    {
        let mine = b.file.scheme_id == Some(run.scheme_id);
        let on_disk = listed.iter().find(|f| f.name == b.file.name);
        match on_disk {
            Some(f) if !b.file.verified && b.file.run_id == Some(run.id) => {
                if f.size == b.file.size {
                    ctx.catalog.set_backup_verified(b.id, true)?;
                } else {
                    session.remove(&folder.join(&b.file.name)?)?;
                    ctx.catalog.delete_backup(b.id)?;
                    records += 1;
                }
            }
            Some(_) => {}
            None if mine => {
                ctx.catalog.delete_backup(b.id)?;
                records += 1;
            }
            None => {}
        }
    }
    Ok((temporaries, records))
}

/// Removes `staging/run-<id>` folders whose run is not running any more.
fn clean_staging(ctx: &RunContext) -> Result<usize> {
    let root = ctx.staging_root();
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(Error::internal(format!(
                "Could not list the staging folder {}.",
                root.display()
            ))
            .with_source(e))
        }
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let id = name
            .to_str()
            .and_then(|n| n.strip_prefix("run-"))
            .and_then(|n| n.parse::<i64>().ok());
        let live = match id {
            Some(id) => ctx
                .catalog
                .get_run(id)
                .is_ok_and(|r| r.outcome == RunOutcome::Running),
            None => false,
        };
        if !live && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}
