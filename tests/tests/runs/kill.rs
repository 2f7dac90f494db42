//! `kill -9` of a CLI run at each dangerous point, then a restart: no partial file visible as
//! a backup, temporaries gone, the catalog intact with the run marked interrupted, and the
//! next run succeeds.
//!
//! The CLI stops at an exact point through its debug-only pause hook
//! (`BACKUP_CENTER_TEST_PAUSE`, see `run/pause.rs` in the engine): it writes a marker file and
//! sleeps until it is killed.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use backup_center_engine::catalog::runs::RunOutcome;
use backup_center_engine::catalog::Catalog;
use backup_center_engine::data_dir::catalog_path;
use backup_center_engine::storage::names::is_temporary_name;
use chrono::Utc;

use super::cli::command;
use super::{files_in, only_verified_backups, ran, Setup};

/// Waits for the marker the paused CLI writes; fails with the CLI's output if it ended.
fn wait_for_pause(child: &mut std::process::Child, marker: &Path) {
    let started = Instant::now();
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("the CLI ended ({status}) before reaching its pause point: {err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the CLI never reached its pause point"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn kill_at(point: &'static str) {
    let s = Setup::new().await;
    let (dest, folder) = s.local_destination("Disk");
    let scheme = s.scheme("Nightly", dest, 1);
    let folder = folder.join("jira");
    // An earlier good backup, for rotation to delete (keep 1) and for the others to keep.
    let first = s.runner().run_scheme_now(scheme).await.unwrap();
    let earlier = ran(&first).file.clone().unwrap().file.name;

    let marker = s.dir.path().join("paused");
    let mut c = command(&s, &["run", "--scheme", "Nightly"]);
    c.env("BACKUP_CENTER_TEST_PAUSE", point)
        .env("BACKUP_CENTER_TEST_PAUSE_MARKER", &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    tokio::task::spawn_blocking(move || {
        wait_for_pause(&mut child, &marker);
        child.kill().unwrap(); // SIGKILL: no destructor, no clean-up runs
        child.wait().unwrap();
    })
    .await
    .unwrap();

    // What the kill left behind, before the restart.
    let left = files_in(&folder);
    match point {
        "fetch" => assert!(
            !files_in(&s.data_dir().join("staging")).is_empty(),
            "killed while fetching: the staging folder is still there"
        ),
        "upload" | "rename" => assert!(
            left.iter().any(|n| is_temporary_name(n)),
            "killed {point}: a temporary upload is left: {left:?}"
        ),
        "rotate" => assert!(
            !left.contains(&earlier),
            "killed during rotation, after the old file went: {left:?}"
        ),
        _ => unreachable!(),
    }

    // Restart: the app (or the next CLI) recovers first. The catalog opens (integrity check).
    drop(Catalog::open(&catalog_path(&s.data_dir())).expect("the catalog is intact"));
    s.clock.set(Utc::now() + chrono::Duration::seconds(1));
    let runner = s.runner();
    let recovery = runner.recover().await.unwrap();
    assert_eq!(
        recovery.interrupted.len(),
        1,
        "the killed run is found at once, without waiting for its heartbeat: {recovery:?}"
    );
    let killed = s.catalog.latest_run(scheme).unwrap().unwrap();
    assert_eq!(killed.outcome, RunOutcome::Interrupted);
    assert_eq!(killed.id, recovery.interrupted[0].id);
    s.catalog.check_integrity().unwrap();
    only_verified_backups(&s, &folder);
    assert!(
        files_in(&s.data_dir().join("staging")).is_empty(),
        "staging of the killed run removed"
    );
    match point {
        "fetch" | "upload" | "rename" => assert_eq!(
            files_in(&folder),
            vec![earlier.clone()],
            "killed {point}: the earlier backup stays, nothing else is visible"
        ),
        _ => {
            let zips = files_in(&folder);
            assert_eq!(zips.len(), 1, "the new, complete backup stays: {zips:?}");
            assert_eq!(
                s.catalog.backups_for_scheme(scheme).unwrap().len(),
                1,
                "the record of the file rotation deleted is gone too"
            );
        }
    }

    // The next run succeeds (a day later, so its name is new).
    s.clock.set(Utc::now() + chrono::Duration::days(1));
    let next = runner.run_scheme_now(scheme).await.unwrap();
    let next = ran(&next);
    assert_eq!(
        next.run.outcome,
        RunOutcome::Succeeded,
        "{:?}",
        next.run.error
    );
    only_verified_backups(&s, &folder);
    assert_eq!(
        files_in(&folder),
        vec![next.file.clone().unwrap().file.name],
        "keep 1: only the newest"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_fetch() {
    kill_at("fetch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_upload() {
    kill_at("upload").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_between_upload_and_rename() {
    kill_at("rename").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_rotation() {
    kill_at("rotate").await;
}
