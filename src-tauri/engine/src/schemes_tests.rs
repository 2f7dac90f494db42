use super::*;
use crate::ErrorKind;

fn ctx(existing: &[(u32, String)]) -> SchemeContext<'_> {
    SchemeContext {
        existing,
        site_time_zone: Some("Europe/Paris"),
        computer_time_zone: chrono_tz::Asia::Tokyo,
    }
}

fn good() -> SchemeInput {
    SchemeInput {
        id: None,
        name: "  Nightly  ".into(),
        site_id: Some(1),
        kind: Some(SnapshotKind::Basic),
        days: vec![Day::Monday, Day::Friday],
        time: Some("02:30".into()),
        time_zone: Some("America/New_York".into()),
        keep: Some(7),
        destination_id: Some(3),
        folder: "jira/./acme/".into(),
        paused: false,
    }
}

#[test]
fn a_good_input_is_normalised() {
    let s = validate(&good(), &ctx(&[])).unwrap();
    assert_eq!(s.name, "Nightly");
    assert_eq!(s.days.days(), vec![Day::Monday, Day::Friday]);
    assert_eq!(s.time.to_string(), "02:30");
    assert_eq!(s.time_zone, chrono_tz::America::New_York);
    assert_eq!(s.keep, 7);
    assert_eq!(s.folder, "jira/acme");
    assert_eq!(s.timing().zone, chrono_tz::America::New_York);
}

#[test]
fn defaults_time_midnight_keep_ten_and_the_jira_users_zone() {
    let input = SchemeInput {
        time: None,
        time_zone: Some("  ".into()),
        keep: None,
        folder: String::new(),
        ..good()
    };
    let s = validate(&input, &ctx(&[])).unwrap();
    assert_eq!(s.time, TimeOfDay::MIDNIGHT);
    assert_eq!(s.keep, KEEP_DEFAULT);
    assert_eq!(
        s.time_zone,
        chrono_tz::Europe::Paris,
        "the Jira user's zone first"
    );
    assert_eq!(s.folder, "");

    let no_jira_zone = SchemeContext {
        site_time_zone: None,
        ..ctx(&[])
    };
    let s = validate(&input, &no_jira_zone).unwrap();
    assert_eq!(s.time_zone, chrono_tz::Asia::Tokyo, "else the computer's");
    let bad_jira_zone = SchemeContext {
        site_time_zone: Some("Not/AZone"),
        ..ctx(&[])
    };
    let s = validate(&input, &bad_jira_zone).unwrap();
    assert_eq!(
        s.time_zone,
        chrono_tz::Asia::Tokyo,
        "an unknown Jira zone is ignored"
    );
}

#[test]
fn every_invalid_field_gets_its_own_message() {
    let input = SchemeInput {
        id: None,
        name: "a/b".into(),
        site_id: None,
        kind: None,
        days: vec![],
        time: Some("25:00".into()),
        time_zone: Some("Mars/Olympus".into()),
        keep: Some(0),
        destination_id: None,
        folder: "../up".into(),
        paused: false,
    };
    let errors = validate(&input, &ctx(&[])).unwrap_err();
    let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        vec![
            SchemeField::Name,
            SchemeField::SiteId,
            SchemeField::Kind,
            SchemeField::Days,
            SchemeField::Time,
            SchemeField::TimeZone,
            SchemeField::Keep,
            SchemeField::DestinationId,
            SchemeField::Folder,
        ]
    );
    assert!(errors
        .for_field(SchemeField::Time)
        .unwrap()
        .contains("\"25:00\""));
    assert!(errors
        .for_field(SchemeField::TimeZone)
        .unwrap()
        .contains("Mars/Olympus"));
    assert!(errors
        .for_field(SchemeField::Keep)
        .unwrap()
        .contains("0 was entered"));
    assert!(errors
        .for_field(SchemeField::Folder)
        .unwrap()
        .contains(".."));
    assert!(errors
        .for_field(SchemeField::Days)
        .unwrap()
        .contains("at least one day"));

    let e = Error::from(errors.clone());
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    for fe in &errors.0 {
        assert!(e.message().contains(&fe.message), "{}", e.message());
    }
    assert_eq!(e.context().len(), 9);
    let json = serde_json::to_value(&errors.0[1]).unwrap();
    assert_eq!(
        json["field"], "siteId",
        "fields are named as in the input's JSON"
    );
}

#[test]
fn names_are_checked() {
    let existing = vec![(5, "Daily".to_string()), (6, "Cafe\u{301}".to_string())];
    let name_error = |name: &str, id: Option<u32>| {
        let input = SchemeInput {
            name: name.into(),
            id,
            ..good()
        };
        validate(&input, &ctx(&existing))
            .err()
            .and_then(|e| e.for_field(SchemeField::Name).map(str::to_string))
    };
    assert!(name_error("   ", None).unwrap().contains("Enter a name"));
    assert!(name_error(&"x".repeat(81), None)
        .unwrap()
        .contains("81 characters"));
    assert_eq!(
        name_error(&"é".repeat(80), None),
        None,
        "80 characters, not bytes"
    );
    assert!(name_error("a\\b", None).unwrap().contains("\"/\""));
    assert!(name_error("a\tb", None).unwrap().contains("control"));
    assert!(name_error("a\u{7}b", None).unwrap().contains("control"));
    assert!(name_error(" daily ", None)
        .unwrap()
        .contains("already exists"));
    assert!(
        name_error("Café", None).unwrap().contains("already exists"),
        "NFC"
    );
    assert_eq!(
        name_error("Daily", Some(5)),
        None,
        "a scheme keeps its own name"
    );
    assert!(name_error("Daily", Some(6)).is_some());
}

#[test]
fn keep_bounds() {
    for (keep, ok) in [(1, true), (1000, true), (1001, false), (0, false)] {
        let input = SchemeInput {
            keep: Some(keep),
            ..good()
        };
        assert_eq!(validate(&input, &ctx(&[])).is_ok(), ok, "keep {keep}");
    }
}

#[test]
fn input_json_may_omit_optional_fields() {
    let input: SchemeInput = serde_json::from_str(
        r#"{"name":"N","siteId":1,"kind":"extended","days":["sunday"],"destinationId":2}"#,
    )
    .unwrap();
    let s = validate(&input, &ctx(&[])).unwrap();
    assert_eq!(s.kind, SnapshotKind::Extended);
    assert_eq!(s.days.days(), vec![Day::Sunday]);
    let scheme = Scheme { id: 9, settings: s };
    let json = serde_json::to_value(&scheme).unwrap();
    assert_eq!(json["id"], 9);
    assert_eq!(json["time"], "00:00");
    assert_eq!(json["timeZone"], "Europe/Paris");
    assert_eq!(json["days"], serde_json::json!(["sunday"]));
    let back: Scheme = serde_json::from_value(json).unwrap();
    assert_eq!(back, scheme);
}

#[test]
fn paused_schemes_are_never_due() {
    let mut scheme = Scheme {
        id: 1,
        settings: validate(&good(), &ctx(&[])).unwrap(),
    };
    let created: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    let later: DateTime<Utc> = "2026-06-10T00:00:00Z".parse().unwrap();
    assert!(scheme.due(created, later).is_some());
    assert!(scheme.next_run_after(created).is_some());
    scheme.settings.paused = true;
    assert_eq!(scheme.due(created, later), None);
    assert_eq!(scheme.next_run_after(created), None);
}

#[test]
fn presets_make_valid_schemes_with_free_names() {
    let taken = vec!["basic DAILY".to_string()];
    let existing: Vec<(u32, String)> = vec![(1, taken[0].clone())];
    let combined = preset_inputs(Preset::Combined, 4, 8, "jira", &taken);
    assert_eq!(combined.len(), 2);
    assert_eq!(combined[0].name, "Basic daily 2");
    assert_eq!(combined[1].name, "Extended Sunday");
    let settings: Vec<_> = combined
        .iter()
        .map(|i| validate(i, &ctx(&existing)).unwrap())
        .collect();
    assert_eq!(settings[0].kind, SnapshotKind::Basic);
    assert_eq!(settings[0].days, DaySet::EVERY_DAY);
    assert_eq!(settings[1].kind, SnapshotKind::Extended);
    assert_eq!(settings[1].days.days(), vec![Day::Sunday]);
    assert!(settings.iter().all(|s| s.site_id == 4
        && s.destination_id == 8
        && s.folder == "jira"
        && s.time == TimeOfDay::MIDNIGHT
        && s.keep == KEEP_DEFAULT));

    let mwf = preset_inputs(Preset::ExtendedMonWedFri, 4, 8, "", &[]);
    let s = validate(&mwf[0], &ctx(&[])).unwrap();
    assert_eq!(
        s.days.days(),
        vec![Day::Monday, Day::Wednesday, Day::Friday]
    );
    assert_eq!(Preset::ExtendedMonWedFri.label(), "Extended Mon/Wed/Fri");
    for p in Preset::ALL {
        for input in preset_inputs(p, 1, 1, "", &[]) {
            assert!(validate(&input, &ctx(&[])).is_ok(), "{p:?}");
        }
    }
}
