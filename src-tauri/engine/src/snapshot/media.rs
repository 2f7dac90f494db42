//! Extended snapshots: attachment contents, custom project avatars and user avatars.
//! Each file is downloaded to the temporary folder (in parallel, resumable) and then copied
//! into the snapshot by the writer thread, which stores it uncompressed.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::stream::{self, StreamExt, TryStreamExt};

use super::issues::AttachmentRef;
use super::progress::{Phase, Tracker};
use super::sink::{SinkHandle, StagedFile};
use super::walk::{ProjectRef, WalkOptions};
use super::{layout, sanitise_file_name};
use crate::error::{ErrorKind, Result};
use crate::jira::{Downloaded, JiraClient};

static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

fn temp_path(opts: &WalkOptions) -> PathBuf {
    opts.temp_dir.join(format!(
        "download-{}-{}.tmp",
        std::process::id(),
        NEXT_TEMP.fetch_add(1, Ordering::Relaxed)
    ))
}

fn staged(file: PathBuf, got: Downloaded) -> StagedFile {
    StagedFile {
        file,
        size: got.size,
        sha256: got.sha256,
        crc32: got.crc32,
    }
}

pub async fn walk(
    client: &JiraClient,
    opts: &WalkOptions,
    sink: &SinkHandle,
    tracker: &Tracker,
    attachments: &[AttachmentRef],
    projects: &[ProjectRef],
    user_avatars: &BTreeSet<String>,
) -> Result<()> {
    std::fs::create_dir_all(&opts.temp_dir).map_err(|e| {
        crate::Error::new(
            ErrorKind::Internal,
            format!(
                "Could not create the temporary folder {}.",
                opts.temp_dir.display()
            ),
        )
        .with_source(e)
    })?;
    let total = attachments.len() as u64;
    tracker.start(Phase::Attachments, Some(total));
    let on_bytes = |n: u64| tracker.add_bytes(n);
    stream::iter(attachments)
        .map(|a| async move {
            let tmp = temp_path(opts);
            let path = format!("/rest/api/3/attachment/content/{}?redirect=false", a.id);
            match client
                .download(&path, &tmp, "an attachment", &on_bytes)
                .await
            {
                Ok(got) => {
                    let entry =
                        layout::attachment(&a.issue_id, &a.id, &sanitise_file_name(&a.filename));
                    sink.file(entry, staged(tmp, got)).await?;
                    sink.count("attachments", 1).await?;
                    sink.count("attachmentBytes", a.size).await?;
                }
                Err(e) if e.kind == ErrorKind::NotFound => {
                    let _ = std::fs::remove_file(&tmp);
                    sink.deleted("attachment", &a.id, "deleted before its content was read")
                        .await?;
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            }
            tracker.step(Phase::Attachments, 1, Some(total));
            Ok::<_, crate::Error>(())
        })
        .buffer_unordered(opts.fan_out.max(1))
        .try_collect::<Vec<()>>()
        .await?;

    let project_avatars: Vec<&String> = projects
        .iter()
        .flat_map(|p| p.avatar_ids.iter())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    stream::iter(project_avatars)
        .map(|id| async move {
            let tmp = temp_path(opts);
            let path =
                format!("/rest/api/3/universal_avatar/view/type/project/avatar/{id}?format=png");
            let got = client
                .download(&path, &tmp, "a project avatar", &on_bytes)
                .await?;
            sink.file(layout::avatar("project", id, "png"), staged(tmp, got))
                .await?;
            sink.count("projectAvatars", 1).await
        })
        .buffer_unordered(opts.fan_out.max(1))
        .try_collect::<Vec<()>>()
        .await?;

    stream::iter(user_avatars.iter().enumerate())
        .map(|(i, url)| async move {
            let tmp = temp_path(opts);
            match client
                .download_public(url, &tmp, "a user avatar", &on_bytes)
                .await
            {
                Ok(got) => {
                    sink.file(
                        layout::avatar("user", &format!("{i:06}"), "png"),
                        staged(tmp, got),
                    )
                    .await?;
                    sink.count("userAvatars", 1).await
                }
                // A missing avatar is not worth failing a backup for; say so in the manifest.
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    sink.partial(
                        &layout::avatar("user", &format!("{i:06}"), "png"),
                        e.message(),
                    )
                    .await
                }
            }
        })
        .buffer_unordered(opts.fan_out.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}
