use std::collections::BTreeMap;

use backup_center_engine::catalog::backups::NewBackup;
use backup_center_engine::catalog::destinations::{DestinationKind, DestinationSettings};
use backup_center_engine::catalog::sites::SiteIdentity;
use backup_center_engine::clock::ManualClock;
use backup_center_engine::run::CatalogDestinations;
use backup_center_engine::schedule::Day;
use backup_center_engine::schemes::SchemeField;
use backup_center_engine::secrets::MemoryStore;
use backup_center_engine::snapshot::SnapshotKind;
use backup_center_engine::storage::sftp::SftpAuth;

use super::*;

struct Fixture {
    catalog: Catalog,
    clock: ManualClock,
    dir: tempfile::TempDir,
}

/// A catalog with a site (#1, its Jira user in Asia/Tokyo) and a local destination (#1).
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open_in_memory().unwrap();
    let now: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
    let site = catalog
        .insert_site("https://acme.atlassian.net", "a@b.co", now)
        .unwrap();
    catalog
        .record_site_identity(
            site.id,
            &SiteIdentity {
                display_name: "Admin".into(),
                account_id: "1".into(),
                is_admin: true,
                time_zone: Some("Asia/Tokyo".into()),
                checked_at: now,
            },
        )
        .unwrap();
    catalog
        .insert_destination(
            &DestinationSettings {
                name: "Disk".into(),
                kind: DestinationKind::Local,
                host: None,
                port: None,
                user_name: None,
                folder: "Backups".into(),
                quota_bytes: None,
                pinned_fingerprint: None,
                sftp_auth: SftpAuth::Password,
                implicit_tls: false,
            },
            now,
        )
        .unwrap();
    Fixture {
        catalog,
        clock: ManualClock::new(now),
        dir,
    }
}

fn input(name: &str) -> SchemeInput {
    SchemeInput {
        name: name.into(),
        site_id: Some(1),
        kind: Some(SnapshotKind::Basic),
        days: vec![Day::Monday, Day::Tuesday],
        time: Some("02:30".into()),
        destination_id: Some(1),
        folder: "acme".into(),
        ..SchemeInput::default()
    }
}

fn saved(outcome: SaveSchemeOutcome) -> SchemeView {
    match outcome {
        SaveSchemeOutcome::Saved { scheme } => scheme,
        other => panic!("expected a saved scheme, got {other:?}"),
    }
}

#[test]
fn every_invalid_field_comes_back_with_its_own_message() {
    let f = fixture();
    let bad = SchemeInput {
        name: "a/b".into(),
        days: vec![],
        time_zone: Some("Mars/Olympus".into()),
        keep: Some(0),
        ..input("x")
    };
    let SaveSchemeOutcome::Invalid { errors } =
        save(&f.catalog, &f.clock, chrono_tz::UTC, &bad).unwrap()
    else {
        panic!("bad input must not be saved");
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
    for want in [
        SchemeField::Name,
        SchemeField::Days,
        SchemeField::TimeZone,
        SchemeField::Keep,
    ] {
        assert!(fields.contains(&want), "{want:?} missing from {errors:?}");
    }
    assert!(f.catalog.list_schemes().unwrap().is_empty());
}

#[test]
fn a_saved_scheme_shows_its_next_run_and_status_and_pausing_clears_the_next_run() {
    let f = fixture();
    let v = saved(save(&f.catalog, &f.clock, chrono_tz::UTC, &input("Nightly")).unwrap());
    assert_eq!(
        v.scheme.settings.time_zone,
        chrono_tz::Asia::Tokyo,
        "no zone chosen: the Jira user's"
    );
    assert_eq!(v.status, SchemeStatus::NeverRun);
    assert_eq!(v.destination_name.as_deref(), Some("Disk"));
    assert_eq!(v.site_url.as_deref(), Some("https://acme.atlassian.net"));
    // Monday 2026-03-02 10:00 UTC is 19:00 in Tokyo: the next slot is Tuesday 02:30 Tokyo.
    assert_eq!(
        v.next_run_at,
        Some("2026-03-02T17:30:00Z".parse().unwrap()),
        "{v:?}"
    );
    assert_eq!(v.last_success_at, None);

    f.catalog
        .set_scheme_paused(v.scheme.id, true, f.clock.now())
        .unwrap();
    let all = views(&f.catalog, f.clock.now()).unwrap();
    assert_eq!(all[0].status, SchemeStatus::Paused);
    assert_eq!(all[0].next_run_at, None);

    // Saving again under the same name (editing) is fine; a second scheme may not take it.
    let again = SchemeInput {
        id: Some(v.scheme.id),
        ..input("Nightly")
    };
    saved(save(&f.catalog, &f.clock, chrono_tz::UTC, &again).unwrap());
    let dup = save(&f.catalog, &f.clock, chrono_tz::UTC, &input("NIGHTLY")).unwrap();
    assert!(matches!(dup, SaveSchemeOutcome::Invalid { .. }), "{dup:?}");
}

#[test]
fn deleting_keeps_the_files_unless_asked_and_then_removes_them_from_disk() {
    let f = fixture();
    let destinations = CatalogDestinations::new(f.dir.path());
    let secrets = MemoryStore::new();
    let mut ids = Vec::new();
    for name in ["Keep files", "Delete files"] {
        ids.push(
            saved(save(&f.catalog, &f.clock, chrono_tz::UTC, &input(name)).unwrap())
                .scheme
                .id,
        );
    }
    let folder = f.dir.path().join("Backups/acme");
    std::fs::create_dir_all(&folder).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let name = format!("acme.atlassian.net-basic-2026-03-0{}_0230.zip", i + 1);
        std::fs::write(folder.join(&name), b"zip").unwrap();
        f.catalog
            .insert_backup(&NewBackup {
                name,
                scheme_id: Some(*id),
                run_id: None,
                destination_id: 1,
                folder: "acme".into(),
                size: 3,
                sha256: "ab".repeat(32),
                created_at: f.clock.now(),
                entity_counts: BTreeMap::new(),
                partial_sections: vec![],
                verified: true,
            })
            .unwrap();
    }
    delete(&f.catalog, &secrets, &destinations, ids[0], false).unwrap();
    delete(&f.catalog, &secrets, &destinations, ids[1], true).unwrap();
    assert!(f.catalog.list_schemes().unwrap().is_empty());
    let left = f.catalog.list_backups().unwrap();
    assert_eq!(left.len(), 1, "the kept scheme's file stays recorded");
    assert_eq!(left[0].file.scheme_id, None);
    assert!(
        folder
            .join("acme.atlassian.net-basic-2026-03-01_0230.zip")
            .is_file(),
        "deleting a scheme keeps its files by default"
    );
    assert!(
        !folder
            .join("acme.atlassian.net-basic-2026-03-02_0230.zip")
            .exists(),
        "delete_files removes them from the destination"
    );
    let e = delete(&f.catalog, &secrets, &destinations, ids[1], true).unwrap_err();
    assert_eq!(e.kind, backup_center_engine::ErrorKind::NotFound);
}
