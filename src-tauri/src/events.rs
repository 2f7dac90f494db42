//! Events the backend sends the window (typed through tauri-specta: `events.runProgress` in
//! the bindings). Progress flows back this way while commands only start work.

use backup_center_engine::catalog::runs::RunOutcome;
use backup_center_engine::run::RunEvent;
use backup_center_engine::snapshot::progress::Phase as SnapshotPhase;
use serde::Serialize;

/// A run's progress, as [`RunEvent`] reports it, in IPC form (byte counts as JavaScript
/// numbers: exact up to 9 PB).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum RunProgress {
    /// These schemes' runs started from one snapshot.
    #[serde(rename_all = "camelCase")]
    Started {
        scheme_ids: Vec<u32>,
        run_ids: Vec<u32>,
    },
    /// The snapshot of the running group: phase, items done of total, bytes, rate, ETA.
    #[serde(rename_all = "camelCase")]
    Snapshot {
        phase: SnapshotPhase,
        #[specta(type = specta_typescript::Number)]
        done: u64,
        #[specta(type = Option<specta_typescript::Number>)]
        total: Option<u64>,
        /// Bytes received from Jira so far.
        #[specta(type = specta_typescript::Number)]
        bytes: u64,
        /// Items per second in this phase.
        #[specta(type = specta_typescript::Number)]
        rate: f64,
        #[specta(type = Option<specta_typescript::Number>)]
        eta_secs: Option<u64>,
    },
    /// Bytes stored so far on one scheme's destination.
    #[serde(rename_all = "camelCase")]
    Upload {
        scheme_id: u32,
        #[specta(type = specta_typescript::Number)]
        sent: u64,
        #[specta(type = specta_typescript::Number)]
        total: u64,
    },
    /// One scheme's run ended; `message` is the actionable failure.
    #[serde(rename_all = "camelCase")]
    Finished {
        scheme_id: u32,
        run_id: u32,
        outcome: RunOutcome,
        message: Option<String>,
    },
}

/// Run ids are SQLite row ids; the UI gets them as numbers (they stay far below 2^32).
fn run_id(id: i64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

impl From<&RunEvent> for RunProgress {
    fn from(e: &RunEvent) -> Self {
        match e {
            RunEvent::Started {
                scheme_ids,
                run_ids,
            } => Self::Started {
                scheme_ids: scheme_ids.clone(),
                run_ids: run_ids.iter().copied().map(run_id).collect(),
            },
            RunEvent::Snapshot { progress: p } => Self::Snapshot {
                phase: p.phase,
                done: p.done,
                total: p.total,
                bytes: p.bytes,
                rate: p.rate,
                eta_secs: p.eta_secs,
            },
            RunEvent::Upload {
                scheme_id,
                sent,
                total,
            } => Self::Upload {
                scheme_id: *scheme_id,
                sent: *sent,
                total: *total,
            },
            RunEvent::Finished {
                scheme_id,
                run_id: id,
                outcome,
                message,
            } => Self::Finished {
                scheme_id: *scheme_id,
                run_id: run_id(*id),
                outcome: *outcome,
                message: message.clone(),
            },
        }
    }
}
