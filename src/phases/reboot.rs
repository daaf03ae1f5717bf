//! Reboot a host (`--allow-reboot`) and wait for it to come back: read its boot time, run the
//! OS's restart script, then a new connection and the facts script every few seconds until it
//! answers from a new boot ([`wait_for_reboot`]), within a bounded wait.

use std::future::Future;
use std::time::{Duration, Instant};

use super::{connect, Host, RunContext};

/// Restart the host and reconnect: `h.transport` (and `h.engine`) are the new connection.
pub async fn run(ctx: &RunContext, h: &mut Host) -> Result<(), String> {
    let name = h.node.name.clone();
    let t = h.transport.clone().ok_or("not connected")?;
    let os = h.node.host_os;
    let command = os.script_command(&h.node.node.user);
    let script = os
        .reboot_script()
        .ok_or_else(|| format!("rwin does not restart {} hosts", os.os()))?;
    let facts_script = os.facts_script(&h.desired);
    // Which boot the host is in now: it is back once it answers from another one. Read again
    // here (the facts read earlier may have no boot time).
    let booted_before = match t.exec(&command, Some(facts_script.as_bytes())).await {
        Ok(o) if o.success() => os
            .parse_facts(&o.stdout)
            .ok()
            .and_then(|f| os.boot_time(&f)),
        _ => None,
    }
    .ok_or("rwin cannot read the host's boot time, so it could not tell when a restart is done: not restarting; restart the host yourself, then run `rwin up` again")?;
    ctx.ui.host_step(&name, "rebooting (--allow-reboot)");
    ctx.ui.debug(&format!("{name}: running\n{script}"));
    match t.exec(&command, Some(script.as_bytes())).await {
        Ok(o) if crate::docker::cli::succeeded(&o.stdout) => {}
        Ok(o) => {
            return Err(format!(
                "the restart script failed (exit {}): {}",
                o.code,
                o.stderr.trim()
            ))
        }
        // The host may close the connection before the answer arrives.
        Err(e) => ctx
            .ui
            .debug(&format!("{name}: connection ended by the reboot: {e}")),
    }
    t.close().await;
    h.transport = None;
    h.engine = None;
    let node = h.node.clone();
    let ask = || {
        let (facts_script, command, node, name) = (&facts_script, &command, &node, &name);
        async move {
            ctx.ui
                .host_step(name, "waiting for the host to answer after its reboot");
            let (t, engine) = connect::open(ctx, node).await.map_err(|e| e.to_string())?;
            let o = t
                .exec(command, Some(facts_script.as_bytes()))
                .await
                .map_err(|e| e.to_string())?;
            if !o.success() {
                return Err(format!("exit {}: {}", o.code, o.stderr.trim()));
            }
            let facts = os.parse_facts(&o.stdout)?;
            let boot = Boot {
                time: os.boot_time(&facts),
                pending: os.reboot_needed(Some(&facts), &[]),
            };
            Ok(((t, engine), boot))
        }
    };
    // A dropped connection during the shutdown is expected: `ask` just tries again.
    let back = wait_for_reboot(&booted_before, RebootWait::default(), ask).await?;
    if back.still_pending {
        ctx.ui.warn(&format!(
            "{name}: the host still reports a pending reboot after rwin restarted it"
        ));
    }
    let (t, engine) = back.connection;
    h.transport = Some(t);
    h.engine = engine;
    Ok(())
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

/// What `ask` found: when the host booted (as its facts say), and whether it still says a
/// reboot is pending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Boot {
    pub time: Option<String>,
    pub pending: bool,
}

/// What the wait ended with: the connection `ask` made, and whether the host still says a
/// reboot is pending after its new boot.
pub struct Rebooted<T> {
    pub connection: T,
    pub still_pending: bool,
}

/// Wait for a host that was just told to restart, until it answers from a new boot: its boot
/// time is no longer `booted_before` (what it was before the restart). `ask` opens a new
/// connection and reads the host's boot; its error says why not. A host keeps answering for a
/// while after it is told to restart (Windows gives services their preshutdown time, 10 s by
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
    Fut: Future<Output = Result<(T, Boot), String>>,
{
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    loop {
        if started.elapsed() > timing.wait {
            return Err(format!(
                "the host did not come back within {}s of its restart (last: {last}); check its console, and run `rwin up` again once it is back",
                timing.wait.as_secs()
            ));
        }
        match ask().await {
            Ok((connection, boot)) => match boot.time.as_deref() {
                Some(now) if now != booted_before => {
                    return Ok(Rebooted {
                        connection,
                        still_pending: boot.pending,
                    });
                }
                Some(_) => {
                    last = format!("it still answers from the boot of {booted_before} (shutting down, not restarted yet)")
                }
                None => last = "its facts have no boot time".into(),
            },
            Err(e) => last = e,
        }
        tokio::time::sleep(timing.retry).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booted(at: &str) -> Boot {
        Boot {
            time: Some(at.into()),
            pending: false,
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
