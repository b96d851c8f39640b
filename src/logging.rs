//! Logs go to a file, never to the terminal the TUI owns.

use std::path::{Path, PathBuf};

/// `<cache dir>/berth/berth.log` unless configured.
pub fn default_log_file() -> PathBuf {
    directories::ProjectDirs::from("", "", "berth")
        .map(|d| d.cache_dir().join("berth.log"))
        .unwrap_or_else(|| PathBuf::from("berth.log"))
}

/// Installs a file subscriber filtered by `BERTH_LOG` (default `info`). Failing to open the
/// log file is not fatal: berth runs without logs rather than refusing to start.
pub fn init(path: &Path) -> Option<PathBuf> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init()
        .ok()?;
    Some(path.to_owned())
}
