//! Teardown: remove everything rwin made on a host — its containers (found by the cluster
//! label, not by name), the container network, routes, NAT and firewall rules, boot unit, the
//! forwarding drop-in and rwin's directories — and switch forwarding back off only if rwin
//! switched it on. What could not be removed is named, never silently left (rke#319).

use super::{Host, RunContext};
use crate::docker::ensure;
use crate::docker::spec::POD_NETWORK;
use crate::os::linux::{self, Teardown};
use crate::state::HostRecord;

pub async fn run(ctx: &RunContext, h: &mut Host, record: &HostRecord) {
    if h.node.os == crate::config::Os::Windows {
        return run_windows(ctx, h, record).await;
    }
    let name = h.node.name.clone();
    let Some(t) = h.transport.clone() else {
        return;
    };
    if let Some(docker) = h.docker.clone() {
        remove_containers(ctx, h, &docker).await;
        if !h.ok() {
            return;
        }
    }
    let teardown = Teardown {
        cluster: ctx.plan.cluster_name.clone(),
        subnet: Some(h.node.subnet).filter(|s| s.prefix_len() < 32),
        cluster_cidr: ctx.config.network.cluster_cidr,
        restore_forwarding_off: record.forwarding_enabled_by_rwin,
        plain_bridge: h.desired.plain_bridge,
        routes: h
            .facts
            .as_ref()
            .and_then(|f| f.os.linux())
            .map(|f| Teardown::routes_from(f, ctx.config.network.cluster_cidr))
            // Facts unread (--force on a host that did not answer fully): what rwin recorded.
            .unwrap_or_else(|| record.routes.iter().map(|r| (r.dest, r.via)).collect()),
    };
    ctx.ui.host_step(&name, "removing routes, rules and files");
    let command = match crate::os::script_command(h.node.os, &h.node.node.user) {
        Ok(c) => c,
        Err(e) => return h.fail(&ctx.ui, format!("{name}: {e}")),
    };
    let out = match t
        .exec(&command, Some(linux::teardown_script(&teardown).as_bytes()))
        .await
    {
        Ok(o) => o,
        Err(e) => return h.fail(&ctx.ui, e.to_string()),
    };
    report(ctx, h, &out);
}

/// A Windows host: one script removes the containers, the network, routes, addresses, the
/// firewall rule and NAT, then puts back what rwin turned on in the router.
async fn run_windows(ctx: &RunContext, h: &mut Host, record: &HostRecord) {
    use crate::os::windows;
    let name = h.node.name.clone();
    let Some(t) = h.transport.clone() else {
        return;
    };
    let made = record.windows.clone().unwrap_or_default();
    let teardown = windows::Teardown {
        cluster: ctx.plan.cluster_name.clone(),
        gateway: made.gateway,
        routes: record.routes.iter().map(|r| (r.dest, r.via)).collect(),
        host_routes: made.host_routes,
        nat_interfaces: made.nat_interfaces,
        port_mappings: made.port_mappings,
        turned_on: made.turned_on,
        services: made.services,
    };
    ctx.ui.host_step(
        &name,
        "removing rwin's services, containers, network, routes, firewall rule and NAT",
    );
    let script = windows::teardown_script(&teardown);
    ctx.ui.debug(&format!("{name}: running\n{script}"));
    let out = match t
        .exec(&windows::script_command(), Some(script.as_bytes()))
        .await
    {
        Ok(o) => o,
        Err(e) => return h.fail(&ctx.ui, e.to_string()),
    };
    report(ctx, h, &out);
}

/// Read a teardown script's `removed=` / `left=` / `reboot=` lines into the host's result.
fn report(ctx: &RunContext, h: &mut Host, out: &crate::transport::ExecOutput) {
    let name = h.node.name.clone();
    let mut left = Vec::new();
    for line in out.stdout.lines() {
        if let Some(why) = line.strip_prefix("reboot=") {
            ctx.ui.warn(&format!("{name}: {why}"));
        }
    }
    for line in out.stdout.lines() {
        if let Some(what) = line.strip_prefix("removed=") {
            h.applied.push(format!("- {what}"));
        } else if let Some(what) = line.strip_prefix("left=") {
            left.push(what.to_string());
        }
    }
    if !left.is_empty() {
        h.fail(
            &ctx.ui,
            format!(
                "{name}: could not remove {}: {}",
                left.join(", "),
                out.stderr.trim()
            ),
        );
    }
}

/// The containers labelled for the cluster and the container network, through the Docker API.
async fn remove_containers(ctx: &RunContext, h: &mut Host, docker: &bollard::Docker) {
    let name = h.node.name.clone();
    ctx.ui
        .host_step(&name, "removing rwin's containers and network");
    let containers = match ensure::list_cluster_containers(docker, &ctx.plan.cluster_name).await {
        Ok(c) => c,
        Err(e) => return h.fail(&ctx.ui, format!("{name}: listing containers: {e}")),
    };
    for (container, _) in containers {
        if let Err(e) = ensure::remove(docker, &container).await {
            return h.fail(&ctx.ui, format!("{name}: {e}"));
        }
        h.applied.push(format!("- container {container}"));
    }
    if h.facts.as_ref().is_some_and(|f| f.network.is_some()) {
        if let Err(e) = ensure::remove_network(docker, POD_NETWORK).await {
            return h.fail(&ctx.ui, format!("{name}: {e}"));
        }
        h.applied.push(format!("- container network {POD_NETWORK}"));
    }
}
