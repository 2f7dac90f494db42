//! `backup-center-cli run` and `run-due` over the app's catalog, with documented exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

use backup_center_engine::catalog::runs::RunOutcome;
use backup_center_engine::run::lock::SchemeLock;
use bc_tests::sim;

use super::{files_in, only_verified_backups, Setup};

pub fn cli() -> PathBuf {
    bc_tests::harness::debug_binary("backup-center-cli")
}

/// `backup-center-cli <args> --data-dir <setup's> --token-env BC_TEST_TOKEN`.
pub fn command(s: &Setup, args: &[&str]) -> Command {
    let mut c = Command::new(cli());
    c.args(args)
        .arg("--data-dir")
        .arg(s.data_dir())
        .args(["--token-env", "BC_TEST_TOKEN"])
        .env("BC_TEST_TOKEN", sim::ADMIN_TOKEN)
        .env_remove("BACKUP_CENTER_TEST_PAUSE");
    c
}

async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_runs_a_scheme_and_what_is_due_with_documented_exit_codes() {
    let s = Setup::new().await;
    let (dest, folder) = s.local_destination("Disk");
    let scheme = s.scheme("Nightly Jira", dest, 3);

    // A wrong token first: exit 3, nothing stored, the failure recorded.
    let mut c = command(&s, &["run", "--scheme", "Nightly Jira"]);
    c.env("BC_TEST_TOKEN", "wrong-token");
    let o = output(c).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(files_in(&folder.join("jira"))
        .iter()
        .all(|n| !n.ends_with(".zip")));
    assert_eq!(
        s.catalog.latest_run(scheme).unwrap().unwrap().outcome,
        RunOutcome::Failed
    );

    let o = output(command(&s, &["run", "--scheme", "nightly jira"])).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("stored"),
        "{}",
        text(&o)
    );
    let zips: Vec<String> = files_in(&folder.join("jira"))
        .into_iter()
        .filter(|n| n.ends_with(".zip"))
        .collect();
    assert_eq!(zips.len(), 1, "{zips:?}");
    only_verified_backups(&s, &folder.join("jira"));
    let latest = s.catalog.latest_run(scheme).unwrap().unwrap();
    assert_eq!(latest.outcome, RunOutcome::Succeeded);

    let o = output(command(&s, &["run", "--scheme", "No such scheme"])).await;
    assert_eq!(o.status.code(), Some(2), "unknown scheme: {}", text(&o));

    // The app holds the scheme: the CLI must leave it alone (exit 8) and record nothing.
    let runs_before = s
        .catalog
        .run_history(Some(scheme), 100, None)
        .unwrap()
        .len();
    let held = SchemeLock::try_take(&s.data_dir(), scheme)
        .unwrap()
        .unwrap();
    let o = output(command(&s, &["run", "--scheme", "Nightly Jira"])).await;
    assert_eq!(o.status.code(), Some(8), "busy scheme: {}", text(&o));
    assert_eq!(
        s.catalog
            .run_history(Some(scheme), 100, None)
            .unwrap()
            .len(),
        runs_before,
        "a scheme held by another process must not get a second run"
    );
    drop(held);

    // Its slots so far are handled: run-due has nothing to do, and says so.
    s.catalog
        .record_slot_handled(scheme, chrono::Utc::now())
        .unwrap();
    let o = output(command(&s, &["run-due"])).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Nothing is due"),
        "{}",
        text(&o)
    );
    let mut c = Command::new(cli());
    c.args(["run-due", "--data-dir"])
        .arg(s.dir.path().join("nowhere"));
    let o = output(c).await;
    assert_eq!(o.status.code(), Some(2), "no catalog there: {}", text(&o));
}
