//! Reboot a Windows host (`--allow-reboot`) and wait for it to come back: read its boot time,
//! `Restart-Computer -Force`, then a new connection and the facts script every few seconds
//! until it answers from a new boot (`os::windows::wait_for_reboot`), within a bounded wait.

use super::{connect, Host, RunContext};
use crate::os::windows::{wait_for_reboot, RebootWait};

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
    .ok_or("rwin cannot read the host's boot time (Win32_OperatingSystem.LastBootUpTime), so it could not tell when a restart is done: not restarting; restart the host yourself, then run `rwin up` again")?;
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
            let Some(w) = facts.windows().cloned() else {
                return Err("the facts are not a Windows host's".to_string());
            };
            Ok(((t, engine), w))
        }
    };
    // A dropped connection during the shutdown is expected: `ask` just tries again.
    let back = wait_for_reboot(&booted_before, RebootWait::default(), ask).await?;
    if back.still_pending {
        ctx.ui.warn(&format!(
            "{name}: Windows still reports a pending reboot after rwin restarted it"
        ));
    }
    let (t, engine) = back.connection;
    h.transport = Some(t);
    h.engine = engine;
    Ok(())
}
