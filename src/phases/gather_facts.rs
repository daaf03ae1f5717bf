//! Gather facts: one script for the host's own configuration, and the Docker API for the
//! container network and rwin's containers. Read-only.

use std::collections::BTreeMap;

use super::{Host, HostFacts, RunContext};
use crate::docker::ensure;
use crate::docker::spec::POD_NETWORK;
use crate::os::linux;

pub async fn run(ctx: &RunContext, h: &mut Host) {
    let name = h.node.name.clone();
    ctx.ui.host_step(&name, "reading host facts");
    let (Some(t), Some(docker)) = (h.transport.clone(), h.docker.clone()) else { return };
    let command = match crate::os::script_command(h.node.os, &h.node.node.user) {
        Ok(c) => c,
        Err(e) => return h.fail(&ctx.ui, format!("{name}: {e}")),
    };
    let script = linux::facts_script(&h.desired);
    let socket = h.node.node.docker_socket.clone();
    let (out, version) = tokio::join!(t.exec(&command, Some(script.as_bytes())), docker.version());
    let out = match out {
        Ok(o) if o.success() => o,
        Ok(o) => return h.fail(&ctx.ui, format!("{name}: reading facts failed (exit {}): {}", o.code, o.stderr.trim())),
        Err(e) => return h.fail(&ctx.ui, e.to_string()),
    };
    let version = match version {
        Ok(v) => v.version.unwrap_or_default(),
        Err(e) => {
            return h.fail(
                &ctx.ui,
                format!("{name}: Docker is not reachable at {socket}: {}. Is dockerd running there, and may user {} open the socket (docker group)? Is AllowStreamLocalForwarding on in sshd_config?", crate::docker::describe(&e), h.node.node.user),
            )
        }
    };
    let network = match ensure::inspect_network(&docker, POD_NETWORK).await {
        Ok(n) => n,
        Err(e) => return h.fail(&ctx.ui, format!("{name}: inspecting network {POD_NETWORK}: {e}")),
    };
    let mut containers = BTreeMap::new();
    for spec in ctx.plan.instances_on(&name) {
        match ensure::inspect(&docker, &spec.name).await {
            Ok(e) => {
                containers.insert(spec.component.clone(), e);
            }
            Err(e) => return h.fail(&ctx.ui, format!("{name}: inspecting {}: {e}", spec.name)),
        }
    }
    let orphans = match ensure::list_cluster_containers(&docker, &ctx.plan.cluster_name).await {
        Ok(list) => list.into_iter().filter(|(_, comp)| !containers.contains_key(comp)).map(|(n, _)| n).collect(),
        Err(e) => return h.fail(&ctx.ui, format!("{name}: listing containers: {e}")),
    };
    h.facts = Some(HostFacts { linux: linux::parse_facts(&out.stdout), docker_version: version, network, containers, orphans });
}
