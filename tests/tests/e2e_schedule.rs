//! The app's own scheduling, in the real app: at start-up a run that a crash left "running"
//! is marked interrupted and its staging folder removed, and a scheme whose time comes while
//! the app is open runs on its own, on the minute, as a scheduled run.
//!
//! Needs the app built first (`make test` does it) and Xvfb, dbus, gnome-keyring and
//! webkit2gtk-driver installed; a missing part fails the test. Takes up to two minutes: it
//! waits for a real wall-clock slot.

use std::time::{Duration, Instant};

use backup_center_engine::catalog::destinations::{DestinationKind, DestinationSettings};
use backup_center_engine::catalog::runs::RunTrigger;
use backup_center_engine::catalog::Catalog;
use backup_center_engine::data_dir::catalog_path;
use backup_center_engine::schedule::{parse_time_zone, Day};
use backup_center_engine::schemes::{validate, SchemeContext, SchemeInput};
use backup_center_engine::snapshot::SnapshotKind;
use backup_center_engine::storage::sftp::SftpAuth;
use bc_tests::harness::app::{el, invoke, AppUnderTest};
use bc_tests::sim::{self, SimConfig};
use chrono::{Duration as Minutes, Timelike, Utc};
use serde_json::json;

#[test]
fn start_up_recovers_a_crashed_run_and_schedules_run_on_their_own() {
    let mut app = AppUnderTest::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(sim::start(SimConfig::default())).unwrap();
    let backups = tempfile::tempdir().unwrap();
    let data_dir = app.app_dir();

    // What a crash leaves: a run marked running (no process holds its scheme lock) and its
    // staging folder with a half-written snapshot.
    let crashed_run = {
        let catalog = Catalog::open(&catalog_path(&data_dir)).unwrap();
        let now = Utc::now();
        let site = catalog
            .insert_site(&sim.base_url, sim::ADMIN_EMAIL, now)
            .unwrap();
        let dest = catalog
            .insert_destination(
                &DestinationSettings {
                    name: "Disk".into(),
                    kind: DestinationKind::Local,
                    host: None,
                    port: None,
                    user_name: None,
                    folder: backups.path().display().to_string(),
                    quota_bytes: None,
                    pinned_fingerprint: None,
                    sftp_auth: SftpAuth::Password,
                    implicit_tls: false,
                },
                now,
            )
            .unwrap();
        let utc = parse_time_zone("UTC").unwrap();
        let settings = validate(
            &SchemeInput {
                name: "Crashed".into(),
                site_id: Some(site.id as u32),
                kind: Some(SnapshotKind::Basic),
                days: vec![Day::Sunday],
                destination_id: Some(dest.id as u32),
                paused: true,
                ..SchemeInput::default()
            },
            &SchemeContext {
                existing: &[],
                site_time_zone: None,
                computer_time_zone: utc,
            },
        )
        .unwrap();
        let scheme = catalog.insert_scheme(&settings, now).unwrap();
        let run = catalog
            .try_start_run(scheme.id, RunTrigger::Manual, None, now)
            .unwrap()
            .unwrap();
        let staging = data_dir.join("staging").join(format!("run-{}", run.id));
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join("snapshot.zip.part"), b"half a snapshot").unwrap();
        run.id
    };

    rt.block_on(async {
        let c = app.launch().await;
        el(&c, "nav-control-panel").await; // the window is up and its IPC ready

        let deadline = Instant::now() + Duration::from_secs(20);
        let run = loop {
            let run = invoke(&c, "latest_attempt", json!({})).await.unwrap();
            if run["outcome"] != "running" {
                break run;
            }
            assert!(Instant::now() < deadline, "not recovered: {run}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(run["id"], json!(crashed_run));
        assert_eq!(
            run["outcome"], "interrupted",
            "a run left running by a crash must be marked interrupted at start: {run}"
        );
        assert!(
            run["message"].as_str().unwrap().contains("interrupted"),
            "{run}"
        );
        assert!(
            !data_dir
                .join("staging")
                .join(format!("run-{crashed_run}"))
                .exists(),
            "the crashed run's staging folder must be removed at start"
        );

        // A scheme due at the next full minute (two if this one is nearly over), in UTC.
        let site = &invoke(&c, "list_sites", json!({})).await.unwrap()[0];
        invoke(
            &c,
            "save_site",
            json!({ "draft": { "id": site["id"], "url": site["url"], "email": site["email"],
                               "token": sim::ADMIN_TOKEN } }),
        )
        .await
        .unwrap();
        let now = Utc::now();
        let ahead = if now.second() < 45 { 1 } else { 2 };
        let slot = (now + Minutes::minutes(ahead))
            .with_second(0)
            .unwrap()
            .with_nanosecond(0)
            .unwrap();
        let saved = invoke(
            &c,
            "save_scheme",
            json!({ "input": {
                "name": "Every day", "siteId": site["id"], "kind": "basic",
                "days": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                         "sunday"],
                "time": slot.format("%H:%M").to_string(), "timeZone": "UTC",
                "destinationId": 1, "folder": "scheduled" } }),
        )
        .await
        .unwrap();
        assert_eq!(saved["type"], "saved", "{saved}");
        assert_eq!(
            saved["scheme"]["nextRunAt"],
            json!(slot.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "{saved}"
        );
        let scheme = saved["scheme"]["id"].clone();

        let deadline = Instant::now() + Duration::from_secs(150);
        let run = loop {
            let runs = invoke(
                &c,
                "run_history",
                json!({ "schemeId": scheme, "limit": 5, "beforeRunId": null }),
            )
            .await
            .unwrap();
            if let Some(r) = runs.as_array().unwrap().first() {
                if r["outcome"] != "running" {
                    break r.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "the scheme did not run at {slot}: {runs}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert_eq!(run["trigger"], "schedule", "{run}");
        assert_eq!(run["outcome"], "succeeded", "{run}");
        let started: chrono::DateTime<Utc> = run["startedAt"].as_str().unwrap().parse().unwrap();
        assert!(
            started >= slot && started < slot + Minutes::seconds(30),
            "a scheduled run starts at its slot ({slot}), not at {started}"
        );
        let files = invoke(&c, "list_backup_files", json!({})).await.unwrap();
        let name = files[0]["name"].as_str().unwrap();
        assert!(
            backups.path().join("scheduled").join(name).is_file(),
            "{files}"
        );
        c.close().await.unwrap();
    });
}
