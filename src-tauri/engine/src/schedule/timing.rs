//! When a scheme runs: days of the week, a wall-clock time and an IANA time zone.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveTime, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A day of the week. Our own type (not `chrono::Weekday`) so it serialises to the names the
/// UI shows and orders Monday first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Day {
    pub const ALL: [Day; 7] = [
        Day::Monday,
        Day::Tuesday,
        Day::Wednesday,
        Day::Thursday,
        Day::Friday,
        Day::Saturday,
        Day::Sunday,
    ];

    pub fn of(weekday: chrono::Weekday) -> Self {
        Self::ALL[weekday.num_days_from_monday() as usize]
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A non-empty set of days. The invariant lives in the type, so the scheduler never has to
/// ask what "no days" means. Crosses IPC as a list of days, Monday first.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "specta", derive(specta::Type), specta(type = Vec<Day>))]
pub struct DaySet(u8);

impl DaySet {
    pub const EVERY_DAY: DaySet = DaySet(0x7f);

    /// `None` when `days` is empty.
    pub fn new(days: impl IntoIterator<Item = Day>) -> Option<Self> {
        let bits = days.into_iter().fold(0u8, |bits, d| bits | d.bit());
        Self::from_bits(bits)
    }

    /// From the catalog's bit mask (bit 0 = Monday); `None` when empty or out of range.
    pub fn from_bits(bits: u8) -> Option<Self> {
        (bits != 0 && bits <= 0x7f).then_some(Self(bits))
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn contains(self, day: Day) -> bool {
        self.0 & day.bit() != 0
    }

    pub fn contains_weekday(self, weekday: chrono::Weekday) -> bool {
        self.contains(Day::of(weekday))
    }

    /// Monday first.
    pub fn days(self) -> Vec<Day> {
        Day::ALL.into_iter().filter(|d| self.contains(*d)).collect()
    }
}

impl fmt::Debug for DaySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.days()).finish()
    }
}

impl Serialize for DaySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.days().serialize(s)
    }
}

impl<'de> Deserialize<'de> for DaySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let days = Vec::<Day>::deserialize(d)?;
        DaySet::new(days).ok_or_else(|| serde::de::Error::custom("at least one day is needed"))
    }
}

/// A wall-clock time to the minute, written `HH:MM` (24-hour), also across IPC.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type), specta(type = String))]
pub struct TimeOfDay(NaiveTime);

impl TimeOfDay {
    pub const MIDNIGHT: TimeOfDay = TimeOfDay(NaiveTime::MIN);

    /// `None` unless `hour < 24` and `minute < 60`.
    pub fn new(hour: u32, minute: u32) -> Option<Self> {
        NaiveTime::from_hms_opt(hour, minute, 0).map(Self)
    }

    pub fn hour(self) -> u32 {
        self.0.hour()
    }

    pub fn minute(self) -> u32 {
        self.0.minute()
    }

    pub fn as_naive(self) -> NaiveTime {
        self.0
    }
}

impl FromStr for TimeOfDay {
    type Err = String;

    /// `H:MM` or `HH:MM`; nothing else (no seconds, no AM/PM), so one time has one spelling.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("\"{s}\" is not a time of day; write it as HH:MM, e.g. 02:30.");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let digits = |t: &str, max_len| {
            (!t.is_empty() && t.len() <= max_len && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u32>().ok())
                .flatten()
        };
        match (digits(h, 2), digits(m, 2).filter(|_| m.len() == 2)) {
            (Some(h), Some(m)) => TimeOfDay::new(h, m).ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl fmt::Debug for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Parses an IANA zone name (`Europe/Berlin`); exact spelling, as Jira and the OS report it.
pub fn parse_time_zone(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

/// When a scheme runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub days: DaySet,
    pub time: TimeOfDay,
    pub zone: Tz,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_sets_are_never_empty_and_round_trip() {
        assert!(DaySet::new([]).is_none());
        assert!(DaySet::from_bits(0).is_none());
        assert!(DaySet::from_bits(0x80).is_none());
        let s = DaySet::new([Day::Friday, Day::Monday, Day::Friday]).unwrap();
        assert_eq!(s.days(), vec![Day::Monday, Day::Friday]);
        assert_eq!(DaySet::from_bits(s.bits()), Some(s));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"["monday","friday"]"#);
        assert_eq!(serde_json::from_str::<DaySet>(&json).unwrap(), s);
        assert!(serde_json::from_str::<DaySet>("[]").is_err());
        assert_eq!(DaySet::EVERY_DAY.days().len(), 7);
        assert!(s.contains_weekday(chrono::Weekday::Fri));
        assert!(!s.contains_weekday(chrono::Weekday::Sun));
    }

    #[test]
    fn times_of_day_have_one_spelling() {
        assert_eq!(
            "02:30".parse::<TimeOfDay>(),
            Ok(TimeOfDay::new(2, 30).unwrap())
        );
        assert_eq!(
            "7:05".parse::<TimeOfDay>(),
            Ok(TimeOfDay::new(7, 5).unwrap())
        );
        assert_eq!(" 23:59 ".parse::<TimeOfDay>().unwrap().to_string(), "23:59");
        for bad in [
            "",
            "24:00",
            "12:60",
            "12",
            "12:5",
            "12:05:00",
            "-1:00",
            "1a:00",
            "+1:00",
            "１２:００",
        ] {
            let e = bad.parse::<TimeOfDay>().unwrap_err();
            assert!(e.contains("HH:MM"), "{bad:?}: {e}");
        }
        assert_eq!(TimeOfDay::default(), TimeOfDay::MIDNIGHT);
        let t = TimeOfDay::new(2, 30).unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"02:30\"");
        assert_eq!(serde_json::from_str::<TimeOfDay>("\"02:30\"").unwrap(), t);
    }

    #[test]
    fn zones_are_iana_names() {
        assert_eq!(
            parse_time_zone("Europe/Berlin"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(parse_time_zone("UTC"), Some(chrono_tz::UTC));
        assert_eq!(parse_time_zone("Mars/Olympus"), None);
        assert_eq!(parse_time_zone(""), None);
    }
}
