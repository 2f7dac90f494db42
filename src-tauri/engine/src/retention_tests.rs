use std::collections::BTreeSet;

use chrono::Duration;
use proptest::prelude::*;

use super::*;

const HOST: &str = "acme.atlassian.net";

fn t0() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn ours(minutes: i64, verified: bool) -> RecordedFile {
    let at = t0() + Duration::minutes(minutes);
    RecordedFile {
        name: file_name(HOST, SnapshotKind::Basic, at),
        created_at: at,
        verified,
    }
}

fn rotation<'a>(keep: u32, recorded: &'a [RecordedFile], listed: &'a [String]) -> Rotation<'a> {
    Rotation {
        keep,
        site_host: HOST,
        kind: SnapshotKind::Basic,
        recorded,
        listed,
    }
}

fn names(files: &[RecordedFile]) -> Vec<String> {
    files.iter().map(|f| f.name.clone()).collect()
}

#[test]
fn keeps_the_newest_and_deletes_the_oldest_first() {
    let recorded: Vec<_> = (0..5).map(|i| ours(i * 60, true)).collect();
    let listed = names(&recorded);
    let new = &recorded[4].name;
    let d = files_to_delete(
        RunEnd::VerifiedSuccess { new_file: new },
        &rotation(3, &recorded, &listed),
    );
    assert_eq!(d, vec![recorded[0].name.clone(), recorded[1].name.clone()]);
}

#[test]
fn a_failure_deletes_nothing() {
    let recorded: Vec<_> = (0..5).map(|i| ours(i * 60, true)).collect();
    let listed = names(&recorded);
    assert!(files_to_delete(RunEnd::NotVerified, &rotation(1, &recorded, &listed)).is_empty());
}

#[test]
fn an_unverified_or_unlisted_new_file_deletes_nothing() {
    let mut recorded: Vec<_> = (0..4).map(|i| ours(i * 60, true)).collect();
    recorded.push(ours(300, false));
    let listed = names(&recorded);
    let new = recorded[4].name.clone();
    let end = RunEnd::VerifiedSuccess { new_file: &new };
    assert!(files_to_delete(end, &rotation(1, &recorded, &listed)).is_empty());

    recorded[4].verified = true;
    let not_listed = names(&recorded[..4]);
    assert!(files_to_delete(end, &rotation(1, &recorded, &not_listed)).is_empty());
    let end = RunEnd::VerifiedSuccess {
        new_file: "unknown.zip",
    };
    assert!(files_to_delete(end, &rotation(1, &recorded, &listed)).is_empty());
}

#[test]
fn foreign_and_other_schemes_files_are_never_touched() {
    let recorded = vec![ours(0, true), ours(60, true)];
    let mut listed = names(&recorded);
    let foreign = [
        "notes.txt".to_string(),
        file_name(HOST, SnapshotKind::Extended, t0()),
        file_name("other.atlassian.net", SnapshotKind::Basic, t0()),
        // Our pattern, but not recorded for this scheme (copied in, or another scheme's).
        file_name(HOST, SnapshotKind::Basic, t0() - Duration::days(3)),
    ];
    listed.extend(foreign.iter().cloned());
    // A catalog row for a file whose name is not ours (corrupted or edited): not deleted.
    let mut with_odd = recorded.clone();
    with_odd.push(RecordedFile {
        name: "notes.txt".into(),
        created_at: t0() - Duration::days(1),
        verified: true,
    });
    let new = recorded[1].name.clone();
    let d = files_to_delete(
        RunEnd::VerifiedSuccess { new_file: &new },
        &rotation(1, &with_odd, &listed),
    );
    assert_eq!(d, vec![recorded[0].name.clone()]);
}

#[test]
fn the_new_file_stays_even_if_the_clock_made_it_look_old() {
    let recorded = vec![ours(600, true), ours(700, true), ours(0, true)];
    let listed = names(&recorded);
    let new = recorded[2].name.clone();
    let d = files_to_delete(
        RunEnd::VerifiedSuccess { new_file: &new },
        &rotation(2, &recorded, &listed),
    );
    assert_eq!(d, vec![recorded[0].name.clone()]);
}

#[test]
fn leftovers_of_failed_runs_go_once_a_newer_backup_is_verified() {
    let recorded = vec![
        ours(0, true),
        ours(60, false),
        ours(120, true),
        ours(180, false),
    ];
    let listed = names(&recorded);
    let new = recorded[2].name.clone();
    let d = files_to_delete(
        RunEnd::VerifiedSuccess { new_file: &new },
        &rotation(5, &recorded, &listed),
    );
    assert_eq!(
        d,
        vec![recorded[1].name.clone()],
        "not the one newer than the new file"
    );
}

#[test]
fn keep_zero_still_keeps_the_new_file() {
    let recorded = vec![ours(0, true), ours(60, true)];
    let listed = names(&recorded);
    let new = recorded[1].name.clone();
    let d = files_to_delete(
        RunEnd::VerifiedSuccess { new_file: &new },
        &rotation(0, &recorded, &listed),
    );
    assert_eq!(d, vec![recorded[0].name.clone()]);
}

/// What happens in the scheme's folder between two rotations.
#[derive(Debug, Clone)]
enum Event {
    /// A run stored and verified a new file.
    Success,
    /// A run failed before storing anything.
    Failure,
    /// A run failed after storing a file it could not verify.
    FailureWithLeftover,
    /// Someone put a file in the folder.
    Foreign(String),
    /// Another scheme (same site and type) stored a verified file in the same folder.
    OtherScheme,
    /// Someone deleted one of the listed files (index into the listing, modulo its length).
    Vanish(usize),
}

fn foreign_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._-]{1,20}",
        // Our naming pattern, from times no run of ours uses (2020) or another type or site.
        (0i64..500_000).prop_map(|m| file_name(
            HOST,
            SnapshotKind::Basic,
            t0() - Duration::days(2000) + Duration::minutes(m)
        )),
        (0i64..500_000).prop_map(|m| file_name(
            HOST,
            SnapshotKind::Extended,
            t0() + Duration::minutes(m)
        )),
        (0i64..500_000).prop_map(|m| file_name(
            "other.atlassian.net",
            SnapshotKind::Basic,
            t0() + Duration::minutes(m)
        )),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        5 => Just(Event::Success),
        2 => Just(Event::Failure),
        2 => Just(Event::FailureWithLeftover),
        2 => foreign_name().prop_map(Event::Foreign),
        1 => Just(Event::OtherScheme),
        1 => any::<usize>().prop_map(Event::Vanish),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_newest_good_files_remain_and_nothing_foreign_is_touched(
        keep in 1u32..6,
        events in proptest::collection::vec(event(), 1..60),
    ) {
        let mut listed: BTreeSet<String> = BTreeSet::new();
        let mut recorded: Vec<RecordedFile> = Vec::new();
        let mut not_ours: BTreeSet<String> = BTreeSet::new();
        let mut minute = 0i64;
        // Another scheme's runs use odd minutes, ours even ones: names never collide.
        let mut next_name = |odd: bool| {
            minute += 2;
            t0() + Duration::minutes(minute + i64::from(odd))
        };

        for e in events {
            let good_before = good_listed(&recorded, &listed);
            let (end, new) = match e {
                Event::Success => {
                    let at = next_name(false);
                    let f = RecordedFile { name: file_name(HOST, SnapshotKind::Basic, at), created_at: at, verified: true };
                    listed.insert(f.name.clone());
                    recorded.push(f.clone());
                    (true, Some(f))
                }
                Event::FailureWithLeftover => {
                    let at = next_name(false);
                    let f = RecordedFile { name: file_name(HOST, SnapshotKind::Basic, at), created_at: at, verified: false };
                    listed.insert(f.name.clone());
                    recorded.push(f);
                    (false, None)
                }
                Event::Failure => (false, None),
                Event::Foreign(name) => {
                    if !recorded.iter().any(|f| f.name == name) && listed.insert(name.clone()) {
                        not_ours.insert(name);
                    }
                    continue;
                }
                Event::OtherScheme => {
                    let name = file_name(HOST, SnapshotKind::Basic, next_name(true));
                    listed.insert(name.clone());
                    not_ours.insert(name);
                    continue;
                }
                Event::Vanish(i) => {
                    if let Some(name) = listed.iter().nth(i % listed.len().max(1)).cloned() {
                        listed.remove(&name);
                        not_ours.remove(&name);
                    }
                    continue;
                }
            };

            let listing: Vec<String> = listed.iter().cloned().collect();
            let run_end = match &new {
                Some(f) if end => RunEnd::VerifiedSuccess { new_file: &f.name },
                _ => RunEnd::NotVerified,
            };
            let delete = files_to_delete(run_end, &rotation(keep, &recorded, &listing));
            for name in &delete {
                prop_assert!(listed.contains(name), "only listed files are deleted: {}", name);
                prop_assert!(!not_ours.contains(name), "a file this scheme did not write was deleted: {}", name);
                prop_assert!(recorded.iter().any(|f| &f.name == name));
                listed.remove(name);
            }
            let good_after = good_listed(&recorded, &listed);
            match new {
                Some(f) => {
                    prop_assert!(listed.contains(&f.name), "the new backup must stay");
                    let mut expected = good_before.clone();
                    expected.push(f.clone());
                    expected.sort_by_key(|f| std::cmp::Reverse(f.created_at));
                    expected.truncate(keep as usize);
                    let mut after = good_after.clone();
                    after.sort_by_key(|f| std::cmp::Reverse(f.created_at));
                    prop_assert_eq!(after, expected, "the newest {} good files must remain", keep);
                }
                None => {
                    prop_assert!(delete.is_empty(), "a failed run must not delete anything");
                    prop_assert_eq!(good_after.len(), good_before.len(), "a failure never lowers the count");
                }
            }
        }
    }
}

/// The scheme's verified files still in the folder.
fn good_listed(recorded: &[RecordedFile], listed: &BTreeSet<String>) -> Vec<RecordedFile> {
    recorded
        .iter()
        .filter(|f| f.verified && listed.contains(&f.name))
        .cloned()
        .collect()
}
