//! The pure schedule: which instants a [`Timing`] fires at, and whether a run is due now.
//!
//! The slot for a local date `d` is the first instant at which the zone's wall clock reads
//! `d` + the time of day or later. Across daylight-saving changes that means: a time that does
//! not exist that day (spring forward, 02:30 when clocks jump from 02:00 to 03:00) runs at the
//! first valid instant after the gap (03:00); a time that exists twice (fall back) runs at the
//! first of the two. Every scheduled date has exactly one slot.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::timing::Timing;

/// Dates scanned around `t`: one full week plus room for zones that skipped a whole day
/// (Samoa, 2011-12-30). Any non-empty [`super::DaySet`] has a slot in this window.
const SCAN_DAYS: u64 = 16;

/// How many missed slots [`due`] counts before it stops counting (a scheme left off for years
/// must not make a start-up slow).
pub const MISSED_COUNT_LIMIT: u32 = 1000;

/// A run the scheduler should start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The slot this run stands for: the latest one at or before now.
    pub slot: DateTime<Utc>,
    /// Earlier slots since the last one handled that will not run on their own (the app was
    /// closed or the machine asleep); at most [`MISSED_COUNT_LIMIT`].
    pub missed: u32,
}

/// The instant `timing` fires on local date `date`, whether or not `date` is one of its days.
/// `None` only at the ends of the representable calendar.
pub fn slot_on(timing: &Timing, date: NaiveDate) -> Option<DateTime<Utc>> {
    let wall = date.and_time(timing.time.as_naive());
    first_instant_at_or_after(timing, wall)
}

/// The first slot strictly after `t`.
///
/// Pure: the caller passes `t` (usually the clock's now, or the slot just run). With a valid
/// [`Timing`] a slot always exists within a fortnight; the far fallback (`t` plus one day)
/// exists only so that no input can make this panic.
pub fn next_run_after(timing: &Timing, t: DateTime<Utc>) -> DateTime<Utc> {
    let today = t.with_timezone(&timing.zone).date_naive();
    let start = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    scheduled_dates(timing, start)
        .filter_map(|d| slot_on(timing, d))
        .find(|slot| *slot > t)
        .unwrap_or_else(|| t + chrono::Duration::days(1))
}

/// The latest slot at or before `t`, if there is one in the fortnight before.
pub fn latest_slot_at_or_before(timing: &Timing, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let today = t.with_timezone(&timing.zone).date_naive();
    // Tomorrow too: after a fall-back at midnight the wall clock can read yesterday's date.
    let mut date = today.checked_add_days(Days::new(1)).unwrap_or(today);
    for _ in 0..=SCAN_DAYS {
        if timing
            .days
            .contains_weekday(chrono::Datelike::weekday(&date))
        {
            if let Some(slot) = slot_on(timing, date).filter(|s| *s <= t) {
                return Some(slot);
            }
        }
        date = date.checked_sub_days(Days::new(1))?;
    }
    None
}

/// Whether a run is due at `now`, given the last slot already handled (run, or skipped on
/// purpose). A new or resumed scheme passes the moment it was saved or resumed, so slots from
/// before it existed do not run.
///
/// Catch-up runs once: however many slots passed since `last_handled` (the app was closed, the
/// machine slept), only the latest is due, and once the caller records it as handled nothing is
/// due until the next slot. Wall-clock time decides, so a timer that slept through a slot still
/// finds it; if the clock was set back before `last_handled`, nothing runs twice.
pub fn due(timing: &Timing, last_handled: DateTime<Utc>, now: DateTime<Utc>) -> Option<Due> {
    let slot = latest_slot_at_or_before(timing, now)?;
    if slot <= last_handled {
        return None;
    }
    let mut missed = 0;
    let mut t = next_run_after(timing, last_handled);
    while t < slot && missed < MISSED_COUNT_LIMIT {
        missed += 1;
        t = next_run_after(timing, t);
    }
    Some(Due { slot, missed })
}

/// The timing's days from `start` on, for [`SCAN_DAYS`] days.
fn scheduled_dates(timing: &Timing, start: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
    (0..=SCAN_DAYS)
        .filter_map(move |i| start.checked_add_days(Days::new(i)))
        .filter(|d| timing.days.contains_weekday(chrono::Datelike::weekday(d)))
}

/// The first instant whose wall clock in the timing's zone reads `wall` or later.
fn first_instant_at_or_after(timing: &Timing, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    // Gaps are whole minutes in the IANA data we care about and at most a day long (Samoa
    // skipped 2011-12-30), so the first valid minute after `wall` is the end of the gap.
    const GAP_LIMIT_MINUTES: i64 = 26 * 60;
    for minutes in 0..=GAP_LIMIT_MINUTES {
        let candidate = wall.checked_add_signed(chrono::Duration::minutes(minutes))?;
        match timing.zone.from_local_datetime(&candidate) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => return Some(a.min(b).with_timezone(&Utc)),
            LocalResult::None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use chrono_tz::Tz;

    use super::*;
    use crate::schedule::timing::{Day, DaySet, TimeOfDay};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn timing(zone: Tz, hh_mm: &str, days: &[Day]) -> Timing {
        Timing {
            days: DaySet::new(days.iter().copied()).unwrap(),
            time: hh_mm.parse().unwrap(),
            zone,
        }
    }

    fn daily(zone: Tz, hh_mm: &str) -> Timing {
        timing(zone, hh_mm, &Day::ALL)
    }

    #[test]
    fn spring_forward_runs_once_at_the_end_of_the_gap() {
        // Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
        let t = daily(chrono_tz::Europe::Berlin, "02:30");
        let first = next_run_after(&t, at("2026-03-28T12:00:00Z"));
        assert_eq!(
            first,
            at("2026-03-29T01:00:00Z"),
            "03:00 CEST, the end of the gap"
        );
        let second = next_run_after(&t, first);
        assert_eq!(
            second,
            at("2026-03-30T00:30:00Z"),
            "02:30 CEST the day after"
        );
    }

    #[test]
    fn fall_back_runs_once_at_the_first_of_the_two_times() {
        // Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:30 happens twice.
        let t = daily(chrono_tz::Europe::Berlin, "02:30");
        let first = next_run_after(&t, at("2026-10-24T12:00:00Z"));
        assert_eq!(
            first,
            at("2026-10-25T00:30:00Z"),
            "02:30 CEST, the first 02:30"
        );
        let second = next_run_after(&t, first);
        assert_eq!(
            second,
            at("2026-10-26T01:30:00Z"),
            "not the second 02:30 (CET)"
        );
    }

    #[test]
    fn new_york_and_sydney_change_on_their_own_dates() {
        let ny = daily(chrono_tz::America::New_York, "02:30");
        // 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00 UTC).
        assert_eq!(
            next_run_after(&ny, at("2026-03-08T05:00:00Z")),
            at("2026-03-08T07:00:00Z")
        );
        // 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00 UTC); 02:30 exists once (EST).
        assert_eq!(
            next_run_after(&ny, at("2026-11-01T05:00:00Z")),
            at("2026-11-01T07:30:00Z")
        );
        let sydney = daily(chrono_tz::Australia::Sydney, "02:30");
        // 2026-10-04: 02:00 AEST becomes 03:00 AEDT (16:00 UTC the day before).
        assert_eq!(
            next_run_after(&sydney, at("2026-10-03T12:00:00Z")),
            at("2026-10-03T16:00:00Z")
        );
        // 2026-04-05: 03:00 AEDT becomes 02:00 AEST; the first 02:30 is AEDT (15:30 UTC).
        assert_eq!(
            next_run_after(&sydney, at("2026-04-04T12:00:00Z")),
            at("2026-04-04T15:30:00Z")
        );
    }

    #[test]
    fn midnight_that_does_not_exist_runs_at_one() {
        // São Paulo, 2018-11-04: midnight became 01:00.
        let t = daily(chrono_tz::America::Sao_Paulo, "00:00");
        assert_eq!(
            next_run_after(&t, at("2018-11-03T12:00:00Z")),
            at("2018-11-04T03:00:00Z")
        );
    }

    #[test]
    fn a_skipped_day_does_not_break_the_schedule() {
        // Samoa skipped 2011-12-30 entirely: slots stay strictly increasing, nothing panics.
        let t = daily(chrono_tz::Pacific::Apia, "02:30");
        let mut s = at("2011-12-27T00:00:00Z");
        for _ in 0..8 {
            let n = next_run_after(&t, s);
            assert!(n > s);
            s = n;
        }
    }

    #[test]
    fn only_the_chosen_days_run() {
        let t = timing(
            chrono_tz::Asia::Kolkata,
            "09:15",
            &[Day::Monday, Day::Wednesday, Day::Friday],
        );
        // 2026-06-06 is a Saturday; the next run is Monday 09:15 IST (03:45 UTC).
        assert_eq!(
            next_run_after(&t, at("2026-06-06T00:00:00Z")),
            at("2026-06-08T03:45:00Z")
        );
        assert_eq!(
            latest_slot_at_or_before(&t, at("2026-06-07T00:00:00Z")),
            Some(at("2026-06-05T03:45:00Z"))
        );
        assert_eq!(
            latest_slot_at_or_before(&t, at("2026-06-05T03:45:00Z")),
            Some(at("2026-06-05T03:45:00Z")),
            "a slot is due at its own instant"
        );
    }

    #[test]
    fn due_runs_the_latest_missed_slot_once() {
        let t = daily(chrono_tz::Europe::Berlin, "00:00");
        let saved = at("2026-05-01T08:00:00Z");
        assert_eq!(
            due(&t, saved, at("2026-05-01T12:00:00Z")),
            None,
            "nothing before creation"
        );
        let now = at("2026-05-08T09:00:00Z");
        let d = due(&t, saved, now).unwrap();
        assert_eq!(d.slot, at("2026-05-07T22:00:00Z"));
        assert_eq!(d.missed, 6, "May 2..=7 at midnight were missed");
        assert_eq!(due(&t, d.slot, now), None, "handled: not again");
        assert_eq!(
            due(&t, d.slot, at("2026-05-01T00:00:00Z")),
            None,
            "a clock set back never repeats a slot"
        );
    }

    #[test]
    fn default_time_is_midnight() {
        let t = Timing {
            days: DaySet::EVERY_DAY,
            time: TimeOfDay::default(),
            zone: chrono_tz::UTC,
        };
        assert_eq!(
            next_run_after(&t, at("2026-01-01T00:00:00Z")),
            at("2026-01-02T00:00:00Z")
        );
    }
}
