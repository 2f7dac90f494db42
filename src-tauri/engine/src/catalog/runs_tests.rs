use super::*;
use crate::catalog::schemes::tests::{at, catalog, settings};

fn ending(outcome: RunOutcome, finished: &str) -> RunEnding {
    RunEnding {
        outcome,
        finished_at: at(finished),
        phases: BTreeMap::from([(Phase::Snapshot, 61_000), (Phase::Store, 2_500)]),
        bytes: Some(123_456),
        error: None,
    }
}

#[test]
fn a_run_is_recorded_from_start_to_outcome() {
    let c = catalog();
    let s = c
        .insert_scheme(&settings("N"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let slot = at("2026-02-02T01:30:00Z");
    let r = c
        .try_start_run(
            s.id,
            RunTrigger::Schedule,
            Some(slot),
            at("2026-02-02T01:30:01Z"),
        )
        .unwrap()
        .unwrap();
    assert_eq!(r.outcome, RunOutcome::Running);
    assert_eq!(r.slot, Some(slot));
    assert_eq!(r.finished_at, None);
    c.heartbeat_run(r.id, at("2026-02-02T01:30:31Z")).unwrap();
    assert_eq!(
        c.get_run(r.id).unwrap().heartbeat_at,
        at("2026-02-02T01:30:31Z")
    );

    let done = c
        .finish_run(r.id, &ending(RunOutcome::Succeeded, "2026-02-02T01:31:05Z"))
        .unwrap();
    assert_eq!(done.outcome, RunOutcome::Succeeded);
    assert_eq!(done.phases[&Phase::Snapshot], 61_000);
    assert_eq!(done.bytes, Some(123_456));
    assert_eq!(done.error, None);
    assert_eq!(c.latest_run(s.id).unwrap(), Some(done.clone()));
    assert_eq!(c.latest_success(s.id).unwrap(), Some(done.clone()));

    let again = c.finish_run(r.id, &ending(RunOutcome::Failed, "2026-02-02T01:32:00Z"));
    assert_eq!(
        again.unwrap_err().kind,
        ErrorKind::Internal,
        "a finished run stays as it was"
    );
    assert!(c.heartbeat_run(r.id, at("2026-02-02T01:33:00Z")).is_err());
}

#[test]
fn failures_keep_their_kind_and_message() {
    let c = catalog();
    let s = c
        .insert_scheme(&settings("N"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let r = c
        .try_start_run(s.id, RunTrigger::Manual, None, at("2026-02-02T10:00:00Z"))
        .unwrap()
        .unwrap();
    let mut end = ending(RunOutcome::Failed, "2026-02-02T10:01:00Z");
    end.error = Some(RunError {
        kind: Some(ErrorKind::StorageAuth),
        message: "The SFTP server refused the password for backup@nas.".into(),
    });
    let done = c.finish_run(r.id, &end).unwrap();
    assert_eq!(done.error, end.error);
    assert_eq!(done.trigger, RunTrigger::Manual);
    assert_eq!(c.latest_success(s.id).unwrap(), None);
    assert!(c
        .finish_run(r.id, &ending(RunOutcome::Running, "2026-02-02T10:01:00Z"))
        .is_err());
}

#[test]
fn a_scheme_never_overlaps_itself() {
    let c = catalog();
    let a = c
        .insert_scheme(&settings("A"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let b = c
        .insert_scheme(&settings("B"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let now = at("2026-02-02T10:00:00Z");
    let first = c
        .try_start_run(a.id, RunTrigger::Manual, None, now)
        .unwrap()
        .unwrap();
    assert_eq!(
        c.try_start_run(a.id, RunTrigger::Schedule, None, now + Duration::seconds(5))
            .unwrap(),
        None,
        "a second run of a running scheme must not start"
    );
    assert!(
        c.try_start_run(b.id, RunTrigger::Manual, None, now)
            .unwrap()
            .is_some(),
        "another scheme may run"
    );
    c.finish_run(
        first.id,
        &ending(RunOutcome::Succeeded, "2026-02-02T10:05:00Z"),
    )
    .unwrap();
    assert!(c
        .try_start_run(a.id, RunTrigger::Manual, None, at("2026-02-02T10:06:00Z"))
        .unwrap()
        .is_some());
}

#[test]
fn a_run_left_running_by_a_crash_is_marked_interrupted() {
    let c = catalog();
    let s = c
        .insert_scheme(&settings("N"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let other = c
        .insert_scheme(&settings("Live"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let crashed = c
        .try_start_run(s.id, RunTrigger::Schedule, None, at("2026-02-02T01:00:00Z"))
        .unwrap()
        .unwrap();
    // Another process (the CLI) is running a scheme and keeping its heartbeat fresh.
    let live = c
        .try_start_run(
            other.id,
            RunTrigger::Manual,
            None,
            at("2026-02-02T01:00:00Z"),
        )
        .unwrap()
        .unwrap();
    let restart = at("2026-02-02T09:00:00Z");
    c.heartbeat_run(live.id, restart - Duration::seconds(10))
        .unwrap();

    let marked = c.mark_interrupted_runs(restart, STALE_AFTER).unwrap();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].id, crashed.id);
    assert_eq!(marked[0].outcome, RunOutcome::Interrupted);
    assert_eq!(marked[0].finished_at, Some(restart));
    let err = marked[0].error.as_ref().unwrap();
    assert_eq!(err.kind, None);
    assert!(err.message.contains("interrupted"));
    assert_eq!(
        c.get_run(live.id).unwrap().outcome,
        RunOutcome::Running,
        "a live run is left alone"
    );
    assert!(
        c.mark_interrupted_runs(restart, STALE_AFTER)
            .unwrap()
            .is_empty(),
        "idempotent"
    );
    assert!(
        c.finish_run(
            crashed.id,
            &ending(RunOutcome::Succeeded, "2026-02-02T09:01:00Z")
        )
        .is_err(),
        "a process that comes back late cannot overwrite the interrupted record"
    );
}

#[test]
fn a_stale_run_does_not_block_its_scheme() {
    let c = catalog();
    let s = c
        .insert_scheme(&settings("N"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let stale = c
        .try_start_run(s.id, RunTrigger::Schedule, None, at("2026-02-02T01:00:00Z"))
        .unwrap()
        .unwrap();
    let later = at("2026-02-02T01:00:00Z") + STALE_AFTER;
    let fresh = c
        .try_start_run(s.id, RunTrigger::Manual, None, later)
        .unwrap();
    assert!(fresh.is_some());
    assert_eq!(
        c.get_run(stale.id).unwrap().outcome,
        RunOutcome::Interrupted
    );
}

#[test]
fn latest_attempts_and_history_pages() {
    let c = catalog();
    let a = c
        .insert_scheme(&settings("A"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let b = c
        .insert_scheme(&settings("B"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    c.insert_scheme(&settings("Never ran"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let mut ids = Vec::new();
    for day in 2..=6 {
        for scheme in [a.id, b.id] {
            let start = at(&format!("2026-02-0{day}T01:00:00Z"));
            let r = c
                .try_start_run(scheme, RunTrigger::Schedule, None, start)
                .unwrap()
                .unwrap();
            let outcome = if day == 6 && scheme == a.id {
                RunOutcome::Failed
            } else {
                RunOutcome::Succeeded
            };
            c.finish_run(r.id, &ending(outcome, &format!("2026-02-0{day}T01:05:00Z")))
                .unwrap();
            if scheme == a.id {
                ids.push(r.id);
            }
        }
    }
    let latest = c.latest_runs().unwrap();
    assert_eq!(latest.len(), 2, "one per scheme that ran");
    assert_eq!(latest[0].scheme_id, a.id);
    assert_eq!(latest[0].outcome, RunOutcome::Failed);
    assert_eq!(latest[0].id, *ids.last().unwrap());
    assert_eq!(c.latest_success(a.id).unwrap().unwrap().id, ids[3]);

    let page1 = c.run_history(Some(a.id), 2, None).unwrap();
    assert_eq!(
        page1.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let page2 = c.run_history(Some(a.id), 2, Some(page1[1].id)).unwrap();
    assert_eq!(
        page2.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    assert_eq!(c.run_history(None, 100, None).unwrap().len(), 10);

    c.delete_scheme(a.id).unwrap();
    assert_eq!(
        c.run_history(Some(a.id), 100, None).unwrap().len(),
        0,
        "history goes with its scheme"
    );
}

#[test]
fn a_run_known_to_be_dead_is_interrupted_at_once_and_only_once() {
    let c = catalog();
    let s = c
        .insert_scheme(&settings("A"), at("2026-02-01T00:00:00Z"))
        .unwrap();
    let start = at("2026-02-02T01:00:00Z");
    let r = c
        .try_start_run(s.id, RunTrigger::Manual, None, start)
        .unwrap()
        .unwrap();
    assert_eq!(c.running_runs().unwrap().len(), 1);
    let done = c
        .interrupt_run(r.id, start + Duration::seconds(5))
        .unwrap()
        .expect("a running run is interrupted even with a fresh heartbeat");
    assert_eq!(done.outcome, RunOutcome::Interrupted);
    assert_eq!(done.error.unwrap().message, INTERRUPTED_MESSAGE);
    assert!(c.running_runs().unwrap().is_empty());
    assert_eq!(
        c.interrupt_run(r.id, start + Duration::seconds(6)).unwrap(),
        None,
        "a finished run is left as it is"
    );
}
