//! The kinds of desktop notification, and which the user's preference lets through.

use backup_center_engine::catalog::runs::RunOutcome;

use crate::preferences::NotificationLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    BackupFailed,
    BackupSucceeded,
    /// Stored and verified, but some sections could not be read (e.g. not a Jira admin).
    BackupPartial,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 3] = [
        NotificationKind::BackupFailed,
        NotificationKind::BackupSucceeded,
        NotificationKind::BackupPartial,
    ];

    pub fn title(self) -> &'static str {
        match self {
            NotificationKind::BackupFailed => "Backup failed",
            NotificationKind::BackupSucceeded => "Backup completed",
            NotificationKind::BackupPartial => "Backup completed, partly",
        }
    }

    /// The notification a finished run calls for (none for a run still going).
    pub fn for_outcome(outcome: RunOutcome) -> Option<Self> {
        match outcome {
            RunOutcome::Failed | RunOutcome::Interrupted => Some(Self::BackupFailed),
            RunOutcome::Succeeded => Some(Self::BackupSucceeded),
            RunOutcome::Partial => Some(Self::BackupPartial),
            RunOutcome::Running => None,
        }
    }

    /// Whether `level` shows this kind: failures by default, everything with "all".
    pub fn shown_at(self, level: NotificationLevel) -> bool {
        match level {
            NotificationLevel::None => false,
            NotificationLevel::All => true,
            NotificationLevel::FailuresOnly => self == Self::BackupFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_only_is_the_default_and_none_means_none() {
        use NotificationLevel::*;
        for k in NotificationKind::ALL {
            assert!(k.shown_at(All), "{k:?}");
            assert!(!k.shown_at(None), "{k:?}");
            assert_eq!(
                k.shown_at(FailuresOnly),
                k == NotificationKind::BackupFailed,
                "{k:?}"
            );
        }
        assert_eq!(NotificationLevel::default(), FailuresOnly);
        assert_eq!(
            NotificationKind::for_outcome(RunOutcome::Interrupted),
            Some(NotificationKind::BackupFailed)
        );
        assert_eq!(
            NotificationKind::for_outcome(RunOutcome::Running),
            Option::None
        );
    }
}
