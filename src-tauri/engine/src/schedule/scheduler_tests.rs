//! The loop over simulated time: a [`ManualClock`] that the fake sleeper moves forward by what
//! the loop asked to sleep (or by a week, to play a machine asleep), and an executor that
//! only records what it was asked to run.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::catalog::schemes::tests::{at, catalog, settings};
use crate::clock::ManualClock;
use crate::schedule::{Day, DaySet, TimeOfDay};
use crate::snapshot::SnapshotKind;

/// (scheme id, slot, trigger, clock at execution)
type Seen = Vec<(u32, DateTime<Utc>, RunTrigger, DateTime<Utc>)>;

struct Recorder {
    catalog: Arc<Catalog>,
    clock: Arc<ManualClock>,
    seen: Arc<Mutex<Seen>>,
}

impl Execute for Recorder {
    fn execute(&self, group: Group) -> BoxFuture<'static, ()> {
        let slot = group.slot.expect("scheduled groups have a slot");
        let now = self.clock.now();
        let mut seen = self.seen.lock().unwrap();
        for (s, trigger) in &group.members {
            seen.push((s.id, slot, *trigger, now));
            // As Runner::run_due_group does once the run has ended.
            self.catalog.record_slot_handled(s.id, slot).unwrap();
        }
        Box::pin(async {})
    }
}

/// Moves the clock by what the loop asked, with a planned jump (a machine asleep), until
/// `end`; then never wakes again.
struct SimSleep {
    clock: Arc<ManualClock>,
    end: DateTime<Utc>,
    /// At this instant, jump by this much instead of sleeping as asked.
    jump: Mutex<Option<(DateTime<Utc>, chrono::Duration)>>,
    done: Arc<Notify>,
    reached_end: AtomicBool,
}

impl Sleep for SimSleep {
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        let now = self.clock.now();
        if now >= self.end {
            if !self.reached_end.swap(true, Ordering::SeqCst) {
                self.done.notify_one();
            }
            return Box::pin(futures::future::pending());
        }
        let mut by = chrono::Duration::from_std(d).unwrap();
        let mut jump = self.jump.lock().unwrap();
        if let Some((when, sleep_for)) = *jump {
            if now >= when {
                by = sleep_for;
                *jump = None;
            }
        }
        let clock = self.clock.clone();
        Box::pin(async move {
            // Let the runs the loop just spawned record themselves at the current time.
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
            clock.advance(by);
        })
    }
}

struct Sim {
    catalog: Arc<Catalog>,
    clock: Arc<ManualClock>,
    seen: Arc<Mutex<Seen>>,
}

fn sim(start: &str) -> Sim {
    Sim {
        catalog: Arc::new(catalog()),
        clock: Arc::new(ManualClock::new(at(start))),
        seen: Arc::default(),
    }
}

impl Sim {
    fn scheme(&self, name: &str, time: &str, days: DaySet, kind: SnapshotKind) -> u32 {
        let mut s = settings(name);
        s.time = time.parse::<TimeOfDay>().unwrap();
        s.days = days;
        s.kind = kind;
        self.catalog.insert_scheme(&s, self.clock.now()).unwrap().id
    }

    /// Runs the loop until `end`, with an optional jump.
    async fn run_until(&self, end: &str, jump: Option<(&str, chrono::Duration)>) {
        let done = Arc::new(Notify::new());
        let sleep = Arc::new(SimSleep {
            clock: self.clock.clone(),
            end: at(end),
            jump: Mutex::new(jump.map(|(w, d)| (at(w), d))),
            done: done.clone(),
            reached_end: AtomicBool::new(false),
        });
        let recorder = Arc::new(Recorder {
            catalog: self.catalog.clone(),
            clock: self.clock.clone(),
            seen: self.seen.clone(),
        });
        let handle = spawn(self.catalog.clone(), self.clock.clone(), sleep, recorder);
        done.notified().await;
        handle.stop().await;
    }

    fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn every_slot_runs_once_at_its_instant_across_a_dst_change() {
    // Berlin springs forward on 2026-03-29: 02:30 does not exist that day and runs at 03:00.
    let s = sim("2026-03-20T12:00:00Z");
    let id = s.scheme("Nightly", "02:30", DaySet::EVERY_DAY, SnapshotKind::Basic);
    s.run_until("2026-04-03T12:00:00Z", None).await;
    let seen = s.seen();
    let timing = s.catalog.get_scheme(id).unwrap().settings.timing();
    let mut expected = Vec::new();
    let mut t = at("2026-03-20T12:00:00Z");
    loop {
        t = crate::schedule::next_run_after(&timing, t);
        if t > at("2026-04-03T12:00:00Z") {
            break;
        }
        expected.push(t);
    }
    let slots: Vec<_> = seen.iter().map(|r| r.1).collect();
    assert_eq!(slots, expected, "every slot once, none twice, none missed");
    assert!(
        slots.contains(&at("2026-03-29T01:00:00Z")),
        "03:00 CEST on the gap day"
    );
    for (_, slot, trigger, ran_at) in &seen {
        assert!(
            *ran_at >= *slot && *ran_at - *slot < chrono::Duration::minutes(1),
            "the run for {slot} started at {ran_at}: it must start within the minute"
        );
        assert_eq!(*trigger, RunTrigger::Schedule);
    }
}

#[tokio::test]
async fn a_week_asleep_runs_one_catch_up() {
    let s = sim("2026-05-01T08:00:00Z");
    s.scheme("Nightly", "00:00", DaySet::EVERY_DAY, SnapshotKind::Basic);
    // Asleep from May 3, 12:00 UTC for a week.
    s.run_until(
        "2026-05-10T20:00:00Z",
        Some(("2026-05-03T12:00:00Z", chrono::Duration::days(7))),
    )
    .await;
    let seen = s.seen();
    let slots: Vec<_> = seen.iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(
        slots,
        vec![
            (at("2026-05-01T22:00:00Z"), RunTrigger::Schedule),
            (at("2026-05-02T22:00:00Z"), RunTrigger::Schedule),
            // Woke at May 10, 12:00 UTC: the latest missed slot (May 9, 22:00) runs once.
            (at("2026-05-09T22:00:00Z"), RunTrigger::CatchUp),
        ],
        "a week asleep must give exactly one catch-up run"
    );
    assert_eq!(seen[2].3, at("2026-05-10T12:00:00Z"), "on wake, not later");
}

#[tokio::test]
async fn a_clock_set_back_repeats_nothing() {
    let s = sim("2026-05-01T08:00:00Z");
    s.scheme("Nightly", "00:00", DaySet::EVERY_DAY, SnapshotKind::Basic);
    // After May 3, 12:00 UTC the clock goes back two days.
    s.run_until(
        "2026-05-04T12:00:00Z",
        Some(("2026-05-03T12:00:00Z", chrono::Duration::days(-2))),
    )
    .await;
    let slots: Vec<_> = s.seen().iter().map(|r| r.1).collect();
    assert_eq!(
        slots,
        vec![
            at("2026-05-01T22:00:00Z"),
            at("2026-05-02T22:00:00Z"),
            at("2026-05-03T22:00:00Z"),
        ],
        "slots already handled must not run again after the clock went back"
    );
}

#[tokio::test]
async fn schemes_of_one_site_and_type_due_together_form_one_group() {
    let s = sim("2026-05-01T08:00:00Z");
    let a = s.scheme("A", "00:00", DaySet::EVERY_DAY, SnapshotKind::Basic);
    let b = s.scheme("B", "00:00", DaySet::EVERY_DAY, SnapshotKind::Basic);
    let c = s.scheme("C", "00:00", DaySet::EVERY_DAY, SnapshotKind::Extended);
    let d = s.scheme(
        "D",
        "00:00",
        DaySet::new([Day::Monday]).unwrap(),
        SnapshotKind::Basic,
    );
    let schemes = s.catalog.list_schemes_with_last_handled().unwrap();
    // 2026-05-04 is a Monday; midnight Berlin is 22:00 UTC the day before.
    let groups = due_groups(&schemes, at("2026-05-03T22:00:30Z"));
    let shape: Vec<(SnapshotKind, Vec<u32>)> = groups
        .iter()
        .map(|g| (g.kind, g.members.iter().map(|(s, _)| s.id).collect()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (SnapshotKind::Basic, vec![a, b, d]),
            (SnapshotKind::Extended, vec![c])
        ]
    );
    assert!(groups
        .iter()
        .all(|g| g.slot == Some(at("2026-05-03T22:00:00Z"))));
}

#[tokio::test]
async fn paused_schemes_and_a_paused_loop_start_nothing() {
    let s = sim("2026-05-01T08:00:00Z");
    let id = s.scheme("Nightly", "00:00", DaySet::EVERY_DAY, SnapshotKind::Basic);
    s.catalog
        .set_scheme_paused(id, true, s.clock.now())
        .unwrap();
    s.run_until("2026-05-03T08:00:00Z", None).await;
    assert!(s.seen().is_empty(), "a paused scheme must not run");

    s.catalog
        .set_scheme_paused(id, false, s.clock.now())
        .unwrap();
    let sleep = Arc::new(TokioSleep);
    let recorder = Arc::new(Recorder {
        catalog: s.catalog.clone(),
        clock: s.clock.clone(),
        seen: s.seen.clone(),
    });
    let handle = spawn(s.catalog.clone(), s.clock.clone(), sleep, recorder);
    handle.pause();
    s.clock.advance(chrono::Duration::days(2));
    handle.wake();
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(s.seen().is_empty(), "a paused loop must not start runs");
    handle.resume();
    for _ in 0..100 {
        if !s.seen().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handle.stop().await;
    let seen = s.seen();
    assert_eq!(
        seen.len(),
        1,
        "resuming runs the missed slot once: {seen:?}"
    );
    assert_eq!(seen[0].2, RunTrigger::CatchUp);
}
