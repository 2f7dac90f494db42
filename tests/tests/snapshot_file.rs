//! Whole snapshots as files: written as `.part`, verified, renamed; identical under faults;
//! nothing left behind by a wrong token or an interrupted run; and the headless CLI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use backup_center_engine::clock::SystemClock;
use backup_center_engine::jira::throttle::ThrottleOptions;
use backup_center_engine::jira::{ClientOptions, JiraClient, SiteUrl};
use backup_center_engine::secrets::Sensitive;
use backup_center_engine::snapshot::progress::Tracker;
use backup_center_engine::snapshot::walk::WalkOptions;
use backup_center_engine::snapshot::{inspect, take_snapshot, verify, SnapshotKind};
use backup_center_engine::ErrorKind;
use bc_tests::sim::{self, Faults, SimConfig};

fn client(url: &str, email: &str, token: &str) -> JiraClient {
    JiraClient::new(
        SiteUrl::parse(url).unwrap(),
        email.into(),
        Sensitive::new(token.into()),
        ClientOptions {
            max_retries: 10,
            throttle: ThrottleOptions {
                backoff_base: Duration::from_millis(20),
                backoff_cap: Duration::from_millis(500),
                ..ThrottleOptions::default()
            },
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

async fn snapshot_with_sim(
    config: SimConfig,
    kind: SnapshotKind,
    out: &Path,
) -> (PathBuf, sim::RunningSim) {
    let s = sim::start(config).await.unwrap();
    let c = client(&s.base_url, sim::ADMIN_EMAIL, sim::ADMIN_TOKEN);
    let opts = WalkOptions::new(kind, out.join(".downloads"));
    let tracker = Tracker::new(Arc::new(|_| {}));
    let path = take_snapshot(&c, &opts, out, &SystemClock, &tracker)
        .await
        .expect("snapshot");
    (path, s)
}

async fn snapshot_of(config: SimConfig, kind: SnapshotKind, out: &Path) -> PathBuf {
    snapshot_with_sim(config, kind, out).await.0
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

/// Entry path → content, with the simulator's own addresses (which differ between two
/// simulators) replaced, and without the entries that legitimately differ between runs.
fn content(path: &Path, origins: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut e = zip.by_index(i).unwrap();
        let name = e.name().to_string();
        if name == "site/serverInfo.json" || name == "manifest.json" {
            continue;
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
        if name.ends_with(".json") || name.ends_with(".jsonl") {
            let mut text = String::from_utf8(bytes).unwrap();
            for o in origins {
                text = text.replace(o, "ORIGIN");
            }
            bytes = text.into_bytes();
        }
        out.insert(name, bytes);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_file_is_complete_verified_and_named_for_its_site() {
    let out = tempfile::tempdir().unwrap();
    let config = SimConfig::default();
    let truth = bc_tests::sim::Site::new(config.seed, config.size).counts();
    let path = snapshot_of(config, SnapshotKind::Extended, out.path()).await;
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("127.0.0.1-extended-") && name.ends_with(".zip"),
        "{name}"
    );
    assert_eq!(
        files_in(out.path()),
        vec![name.clone()],
        "only the finished snapshot remains"
    );
    let report = verify(&path).unwrap();
    let m = report.manifest;
    for key in [
        "issues",
        "comments",
        "worklogs",
        "changelogs",
        "attachments",
        "users",
        "projects",
    ] {
        assert_eq!(
            m.counts.get(key).copied(),
            Some(truth[key]),
            "manifest count of {key}"
        );
    }
    assert!(!m.partial);
}

/// What the control panel's progress line shows: every counting phase counts, and bytes grow
/// while issues are read (not only while attachments download).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_counts_every_phase_and_the_bytes_received() {
    use backup_center_engine::snapshot::progress::{Phase, Progress};
    let out = tempfile::tempdir().unwrap();
    let s = sim::start(SimConfig::default()).await.unwrap();
    let c = client(&s.base_url, sim::ADMIN_EMAIL, sim::ADMIN_TOKEN);
    let opts = WalkOptions::new(SnapshotKind::Basic, out.path().join(".downloads"));
    let seen: Arc<std::sync::Mutex<Vec<Progress>>> = Arc::default();
    let log = seen.clone();
    let tracker = Tracker::new(Arc::new(move |p| log.lock().unwrap().push(p)));
    take_snapshot(&c, &opts, out.path(), &SystemClock, &tracker)
        .await
        .expect("snapshot");
    let seen = seen.lock().unwrap();
    let last = |phase: Phase| {
        seen.iter()
            .rfind(|p| p.phase == phase)
            .unwrap_or_else(|| panic!("no {phase:?} event"))
            .clone()
    };
    for phase in [
        Phase::Projects,
        Phase::Boards,
        Phase::Issues,
        Phase::Verifying,
    ] {
        let p = last(phase);
        assert!(p.done > 0, "{phase:?} counted nothing: {p:?}");
        assert_eq!(Some(p.done), p.total, "{phase:?} ends complete: {p:?}");
    }
    assert!(
        last(Phase::Configuration).done > 10,
        "configuration sections are counted"
    );
    let issues: Vec<u64> = seen
        .iter()
        .filter(|p| p.phase == Phase::Issues)
        .map(|p| p.bytes)
        .collect();
    assert!(
        issues.first() < issues.last(),
        "bytes grow while issues are read: {issues:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_do_not_change_the_snapshot() {
    let clean_dir = tempfile::tempdir().unwrap();
    let (clean, a) = snapshot_with_sim(
        SimConfig::default(),
        SnapshotKind::Extended,
        clean_dir.path(),
    )
    .await;
    let faulty_dir = tempfile::tempdir().unwrap();
    let faults = SimConfig {
        faults: Faults {
            fail_rate: 0.2,
            reset_rate: 0.05,
            slow_ms: 5,
            vanish_issue: false,
        },
        rate_limit: Some(40),
        ..SimConfig::default()
    };
    let (faulty, b) = snapshot_with_sim(faults, SnapshotKind::Extended, faulty_dir.path()).await;
    let want = content(&clean, &[&a.base_url, &a.media_url]);
    let got = content(&faulty, &[&b.base_url, &b.media_url]);
    let differ: Vec<&String> = want
        .keys()
        .filter(|k| want.get(*k) != got.get(*k))
        .collect();
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        differ.is_empty() && extra.is_empty(),
        "5xx answers, dropped connections, slow answers and a 429 storm must not change a byte; \
         differing: {differ:?}, unexpected: {extra:?}"
    );
    assert!(
        want.len() > 100,
        "the comparison must cover the whole snapshot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issue_deleted_mid_run_is_recorded_not_fatal() {
    let out = tempfile::tempdir().unwrap();
    let config = SimConfig {
        faults: Faults {
            vanish_issue: true,
            ..Faults::default()
        },
        ..SimConfig::default()
    };
    let path = snapshot_of(config, SnapshotKind::Basic, out.path()).await;
    let m = inspect(&path).unwrap();
    assert!(
        m.deleted_during_run
            .iter()
            .any(|d| d.entity == "issue" && d.id == "10002"),
        "{:?}",
        m.deleted_during_run
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_clearly_and_leaves_no_file() {
    let s = sim::start(SimConfig::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let c = client(&s.base_url, sim::ADMIN_EMAIL, "wrong");
    let opts = WalkOptions::new(SnapshotKind::Basic, out.path().join(".downloads"));
    let e = take_snapshot(
        &c,
        &opts,
        out.path(),
        &SystemClock,
        &Tracker::new(Arc::new(|_| {})),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::JiraAuth);
    assert!(
        files_in(out.path()).is_empty(),
        "no file may be left: {:?}",
        files_in(out.path())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_leaves_no_zip_and_no_part() {
    let s = sim::start(SimConfig {
        faults: Faults {
            slow_ms: 30,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let c = client(&s.base_url, sim::ADMIN_EMAIL, sim::ADMIN_TOKEN);
    let opts = WalkOptions::new(SnapshotKind::Extended, out.path().join(".downloads"));
    let tracker = Tracker::new(Arc::new(|_| {}));
    let run = take_snapshot(&c, &opts, out.path(), &SystemClock, &tracker);
    assert!(
        tokio::time::timeout(Duration::from_millis(700), run)
            .await
            .is_err(),
        "the run should still be going"
    );
    // The writer thread notices the walk is gone and removes its .part.
    let mut left = files_in(out.path());
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = files_in(out.path());
    }
    assert!(
        left.is_empty(),
        "an interrupted run must leave nothing that looks like a backup: {left:?}"
    );
}

fn cli() -> PathBuf {
    bc_tests::harness::debug_binary("backup-center-cli")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_snapshots_verifies_and_inspects_with_documented_exit_codes() {
    let s = sim::start(SimConfig::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = |args: &[&str], token: &str| {
        Command::new(cli())
            .args(args)
            .env("BC_TEST_TOKEN", token)
            .output()
            .unwrap()
    };
    let dir = out.path().to_str().unwrap().to_string();
    let snap = [
        "snapshot",
        "--site",
        &s.base_url,
        "--email",
        sim::ADMIN_EMAIL,
        "--type",
        "basic",
        "--out",
        &dir,
        "--token-env",
        "BC_TEST_TOKEN",
    ];
    let o = tokio::task::spawn_blocking({
        let snap: Vec<String> = snap.iter().map(|s| s.to_string()).collect();
        move || {
            Command::new(cli())
                .args(&snap)
                .env("BC_TEST_TOKEN", sim::ADMIN_TOKEN)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "snapshot failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let file = stdout.lines().next().unwrap().to_string();
    assert!(file.ends_with(".zip"), "{stdout}");
    assert!(stdout.contains("issues: 50"), "{stdout}");

    let o = run(&["verify", &file], "");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("OK:"));
    let o = run(&["inspect", &file], "");
    assert!(String::from_utf8_lossy(&o.stdout).contains("type: Basic"));

    // Corrupt one byte in the middle: verify fails with code 5 and names the problem.
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let bad = out.path().join("corrupt.zip");
    std::fs::write(&bad, bytes).unwrap();
    let o = run(&["verify", bad.to_str().unwrap()], "");
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("error:"));

    // A wrong token: code 3, the 401 explanation, and no new file.
    let before = files_in(out.path());
    let snap_wrong: Vec<String> = snap.iter().map(|s| s.to_string()).collect();
    let o = tokio::task::spawn_blocking(move || {
        Command::new(cli())
            .args(&snap_wrong)
            .env("BC_TEST_TOKEN", "wrong")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("rejected"));
    assert_eq!(files_in(out.path()), before);

    // Bad arguments: code 2 with a message.
    let o = run(
        &[
            "snapshot",
            "--site",
            "http://example.com",
            "--email",
            "a@b.co",
            "--type",
            "basic",
            "--out",
            &dir,
            "--token-env",
            "BC_TEST_TOKEN",
        ],
        "x",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("https://"));
    let o = run(&["snapshot", "--type", "weekly"], "x");
    assert_eq!(o.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_snapshot_of_the_small_site_has_every_attachment_by_sha256() {
    let out = tempfile::tempdir().unwrap();
    let config = SimConfig {
        size: bc_tests::sim::Size::Small,
        ..SimConfig::default()
    };
    let (path, s) = snapshot_with_sim(config, SnapshotKind::Extended, out.path()).await;
    verify(&path).unwrap();
    let m = inspect(&path).unwrap();
    let by_path: BTreeMap<&str, &str> = m
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.sha256.as_str()))
        .collect();
    let mut n = 0;
    for id in s.site.issue_ids() {
        for a in s.site.attachments(&id).unwrap() {
            n += 1;
            let prefix = format!("attachments/{id}/{}/", a.id);
            let (_, sha) = by_path
                .iter()
                .find(|(p, _)| p.starts_with(&prefix))
                .unwrap_or_else(|| panic!("attachment {} of issue {id} is missing", a.id));
            assert_eq!(
                Some(sha.to_string()),
                s.site.attachment_sha256(&a.id.to_string()),
                "content of attachment {}",
                a.id
            );
        }
    }
    assert_eq!(n, 100, "the small site has 100 attachments");
    assert_eq!(m.counts["attachments"], n);
}

/// The format page promises that ordinary tools read a snapshot: Info-ZIP's `unzip -t` (every
/// entry's CRC) and Python's `zipfile` (every entry's SHA-256 against the manifest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unzip_and_python_zipfile_read_a_snapshot() {
    let out = tempfile::tempdir().unwrap();
    let path = snapshot_of(SimConfig::default(), SnapshotKind::Extended, out.path()).await;
    let unzip = Command::new("unzip")
        .arg("-tq")
        .arg(&path)
        .output()
        .expect("unzip (make test installs it)");
    assert!(
        unzip.status.success(),
        "unzip -t: {}",
        String::from_utf8_lossy(&unzip.stdout)
    );
    let script = "import hashlib, json, sys, zipfile\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  assert z.testzip() is None\n\
                  m = json.loads(z.read('manifest.json'))\n\
                  for e in m['entries']:\n    \
                  assert hashlib.sha256(z.read(e['path'])).hexdigest() == e['sha256'], e['path']\n\
                  assert len(z.namelist()) == len(m['entries']) + 1\n\
                  print(len(m['entries']))\n";
    let py = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        py.status.success(),
        "python zipfile: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let n: usize = String::from_utf8_lossy(&py.stdout).trim().parse().unwrap();
    assert!(n > 50, "{n} entries");
}
