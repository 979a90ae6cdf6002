//! Retrying engine and registry calls with exponential backoff.
//!
//! Pulls, pushes and engine requests fail transiently (a registry restarting, an engine under
//! load). [`with_backoff`] runs an operation up to [`Backoff::attempts`] times, sleeping
//! between attempts with a doubling delay, and stops early on errors the caller marks as
//! permanent (a missing image does not appear by asking again).

use std::future::Future;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Attempts in all, the first included (at least one is made).
    pub attempts: u32,
    /// The delay after the first failure; it doubles after each further one.
    pub initial: Duration,
    /// The longest delay between two attempts.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 4,
            initial: Duration::from_millis(500),
            max: Duration::from_secs(8),
        }
    }
}

/// Runs `op` until it succeeds, `permanent` says its error is not worth retrying, or the
/// attempts are spent; returns the last error then, with the number of attempts made.
pub async fn with_backoff<T, E, F, Fut>(
    backoff: Backoff,
    mut permanent: impl FnMut(&E) -> bool,
    mut op: F,
) -> Result<T, (E, u32)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut delay = backoff.initial;
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(e) if attempt >= backoff.attempts.max(1) || permanent(&e) => {
                return Err((e, attempt))
            }
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max);
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_then_stops() {
        let calls = Cell::new(0);
        let out: Result<u32, (&str, u32)> = with_backoff(
            Backoff::default(),
            |_| false,
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err("flaky")
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(out, Ok(3));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_attempts_or_on_permanent_errors() {
        let out: Result<(), (&str, u32)> =
            with_backoff(Backoff::default(), |_| false, || async { Err("down") }).await;
        assert_eq!(out, Err(("down", 4)));
        let out: Result<(), (&str, u32)> = with_backoff(
            Backoff::default(),
            |e| *e == "missing",
            || async { Err("missing") },
        )
        .await;
        assert_eq!(out, Err(("missing", 1)));
    }
}
