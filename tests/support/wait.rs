//! Polling with a deadline: the only way tests wait (fixed sleeps are banned).

use std::fmt::Display;
use std::time::{Duration, Instant};

/// What a check returns: `Option` (None = not yet) or `Result` (Err = not yet, with the state
/// seen, which ends up in the timeout message).
pub trait Outcome<T> {
    fn into_result(self) -> Result<T, String>;
}

impl<T> Outcome<T> for Option<T> {
    fn into_result(self) -> Result<T, String> {
        self.ok_or_else(|| "condition not met (the check returned None)".to_owned())
    }
}

impl<T, E: Display> Outcome<T> for Result<T, E> {
    fn into_result(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// Calls `check` until it yields a value, at least once, and panics after `timeout` with `desc`
/// and the last state the check reported.
pub fn wait_for<T, O: Outcome<T>>(
    desc: &str,
    timeout: Duration,
    mut check: impl FnMut() -> O,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check().into_result() {
            Ok(value) => return value,
            Err(last) => {
                if Instant::now() >= deadline {
                    panic!("timed out after {timeout:?} waiting for {desc}; last seen: {last}");
                }
            }
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}
