//! `Restart-Computer -Force` and what a restart does over time. The command returns at once;
//! the host keeps answering while it shuts down, then answers nothing (connections are
//! dropped and refused) until it has booted, and then reports a new LastBootUpTime
//! (Win32_OperatingSystem; `Get-CimInstance`, cmdlets/system.rs). The timeline lives in the
//! state file (`restart`), and is advanced whenever the host is asked anything (host.rs).
//!
//! How long: services get up to 10 s of preshutdown before the rest of the shutdown goes on
//! (SERVICE_PRESHUTDOWN_INFO: "Starting with the Windows Creator's Update (build 15063) the
//! default preshutdown time-out value is 10,000 milliseconds",
//! https://learn.microsoft.com/windows/win32/api/winsvc/ns-winsvc-service_preshutdown_info), so
//! by default the host still answers for 10 s after Restart-Computer returns. The boot takes
//! 60 s by default: no source gives a figure (it depends on the machine); tests set both in
//! `restart_timing`.
//!
//! What a boot does to the state: pending operations complete (InstallPending features are
//! Installed, the RebootPending key goes), services come up by their start type (Automatic
//! running, the others stopped), and the persisted network settings are applied again:
//! IPEnableRouter=1 turns forwarding on for every interface, as Windows' TCP/IP stack does at
//! boot. Routes, addresses, firewall rules, RRAS NAT and per-interface forwarding are
//! persistent on Windows and stay (winsim's routes are all in the persistent store:
//! New-NetRoute's default; nothing in the contract makes an ActiveStore-only route).
//!
//! Not modelled: containers restarting (they are Linux containers in the namespace's dockerd,
//! which keeps running); WinRM shells opened before the restart are not forgotten.

use super::{CmdResult, Fail};
use crate::effects::Effects;
use crate::state::{now_ms, Restart, WinState, TCPIP_PARAMETERS};

pub fn run(state: &mut WinState, force: bool) -> CmdResult {
    if !force {
        // Without -Force Windows refuses while users are logged on; rwin always passes it.
        return Err(Fail::Failed(
            "winsim: Restart-Computer without -Force is not modelled".into(),
        ));
    }
    if state.restart.is_none() {
        let now = now_ms();
        let t = state.restart_timing;
        state.restart = Some(Restart {
            down_at_ms: now + t.shutdown_ms,
            up_at_ms: now + t.shutdown_ms + t.boot_ms,
        });
    }
    Ok(Vec::new())
}

/// Whether the host answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Running (or still shutting down).
    Up,
    /// Restarting: it answers nothing until it has booted.
    Down,
}

/// Whether the host answers at `now`: down between a restart's down and up times.
pub fn power_at(state: &WinState, now: u64) -> Power {
    match state.restart {
        Some(r) if r.down_at_ms <= now && now < r.up_at_ms => Power::Down,
        _ => Power::Up,
    }
}

/// Brings a restart under way up to `now`: down between its down and up times; once booted,
/// the state a boot leaves (with its effects) and the new LastBootUpTime.
pub fn advance(state: &mut WinState, fx: &Effects, now: u64) -> Result<Power, String> {
    let Some(r) = state.restart else {
        return Ok(Power::Up);
    };
    if now < r.up_at_ms {
        return Ok(power_at(state, now));
    }
    boot(state);
    state.last_boot_ms = r.up_at_ms;
    state.restart = None;
    fx.sync_forwarding(state)?;
    fx.sync_nat(state)?;
    Ok(Power::Up)
}

/// The state after a reboot.
pub fn boot(state: &mut WinState) {
    state.reboot_pending.clear();
    for s in state.features.values_mut() {
        if s == "InstallPending" {
            *s = "Installed".into();
        }
    }
    for s in &mut state.services {
        s.status = if s.start_type == "Automatic" {
            "Running"
        } else {
            "Stopped"
        }
        .into();
    }
    if state
        .service("RemoteAccess")
        .is_some_and(|s| s.status == "Running")
    {
        state.rras_started();
    }
    let router = state
        .registry
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(TCPIP_PARAMETERS))
        .and_then(|(_, v)| v.get("IPEnableRouter"))
        .and_then(|v| v.as_i64())
        == Some(1);
    if router {
        for a in &mut state.adapters {
            a.forwarding = true;
        }
    }
}
