//! The tray icon's state: the last result at a glance (ok, failed, running), with the last
//! successful backup's time in the tooltip. The icon is the app icon with a coloured dot, drawn
//! at run time, so there is no second icon set to keep in step with `icons/source.svg`.

use chrono::{DateTime, Local, Utc};
use tauri::image::Image;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayStatus {
    /// Nothing has run yet.
    Idle,
    Ok,
    Failed,
    Running,
}

impl TrayStatus {
    /// The dot's colour (RGBA); none while idle.
    fn dot(self) -> Option<[u8; 4]> {
        match self {
            TrayStatus::Idle => None,
            TrayStatus::Ok => Some([0x2e, 0xa0, 0x43, 0xff]),
            TrayStatus::Failed => Some([0xd1, 0x24, 0x2f, 0xff]),
            TrayStatus::Running => Some([0x21, 0x6e, 0xdf, 0xff]),
        }
    }

    fn label(self) -> &'static str {
        match self {
            TrayStatus::Idle => "no backup yet",
            TrayStatus::Ok => "last backup succeeded",
            TrayStatus::Failed => "last backup FAILED",
            TrayStatus::Running => "backing up…",
        }
    }

    /// "Backup Center: last backup FAILED. Last successful backup: 2026-03-01 02:00."
    pub fn tooltip(self, last_success: Option<DateTime<Utc>>) -> String {
        let success = match last_success {
            Some(t) => format!(
                "Last successful backup: {}",
                t.with_timezone(&Local).format("%Y-%m-%d %H:%M")
            ),
            None => "No successful backup yet".to_string(),
        };
        format!("Backup Center: {}. {success}.", self.label())
    }

    /// `base` with the state's dot in the lower right quarter.
    pub fn icon(self, base: &Image<'_>) -> Image<'static> {
        let (w, h) = (base.width(), base.height());
        let mut rgba = base.rgba().to_vec();
        if let Some(colour) = self.dot() {
            let r = (w.min(h) as f64) * 0.22;
            let (cx, cy) = (w as f64 - r - 1.0, h as f64 - r - 1.0);
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                    let d = (dx * dx + dy * dy).sqrt();
                    let i = ((y * w + x) * 4) as usize;
                    if d <= r {
                        rgba[i..i + 4].copy_from_slice(&colour);
                    } else if d <= r + (r * 0.2).max(1.0) {
                        // A white ring keeps the dot visible on a dark panel and a dark icon.
                        rgba[i..i + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
                    }
                }
            }
        }
        Image::new_owned(rgba, w, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_has_its_own_dot_and_the_tooltip_gives_the_last_success() {
        let base = Image::new_owned(vec![0u8; 32 * 32 * 4], 32, 32);
        let corner = |s: TrayStatus| {
            let img = s.icon(&base);
            let i = ((26 * 32 + 26) * 4) as usize;
            img.rgba()[i..i + 4].to_vec()
        };
        assert_eq!(corner(TrayStatus::Idle), vec![0, 0, 0, 0]);
        let dots: Vec<_> = [TrayStatus::Ok, TrayStatus::Failed, TrayStatus::Running]
            .into_iter()
            .map(corner)
            .collect();
        assert!(dots[0] != dots[1] && dots[1] != dots[2] && dots[0] != dots[2]);
        assert_eq!(TrayStatus::Ok.icon(&base).rgba().len(), 32 * 32 * 4);

        let t: DateTime<Utc> = "2026-03-01T02:00:00Z".parse().unwrap();
        let tip = TrayStatus::Failed.tooltip(Some(t));
        assert!(tip.contains("FAILED"), "{tip}");
        assert!(
            tip.contains(&t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()),
            "{tip}"
        );
        assert!(TrayStatus::Idle
            .tooltip(None)
            .contains("No successful backup yet"));
    }
}
