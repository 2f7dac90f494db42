//! Schemes: what to back up (a Jira site, Basic or Extended), when (days, time, zone), where
//! (a destination and a folder in it) and how many files to keep.
//!
//! The form's [`SchemeInput`] is checked by [`validate`] into [`SchemeSettings`]; every invalid
//! field gets its own message ([`FieldError`]), so the form can show each beside its field.
//! Validation is pure: what it needs from outside (the other schemes' names, the Jira user's
//! time zone, the computer's time zone) is passed in.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::Error;
use crate::schedule::{self, parse_time_zone, Day, DaySet, Due, TimeOfDay, Timing};
use crate::snapshot::SnapshotKind;
use crate::storage::RemotePath;

/// Longest scheme name, in characters after trimming.
pub const NAME_MAX_CHARS: usize = 80;
/// Fewest and most files a scheme may keep, and the default.
pub const KEEP_MIN: u32 = 1;
pub const KEEP_MAX: u32 = 1000;
pub const KEEP_DEFAULT: u32 = 10;

/// The scheme form as the user filled it in. Optional fields fall back to their defaults
/// (time 00:00, the Jira user's or the computer's time zone, keep 10); missing required ones
/// are reported by [`validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SchemeInput {
    /// The scheme being edited; `None` for a new one.
    pub id: Option<u32>,
    pub name: String,
    pub site_id: Option<u32>,
    pub kind: Option<SnapshotKind>,
    pub days: Vec<Day>,
    /// `HH:MM`; empty or absent means 00:00.
    pub time: Option<String>,
    /// An IANA name such as `Europe/Berlin`; empty or absent means the default.
    pub time_zone: Option<String>,
    pub keep: Option<u32>,
    pub destination_id: Option<u32>,
    /// A folder below the destination's folder; empty means the destination's folder itself.
    pub folder: String,
    pub paused: bool,
}

/// A valid scheme's settings (everything but its id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SchemeSettings {
    /// Trimmed; unique among schemes regardless of case.
    pub name: String,
    pub site_id: u32,
    pub kind: SnapshotKind,
    pub days: DaySet,
    pub time: TimeOfDay,
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub time_zone: Tz,
    pub keep: u32,
    pub destination_id: u32,
    /// Normalised: `/`-separated, relative, no empty, `.` or `..` segments.
    pub folder: String,
    pub paused: bool,
}

impl SchemeSettings {
    pub fn timing(&self) -> Timing {
        Timing {
            days: self.days,
            time: self.time,
            zone: self.time_zone,
        }
    }
}

/// A saved scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Scheme {
    pub id: u32,
    #[serde(flatten)]
    pub settings: SchemeSettings,
}

impl Scheme {
    /// The run due at `now`, if any; a paused scheme is never due. See [`schedule::due`].
    pub fn due(&self, last_handled: DateTime<Utc>, now: DateTime<Utc>) -> Option<Due> {
        (!self.settings.paused)
            .then(|| schedule::due(&self.settings.timing(), last_handled, now))
            .flatten()
    }

    /// The next slot after `t`, or `None` while paused.
    pub fn next_run_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (!self.settings.paused).then(|| schedule::next_run_after(&self.settings.timing(), t))
    }
}

/// A field of [`SchemeInput`], named as in its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum SchemeField {
    Name,
    SiteId,
    Kind,
    Days,
    Time,
    TimeZone,
    Keep,
    DestinationId,
    Folder,
}

impl SchemeField {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::SiteId => "siteId",
            Self::Kind => "kind",
            Self::Days => "days",
            Self::Time => "time",
            Self::TimeZone => "timeZone",
            Self::Keep => "keep",
            Self::DestinationId => "destinationId",
            Self::Folder => "folder",
        }
    }
}

/// One invalid field and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldError {
    pub field: SchemeField,
    pub message: String,
}

/// Every invalid field of one input (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn for_field(&self, field: SchemeField) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let messages: Vec<&str> = self.0.iter().map(|e| e.message.as_str()).collect();
        f.write_str(&messages.join(" "))
    }
}

impl From<FieldErrors> for Error {
    /// `InvalidInput` whose message lists every field's message; the fields go to the context.
    fn from(errors: FieldErrors) -> Self {
        let mut e = Error::invalid_input(errors.to_string());
        for fe in &errors.0 {
            e = e.with_context("field", fe.field.as_str());
        }
        e
    }
}

/// What validation needs to know beyond the form.
#[derive(Debug, Clone)]
pub struct SchemeContext<'a> {
    /// Every saved scheme's id and name (the one being edited may be among them).
    pub existing: &'a [(u32, String)],
    /// The Jira user's time zone from `/myself`, if the site was checked.
    pub site_time_zone: Option<&'a str>,
    /// The computer's time zone, as the caller found it.
    pub computer_time_zone: Tz,
}

/// The key two names must not share: NFC, lower case, so "Daily" and "daily" (or two
/// spellings of "é") are one name.
pub fn name_key(name: &str) -> String {
    name.trim().nfc().collect::<String>().to_lowercase()
}

/// The zone a new scheme gets when the user chose none: the Jira user's if it is a known IANA
/// zone, else the computer's.
pub fn default_time_zone(site_time_zone: Option<&str>, computer: Tz) -> Tz {
    site_time_zone.and_then(parse_time_zone).unwrap_or(computer)
}

/// Checks every field of `input`.
///
/// # Errors
/// [`FieldErrors`] with one message per invalid field (convert with `Error::from` for an
/// `InvalidInput` error).
pub fn validate(
    input: &SchemeInput,
    ctx: &SchemeContext<'_>,
) -> Result<SchemeSettings, FieldErrors> {
    let mut errors = Vec::new();
    let mut fail = |field, message: String| errors.push(FieldError { field, message });

    let name = input.name.trim().to_string();
    if let Err(m) = check_name(&name, input.id, ctx.existing) {
        fail(SchemeField::Name, m);
    }
    if input.site_id.is_none() {
        fail(
            SchemeField::SiteId,
            "Choose the Jira site to back up.".into(),
        );
    }
    if input.kind.is_none() {
        fail(
            SchemeField::Kind,
            "Choose the type of backup: Basic or Extended.".into(),
        );
    }
    let days = DaySet::new(input.days.iter().copied());
    if days.is_none() {
        fail(
            SchemeField::Days,
            "Choose at least one day of the week.".into(),
        );
    }
    let time = match input
        .time
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => Some(TimeOfDay::MIDNIGHT),
        Some(t) => t
            .parse::<TimeOfDay>()
            .map_err(|m| fail(SchemeField::Time, m))
            .ok(),
    };
    let zone = match input
        .time_zone
        .as_deref()
        .map(str::trim)
        .filter(|z| !z.is_empty())
    {
        None => Some(default_time_zone(
            ctx.site_time_zone,
            ctx.computer_time_zone,
        )),
        Some(z) => {
            let zone = parse_time_zone(z);
            if zone.is_none() {
                fail(
                    SchemeField::TimeZone,
                    format!(
                        "\"{z}\" is not a known time zone. Choose one from the list, \
                         e.g. Europe/Berlin or America/New_York."
                    ),
                );
            }
            zone
        }
    };
    let keep = input.keep.unwrap_or(KEEP_DEFAULT);
    if !(KEEP_MIN..=KEEP_MAX).contains(&keep) {
        fail(
            SchemeField::Keep,
            format!("Keep between {KEEP_MIN} and 1,000 backup files ({keep} was entered)."),
        );
    }
    if input.destination_id.is_none() {
        fail(
            SchemeField::DestinationId,
            "Choose where to store the backups.".into(),
        );
    }
    let folder = match RemotePath::parse(input.folder.trim()) {
        Ok(p) => Some(p.as_str().to_string()),
        Err(e) => {
            fail(SchemeField::Folder, e.message().to_string());
            None
        }
    };

    match (
        input.site_id,
        input.kind,
        days,
        time,
        zone,
        input.destination_id,
        folder,
    ) {
        (
            Some(site_id),
            Some(kind),
            Some(days),
            Some(time),
            Some(time_zone),
            Some(destination_id),
            Some(folder),
        ) if errors.is_empty() => Ok(SchemeSettings {
            name,
            site_id,
            kind,
            days,
            time,
            time_zone,
            keep,
            destination_id,
            folder,
            paused: input.paused,
        }),
        _ => Err(FieldErrors(errors)),
    }
}

fn check_name(name: &str, editing: Option<u32>, existing: &[(u32, String)]) -> Result<(), String> {
    if name.is_empty() {
        return Err("Enter a name for the scheme.".into());
    }
    let chars = name.chars().count();
    if chars > NAME_MAX_CHARS {
        return Err(format!(
            "The name is {chars} characters long; use at most {NAME_MAX_CHARS}."
        ));
    }
    // Names appear in the tray menu, logs and `run --scheme NAME`; separators would read as
    // paths there and control characters would break lines.
    if name.contains(['/', '\\']) {
        return Err("The name may not contain \"/\" or \"\\\".".into());
    }
    if name.chars().any(char::is_control) {
        return Err("The name may not contain control characters (tabs, line breaks).".into());
    }
    let key = name_key(name);
    if existing
        .iter()
        .any(|(id, other)| Some(*id) != editing && name_key(other) == key)
    {
        return Err(format!(
            "A scheme named \"{name}\" already exists. Choose another name."
        ));
    }
    Ok(())
}

/// The ready-made schemes offered when creating one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum Preset {
    /// Basic, every day at 00:00.
    BasicDaily,
    /// Extended, Monday, Wednesday and Friday at 00:00.
    ExtendedMonWedFri,
    /// Basic every day plus Extended on Sunday, as two schemes.
    Combined,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Self::BasicDaily, Self::ExtendedMonWedFri, Self::Combined];

    /// The label the UI shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::BasicDaily => "Basic daily",
            Self::ExtendedMonWedFri => "Extended Mon/Wed/Fri",
            Self::Combined => "Combined",
        }
    }

    /// The schemes this preset creates: (name, type, days). Names avoid "/" (not allowed).
    fn parts(self) -> Vec<(&'static str, SnapshotKind, Vec<Day>)> {
        let basic_daily = ("Basic daily", SnapshotKind::Basic, Day::ALL.to_vec());
        match self {
            Self::BasicDaily => vec![basic_daily],
            Self::ExtendedMonWedFri => vec![(
                "Extended Mon, Wed, Fri",
                SnapshotKind::Extended,
                vec![Day::Monday, Day::Wednesday, Day::Friday],
            )],
            Self::Combined => vec![
                basic_daily,
                ("Extended Sunday", SnapshotKind::Extended, vec![Day::Sunday]),
            ],
        }
    }
}

/// The forms a preset fills in for a site and destination, named so that they do not clash
/// with `taken` names ("Basic daily 2" when "Basic daily" exists). Time, zone and keep are left
/// to their defaults.
pub fn preset_inputs(
    preset: Preset,
    site_id: u32,
    destination_id: u32,
    folder: &str,
    taken: &[String],
) -> Vec<SchemeInput> {
    let mut used: Vec<String> = taken.iter().map(|n| name_key(n)).collect();
    preset
        .parts()
        .into_iter()
        .map(|(base, kind, days)| {
            let name = (1..)
                .map(|i| {
                    if i == 1 {
                        base.to_string()
                    } else {
                        format!("{base} {i}")
                    }
                })
                .find(|n| !used.contains(&name_key(n)))
                .unwrap_or_else(|| base.to_string());
            used.push(name_key(&name));
            SchemeInput {
                name,
                site_id: Some(site_id),
                kind: Some(kind),
                days,
                destination_id: Some(destination_id),
                folder: folder.to_string(),
                ..SchemeInput::default()
            }
        })
        .collect()
}

/// `SnapshotKind` lives in `snapshot` without a specta derive; this mirror gives it one under
/// the same name and spelling ("basic" | "extended"), so schemes can cross IPC.
#[cfg(feature = "specta")]
mod snapshot_kind_type {
    #[derive(specta::Type, serde::Serialize)]
    #[specta(remote = crate::snapshot::SnapshotKind)]
    #[serde(rename_all = "lowercase")]
    #[allow(dead_code)]
    enum SnapshotKind {
        Basic,
        Extended,
    }
}

#[cfg(test)]
#[path = "schemes_tests.rs"]
mod tests;
