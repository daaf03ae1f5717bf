//! The one retry policy: an operation is tried again only when its error says trying again can
//! help (`is_retryable`: a refused or dropped connection, a timeout, an overloaded service),
//! never for wrong credentials, a refused host key or a script that failed. Attempts are
//! bounded in number and in time, with a growing pause between them (k0sctl and Ansible's
//! connection plugins retry connections the same way).

use std::future::Future;
use std::time::{Duration, Instant};

/// An error that knows whether trying the same thing again can help (each layer implements it
/// for its own errors, so this module depends on nothing).
pub trait Retryable {
    fn is_retryable(&self) -> bool;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The pause before the second try; it doubles before each later one.
    pub first_pause: Duration,
    /// No new try starts once this much time has passed since the first began: an error that
    /// took long to come (a connect timeout) is not waited for again.
    pub budget: Duration,
}

impl RetryPolicy {
    /// Opening a host's connection: a host that refuses or drops it may be restarting its
    /// SSH or WinRM service, or briefly unreachable while its network changes.
    pub const CONNECT: RetryPolicy = RetryPolicy {
        attempts: 3,
        first_pause: Duration::from_secs(1),
        budget: Duration::from_secs(5),
    };

    /// Run `op` until it succeeds, fails with an error that is not retryable, or the policy's
    /// attempts or budget are used up; the last error is returned. `retrying` hears of each
    /// new try (its number, the error before it, the pause) so the user sees why it waits.
    pub async fn run<T, E, F, Fut>(
        &self,
        mut op: F,
        mut retrying: impl FnMut(u32, &E, Duration),
    ) -> Result<T, E>
    where
        E: Retryable,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let started = Instant::now();
        let mut pause = self.first_pause;
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let time_left = started.elapsed() + pause < self.budget;
                    if !e.is_retryable() || attempt >= self.attempts || !time_left {
                        return Err(e);
                    }
                    attempt += 1;
                    retrying(attempt, &e, pause);
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[derive(Debug, PartialEq)]
    struct E(bool);
    impl Retryable for E {
        fn is_retryable(&self) -> bool {
            self.0
        }
    }

    const FAST: RetryPolicy = RetryPolicy {
        attempts: 3,
        first_pause: Duration::from_millis(1),
        budget: Duration::from_secs(5),
    };

    #[tokio::test]
    async fn a_retryable_error_is_tried_again_until_it_succeeds() {
        let calls = Cell::new(0);
        let heard = Cell::new(0);
        let r = FAST
            .run(
                || {
                    calls.set(calls.get() + 1);
                    let n = calls.get();
                    async move {
                        if n < 3 {
                            Err(E(true))
                        } else {
                            Ok(n)
                        }
                    }
                },
                |attempt, _, _| heard.set(attempt),
            )
            .await;
        assert_eq!(r, Ok(3));
        assert_eq!(heard.get(), 3, "the user hears of the third try");
    }

    #[tokio::test]
    async fn an_error_that_is_not_retryable_is_returned_at_once() {
        let calls = Cell::new(0);
        let r: Result<(), E> = FAST
            .run(
                || {
                    calls.set(calls.get() + 1);
                    async { Err(E(false)) }
                },
                |_, _, _| {},
            )
            .await;
        assert_eq!(r, Err(E(false)));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test]
    async fn tries_are_bounded_in_number_and_in_time() {
        let calls = Cell::new(0);
        let r: Result<(), E> = FAST
            .run(
                || {
                    calls.set(calls.get() + 1);
                    async { Err(E(true)) }
                },
                |_, _, _| {},
            )
            .await;
        assert_eq!(r, Err(E(true)));
        assert_eq!(calls.get(), 3);
        // An error that took longer than the budget is not waited for again.
        let slow = RetryPolicy {
            budget: Duration::from_millis(20),
            ..FAST
        };
        let calls = Cell::new(0);
        let _: Result<(), E> = slow
            .run(
                || {
                    calls.set(calls.get() + 1);
                    async {
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        Err(E(true))
                    }
                },
                |_, _, _| {},
            )
            .await;
        assert_eq!(calls.get(), 1);
    }
}
