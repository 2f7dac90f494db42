//! Storing a verified snapshot on one scheme's destination, then rotating. Blocking code: the
//! caller runs it on a blocking thread (the sessions are blocking, see `storage`).
//!
//! Order, for crash safety: the catalog records the file *unverified* before a byte moves, so
//! a crash at any later point leaves a record that start-up recovery can settle against the
//! destination's listing; the record is marked verified only once the listing shows the file
//! with the size sent; rotation runs only after that.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Instant;

use super::execute::{add_phase, Phases};
use super::pause::{self, Point};
use super::{RunContext, RunEvent};
use crate::catalog::backups::{BackupRecord, NewBackup};
use crate::catalog::runs::{Phase, RunRecord};
use crate::error::{Error, ErrorKind, Result};
use crate::jira::SiteUrl;
use crate::retention::{files_to_delete, Rotation, RunEnd};
use crate::schemes::Scheme;
use crate::snapshot::Manifest;
use crate::storage::{missing_is_empty, BackupFile, Destination, RemotePath, Session};

/// The verified snapshot in the staging folder.
#[derive(Debug, Clone)]
pub(super) struct Staged {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the whole file.
    pub sha256: String,
    pub manifest: Manifest,
}

/// What storing on one destination did.
#[derive(Debug)]
pub(super) struct Stored {
    pub file: BackupRecord,
    pub deleted: Vec<String>,
    /// Rotation failed after the backup was safe; the run still succeeded.
    pub rotation_error: Option<Error>,
}

pub(super) fn store(
    ctx: &RunContext,
    scheme: &Scheme,
    run: &RunRecord,
    staged: &Staged,
    phases: &mut Phases,
) -> Result<Stored> {
    let s = &scheme.settings;
    let destination_id = i64::from(s.destination_id);
    let destination = ctx
        .destinations
        .build(&ctx.catalog.get_destination(destination_id)?)?;
    let folder = RemotePath::parse(&s.folder)?;
    let path = folder.join(&staged.name)?;

    let t = Instant::now();
    let pending = ctx.catalog.insert_backup(&NewBackup {
        name: staged.name.clone(),
        scheme_id: Some(scheme.id),
        run_id: Some(run.id),
        destination_id,
        folder: folder.as_str().to_string(),
        size: staged.size,
        sha256: staged.sha256.clone(),
        created_at: staged.manifest.started_at,
        entity_counts: staged.manifest.counts.clone(),
        partial_sections: staged.manifest.partial_sections.clone(),
        verified: false,
    })?;
    add_phase(phases, Phase::Record, t);

    let t = Instant::now();
    let uploaded = upload(ctx, destination.as_ref(), &folder, &path, staged, scheme.id);
    add_phase(phases, Phase::Store, t);
    let (mut session, listed) = match uploaded {
        Ok(done) => done,
        Err(e) => {
            // Nothing of this run is on the destination: its record must not stay either.
            if let Err(forget) = ctx.catalog.delete_backup(pending.id) {
                tracing::warn!(error = %forget.log_line(), "could not forget a failed upload");
            }
            return Err(e);
        }
    };

    let t = Instant::now();
    ctx.catalog.set_backup_verified(pending.id, true)?;
    add_phase(phases, Phase::Record, t);
    // Leftovers of earlier runs that crashed mid-upload; ours finished, so it is not among
    // them (only temporaries older than this run's start go).
    if let Err(e) = session.cleanup_temporaries(&folder, run.started_at) {
        tracing::warn!(error = %e.log_line(), "could not remove old temporary uploads");
    }

    let t = Instant::now();
    let mut deleted = Vec::new();
    let rotation_error = rotate(
        ctx,
        session.as_mut(),
        scheme,
        &folder,
        staged,
        &listed,
        &mut deleted,
    )
    .err();
    add_phase(phases, Phase::Rotate, t);
    Ok(Stored {
        file: ctx.catalog.get_backup(pending.id)?,
        deleted,
        rotation_error,
    })
}

/// Connects, uploads and confirms the listing; transient failures reconnect and continue.
fn upload(
    ctx: &RunContext,
    destination: &dyn Destination,
    folder: &RemotePath,
    path: &RemotePath,
    staged: &Staged,
    scheme_id: u32,
) -> Result<(Box<dyn Session>, Vec<BackupFile>)> {
    let attempts = ctx.options.store_attempts.max(1);
    let mut attempt = 1;
    loop {
        let result = (|| {
            let mut session = destination.open(ctx.secrets.as_ref())?;
            session.create_dir_all(folder)?;
            if attempt > 1 {
                // An earlier attempt may have finished the rename before its connection broke.
                let listed = missing_is_empty(session.list(folder))?;
                if is_listed(&listed, staged) {
                    return Ok((session, listed));
                }
            }
            let mut data = UploadReader::open(ctx, staged, scheme_id)?;
            if attempt == 1 {
                session.put(path, &mut data, Some(staged.size))?;
            } else {
                session.put_resuming(path, &mut data, Some(staged.size))?;
            }
            let listed = session.list(folder)?;
            if !is_listed(&listed, staged) {
                return Err(Error::new(
                    ErrorKind::SnapshotCorrupt,
                    format!(
                        "{} does not list the new backup {} with the {} bytes sent. Run the \
                         backup again; if this repeats, check the destination.",
                        destination.describe(),
                        staged.name,
                        staged.size
                    ),
                ));
            }
            Ok((session, listed))
        })();
        match result {
            Err(e) if e.is_transient() && attempt < attempts => {
                tracing::warn!(attempt, error = %e.log_line(), "storing failed; reconnecting");
                attempt += 1;
                std::thread::sleep(ctx.options.retry_delay);
            }
            other => return other,
        }
    }
}

fn is_listed(listed: &[BackupFile], staged: &Staged) -> bool {
    listed
        .iter()
        .any(|f| f.name == staged.name && f.size == staged.size)
}

/// Deletes what [`files_to_delete`] plans, oldest first: the file, then its record.
fn rotate(
    ctx: &RunContext,
    session: &mut dyn Session,
    scheme: &Scheme,
    folder: &RemotePath,
    staged: &Staged,
    listed: &[BackupFile],
    deleted: &mut Vec<String>,
) -> Result<()> {
    let s = &scheme.settings;
    let destination_id = i64::from(s.destination_id);
    let site = ctx.catalog.get_site(i64::from(s.site_id))?;
    let host = SiteUrl::parse(&site.url)?.host();
    let recorded = ctx
        .catalog
        .rotation_records(scheme.id, destination_id, folder.as_str())?;
    let listed: Vec<String> = listed.iter().map(|f| f.name.clone()).collect();
    let plan = files_to_delete(
        RunEnd::VerifiedSuccess {
            new_file: &staged.name,
        },
        &Rotation {
            keep: s.keep,
            site_host: &host,
            kind: s.kind,
            recorded: &recorded,
            listed: &listed,
        },
    );
    for name in plan {
        match session.remove(&folder.join(&name)?) {
            Ok(()) => {}
            // Already gone (deleted by hand): forgetting it is all that is left to do.
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if deleted.is_empty() {
            pause::point(Point::Rotate);
        }
        for b in ctx
            .catalog
            .backups_in_folder(destination_id, folder.as_str())?
        {
            if b.file.name == name && b.file.scheme_id == Some(scheme.id) {
                ctx.catalog.delete_backup(b.id)?;
            }
        }
        tracing::info!(scheme = scheme.id, file = %name, "rotation deleted an old backup");
        deleted.push(name);
    }
    Ok(())
}

/// The staged snapshot as the upload reads it: progress events, and the test pause points.
struct UploadReader<'a> {
    file: File,
    pos: u64,
    total: u64,
    ctx: &'a RunContext,
    scheme_id: u32,
}

impl<'a> UploadReader<'a> {
    fn open(ctx: &'a RunContext, staged: &Staged, scheme_id: u32) -> Result<Self> {
        let file = File::open(&staged.path).map_err(|e| {
            Error::internal(format!(
                "Could not read the verified snapshot {} to store it.",
                staged.path.display()
            ))
            .with_source(e)
        })?;
        Ok(Self {
            file,
            pos: 0,
            total: staged.size,
            ctx,
            scheme_id,
        })
    }
}

impl Read for UploadReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = buf;
        if pause::armed(Point::Upload) {
            if self.pos > 0 && self.pos < self.total {
                pause::point(Point::Upload);
            }
            // Send only half first, so the stop finds a temporary that is really partial.
            let half = usize::try_from(self.total / 2).unwrap_or(usize::MAX).max(1);
            let len = buf.len().min(half);
            buf = &mut buf[..len];
        }
        let n = self.file.read(buf)?;
        self.pos += n as u64;
        if n == 0 && self.pos >= self.total {
            pause::point(Point::Rename);
        } else if n > 0 {
            (self.ctx.events)(RunEvent::Upload {
                scheme_id: self.scheme_id,
                sent: self.pos,
                total: self.total,
            });
        }
        Ok(n)
    }
}

impl Seek for UploadReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}
