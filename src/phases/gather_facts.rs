//! Gather facts: one script for the host's own configuration, and the container engine for
//! rwin's containers — the Docker API where the transport has streams, the docker CLI in a
//! second script over WinRM. Read-only.

use std::collections::BTreeMap;

use bollard::Docker;

use super::{ErrorKind, Host, HostFacts, RunContext};
use crate::docker::cli;
use crate::docker::ensure::{self, Existing, NetworkFacts};
use crate::docker::spec::POD_NETWORK;
use crate::docker::Engine;
use crate::transport::Transport;

/// Between the two answers of the engine script.
const SEPARATOR: &str = "--- rwin: containers ---";
/// Between the containers and the images the host has.
const IMAGES_SEPARATOR: &str = "--- rwin: images ---";
/// Between the containers and the services script's answer.
const SERVICES_SEPARATOR: &str = "--- rwin: services ---";

struct EngineFacts {
    /// Over WinRM: the services script's answer, read in the same command.
    services_out: String,
    version: String,
    network: Option<NetworkFacts>,
    containers: BTreeMap<String, Option<Existing>>,
    orphans: Vec<String>,
    images: Option<std::collections::BTreeSet<String>>,
}

pub async fn run(ctx: &RunContext, h: &mut Host) {
    let name = h.node.name.clone();
    ctx.ui.host_step(&name, "reading host facts");
    let Some(t) = h.transport.clone() else {
        return;
    };
    let os = h.node.host_os;
    let command = os.script_command(&h.node.node.user);
    let script = os.facts_script(&h.desired);
    // Service components: one script for all of them (over the CLI engine it rides along with
    // the engine script above, so it costs no round trip of its own).
    let service_specs = ctx.plan.services_on(&name);
    let services_of_os = match (service_specs.is_empty(), os.services()) {
        (true, _) => None,
        (false, Some(s)) => Some(s),
        (false, None) => {
            return h.fail(
                &ctx.ui,
                ErrorKind::Facts,
                format!(
                "{name}: service components need a node whose OS runs them, and {} nodes do not",
                os.os()
            ),
            )
        }
    };
    // The host script and the engine's answers are independent: run them side by side, each
    // on its own channel of the one connection.
    let engine = async {
        match &h.engine {
            None => Ok(EngineFacts {
                services_out: String::new(),
                version: String::new(),
                network: None,
                containers: BTreeMap::new(),
                orphans: Vec::new(),
                images: None,
            }),
            Some(Engine::Api(docker)) => engine_facts_api(ctx, h, docker).await,
            Some(Engine::Cli { command, .. }) => {
                engine_facts_cli(ctx, h, t.as_ref(), command).await
            }
        }
    };
    let host_script = async {
        let out = t.exec(&command, Some(script.as_bytes())).await;
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        (out, at.map(|d| d.as_secs_f64()).unwrap_or(0.0))
    };
    let services = async {
        // Over the CLI engine the services script rides along with the engine's script.
        let Some(services) = services_of_os.filter(|_| h.docker_api().is_some()) else {
            return Ok(String::new());
        };
        let script = services.facts_script(&service_specs);
        t.exec(&command, Some(script.as_bytes()))
            .await
            .map(|o| o.stdout)
            .map_err(|e| e.to_string())
    };
    let ((out, received_at), engine, services_out) = tokio::join!(host_script, engine, services);
    let out = match out {
        Ok(o) if o.success() => o,
        Ok(o) => {
            return h.fail(
                &ctx.ui,
                ErrorKind::Facts,
                format!(
                    "{name}: reading facts failed (exit {}): {}",
                    o.code,
                    o.stderr.trim()
                ),
            )
        }
        Err(e) => return h.fail(&ctx.ui, ErrorKind::Facts, e.to_string()),
    };
    let facts = match os.parse_facts(&out.stdout) {
        Ok(f) => f,
        Err(e) => {
            return h.fail(
                &ctx.ui,
                ErrorKind::Facts,
                format!("{name}: reading facts: {e}"),
            )
        }
    };
    let engine = match engine {
        Ok(f) => f,
        Err(e) => return h.fail(&ctx.ui, ErrorKind::Engine, e),
    };
    let services_out = match services_out {
        Ok(o) if h.docker_api().is_some() => o,
        Ok(_) => engine.services_out.clone(),
        Err(e) => {
            return h.fail(
                &ctx.ui,
                ErrorKind::Facts,
                format!("{name}: reading services: {e}"),
            )
        }
    };
    let parsed = match services_of_os {
        Some(s) => s.parse_facts(&service_specs, &services_out),
        None => Ok(BTreeMap::new()),
    };
    let services = match parsed {
        Ok(s) => s,
        Err(e) => {
            return h.fail(
                &ctx.ui,
                ErrorKind::Facts,
                format!("{name}: reading services: {e}"),
            )
        }
    };
    h.facts = Some(HostFacts {
        os: facts,
        docker_version: engine.version,
        network: engine.network,
        containers: engine.containers,
        services,
        orphans: engine.orphans,
        images: engine.images,
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
    let socket = h.node.host_os.docker_endpoint_text(&node.docker_socket);
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
    // Where the host script makes the container network (Windows: HNS options, the gateway
    // on the host adapter), the engine's view of it is not read here.
    let network = async {
        if h.node.host_os.engine_makes_network(&h.desired) {
            ensure::inspect_network(docker, POD_NETWORK).await
        } else {
            Ok(None)
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
        services_out: String::new(),
        version: version.version.unwrap_or_default(),
        network,
        containers,
        orphans,
        images: None,
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
    let service_specs = ctx.plan.services_on(name);
    let services_script = match h.node.host_os.services() {
        Some(s) if !service_specs.is_empty() => s.facts_script(&service_specs),
        _ => String::new(),
    };
    // The images the host has, for the containers to be made here: a pull is a command of its
    // own, sent only for an image the host lacks.
    let images_script = if ctx.plan.instances_on(name).next().is_some() {
        cli::images_script()
    } else {
        String::new()
    };
    let script = format!(
        "{}Write-Output '{SEPARATOR}'\n{}Write-Output '{IMAGES_SEPARATOR}'\n{}Write-Output '{SERVICES_SEPARATOR}'\n{}",
        cli::version_script(),
        cli::inspect_script(&ctx.plan.cluster_name).map_err(|e| format!("{name}: {e}"))?,
        images_script,
        services_script
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
    let (engine_out, services_out) = out
        .stdout
        .split_once(SERVICES_SEPARATOR)
        .unwrap_or((out.stdout.as_str(), ""));
    let (engine_out, images_out) = engine_out
        .split_once(IMAGES_SEPARATOR)
        .unwrap_or((engine_out, ""));
    let (version, inspected) = engine_out.split_once(SEPARATOR).unwrap_or(("", ""));
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
        services_out: services_out.to_string(),
        version,
        network: None,
        containers,
        orphans,
        images: Some(cli::parse_images(images_out)),
    })
}
