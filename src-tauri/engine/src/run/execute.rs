//! One group's run from lock to outcome: one snapshot, then each member's destination.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::lock::SchemeLock;
use super::pause::{self, Point};
use super::store::{self, Staged, Stored};
use super::{Group, RunContext, RunEvent, SchemeResult, SchemeRun};
use crate::catalog::runs::{
    Phase, RunEnding, RunError, RunOutcome, RunRecord, RunTrigger, HEARTBEAT_EVERY,
};
use crate::checksum::Sha256;
use crate::error::{Error, ErrorKind, Result};
use crate::jira::{JiraClient, SiteUrl};
use crate::schemes::Scheme;
use crate::secrets::SecretKey;
use crate::snapshot::progress::{Phase as SnapshotPhase, Tracker};
use crate::snapshot::walk::WalkOptions;
use crate::snapshot::{file_name, inspect, take_snapshot, SnapshotKind};

/// A member that got its lock and running row.
struct Active {
    scheme: Scheme,
    run: RunRecord,
    _lock: SchemeLock,
}

/// Milliseconds per phase.
pub(super) type Phases = BTreeMap<Phase, u64>;

pub(super) fn add_phase(phases: &mut Phases, phase: Phase, since: Instant) {
    let ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
    *phases.entry(phase).or_default() += ms;
}

pub(super) async fn run_group(ctx: &RunContext, group: Group) -> Result<Vec<SchemeResult>> {
    let mut results = Vec::new();
    let mut active = Vec::new();
    for (scheme, trigger) in group.members {
        match start(ctx, scheme, trigger, group.slot)? {
            Ok(a) => active.push(a),
            Err(scheme_id) => results.push(SchemeResult::Busy { scheme_id }),
        }
    }
    if active.is_empty() {
        return Ok(results);
    }
    (ctx.events)(RunEvent::Started {
        scheme_ids: active.iter().map(|a| a.scheme.id).collect(),
        run_ids: active.iter().map(|a| a.run.id).collect(),
    });
    let heartbeat = spawn_heartbeat(ctx, active.iter().map(|a| a.run.id).collect());
    let staging = ctx.staging_root().join(format!("run-{}", active[0].run.id));
    let mut shared = Phases::new();
    if let Err(e) = wait_for_a_free_name(ctx, group.site_id, group.kind, &active).await {
        tracing::warn!(error = %e.log_line(), "could not check earlier file names");
    }
    let snapshot = snapshot(ctx, group.site_id, group.kind, &staging, &mut shared).await;

    for a in active {
        let mut phases = shared.clone();
        let outcome = match &snapshot {
            Ok(staged) => {
                let stored = store_blocking(ctx, &a, staged).await;
                match stored {
                    Ok((s, p)) => {
                        phases.extend(p);
                        Ok((s, staged.size))
                    }
                    Err((e, p)) => {
                        phases.extend(p);
                        Err(e)
                    }
                }
            }
            Err(e) => Err(clone_error(e)),
        };
        results.push(finish(ctx, a, outcome, phases)?);
    }
    heartbeat.abort();
    if let Err(e) = std::fs::remove_dir_all(&staging) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %staging.display(), error = %e, "could not remove the staging folder");
        }
    }
    Ok(results)
}

/// Takes the scheme's lock and running row; `Err(id)` when it is running elsewhere.
fn start(
    ctx: &RunContext,
    scheme: Scheme,
    trigger: RunTrigger,
    slot: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Result<Active, u32>> {
    let Some(lock) = SchemeLock::try_take(&ctx.data_dir, scheme.id)? else {
        tracing::info!(scheme = scheme.id, "scheme busy in another run: left alone");
        return Ok(Err(scheme.id));
    };
    let now = ctx.clock.now();
    match ctx.catalog.try_start_run(scheme.id, trigger, slot, now)? {
        Some(run) => {
            tracing::info!(scheme = scheme.id, run = run.id, ?trigger, "run started");
            Ok(Ok(Active {
                scheme,
                run,
                _lock: lock,
            }))
        }
        None => Ok(Err(scheme.id)),
    }
}

/// File names carry the minute, and a backup is never overwritten: a second run in the same
/// minute (two clicks on "Backup now") waits for the next minute instead of failing. Bounded,
/// so that a clock that does not move cannot hold a run forever.
async fn wait_for_a_free_name(
    ctx: &RunContext,
    site_id: u32,
    kind: SnapshotKind,
    active: &[Active],
) -> Result<()> {
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(65);
    let site = ctx.catalog.get_site(i64::from(site_id))?;
    let host = SiteUrl::parse(&site.url)?.host();
    let started = Instant::now();
    loop {
        let name = file_name(&host, kind, ctx.clock.now());
        let mut taken = false;
        for a in active {
            let s = &a.scheme.settings;
            taken |= ctx
                .catalog
                .backups_in_folder(i64::from(s.destination_id), &s.folder)?
                .iter()
                .any(|b| b.file.name == name);
        }
        if !taken || started.elapsed() > LIMIT {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Refreshes the runs' heartbeats until aborted.
fn spawn_heartbeat(ctx: &RunContext, run_ids: Vec<i64>) -> tokio::task::JoinHandle<()> {
    let (catalog, clock) = (ctx.catalog.clone(), ctx.clock.clone());
    let every = HEARTBEAT_EVERY
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(30));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            for id in &run_ids {
                if let Err(e) = catalog.heartbeat_run(*id, clock.now()) {
                    tracing::warn!(run = id, error = %e.log_line(), "heartbeat failed");
                }
            }
        }
    })
}

/// Snapshot (retrying transient failures) and verify into `staging`.
async fn snapshot(
    ctx: &RunContext,
    site_id: u32,
    kind: SnapshotKind,
    staging: &Path,
    phases: &mut Phases,
) -> Result<Staged> {
    let client = Arc::new(jira_client(ctx, site_id)?);
    let mut attempt = 1;
    let path = loop {
        let started = Instant::now();
        let verifying_since = Arc::new(Mutex::new(None::<Instant>));
        let result = take_once(ctx, &client, kind, staging, &verifying_since).await;
        let verify_start = *verifying_since.lock().unwrap_or_else(|p| p.into_inner());
        match verify_start {
            Some(v) => {
                let snap = v.saturating_duration_since(started);
                *phases.entry(Phase::Snapshot).or_default() +=
                    u64::try_from(snap.as_millis()).unwrap_or(u64::MAX);
                add_phase(phases, Phase::Verify, v);
            }
            None => add_phase(phases, Phase::Snapshot, started),
        }
        match result {
            Ok(path) => break path,
            Err(e) if e.is_transient() && attempt < ctx.options.snapshot_attempts.max(1) => {
                tracing::warn!(attempt, error = %e.log_line(), "snapshot failed; retrying");
                attempt += 1;
                tokio::time::sleep(ctx.options.retry_delay).await;
            }
            Err(e) => return Err(e),
        }
    };
    let started = Instant::now();
    let staged = tokio::task::spawn_blocking(move || digest(path))
        .await
        .map_err(|e| Error::internal("The verification thread failed.").with_source(e))?;
    add_phase(phases, Phase::Verify, started);
    staged
}

/// One snapshot attempt into `staging`.
///
/// The walk's future is `Send`, but rustc cannot prove it for a `'static` box (the
/// higher-ranked closure bug, rust-lang/rust#102211), and the scheduler spawns runs as tasks.
/// So the walk is driven by `Handle::block_on` on a blocking thread of the same runtime: the
/// run's own future then holds only a `JoinHandle`.
async fn take_once(
    ctx: &RunContext,
    client: &Arc<JiraClient>,
    kind: SnapshotKind,
    staging: &Path,
    verifying_since: &Arc<Mutex<Option<Instant>>>,
) -> Result<PathBuf> {
    // A failed attempt's leftovers (downloads) must not mix with the next one.
    let _ = std::fs::remove_dir_all(staging);
    std::fs::create_dir_all(staging).map_err(|e| {
        Error::internal(format!(
            "Could not create the staging folder {}. Check that Backup Center's data folder is \
             writable and has space.",
            staging.display()
        ))
        .with_source(e)
    })?;
    let events = ctx.events.clone();
    let verifying_since = verifying_since.clone();
    let tracker = Tracker::new(Arc::new(move |p| {
        if p.phase == SnapshotPhase::Verifying {
            let mut since = verifying_since.lock().unwrap_or_else(|p| p.into_inner());
            since.get_or_insert_with(Instant::now);
        } else if p.phase == SnapshotPhase::Issues {
            pause::point(Point::Fetch);
        }
        events(RunEvent::Snapshot { progress: p });
    }));
    let opts = WalkOptions::new(kind, staging.join("downloads"));
    let (client, clock, staging) = (client.clone(), ctx.clock.clone(), staging.to_path_buf());
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        runtime.block_on(take_snapshot(
            &client,
            &opts,
            &staging,
            clock.as_ref(),
            &tracker,
        ))
    })
    .await
    .map_err(|e| Error::internal("The snapshot thread failed.").with_source(e))?
}

/// The Jira client for a site, its token from the keychain.
fn jira_client(ctx: &RunContext, site_id: u32) -> Result<JiraClient> {
    let site = ctx.catalog.get_site(i64::from(site_id))?;
    let url = SiteUrl::parse(&site.url)?;
    let token = ctx
        .secrets
        .get(&SecretKey::jira_token(&site.url, &site.email))?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::SecretMissing,
                format!(
                    "No API token for {} on {} is in the system keychain. Open Configuration \
                     and enter the token again.",
                    site.email, site.url
                ),
            )
        })?;
    JiraClient::new(url, site.email, token, ctx.jira_options.clone())
}

/// The manifest, size and SHA-256 of the verified snapshot.
fn digest(path: PathBuf) -> Result<Staged> {
    let manifest = inspect(&path)?;
    let mut file = std::fs::File::open(&path).map_err(|e| {
        Error::internal(format!("Could not read the snapshot {}.", path.display())).with_source(e)
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).map_err(|e| {
            Error::internal(format!("Could not read the snapshot {}.", path.display()))
                .with_source(e)
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::internal("The snapshot has no file name."))?
        .to_string();
    Ok(Staged {
        path,
        name,
        size,
        sha256: hasher.finish().to_hex(),
        manifest,
    })
}

type StoreResult = std::result::Result<(Stored, Phases), (Error, Phases)>;

/// Stores on the member's destination on a blocking thread (the sessions are blocking).
async fn store_blocking(ctx: &RunContext, a: &Active, staged: &Staged) -> StoreResult {
    let (ctx2, scheme, run, staged2) =
        (ctx.clone(), a.scheme.clone(), a.run.clone(), staged.clone());
    tokio::task::spawn_blocking(move || {
        let mut phases = Phases::new();
        match store::store(&ctx2, &scheme, &run, &staged2, &mut phases) {
            Ok(s) => Ok((s, phases)),
            Err(e) => Err((e, phases)),
        }
    })
    .await
    .unwrap_or_else(|e| {
        Err((
            Error::internal("The upload thread failed.").with_source(e),
            Phases::new(),
        ))
    })
}

/// Records how a member's run ended.
fn finish(
    ctx: &RunContext,
    a: Active,
    outcome: Result<(Stored, u64)>,
    phases: Phases,
) -> Result<SchemeResult> {
    let now = ctx.clock.now();
    let (ending, file, deleted) = match outcome {
        Ok((stored, bytes)) => {
            let outcome = if stored.file.file.partial_sections.is_empty() {
                RunOutcome::Succeeded
            } else {
                RunOutcome::Partial
            };
            // The backup is safe; a rotation problem is reported without failing the run.
            let error = stored.rotation_error.as_ref().map(|e| RunError {
                kind: Some(e.kind),
                message: format!(
                    "The backup was stored and verified, but removing old backups failed: {} \
                     The next run tries again.",
                    e.message()
                ),
            });
            let ending = RunEnding {
                outcome,
                finished_at: now,
                phases,
                bytes: Some(bytes),
                error,
            };
            (ending, Some(stored.file), stored.deleted)
        }
        Err(e) => {
            tracing::warn!(scheme = a.scheme.id, run = a.run.id, error = %e.log_line(), "run failed");
            let ending = RunEnding {
                outcome: RunOutcome::Failed,
                finished_at: now,
                phases,
                bytes: None,
                error: Some(RunError {
                    kind: Some(e.kind),
                    message: e.message().to_string(),
                }),
            };
            (ending, None, Vec::new())
        }
    };
    let run = ctx.catalog.finish_run(a.run.id, &ending)?;
    tracing::info!(scheme = run.scheme_id, run = run.id, outcome = ?run.outcome, "run finished");
    (ctx.events)(RunEvent::Finished {
        scheme_id: run.scheme_id,
        run_id: run.id,
        outcome: run.outcome,
        message: run.error.as_ref().map(|e| e.message.clone()),
    });
    Ok(SchemeResult::Ran(Box::new(SchemeRun {
        run,
        file,
        deleted,
    })))
}

/// The group's shared failure, once per member (an `Error` holds a non-cloneable source).
fn clone_error(e: &Error) -> Error {
    Error::new(e.kind, e.message()).with_retry(e.retry)
}
