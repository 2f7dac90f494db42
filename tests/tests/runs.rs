//! Backup runs end to end against the in-process Jira simulator and local folders: the file,
//! its catalog record and rotation; failures that delete nothing; one snapshot for schemes due
//! together; the CLI (runs/cli.rs), `kill -9` of the CLI at each dangerous point
//! (runs/kill.rs) and an SFTP destination (runs/sftp.rs).

#[path = "runs/cli.rs"]
mod cli;
#[path = "runs/kill.rs"]
mod kill;
#[path = "runs/sftp.rs"]
mod sftp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use backup_center_engine::catalog::destinations::{DestinationKind, DestinationSettings};
use backup_center_engine::catalog::runs::{Phase, RunOutcome};
use backup_center_engine::catalog::Catalog;
use backup_center_engine::clock::{Clock, ManualClock};
use backup_center_engine::data_dir::catalog_path;
use backup_center_engine::jira::SiteUrl;
use backup_center_engine::run::{RunContext, RunOptions, Runner, SchemeResult, SchemeRun};
use backup_center_engine::schedule::{parse_time_zone, DaySet, TimeOfDay};
use backup_center_engine::schemes::SchemeSettings;
use backup_center_engine::secrets::{MemoryStore, SecretKey, SecretStore, Sensitive};
use backup_center_engine::snapshot::{file_name, verify, SnapshotKind};
use backup_center_engine::storage::names::is_temporary_name;
use backup_center_engine::storage::sftp::SftpAuth;
use backup_center_engine::ErrorKind;
use bc_tests::sim::{self, RunningSim, SimConfig};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub struct Setup {
    pub sim: RunningSim,
    pub dir: tempfile::TempDir,
    pub catalog: Arc<Catalog>,
    pub secrets: Arc<MemoryStore>,
    pub clock: Arc<ManualClock>,
    pub site_id: u32,
    pub site_url: String,
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

impl Setup {
    pub async fn new() -> Self {
        let sim = sim::start(SimConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::open(&catalog_path(&data_dir(dir.path()))).unwrap());
        let clock = Arc::new(ManualClock::new(at("2026-03-02T00:00:00Z")));
        let site_url = SiteUrl::parse(&sim.base_url).unwrap().as_str().to_string();
        let site = catalog
            .insert_site(&site_url, sim::ADMIN_EMAIL, clock.now())
            .unwrap();
        let secrets = Arc::new(MemoryStore::new());
        secrets
            .set(
                &SecretKey::jira_token(&site_url, sim::ADMIN_EMAIL),
                &Sensitive::new(sim::ADMIN_TOKEN.to_string()),
            )
            .unwrap();
        Setup {
            sim,
            dir,
            catalog,
            secrets,
            clock,
            site_id: u32::try_from(site.id).unwrap(),
            site_url,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        data_dir(self.dir.path())
    }

    /// A local folder destination at `<tmp>/<name>`; returns its id and folder.
    pub fn local_destination(&self, name: &str) -> (u32, PathBuf) {
        let folder = self.dir.path().join(name);
        let d = self
            .catalog
            .insert_destination(
                &DestinationSettings {
                    name: name.into(),
                    kind: DestinationKind::Local,
                    host: None,
                    port: None,
                    user_name: None,
                    folder: folder.to_str().unwrap().into(),
                    quota_bytes: None,
                    pinned_fingerprint: None,
                    sftp_auth: SftpAuth::Password,
                    implicit_tls: false,
                },
                self.clock.now(),
            )
            .unwrap();
        (u32::try_from(d.id).unwrap(), folder)
    }

    /// A Basic scheme, daily at 00:00 UTC, into `jira/` of the destination.
    pub fn scheme(&self, name: &str, destination_id: u32, keep: u32) -> u32 {
        self.catalog
            .insert_scheme(
                &SchemeSettings {
                    name: name.into(),
                    site_id: self.site_id,
                    kind: SnapshotKind::Basic,
                    days: DaySet::EVERY_DAY,
                    time: TimeOfDay::MIDNIGHT,
                    time_zone: parse_time_zone("UTC").unwrap(),
                    keep,
                    destination_id,
                    folder: "jira".into(),
                    paused: false,
                },
                self.clock.now(),
            )
            .unwrap()
            .id
    }

    pub fn runner(&self) -> Runner {
        let mut ctx = RunContext::new(
            self.catalog.clone(),
            self.secrets.clone(),
            self.clock.clone(),
            &self.data_dir(),
        );
        ctx.options = RunOptions {
            snapshot_attempts: 2,
            store_attempts: 2,
            retry_delay: std::time::Duration::ZERO,
        };
        Runner::new(ctx)
    }

    pub fn host(&self) -> String {
        SiteUrl::parse(&self.site_url).unwrap().host()
    }

    /// Requests per route the simulator saw since the last reset.
    pub async fn requests(&self) -> BTreeMap<String, u64> {
        let v: Value = reqwest::get(format!("{}/_sim/requests", self.sim.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        serde_json::from_value(v).unwrap()
    }

    pub async fn reset_requests(&self) {
        reqwest::Client::new()
            .delete(format!("{}/_sim/requests", self.sim.base_url))
            .send()
            .await
            .unwrap();
    }
}

fn data_dir(tmp: &Path) -> PathBuf {
    tmp.join("data")
}

/// The files in a folder, by name (empty if it does not exist).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn ran(r: &SchemeResult) -> &SchemeRun {
    r.ran().expect("the scheme must have run, not been busy")
}

pub fn sha256_hex(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every `.zip` in `folder` is a complete snapshot the catalog records as verified, and no
/// temporary upload is left.
pub fn only_verified_backups(setup: &Setup, folder: &Path) {
    for name in files_in(folder) {
        assert!(
            !is_temporary_name(&name) && !name.ends_with(".part"),
            "no temporary may be left in the destination: {name}"
        );
        if name.ends_with(".zip") {
            verify(&folder.join(&name))
                .unwrap_or_else(|e| panic!("{name} is visible as a backup but incomplete: {e}"));
            let recorded = setup
                .catalog
                .list_schemes()
                .unwrap()
                .iter()
                .flat_map(|s| setup.catalog.backups_for_scheme(s.id).unwrap())
                .find(|b| b.file.name == name)
                .unwrap_or_else(|| panic!("{name} is not in the catalog"));
            assert!(recorded.file.verified, "{name} must be recorded verified");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stores_a_verified_file_records_it_and_rotates_after_keep_successes() {
    let s = Setup::new().await;
    let (dest, folder) = s.local_destination("Disk");
    let scheme = s.scheme("Nightly", dest, 2);
    let folder = folder.join("jira");
    std::fs::create_dir_all(&folder).unwrap();
    // Not ours: a person's file, and a snapshot-named file the catalog does not know.
    std::fs::write(folder.join("notes.txt"), b"mine").unwrap();
    let foreign = format!("{}-basic-2020-01-01_0000.zip", s.host());
    std::fs::write(folder.join(&foreign), b"someone else's copy").unwrap();
    let runner = s.runner();

    let mut names = Vec::new();
    for i in 0..3 {
        let r = runner.run_scheme_now(scheme).await.unwrap();
        let r = ran(&r);
        assert_eq!(
            r.run.outcome,
            RunOutcome::Succeeded,
            "run {i}: {:?}",
            r.run.error
        );
        let file = r.file.clone().expect("a stored file");
        let name = file_name(&s.host(), SnapshotKind::Basic, s.clock.now());
        assert_eq!(file.file.name, name, "<host>-basic-<YYYY-MM-DD_HHMM>.zip");
        let path = folder.join(&name);
        let report = verify(&path).expect("the stored file is a complete snapshot");
        assert_eq!(file.file.size, std::fs::metadata(&path).unwrap().len());
        assert_eq!(file.file.sha256, sha256_hex(&path));
        assert!(file.file.verified);
        assert_eq!(file.file.scheme_id, Some(scheme));
        assert_eq!(i64::from(dest), file.file.destination_id);
        assert_eq!(file.file.entity_counts, report.manifest.counts);
        assert_eq!(file.file.entity_counts.get("issues"), Some(&50));
        assert!(file.file.partial_sections.is_empty());
        assert_eq!(r.run.bytes, Some(file.file.size));
        for phase in [
            Phase::Snapshot,
            Phase::Verify,
            Phase::Store,
            Phase::Record,
            Phase::Rotate,
        ] {
            assert!(r.run.phases.contains_key(&phase), "{phase:?} timed");
        }
        assert!(r.run.finished_at.is_some());
        names.push(name);
        if i < 2 {
            assert!(
                r.deleted.is_empty(),
                "nothing to rotate before keep is exceeded"
            );
        } else {
            assert_eq!(r.deleted, vec![names[0].clone()], "the oldest goes");
        }
        s.clock.advance(Duration::hours(1));
    }
    let mut left = files_in(&folder);
    left.sort();
    let mut expected = vec![
        foreign.clone(),
        names[1].clone(),
        names[2].clone(),
        "notes.txt".to_string(),
    ];
    expected.sort();
    assert_eq!(
        left, expected,
        "the newest `keep` stay; files the app did not create are never touched"
    );
    assert_eq!(s.catalog.backups_for_scheme(scheme).unwrap().len(), 2);
    assert!(
        files_in(&s.data_dir().join("staging")).is_empty(),
        "staging is emptied after each run"
    );
    s.catalog.check_integrity().unwrap();
    let history = s.catalog.run_history(Some(scheme), 10, None).unwrap();
    assert_eq!(history.len(), 3, "every attempt recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_deletes_nothing_and_records_the_error() {
    let s = Setup::new().await;
    let (dest, folder) = s.local_destination("Disk");
    let scheme = s.scheme("Nightly", dest, 1);
    let folder = folder.join("jira");
    let runner = s.runner();
    let first = runner.run_scheme_now(scheme).await.unwrap();
    let kept = ran(&first).file.clone().unwrap().file.name;
    s.clock.advance(Duration::hours(1));

    // A wrong token: Jira says no.
    s.secrets
        .set(
            &SecretKey::jira_token(&s.site_url, sim::ADMIN_EMAIL),
            &Sensitive::new("wrong-token".to_string()),
        )
        .unwrap();
    let r = runner.run_scheme_now(scheme).await.unwrap();
    let run = &ran(&r).run;
    assert_eq!(run.outcome, RunOutcome::Failed);
    let error = run.error.clone().expect("a failed run says why");
    assert_eq!(error.kind, Some(ErrorKind::JiraAuth));
    assert!(!error.message.is_empty());
    assert!(
        !error.message.contains("wrong-token"),
        "secrets never reach the catalog"
    );
    assert_eq!(
        files_in(&folder),
        vec![kept.clone()],
        "a failed run must not delete any earlier backup"
    );

    // The token is fine again, but the destination folder cannot be created.
    s.secrets
        .set(
            &SecretKey::jira_token(&s.site_url, sim::ADMIN_EMAIL),
            &Sensitive::new(sim::ADMIN_TOKEN.to_string()),
        )
        .unwrap();
    let other = s.scheme("Blocked", dest, 1);
    let mut blocked = s.catalog.get_scheme(other).unwrap().settings;
    blocked.folder = "jira/blocked".into();
    s.catalog
        .update_scheme(other, &blocked, s.clock.now())
        .unwrap();
    std::fs::write(folder.join("blocked"), b"a file where the folder should be").unwrap();
    let r = runner.run_scheme_now(other).await.unwrap();
    let run = &ran(&r).run;
    assert_eq!(run.outcome, RunOutcome::Failed);
    assert_eq!(
        run.error.as_ref().and_then(|e| e.kind),
        Some(ErrorKind::StoragePath),
        "{:?}",
        run.error
    );
    assert!(
        s.catalog.backups_for_scheme(other).unwrap().is_empty(),
        "a failed upload leaves no record"
    );
    assert!(files_in(&folder).contains(&kept));
    assert!(files_in(&s.data_dir().join("staging")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schemes_due_together_take_one_snapshot_for_two_destinations() {
    let s = Setup::new().await;
    let (a_dest, a_folder) = s.local_destination("Disk A");
    let (b_dest, b_folder) = s.local_destination("Disk B");
    let runner = s.runner();

    // What one snapshot of this site costs, in requests per route.
    let alone = s.scheme("Alone", a_dest, 5);
    s.reset_requests().await;
    let r = runner.run_scheme_now(alone).await.unwrap();
    assert_eq!(ran(&r).run.outcome, RunOutcome::Succeeded);
    let one_snapshot = s.requests().await;
    s.catalog.delete_scheme(alone).unwrap();

    let a = s.scheme("A", a_dest, 5);
    let b = s.scheme("B", b_dest, 5);
    // Both are due at midnight; the scheduler looks 10 s later.
    s.clock.set(at("2026-03-03T00:00:10Z"));
    s.reset_requests().await;
    let results = runner.run_due().await.unwrap();
    assert_eq!(results.len(), 2, "{results:?}");
    let files: Vec<_> = results
        .iter()
        .map(|r| {
            let r = ran(r);
            assert_eq!(r.run.outcome, RunOutcome::Succeeded, "{:?}", r.run.error);
            r.file.clone().unwrap().file
        })
        .collect();
    assert_eq!(
        s.requests().await,
        one_snapshot,
        "two schemes of one site due together must cost one snapshot's requests"
    );
    assert_eq!(files[0].name, files[1].name);
    assert_eq!(files[0].sha256, files[1].sha256, "the same file");
    let a_file = a_folder.join("jira").join(&files[0].name);
    let b_file = b_folder.join("jira").join(&files[1].name);
    assert_eq!(sha256_hex(&a_file), sha256_hex(&b_file));
    assert_eq!(
        [files[0].scheme_id, files[1].scheme_id],
        [Some(a), Some(b)],
        "each scheme records its own file"
    );
    assert!(
        runner.run_due().await.unwrap().is_empty(),
        "the slot is handled for both"
    );
}
