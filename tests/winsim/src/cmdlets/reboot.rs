//! `Restart-Computer -Force`: the host "reboots" at once. What a boot does to the state:
//! pending operations complete (InstallPending features are Installed, the RebootPending key
//! goes), services come up by their start type (Automatic running, the others stopped), and
//! the persisted network settings are applied again: IPEnableRouter=1 turns forwarding on for
//! every interface, as Windows' TCP/IP stack does at boot. Routes, addresses, firewall rules,
//! RRAS NAT and per-interface forwarding are persistent on Windows and stay (winsim's routes are
//! all in the persistent store: New-NetRoute's default; nothing in the contract makes an
//! ActiveStore-only route, so there is none to drop).
//!
//! Not modelled: the host does not go away for a while (the connection that sent the command
//! and new ones keep working), and containers are not restarted (they are Linux containers in
//! the namespace's dockerd, which keeps running).

use super::{CmdResult, Fail};
use crate::effects::Effects;
use crate::state::{WinState, TCPIP_PARAMETERS};

pub fn run(state: &mut WinState, fx: &Effects, force: bool) -> CmdResult {
    if !force {
        // Without -Force Windows refuses while users are logged on; rwin always passes it.
        return Err(Fail::Failed(
            "winsim: Restart-Computer without -Force is not modelled".into(),
        ));
    }
    boot(state);
    fx.sync_forwarding(state)
        .and_then(|()| fx.sync_nat(state))
        .map_err(|e| Fail::Failed(format!("winsim effect failed: {e}")))?;
    Ok(Vec::new())
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
