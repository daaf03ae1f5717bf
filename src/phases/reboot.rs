//! Reboot a Windows host (`--allow-reboot`) and wait for it to answer again: `Restart-Computer
//! -Force`, a few seconds for the shutdown to begin, then a new connection and the facts script
//! every few seconds until the host answers, within a bounded wait.

use std::time::{Duration, Instant};

use super::{connect, Host, RunContext};

/// Windows stops its services (WinRM, sshd) within seconds of `Restart-Computer -Force`:
/// asking sooner could reach the host before it has gone down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a reboot may take before rwin gives up on the host.
const WAIT: Duration = Duration::from_secs(600);
/// How long an answering host may still say a reboot is pending (a Windows Update key that
/// another reboot would clear, or a host that has not gone down yet) before rwin carries on.
const PENDING_WAIT: Duration = Duration::from_secs(60);
const RETRY: Duration = Duration::from_secs(5);

/// Restart the host and reconnect: `h.transport` (and `h.engine`) are the new connection.
pub async fn run(ctx: &RunContext, h: &mut Host) -> Result<(), String> {
    let name = h.node.name.clone();
    let t = h.transport.clone().ok_or("not connected")?;
    let os = h.node.host_os;
    let command = os.script_command(&h.node.node.user);
    let script = os
        .reboot_script()
        .ok_or_else(|| format!("rwin does not restart {} hosts", os.os()))?;
    ctx.ui.host_step(&name, "rebooting (--allow-reboot)");
    ctx.ui.debug(&format!("{name}: running\n{script}"));
    match t.exec(&command, Some(script.as_bytes())).await {
        Ok(o) if crate::docker::cli::succeeded(&o.stdout) => {}
        Ok(o) => {
            return Err(format!(
                "Restart-Computer failed (exit {}): {}",
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
    tokio::time::sleep(SHUTDOWN_GRACE).await;
    let facts = os.facts_script(&h.desired);
    let started = Instant::now();
    let mut first_answer: Option<Instant> = None;
    let mut last = String::from("no answer yet");
    loop {
        if started.elapsed() > WAIT {
            return Err(format!(
                "the host did not answer within {}s of Restart-Computer (last: {last}); check its console, and run `rwin up` again once it is back",
                WAIT.as_secs()
            ));
        }
        ctx.ui
            .host_step(&name, "waiting for the host to answer after its reboot");
        match connect::open(ctx, &h.node).await {
            Ok((t, engine)) => match t.exec(&command, Some(facts.as_bytes())).await {
                Ok(o) if o.success() => match os.parse_facts(&o.stdout) {
                    Ok(f) => {
                        let since = *first_answer.get_or_insert_with(Instant::now);
                        let pending = os.reboot_needed(Some(&f), &[]);
                        if !pending || since.elapsed() > PENDING_WAIT {
                            if pending {
                                ctx.ui.warn(&format!("{name}: Windows still reports a pending reboot after rwin restarted it"));
                            }
                            h.transport = Some(t);
                            h.engine = engine;
                            return Ok(());
                        }
                        last = "Windows still reports a pending reboot".into();
                        t.close().await;
                    }
                    Err(e) => last = e.to_string(),
                },
                Ok(o) => last = format!("exit {}: {}", o.code, o.stderr.trim()),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(RETRY).await;
    }
}
