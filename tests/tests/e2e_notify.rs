//! Desktop notifications from real runs of the real app, proven on the session bus: the
//! notification plugin answers Ok even with no notification daemon, so the test watches for
//! the `org.freedesktop.Notifications.Notify` call itself (dbus-monitor on the app's private
//! bus). Along the way it drives, through the webview's IPC as the window will, the backend
//! flow of the control panel: a site (the simulator), a local destination, a scheme from a
//! preset, Backup now with its progress events, the file on disk and in the table, and Delete.
//!
//! Needs the app built first (`make test` does it) and Xvfb, dbus, gnome-keyring and
//! webkit2gtk-driver installed; a missing part fails the test.

use std::time::{Duration, Instant};

use bc_tests::harness::app::{el, invoke, AppUnderTest};
use bc_tests::harness::NotifyMonitor;
use bc_tests::sim::{self, SimConfig};
use fantoccini::Client;
use serde_json::{json, Value};

/// Waits for the newest attempt after run `after` to end, and returns it.
async fn finished_run(c: &Client, after: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let run = invoke(c, "latest_attempt", json!({})).await.unwrap();
        let newer = run["id"].as_i64().is_some_and(|id| id > after);
        if newer && run["outcome"] != "running" {
            return run;
        }
        assert!(Instant::now() < deadline, "the run did not end: {run}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Collects every `runProgress` event the window receives into `window.__bcProgress`, through
/// the same event plugin the generated bindings listen with.
async fn listen_to_progress(c: &Client) {
    c.execute_async(
        "const done = arguments[arguments.length - 1]; \
         const t = window.__TAURI_INTERNALS__; window.__bcProgress = []; \
         t.invoke('plugin:event|listen', { event: 'run-progress', target: { kind: 'Any' }, \
           handler: t.transformCallback((e) => window.__bcProgress.push(e.payload)) }) \
          .then(() => done(true), (e) => done(String(e)));",
        vec![],
    )
    .await
    .map(|v| assert_eq!(v, json!(true), "listening to run-progress"))
    .unwrap();
}

#[test]
fn failures_notify_with_the_actionable_message_and_successes_only_when_asked() {
    let mut app = AppUnderTest::start();
    let monitor = NotifyMonitor::start(&app.bus);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(sim::start(SimConfig::default())).unwrap();
    let backups = tempfile::tempdir().unwrap();
    let wrong = "wrong-token-5f1e2d3c4b";

    rt.block_on(async {
        let c = app.launch().await;
        el(&c, "page-configuration").await; // the window is up and its IPC ready

        let site = invoke(
            &c,
            "save_site",
            json!({ "draft": { "id": null, "url": sim.base_url, "email": sim::ADMIN_EMAIL,
                               "token": wrong } }),
        )
        .await
        .unwrap();
        let dest = invoke(
            &c,
            "save_destination",
            json!({ "draft": { "id": null, "name": "Disk", "kind": "local", "host": null,
                               "port": null, "userName": null,
                               "folder": backups.path().display().to_string(),
                               "quotaBytes": 5_000_000_000u64, "pinnedFingerprint": null,
                               "password": null, "sftpLogin": "password", "keyPath": null,
                               "keyHasPassphrase": false, "passphrase": null,
                               "implicitTls": false } }),
        )
        .await
        .unwrap();
        let nothing = invoke(&c, "run_all_now", json!({})).await.unwrap_err();
        assert_eq!(nothing["code"], "InvalidInput", "no scheme yet: {nothing}");
        let forms = invoke(
            &c,
            "preset_schemes",
            json!({ "preset": "basicDaily", "siteId": site["id"], "destinationId": dest["id"],
                    "folder": "acme" }),
        )
        .await
        .unwrap();
        let saved = invoke(&c, "save_scheme", json!({ "input": forms[0] }))
            .await
            .unwrap();
        assert_eq!(saved["type"], "saved", "{saved}");
        let scheme = saved["scheme"]["id"].clone();
        assert_eq!(saved["scheme"]["status"], "neverRun");
        assert!(saved["scheme"]["nextRunAt"].is_string(), "{saved}");

        // Bad input answers with one message per field, not an error.
        let bad = invoke(
            &c,
            "save_scheme",
            json!({ "input": { "name": "", "siteId": site["id"], "kind": "basic", "days": [],
                               "destinationId": dest["id"], "folder": "" } }),
        )
        .await
        .unwrap();
        assert_eq!(bad["type"], "invalid", "{bad}");
        assert_eq!(bad["errors"].as_array().unwrap().len(), 2, "{bad}");

        // 1. A rejected token: the run fails and says why, on the bus.
        invoke(&c, "run_scheme_now", json!({ "schemeId": scheme }))
            .await
            .unwrap();
        let failed = finished_run(&c, 0).await;
        assert_eq!(failed["outcome"], "failed", "{failed}");
        assert_eq!(failed["errorCode"], "JiraAuth", "{failed}");
        let n = monitor.wait_for("Backup failed", Duration::from_secs(30));
        assert!(
            n.body().starts_with("Scheme \"Basic daily\": ")
                && n.body().contains(failed["message"].as_str().unwrap()),
            "the notification must name the scheme and carry the run's message: {n:?}"
        );
        assert!(
            n.body().contains("rejected"),
            "the message must say what to fix: {n:?}"
        );
        assert!(
            !n.body().contains(wrong),
            "a token must never reach a notification"
        );

        // 2. The right token: success, and by default (failures only) no notification.
        invoke(
            &c,
            "save_site",
            json!({ "draft": { "id": site["id"], "url": sim.base_url,
                               "email": sim::ADMIN_EMAIL, "token": sim::ADMIN_TOKEN } }),
        )
        .await
        .unwrap();
        listen_to_progress(&c).await;
        invoke(&c, "run_scheme_now", json!({ "schemeId": scheme }))
            .await
            .unwrap();
        let ok = finished_run(&c, failed["id"].as_i64().unwrap()).await;
        assert_eq!(ok["outcome"], "succeeded", "{ok}");
        let progress = c
            .execute("return window.__bcProgress;", vec![])
            .await
            .unwrap();
        let kinds: Vec<&str> = progress
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["type"].as_str())
            .collect();
        for want in ["started", "snapshot", "upload", "finished"] {
            assert!(
                kinds.contains(&want),
                "the window must get {want} progress: {kinds:?}"
            );
        }
        let snap = progress
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["type"] == "snapshot")
            .unwrap();
        assert!(
            snap["phase"].is_string() && snap["done"].is_u64() && snap["bytes"].is_u64(),
            "{snap}"
        );
        assert_eq!(
            progress.as_array().unwrap().last().unwrap()["outcome"],
            "succeeded"
        );
        let files = invoke(&c, "list_backup_files", json!({})).await.unwrap();
        let file = &files[0];
        assert_eq!(files.as_array().unwrap().len(), 1, "{files}");
        assert_eq!(
            (&file["verified"], &file["partial"], &file["schemeName"]),
            (&json!(true), &json!(false), &json!("Basic daily"))
        );
        let on_disk = backups
            .path()
            .join("acme")
            .join(file["name"].as_str().unwrap());
        assert!(on_disk.is_file(), "{} must exist", on_disk.display());
        assert_eq!(
            std::fs::metadata(&on_disk).unwrap().len(),
            file["size"].as_u64().unwrap()
        );
        let usage = invoke(&c, "destination_usage", json!({})).await.unwrap();
        assert_eq!(
            (&usage[0]["used"], &usage[0]["quota"], &usage[0]["files"]),
            (&file["size"], &json!(5_000_000_000u64), &json!(1)),
            "{usage}"
        );
        assert!(
            usage[0]["free"].is_u64(),
            "a local disk reports free space: {usage}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            monitor
                .calls()
                .iter()
                .all(|c| c.summary() != "Backup completed"),
            "successes are not notified unless the user asks: {:?}",
            monitor.calls()
        );

        // Delete the file: gone from disk and from the table.
        invoke(&c, "delete_backup_file", json!({ "backupId": file["id"] }))
            .await
            .unwrap();
        assert!(!on_disk.exists(), "a deleted backup must be gone from disk");
        let files = invoke(&c, "list_backup_files", json!({})).await.unwrap();
        assert_eq!(files, json!([]));

        // 3. Notifications: all. The next success is notified too.
        let prefs = invoke(&c, "get_preferences", json!({})).await.unwrap();
        assert_eq!(
            prefs["notifications"], "failuresOnly",
            "the default: {prefs}"
        );
        invoke(
            &c,
            "set_preferences",
            json!({ "preferences": { "notifications": "all", "closeToTray": true,
                                     "startAtLogin": false, "schedulesPaused": false } }),
        )
        .await
        .unwrap();
        invoke(&c, "run_scheme_now", json!({ "schemeId": scheme }))
            .await
            .unwrap();
        let ok2 = finished_run(&c, ok["id"].as_i64().unwrap()).await;
        assert_eq!(ok2["outcome"], "succeeded", "{ok2}");
        let n = monitor.wait_for("Backup completed", Duration::from_secs(30));
        assert!(n.body().contains("Basic daily"), "{n:?}");

        let schemes = invoke(&c, "list_schemes", json!({})).await.unwrap();
        assert_eq!(schemes[0]["status"], "succeeded", "{schemes}");
        assert!(schemes[0]["lastSuccessAt"].is_string(), "{schemes}");
        c.close().await.unwrap();
    });
}
