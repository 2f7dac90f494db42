//! 400 simulated days in zones with and without daylight saving: the scheduler ([`due`] and
//! [`next_run_after`] driven by a [`ManualClock`]) is checked against a brute-force schedule
//! that shares none of its code: it walks UTC minute by minute and fires a scheduled date the
//! first minute the zone's wall clock reads that date and time or later.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{due, next_run_after, Day, DaySet, Timing};
use crate::clock::{Clock, ManualClock};

const DAYS: i64 = 400;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn cases() -> Vec<(&'static str, Timing)> {
    let t = |zone: Tz, hh_mm: &str, days: &[Day]| Timing {
        days: DaySet::new(days.iter().copied()).unwrap(),
        time: hh_mm.parse().unwrap(),
        zone,
    };
    use chrono_tz::{America, Asia, Australia, Europe};
    vec![
        // 02:30 falls in the spring gap and the autumn overlap in Europe and Australia.
        ("Berlin daily 02:30", t(Europe::Berlin, "02:30", &Day::ALL)),
        (
            "Sydney Sat+Sun 02:30",
            t(Australia::Sydney, "02:30", &[Day::Saturday, Day::Sunday]),
        ),
        // New York: the gap is 02:00-03:00, the overlap 01:00-02:00.
        (
            "New York Sun+Wed 02:30",
            t(America::New_York, "02:30", &[Day::Sunday, Day::Wednesday]),
        ),
        (
            "New York daily 01:30",
            t(America::New_York, "01:30", &Day::ALL),
        ),
        (
            "Kolkata Mon/Wed/Fri 00:00",
            t(
                Asia::Kolkata,
                "00:00",
                &[Day::Monday, Day::Wednesday, Day::Friday],
            ),
        ),
    ]
}

/// Every slot in `(from, to]`, by brute force.
fn brute_force_slots(
    timing: &Timing,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let zone = timing.zone;
    let wall_time = timing.time.as_naive();
    let scheduled = |d: NaiveDate| {
        timing
            .days
            .contains(Day::ALL[d.weekday().num_days_from_monday() as usize])
    };
    let warm_up = from - Duration::days(3);
    let mut date = warm_up.with_timezone(&zone).date_naive();
    while !scheduled(date) {
        date = date.succ_opt().unwrap();
    }
    let mut slots = Vec::new();
    let mut u = warm_up;
    while u <= to {
        let wall = u.with_timezone(&zone).naive_local();
        while wall >= date.and_time(wall_time) {
            slots.push(u);
            date = date.succ_opt().unwrap();
            while !scheduled(date) {
                date = date.succ_opt().unwrap();
            }
        }
        u += Duration::minutes(1);
    }
    // Dates before the warm-up started fired at its first minute: drop them with the rest.
    slots.retain(|s| *s > from && *s <= to);
    slots
}

/// A scheduler loop: wakes at each `next_run_after`, plus spurious wake-ups in between (timers
/// are not exact); runs whatever `due` says. Returns (slot, when it ran).
fn simulate(
    timing: &Timing,
    clock: &ManualClock,
    last_handled: &mut DateTime<Utc>,
    until: DateTime<Utc>,
    seed: &mut u64,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut runs = Vec::new();
    while clock.now() <= until {
        let now = clock.now();
        if let Some(d) = due(timing, *last_handled, now) {
            runs.push((d.slot, now));
            *last_handled = d.slot;
        }
        let next = next_run_after(timing, now);
        // A deterministic pseudo-random early wake-up half the time.
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let gap = (next - now).num_minutes();
        if gap > 1 && (*seed >> 33) % 2 == 0 {
            clock.advance(Duration::minutes(((*seed >> 40) as i64 % (gap - 1)) + 1));
        } else {
            clock.set(next);
        }
    }
    runs
}

#[test]
fn four_hundred_days_every_run_at_its_instant_none_twice_none_missed() {
    let start = at("2026-01-10T00:00:00Z");
    let end = start + Duration::days(DAYS);
    for (name, timing) in cases() {
        let expected = brute_force_slots(&timing, start, end);
        let clock = ManualClock::new(start);
        let mut last = start;
        let mut seed = 7;
        let runs = simulate(&timing, &clock, &mut last, end, &mut seed);
        for (slot, ran_at) in &runs {
            assert_eq!(
                slot, ran_at,
                "{name}: the run for {slot} started late, at {ran_at}"
            );
        }
        let slots: Vec<_> = runs.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            slots, expected,
            "{name}: the runs must be exactly the brute-force slots"
        );
        let per_week = timing.days.days().len() as i64;
        assert!(
            (slots.len() as i64 - DAYS * per_week / 7).abs() <= per_week,
            "{name}: {} runs in {DAYS} days",
            slots.len()
        );
    }
}

#[test]
fn the_brute_force_sees_daylight_saving() {
    // Guards the oracle itself: Berlin's 02:30 on the spring-forward day is 03:00 CEST, and on
    // the fall-back day the first 02:30 (CEST).
    let (_, berlin) = cases().remove(0);
    let slots = brute_force_slots(
        &berlin,
        at("2026-03-27T00:00:00Z"),
        at("2026-10-27T00:00:00Z"),
    );
    assert!(slots.contains(&at("2026-03-29T01:00:00Z")));
    assert!(slots.contains(&at("2026-10-25T00:30:00Z")));
    assert!(!slots.contains(&at("2026-10-25T01:30:00Z")));
}

#[test]
fn stepping_every_five_minutes_finds_each_slot_at_its_instant() {
    // A timer that polls instead of sleeping until the next slot: the slots of these cases are
    // on five-minute boundaries, so every run must start at its slot exactly.
    let start = at("2026-01-10T00:00:00Z");
    let end = start + Duration::days(DAYS);
    for (name, timing) in cases() {
        let expected = brute_force_slots(&timing, start, end);
        let clock = ManualClock::new(start);
        let mut last = start;
        let mut runs = Vec::new();
        while clock.now() <= end {
            if let Some(d) = due(&timing, last, clock.now()) {
                assert_eq!(d.slot, clock.now(), "{name}: late run");
                assert_eq!(d.missed, 0, "{name}: nothing is missed while awake");
                runs.push(d.slot);
                last = d.slot;
            }
            clock.advance(Duration::minutes(5));
        }
        assert_eq!(runs, expected, "{name}");
    }
}

#[test]
fn a_week_asleep_catches_up_exactly_once() {
    let start = at("2026-01-10T00:00:00Z");
    for (name, timing) in cases() {
        let clock = ManualClock::new(start);
        let mut last = start;
        let mut seed = 11;
        let asleep_at = at("2026-03-26T12:00:00Z");
        let before = simulate(&timing, &clock, &mut last, asleep_at, &mut seed);
        // The machine sleeps for a week and a bit; the clock jumps on wake.
        let wake = asleep_at + Duration::days(7) + Duration::hours(5);
        clock.set(wake);
        let after = simulate(
            &timing,
            &clock,
            &mut last,
            wake + Duration::days(30),
            &mut seed,
        );

        let missed_window = brute_force_slots(&timing, before.last().unwrap().0, wake);
        assert!(
            missed_window.len() >= 2,
            "{name}: the sleep must span several slots"
        );
        let at_wake: Vec<_> = after.iter().filter(|(_, ran)| *ran == wake).collect();
        assert_eq!(
            at_wake.len(),
            1,
            "{name}: catch-up must run exactly once at wake"
        );
        assert_eq!(
            at_wake[0].0,
            *missed_window.last().unwrap(),
            "{name}: the catch-up stands for the latest missed slot"
        );
        let expected_after = brute_force_slots(&timing, wake, wake + Duration::days(30));
        let after_slots: Vec<_> = after[1..].iter().map(|(s, _)| *s).collect();
        assert_eq!(
            after_slots, expected_after,
            "{name}: back on schedule after the catch-up"
        );
        assert!(
            after[1..].iter().all(|(s, ran)| s == ran),
            "{name}: on time after the catch-up"
        );
    }
}

#[test]
fn catch_up_reports_how_many_slots_it_stands_for() {
    let (_, berlin) = cases().remove(0);
    let last = at("2026-06-01T00:30:00Z"); // handled 02:30 CEST on June 1
    let d = due(&berlin, last, at("2026-06-08T06:00:00Z")).unwrap();
    assert_eq!(d.slot, at("2026-06-08T00:30:00Z"));
    assert_eq!(d.missed, 6, "June 2..=7");
}
