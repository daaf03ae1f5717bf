//! Enable routing: IPv4 forwarding (now and at boot), routes to every other node's subnet,
//! outbound NAT, and the node's container network with its subnet and gateway. One script per
//! host for the host's own configuration, then the Docker API for the network.

use std::collections::HashMap;

use super::{Host, NetworkChange, RunContext};
use crate::docker::ensure;
use crate::docker::spec::POD_NETWORK;
use crate::os::{linux, HostChange};
use crate::state::RouteRecord;

pub async fn run(ctx: &RunContext, h: &mut Host) {
    let name = h.node.name.clone();
    if let Some(b) = h.changes.blockers.first().cloned() {
        return h.fail(&ctx.ui, format!("{name}: {b}"));
    }
    // Windows with --allow-reboot: after a reboot the facts are read again and what is still
    // to do is applied once more (never a second reboot).
    let mut rebooted = false;
    loop {
        let Some(t) = h.transport.clone() else {
            return;
        };
        let changes = h.changes.host.clone();
        if changes.is_empty() {
            break;
        }
        ctx.ui.host_step(
            &name,
            &format!("configuring routing ({} changes)", changes.len()),
        );
        let script = crate::os::apply_script(h.node.os, &h.desired, &changes);
        ctx.ui.debug(&format!("{name}: running\n{script}"));
        let command = match crate::os::script_command(h.node.os, &h.node.node.user) {
            Ok(c) => c,
            Err(e) => return h.fail(&ctx.ui, format!("{name}: {e}")),
        };
        let reboot_needed;
        match t.exec(&command, Some(script.as_bytes())).await {
            Ok(o) if o.success() => {
                // Windows: the script's last line says whether a reboot is needed for all of
                // it to take effect. rwin reboots only with --allow-reboot.
                let result = o
                    .stdout
                    .lines()
                    .rev()
                    .find_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok());
                reboot_needed = result.is_some_and(|r| r["reboot_needed"] == true);
            }
            Ok(o) => {
                return h.fail(
                    &ctx.ui,
                    format!(
                        "{name}: configuring routing failed (exit {}): {}",
                        o.code,
                        o.stderr.trim()
                    ),
                )
            }
            Err(e) => return h.fail(&ctx.ui, e.to_string()),
        }
        let was_forwarding = h
            .facts
            .as_ref()
            .and_then(|f| f.os.linux())
            .is_some_and(|f| f.forwarding);
        let desired_routes: Vec<RouteRecord> = h
            .desired
            .routes
            .iter()
            .map(|(d, v, _)| RouteRecord { dest: *d, via: *v })
            .collect();
        let windows_made = windows_record(h, &changes);
        let record = ctx.state.update_deferred(|s| {
            let rec = s.host_mut(&name);
            if let Some(made) = &windows_made {
                // Like forwarding on Linux: only what the first run switched on is rwin's
                // doing; a later repair of something an admin had on does not make it so.
                let first = rec.windows.is_none();
                let w = rec.windows.get_or_insert_with(Default::default);
                if first {
                    w.turned_on = made.turned_on.clone();
                }
                for i in &made.nat_interfaces {
                    if !w.nat_interfaces.contains(i) {
                        w.nat_interfaces.push(i.clone());
                    }
                }
                for r in &made.host_routes {
                    if !w.host_routes.contains(r) {
                        w.host_routes.push(*r);
                    }
                }
                if made.gateway.is_some() {
                    w.gateway = made.gateway;
                }
                for c in &changes {
                    if let HostChange::Windows(crate::os::windows::Change::DeletePortMapping {
                        mapping,
                    }) = c
                    {
                        w.port_mappings.retain(|m| m != mapping);
                    }
                }
            }
            for c in &changes {
                match c {
                    // Only the first time: a later repair of forwarding someone switched off does
                    // not make rwin the one who turned it on.
                    HostChange::EnableForwarding
                        if !was_forwarding && rec.sysctl_dropin.is_none() =>
                    {
                        rec.forwarding_enabled_by_rwin = true
                    }
                    HostChange::WriteForwardingDropin { path } => {
                        rec.sysctl_dropin = Some(path.clone())
                    }
                    HostChange::WriteBootRoutes { .. } => {
                        rec.boot_routes_unit = Some(linux::BOOT_UNIT.into())
                    }
                    HostChange::AddOutboundNat { .. } | HostChange::AllowForwarding { .. } => {
                        rec.masquerade = true
                    }
                    _ => {}
                }
            }
            rec.routes = desired_routes.into_iter().collect();
        });
        if let Err(e) = record {
            return h.fail(&ctx.ui, e.to_string());
        }
        h.applied.extend(changes.iter().map(|c| c.to_string()));
        if !reboot_needed {
            break;
        }
        if !h.desired.windows.allow_reboot || rebooted {
            ctx.ui.warn(&format!(
                "{name}: a reboot is needed for every change to take full effect: run with --allow-reboot, or reboot it yourself"
            ));
            break;
        }
        if let Err(e) = super::reboot::run(ctx, h).await {
            return h.fail(&ctx.ui, format!("{name}: rebooting: {e}"));
        }
        rebooted = true;
        h.applied
            .push("~ rebooted (--allow-reboot), facts read again".into());
        super::gather_facts::run(ctx, h).await;
        if !h.ok() {
            return;
        }
        super::diff::run(ctx, h);
    }
    let Some(t) = h.transport.clone() else {
        return;
    };

    // Without the Docker API (Windows over WinRM) the network is in the host script above, and
    // orphans go by the docker CLI.
    let Some(docker) = h.docker.clone() else {
        let orphans = h.changes.remove_orphans.clone();
        if orphans.is_empty() {
            return;
        }
        let script = match crate::docker::cli::remove_script(&orphans) {
            Ok(s) => s,
            Err(e) => return h.fail(&ctx.ui, format!("{name}: {e}")),
        };
        let command = crate::os::windows::script_command();
        match t.exec(&command, Some(script.as_bytes())).await {
            Ok(o) if crate::docker::cli::succeeded(&o.stdout) => {}
            Ok(o) => {
                return h.fail(
                    &ctx.ui,
                    format!(
                        "{name}: removing orphaned containers failed: {}",
                        o.stderr.trim()
                    ),
                )
            }
            Err(e) => return h.fail(&ctx.ui, e.to_string()),
        }
        for orphan in orphans {
            h.applied.push(format!(
                "- container {orphan} (its component is no longer in cluster.yml)"
            ));
        }
        return;
    };
    if let Some(change) = h.changes.network.clone() {
        ctx.ui.host_step(&name, "creating the container network");
        if matches!(change, NetworkChange::Recreate { .. }) {
            // Docker refuses to remove a network with containers: remove rwin's pod containers
            // first; the components phase creates them again on the new network.
            for spec in ctx
                .plan
                .instances_on(&name)
                .filter(|s| s.network == crate::config::NetworkMode::Pod)
            {
                if let Err(e) = ensure::remove(&docker, &spec.name).await {
                    return h.fail(&ctx.ui, format!("{name}: {e}"));
                }
            }
            if let Err(e) = ensure::remove_network(&docker, POD_NETWORK).await {
                return h.fail(&ctx.ui, format!("{name}: {e}. Containers not made by rwin may still use it: `docker network inspect {POD_NETWORK}` on the host shows them"));
            }
        }
        let options: HashMap<String, String> = linux::network_options().into_iter().collect();
        if let Err(e) = ensure::create_network(
            &docker,
            POD_NETWORK,
            "bridge",
            h.node.subnet,
            h.node.gateway,
            options,
            &ctx.plan.cluster_name,
        )
        .await
        {
            return h.fail(&ctx.ui, format!("{name}: {e}"));
        }
        if let Err(e) = ctx
            .state
            .update(|s| s.host_mut(&name).network = Some(POD_NETWORK.into()))
        {
            return h.fail(&ctx.ui, e.to_string());
        }
        h.applied.push(format!(
            "+ container network {POD_NETWORK} ({} gateway {})",
            h.node.subnet, h.node.gateway
        ));
    }

    for orphan in h.changes.remove_orphans.clone() {
        if let Err(e) = ensure::remove(&docker, &orphan).await {
            return h.fail(&ctx.ui, format!("{name}: {e}"));
        }
        h.applied.push(format!(
            "- container {orphan} (its component is no longer in cluster.yml)"
        ));
    }
}

/// What a Windows host's `changes` make that teardown must know about.
fn windows_record(h: &Host, changes: &[HostChange]) -> Option<crate::state::WindowsRecord> {
    use crate::os::windows::{Change, TurnedOn};
    if h.node.os != crate::config::Os::Windows {
        return None;
    }
    let windows: Vec<Change> = changes
        .iter()
        .filter_map(|c| match c {
            HostChange::Windows(w) => Some(w.clone()),
            _ => None,
        })
        .collect();
    let mut rec = crate::state::WindowsRecord {
        turned_on: TurnedOn::from_changes(&windows),
        ..Default::default()
    };
    for c in &windows {
        match c {
            Change::AddNatInterface { interface, .. } => rec.nat_interfaces.push(interface.clone()),
            Change::AddHostRoute { address, .. } => rec.host_routes.push(*address),
            Change::AddGatewayAddress {
                gateway,
                prefix_len,
            } => rec.gateway = ipnet::Ipv4Net::new(*gateway, *prefix_len).ok(),
            _ => {}
        }
    }
    Some(rec)
}
