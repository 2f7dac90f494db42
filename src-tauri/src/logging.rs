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
    tracing_subscriber::registry()
        .with(filter(std::env::var("BACKUP_CENTER_LOG").ok().as_deref()))
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

/// The log filter: `BACKUP_CENTER_LOG` if set (and valid), else our defaults; either way
/// suppaftp is capped at `info`, because at `trace` it logs every FTP command it sends,
/// `PASS <password>` included, and a password must never reach a log file.
fn filter(from_env: Option<&str>) -> EnvFilter {
    let base = from_env
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new("info,backup_center=debug,backup_center_engine=debug"));
    base.add_directive("suppaftp=info".parse().expect("a valid directive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppaftp_is_never_traced_even_when_asked() {
        for env in [
            None,
            Some("trace"),
            Some("suppaftp=trace"),
            Some("not a [filter"),
        ] {
            let f = filter(env).to_string();
            assert!(f.contains("suppaftp=info"), "{env:?}: {f}");
            assert!(!f.contains("suppaftp=trace"), "{env:?}: {f}");
        }
    }
}
