//! Restarting a Windows host when `--allow-reboot` is given and a change needs it, and waiting
//! for it to come back.

use std::future::Future;
use std::time::{Duration, Instant};

use super::WindowsFacts;
use crate::docker::cli::DONE;

/// `Restart-Computer -Force`: Windows starts shutting down and the command returns (or the
/// connection drops first; the caller accepts both).
pub fn reboot_script() -> String {
    format!(
        "# rwin: restart the host (--allow-reboot): a change needs a reboot to take full effect.\nRestart-Computer -Force\nWrite-Output {}\n",
        crate::powershell::quote(DONE)
    )
}

/// How rwin waits for a restarted host.
#[derive(Debug, Clone, Copy)]
pub struct RebootWait {
    /// How long the restart may take before rwin gives up on the host.
    pub wait: Duration,
    /// Between two questions.
    pub retry: Duration,
}

impl Default for RebootWait {
    fn default() -> Self {
        RebootWait {
            wait: Duration::from_secs(600),
            retry: Duration::from_secs(5),
        }
    }
}

/// What the wait ended with: the connection `ask` made, the facts it read, and whether Windows
/// still says a reboot is pending after its new boot.
pub struct Rebooted<T> {
    pub connection: T,
    pub facts: WindowsFacts,
    pub still_pending: bool,
}

/// Wait for a host that was just told to restart, until it answers from a new boot: its
/// LastBootUpTime is no longer `booted_before` (what it was before the restart). `ask` opens a
/// new connection and reads the host's facts; its error says why not. Windows keeps answering
/// for a while after Restart-Computer returns (services get their preshutdown time, 10 s by
/// default) and then drops every connection until it has booted, so an answer with the old boot
/// time, a dropped connection and a refused one all mean "not yet". This is how PowerShell's
/// `Restart-Computer -Wait` and Ansible's `win_reboot` tell it, not by the first answer.
pub async fn wait_for_reboot<T, F, Fut>(
    booted_before: &str,
    timing: RebootWait,
    mut ask: F,
) -> Result<Rebooted<T>, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(T, WindowsFacts), String>>,
{
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    loop {
        if started.elapsed() > timing.wait {
            return Err(format!(
                "the host did not come back within {}s of Restart-Computer (last: {last}); check its console, and run `rwin up` again once it is back",
                timing.wait.as_secs()
            ));
        }
        match ask().await {
            Ok((connection, facts)) => match facts.last_boot.as_deref() {
                Some(now) if now != booted_before => {
                    let still_pending = facts.reboot_pending;
                    return Ok(Rebooted {
                        connection,
                        facts,
                        still_pending,
                    });
                }
                Some(_) => {
                    last = format!("it still answers from the boot of {booted_before} (shutting down, not restarted yet)")
                }
                None => last = "its facts have no boot time (LastBootUpTime)".into(),
            },
            Err(e) => last = e,
        }
        tokio::time::sleep(timing.retry).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booted(at: &str) -> WindowsFacts {
        WindowsFacts {
            last_boot: Some(at.into()),
            ..WindowsFacts::default()
        }
    }

    #[tokio::test]
    async fn the_host_is_back_when_it_answers_from_another_boot() {
        let timing = RebootWait {
            wait: Duration::from_secs(5),
            retry: Duration::from_millis(1),
        };
        // Still up from the old boot, then gone, then back from a new one.
        let mut answers = vec![
            Ok((1, booted("12/01/2026 10:00:00"))),
            Err("connection reset".to_string()),
            Err("connection refused".to_string()),
            Ok((4, booted("12/01/2026 10:02:31"))),
        ]
        .into_iter();
        let back = wait_for_reboot("12/01/2026 10:00:00", timing, || {
            let next = answers.next().expect("no more questions after it is back");
            async move { next }
        })
        .await
        .expect("back");
        assert_eq!(back.connection, 4);
        assert!(!back.still_pending);
        // A host that never leaves its old boot is not taken for restarted.
        let timing = RebootWait {
            wait: Duration::from_millis(30),
            retry: Duration::from_millis(5),
        };
        let e = wait_for_reboot("12/01/2026 10:00:00", timing, || async {
            Ok(((), booted("12/01/2026 10:00:00")))
        })
        .await
        .map(|_| ())
        .unwrap_err();
        assert!(
            e.contains("still answers from the boot of 12/01/2026 10:00:00"),
            "{e}"
        );
    }
}
