//! Enable routing: IPv4 forwarding (now and at boot), routes to every other node's subnet,
//! outbound NAT, and the node's container network with its subnet and gateway. One script per
//! host for the host's own configuration, then the Docker API for the network.

use std::collections::HashMap;

use super::{ErrorKind, Host, NetworkChange, RunContext};
use crate::docker::ensure;
use crate::docker::spec::POD_NETWORK;

pub async fn run(ctx: &RunContext, h: &mut Host) {
    let name = h.node.name.clone();
    if let Some(b) = h.changes.blockers.first().cloned() {
        return h.fail(&ctx.ui, ErrorKind::Blocked, format!("{name}: {b}"));
    }
    // One pass: a change that needs a reboot is recorded in `h.reboot_wanted`; the runner's
    // Reboot phase restarts the host (--allow-reboot) and brings it back through here once.
    'apply: {
        let Some(t) = h.transport.clone() else {
            return;
        };
        let changes = h.changes.host.clone();
        if changes.is_empty() {
            break 'apply;
        }
        ctx.ui.host_step(
            &name,
            &format!("configuring routing ({} changes)", changes.len()),
        );
        let os = h.node.host_os;
        let script = os.apply_script(&h.desired, &changes);
        ctx.ui.debug(&format!("{name}: running\n{script}"));
        let command = os.script_command(&h.node.node.user);
        let reboot_needed;
        match t.exec(&command, Some(script.as_bytes())).await {
            // rwin reboots only with --allow-reboot.
            Ok(o) if o.success() => reboot_needed = os.reboot_needed_after(&o.stdout),
            Ok(o) => {
                return h.fail(
                    &ctx.ui,
                    ErrorKind::Apply,
                    format!(
                        "{name}: configuring routing failed (exit {}): {}",
                        o.code,
                        o.stderr.trim()
                    ),
                )
            }
            Err(e) => return h.fail(&ctx.ui, ErrorKind::Apply, e.to_string()),
        }
        let before = h.facts.as_ref().map(|f| &f.os);
        let record = super::record(
            ctx,
            h,
            super::Made::Routing {
                before,
                changes: &changes,
            },
        );
        if let Err(e) = record {
            return h.fail(&ctx.ui, ErrorKind::State, e.to_string());
        }
        h.applied.extend(changes.iter().map(|c| c.to_string()));
        if reboot_needed {
            if h.desired.allow_reboot && !h.rebooted {
                h.reboot_wanted = true;
            } else {
                ctx.ui.warn(&format!(
                    "{name}: a reboot is needed for every change to take full effect: run with --allow-reboot, or reboot it yourself"
                ));
            }
        }
    }
    let Some(t) = h.transport.clone() else {
        return;
    };

    // With the CLI engine (Windows over WinRM) the network is in the host script above, and
    // orphans go by the docker CLI.
    let docker = match h.engine.clone() {
        Some(crate::docker::Engine::Api(docker)) => docker,
        None => return,
        Some(crate::docker::Engine::Cli { command, .. }) => {
            let orphans = h.changes.remove_orphans.clone();
            if orphans.is_empty() {
                return;
            }
            let script = match crate::docker::cli::remove_script(&orphans) {
                Ok(s) => s,
                Err(e) => return h.fail(&ctx.ui, ErrorKind::Engine, format!("{name}: {e}")),
            };
            match t.exec(&command, Some(script.as_bytes())).await {
                Ok(o) if crate::docker::cli::succeeded(&o.stdout) => {}
                Ok(o) => {
                    return h.fail(
                        &ctx.ui,
                        ErrorKind::Engine,
                        format!(
                            "{name}: removing orphaned containers failed: {}",
                            o.stderr.trim()
                        ),
                    )
                }
                Err(e) => return h.fail(&ctx.ui, ErrorKind::Engine, e.to_string()),
            }
            for orphan in orphans {
                h.applied.push(format!(
                    "- container {orphan} (its component is no longer in cluster.yml)"
                ));
            }
            return;
        }
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
                    return h.fail(&ctx.ui, ErrorKind::Engine, format!("{name}: {e}"));
                }
            }
            if let Err(e) = ensure::remove_network(&docker, POD_NETWORK).await {
                return h.fail(&ctx.ui, ErrorKind::Engine, format!("{name}: {e}. Containers not made by rwin may still use it: `docker network inspect {POD_NETWORK}` on the host shows them"));
            }
        }
        let options: HashMap<String, String> =
            h.node.host_os.network_options().into_iter().collect();
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
            return h.fail(&ctx.ui, ErrorKind::Engine, format!("{name}: {e}"));
        }
        if let Err(e) = super::record(ctx, h, super::Made::Network(POD_NETWORK)) {
            return h.fail(&ctx.ui, ErrorKind::State, e.to_string());
        }
        h.applied.push(format!(
            "+ container network {POD_NETWORK} ({} gateway {})",
            h.node.subnet, h.node.gateway
        ));
    }

    for orphan in h.changes.remove_orphans.clone() {
        if let Err(e) = ensure::remove(&docker, &orphan).await {
            return h.fail(&ctx.ui, ErrorKind::Engine, format!("{name}: {e}"));
        }
        h.applied.push(format!(
            "- container {orphan} (its component is no longer in cluster.yml)"
        ));
    }
}
