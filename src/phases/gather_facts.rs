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
    let (Some(t), Some(docker)) = (h.transport.clone(), h.docker.clone()) else {
        return;
    };
    let command = match crate::os::script_command(h.node.os, &h.node.node.user) {
        Ok(c) => c,
        Err(e) => return h.fail(&ctx.ui, format!("{name}: {e}")),
    };
    let script = linux::facts_script(&h.desired);
    let socket = h.node.node.docker_socket.clone();
    let specs: Vec<_> = ctx.plan.instances_on(&name).collect();
    // The host script and the Docker API calls are independent: run them side by side, each
    // API call on its own channel of the one connection.
    let docker_facts = async {
        let version = docker.version().await.map_err(|e| {
            let text = e.to_string();
            let user = &h.node.node.user;
            if text.contains("ConnectFailed") {
                format!("{name}: Docker is not running: nothing listens on {socket}. Start dockerd on the host (systemctl start docker), or fix docker_socket")
            } else if text.contains("rohibited") {
                format!("{name}: sshd refused to forward to {socket}: allow it with AllowStreamLocalForwarding yes in sshd_config, and let user {user} open the socket (docker group)")
            } else {
                format!("{name}: Docker at {socket} did not answer: {}", crate::docker::describe(&e))
            }
        })?;
        let inspects =
            futures_util::future::join_all(specs.iter().map(|s| ensure::inspect(&docker, &s.name)));
        let (network, inspected, listed) = tokio::join!(
            ensure::inspect_network(&docker, POD_NETWORK),
            inspects,
            ensure::list_cluster_containers(&docker, &ctx.plan.cluster_name)
        );
        let network =
            network.map_err(|e| format!("{name}: inspecting network {POD_NETWORK}: {e}"))?;
        let mut containers = BTreeMap::new();
        for (spec, r) in specs.iter().zip(inspected) {
            containers.insert(
                spec.component.clone(),
                r.map_err(|e| format!("{name}: inspecting {}: {e}", spec.name))?,
            );
        }
        let orphans = listed
            .map_err(|e| format!("{name}: listing containers: {e}"))?
            .into_iter()
            .filter(|(_, comp)| !containers.contains_key(comp))
            .map(|(n, _)| n)
            .collect();
        Ok::<_, String>((
            version.version.unwrap_or_default(),
            network,
            containers,
            orphans,
        ))
    };
    let host_script = async {
        let out = t.exec(&command, Some(script.as_bytes())).await;
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        (out, at.map(|d| d.as_secs_f64()).unwrap_or(0.0))
    };
    let ((out, received_at), docker_facts) = tokio::join!(host_script, docker_facts);
    let out = match out {
        Ok(o) if o.success() => o,
        Ok(o) => {
            return h.fail(
                &ctx.ui,
                format!(
                    "{name}: reading facts failed (exit {}): {}",
                    o.code,
                    o.stderr.trim()
                ),
            )
        }
        Err(e) => return h.fail(&ctx.ui, e.to_string()),
    };
    let (version, network, containers, orphans) = match docker_facts {
        Ok(f) => f,
        Err(e) => return h.fail(&ctx.ui, e),
    };
    h.facts = Some(HostFacts {
        linux: linux::parse_facts(&out.stdout),
        docker_version: version,
        network,
        containers,
        orphans,
        received_at,
    });
}
