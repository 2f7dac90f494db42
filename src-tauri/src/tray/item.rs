//! The tray menu's items. An enum, not loose strings: the menu is built from it and its
//! events are parsed back into it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayItem {
    Open,
    /// Backup now: every scheme that is not paused.
    BackupAll,
    /// Backup now: one scheme (the submenu has one per scheme).
    BackupScheme(u32),
    /// Pause or resume every schedule.
    PauseSchedules,
    Quit,
}

const SCHEME_PREFIX: &str = "backup-scheme:";

impl TrayItem {
    pub fn id(self) -> String {
        match self {
            TrayItem::Open => "open".into(),
            TrayItem::BackupAll => "backup-all".into(),
            TrayItem::BackupScheme(id) => format!("{SCHEME_PREFIX}{id}"),
            TrayItem::PauseSchedules => "pause-schedules".into(),
            TrayItem::Quit => "quit".into(),
        }
    }

    /// The label; a scheme's item is labelled with the scheme's name by the menu builder.
    pub fn label(self) -> &'static str {
        match self {
            TrayItem::Open => "Open Backup Center",
            TrayItem::BackupAll => "Backup now (all schemes)",
            TrayItem::BackupScheme(_) => "Backup now",
            TrayItem::PauseSchedules => "Pause schedules",
            TrayItem::Quit => "Quit",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        if let Some(n) = id.strip_prefix(SCHEME_PREFIX) {
            return n.parse().ok().map(TrayItem::BackupScheme);
        }
        [
            TrayItem::Open,
            TrayItem::BackupAll,
            TrayItem::PauseSchedules,
            TrayItem::Quit,
        ]
        .into_iter()
        .find(|i| i.id() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let all = [
            TrayItem::Open,
            TrayItem::BackupAll,
            TrayItem::BackupScheme(7),
            TrayItem::BackupScheme(70),
            TrayItem::PauseSchedules,
            TrayItem::Quit,
        ];
        for i in all {
            assert_eq!(TrayItem::from_id(&i.id()), Some(i));
        }
        for bad in [
            "nope",
            "backup-scheme:",
            "backup-scheme:x",
            "backup-scheme:-1",
        ] {
            assert_eq!(TrayItem::from_id(bad), None, "{bad}");
        }
        let mut ids: Vec<_> = all.iter().map(|i| i.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
    }
}
