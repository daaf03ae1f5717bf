//! Teardown: remove everything rwin made on a host — its containers (found by the cluster
//! label, not by name), the container network, routes, NAT and firewall rules, boot unit, the
//! forwarding drop-in and rwin's directories — and switch forwarding back off only if rwin
//! switched it on. What could not be removed is named, never silently left (rke#319).

use super::{ErrorKind, Host, RunContext};
use crate::docker::ensure;
use crate::docker::spec::POD_NETWORK;
use crate::state::HostRecord;

pub async fn run(ctx: &RunContext, h: &mut Host, record: &HostRecord) {
    let name = h.node.name.clone();
    let os = h.node.host_os;
    let Some(t) = h.transport.clone() else {
        return;
    };
    // Through the Docker API where the OS leaves the containers to the engine (Linux); the
    // Windows script removes them itself, with the docker CLI.
    if os.engine_removes_containers() {
        if let Some(docker) = h.docker_api().cloned() {
            remove_containers(ctx, h, &docker).await;
            if !h.ok() {
                return;
            }
        }
    }
    ctx.ui.host_step(&name, os.teardown_step());
    let facts = h.facts.as_ref().map(|f| &f.os);
    let script = os.teardown_script(&h.desired, facts, record);
    ctx.ui.debug(&format!("{name}: running\n{script}"));
    let command = os.script_command(&h.node.node.user);
    let out = match t.exec(&command, Some(script.as_bytes())).await {
        Ok(o) => o,
        Err(e) => return h.fail(&ctx.ui, ErrorKind::Teardown, e.to_string()),
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
    if !out
        .stdout
        .lines()
        .any(|l| l.trim() == crate::os::TEARDOWN_DONE)
    {
        let why = out.stderr.trim();
        return h.fail(
            &ctx.ui,
            ErrorKind::Teardown,
            format!(
                "{name}: the teardown script stopped before its end (exit {}){}; what it removed is listed above; run remove-host again",
                out.code,
                if why.is_empty() { String::new() } else { format!(": {}", crate::ui::one_line(why)) }
            ),
        );
    }
    if !left.is_empty() {
        h.fail(
            &ctx.ui,
            ErrorKind::Teardown,
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
        Err(e) => {
            return h.fail(
                &ctx.ui,
                ErrorKind::Teardown,
                format!("{name}: listing containers: {e}"),
            )
        }
    };
    for (container, _) in containers {
        if let Err(e) = ensure::remove(docker, &container).await {
            return h.fail(&ctx.ui, ErrorKind::Teardown, format!("{name}: {e}"));
        }
        h.applied.push(format!("- container {container}"));
    }
    if h.facts.as_ref().is_some_and(|f| f.network.is_some()) {
        if let Err(e) = ensure::remove_network(docker, POD_NETWORK).await {
            return h.fail(&ctx.ui, ErrorKind::Teardown, format!("{name}: {e}"));
        }
        h.applied.push(format!("- container network {POD_NETWORK}"));
    }
}
