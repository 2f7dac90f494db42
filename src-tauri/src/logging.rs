//! Logs go to a daily-rotated file in the OS log folder (14 days kept). Secrets never reach
//! them: they travel as `Sensitive<T>`, whose `Debug` is `<redacted>`.

use std::path::Path;

use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

pub fn init(log_dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(log_dir)
        .map_err(|e| format!("cannot create log folder {}: {e}", log_dir.display()))?;
    let file = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("backup-center")
        .filename_suffix("log")
        .max_log_files(14)
        .build(log_dir)
        .map_err(|e| format!("cannot open log file in {}: {e}", log_dir.display()))?;
    let filter = EnvFilter::try_from_env("BACKUP_CENTER_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,backup_center=debug,backup_center_engine=debug"));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_ansi(false).with_writer(file))
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init()
        .map_err(|e| e.to_string())?;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "panic");
        previous(info);
    }));
    Ok(())
}
