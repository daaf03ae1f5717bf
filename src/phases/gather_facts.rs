//! Gather facts: one script for the host's own configuration, and the container engine for
//! rwin's containers — the Docker API where the transport has streams, the docker CLI in a
//! second script over WinRM. Read-only.

use std::collections::BTreeMap;

use bollard::Docker;

use super::{Host, HostFacts, RunContext};
use crate::docker::cli;
use crate::docker::ensure::{self, Existing, NetworkFacts};
use crate::docker::spec::POD_NETWORK;
use crate::os;
use crate::transport::Transport;

/// Between the two answers of the engine script.
const SEPARATOR: &str = "--- rwin: containers ---";

struct EngineFacts {
    version: String,
    network: Option<NetworkFacts>,
    containers: BTreeMap<String, Option<Existing>>,
    orphans: Vec<String>,
}

pub async fn run(ctx: &RunContext, h: &mut Host) {
    let name = h.node.name.clone();
    ctx.ui.host_step(&name, "reading host facts");
    let Some(t) = h.transport.clone() else {
        return;
    };
    let os = h.node.os;
    let command = match os::script_command(os, &h.node.node.user) {
        Ok(c) => c,
        Err(e) => return h.fail(&ctx.ui, format!("{name}: {e}")),
    };
    let script = os::facts_script(os, &h.desired);
    // The host script and the engine's answers are independent: run them side by side, each
    // on its own channel of the one connection.
    let no_engine = ctx.config.network.container_engine == crate::config::ContainerEngine::None;
    let engine = async {
        match &h.docker {
            _ if no_engine => Ok(EngineFacts {
                version: String::new(),
                network: None,
                containers: BTreeMap::new(),
                orphans: Vec::new(),
            }),
            Some(docker) => engine_facts_api(ctx, h, docker).await,
            None => engine_facts_cli(ctx, h, t.as_ref(), &command).await,
        }
    };
    let host_script = async {
        let out = t.exec(&command, Some(script.as_bytes())).await;
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        (out, at.map(|d| d.as_secs_f64()).unwrap_or(0.0))
    };
    let ((out, received_at), engine) = tokio::join!(host_script, engine);
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
    let facts = match os::parse_facts(os, &out.stdout) {
        Ok(f) => f,
        Err(e) => return h.fail(&ctx.ui, format!("{name}: reading facts: {e}")),
    };
    let engine = match engine {
        Ok(f) => f,
        Err(e) => return h.fail(&ctx.ui, e),
    };
    h.facts = Some(HostFacts {
        os: facts,
        docker_version: engine.version,
        network: engine.network,
        containers: engine.containers,
        orphans: engine.orphans,
        received_at,
    });
}

/// The container engine through the Docker API.
async fn engine_facts_api(
    ctx: &RunContext,
    h: &Host,
    docker: &Docker,
) -> Result<EngineFacts, String> {
    let name = &h.node.name;
    let node = &h.node.node;
    let socket = match h.node.os {
        crate::config::Os::Linux => node.docker_socket.clone(),
        crate::config::Os::Windows => format!("`{}`", crate::docker::DIAL_STDIO),
    };
    let specs: Vec<_> = ctx.plan.instances_on(name).collect();
    let version = docker.version().await.map_err(|e| {
        let text = e.to_string();
        let user = &node.user;
        if text.contains("ConnectFailed") {
            format!("{name}: Docker is not running: nothing listens on {socket}. Start dockerd on the host (systemctl start docker), or fix docker_socket")
        } else if text.contains("rohibited") {
            format!("{name}: sshd refused to forward to {socket}: allow it with AllowStreamLocalForwarding yes in sshd_config, and let user {user} open the socket (docker group)")
        } else {
            format!("{name}: Docker at {socket} did not answer: {}", crate::docker::describe(&e))
        }
    })?;
    let inspects =
        futures_util::future::join_all(specs.iter().map(|s| ensure::inspect(docker, &s.name)));
    // On Windows the container network belongs to the host script (HNS options, the gateway
    // on the host adapter), so only Linux reads it here.
    let network = async {
        match h.node.os {
            crate::config::Os::Linux => ensure::inspect_network(docker, POD_NETWORK).await,
            crate::config::Os::Windows => Ok(None),
        }
    };
    let (network, inspected, listed) = tokio::join!(
        network,
        inspects,
        ensure::list_cluster_containers(docker, &ctx.plan.cluster_name)
    );
    let network = network.map_err(|e| format!("{name}: inspecting network {POD_NETWORK}: {e}"))?;
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
    Ok(EngineFacts {
        version: version.version.unwrap_or_default(),
        network,
        containers,
        orphans,
    })
}

/// The container engine through the docker CLI on the host, in one script.
async fn engine_facts_cli(
    ctx: &RunContext,
    h: &Host,
    t: &dyn Transport,
    command: &str,
) -> Result<EngineFacts, String> {
    let name = &h.node.name;
    let script = format!(
        "{}Write-Output '{SEPARATOR}'\n{}",
        cli::version_script(),
        cli::inspect_script(&ctx.plan.cluster_name).map_err(|e| format!("{name}: {e}"))?
    );
    let out = t
        .exec(command, Some(script.as_bytes()))
        .await
        .map_err(|e| e.to_string())?;
    if !out.success() {
        return Err(format!(
            "{name}: listing containers failed (exit {}): {}",
            out.code,
            out.stderr.trim()
        ));
    }
    let (version, inspected) = out.stdout.split_once(SEPARATOR).unwrap_or(("", ""));
    let version = cli::parse_version(version).map_err(|e| format!("{name}: {e}"))?;
    let mut found = cli::parse_inspect(inspected).map_err(|e| format!("{name}: {e}"))?;
    let mut containers = BTreeMap::new();
    for spec in ctx.plan.instances_on(name) {
        containers.insert(spec.component.clone(), found.remove(&spec.component));
    }
    let orphans = found
        .into_keys()
        .map(|component| format!("rwin-{component}"))
        .collect();
    Ok(EngineFacts {
        version,
        network: None,
        containers,
        orphans,
    })
}
