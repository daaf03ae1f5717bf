//! Deploy components in dependency order. A component starts on a node only after every
//! component it names in `after` is healthy on all of that component's nodes; the nodes of one
//! component go in parallel unless it says `serial: true`. A failure skips only what depends on it.

use std::collections::HashMap;

use futures_util::StreamExt;

use super::{ErrorKind, Host, RunContext};
use crate::config::NetworkMode;
use crate::docker::cli;
use crate::docker::ensure::{self, ContainerChange};
use crate::docker::health::wait_healthy;
use crate::docker::spec::{ContainerSpec, POD_NETWORK};
use crate::outcome::Outcome;

pub use super::outcome::ComponentResult;

pub async fn run(ctx: &RunContext, hosts: &mut [Host]) {
    let mut healthy: HashMap<String, bool> = HashMap::new();
    for comp in &ctx.plan.components {
        let blocked: Vec<&String> = comp
            .after
            .iter()
            .filter(|a| !healthy.get(*a).copied().unwrap_or(false))
            .collect();
        let mut results: Vec<(String, ComponentResult)> = Vec::new();
        if let Some(dep) = blocked.first() {
            let nodes = comp.instances.iter().map(|i| &i.node);
            for node in nodes.chain(comp.services.iter().map(|s| &s.node)) {
                results.push((
                    node.clone(),
                    ComponentResult {
                        component: comp.name.clone(),
                        outcome: Outcome::Skipped,
                        detail: Some(format!(
                            "waits for {dep}, which is not healthy on all its nodes"
                        )),
                        ok: false,
                    },
                ));
            }
        } else {
            let concurrency = if comp.serial {
                1
            } else {
                ctx.settings.concurrency
            };
            let hosts_ref: &[Host] = hosts;
            results = futures_util::stream::iter(comp.instances.iter())
                .map(|inst| async move {
                    let host = hosts_ref.iter().find(|h| h.node.name == inst.node);
                    let r = match host {
                        Some(h) if h.ok() => {
                            deploy_one(
                                ctx,
                                h,
                                h.spec(&inst.spec),
                                comp.health.as_ref(),
                                change_for(h, &comp.name),
                            )
                            .await
                        }
                        other => ComponentResult::skipped(&comp.name, other),
                    };
                    (inst.node.clone(), r)
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            // A service component has services instead of container instances.
            results.extend(super::deploy_services::run(ctx, hosts_ref, comp, concurrency).await);
        }
        healthy.insert(comp.name.clone(), results.iter().all(|(_, r)| r.ok));
        for (node, r) in results {
            if let Some(h) = hosts.iter_mut().find(|h| h.node.name == node) {
                if r.outcome == Outcome::Failed {
                    let msg = format!(
                        "{node}: component {}: {}",
                        r.component,
                        r.detail.clone().unwrap_or_default()
                    );
                    h.fail(&ctx.ui, ErrorKind::Component, msg);
                }
                if r.outcome.changed() {
                    h.applied
                        .push(format!("{} component {}", r.outcome, r.component));
                }
                h.components.push(r);
            }
        }
    }
}

fn change_for(h: &Host, component: &str) -> ContainerChange {
    h.changes
        .containers
        .iter()
        .find(|(c, _)| c == component)
        .map(|(_, c)| c.clone())
        .unwrap_or(ContainerChange::Create)
}

/// The container, then (Windows) the RRAS NAT port mappings to its address.
async fn deploy_one(
    ctx: &RunContext,
    h: &Host,
    spec: &ContainerSpec,
    health: Option<&crate::config::Health>,
    change: ContainerChange,
) -> ComponentResult {
    let mapping = h
        .changes
        .port_mappings
        .iter()
        .find(|c| c.component == spec.component);
    // With the CLI engine the mapping rides in the container's own script: no extra round trip.
    let by_script = h.engine.as_ref().is_some_and(crate::docker::Engine::is_cli);
    let folded = mapping.filter(|_| by_script && change != ContainerChange::Unchanged);
    let (mut r, mapped_ip) = deploy_container(ctx, h, spec, health, change, folded).await;
    if !r.ok {
        return r;
    }
    let Some(c) = mapping else {
        return r;
    };
    let mapped = match (folded, mapped_ip) {
        (Some(_), Some(ip)) => record_mappings(ctx, h, c, ip),
        (Some(_), None) => Err("the script did not report the container's address".into()),
        (None, _) => map_ports(ctx, h, c).await,
    };
    match mapped {
        Ok(ip) => {
            let ports: Vec<String> = c
                .ports
                .iter()
                .map(|p| format!("{}/{}", p.host_port, p.proto))
                .collect();
            r.detail = Some(format!("published {} to {ip}", ports.join(", ")));
            if r.outcome == Outcome::Unchanged {
                r.outcome = Outcome::PortsMapped;
            }
        }
        Err(e) => {
            r.ok = false;
            r.outcome = Outcome::Failed;
            r.detail = Some(format!("publishing its ports: {e}"));
        }
    }
    r
}

/// Run the mapping script of `c` (both transports: it is PowerShell either way) and record
/// the mappings it made.
async fn map_ports(
    ctx: &RunContext,
    h: &Host,
    c: &crate::os::PortMappingChange,
) -> Result<std::net::Ipv4Addr, String> {
    let name = h.name();
    let t = h.transport.as_ref().ok_or("not connected")?;
    ctx.ui
        .host_step(name, &format!("mapping the ports of {}", c.container));
    let os = h.node.host_os;
    let script = os.publish_script(c);
    ctx.ui.debug(&format!("{name}: running\n{script}"));
    let command = os.script_command(&h.node.node.user);
    let out = t
        .exec(&command, Some(script.as_bytes()))
        .await
        .map_err(|e| e.to_string())?;
    let ip = os.published_address(&out.stdout).ok_or_else(|| {
        let why = out.stderr.trim();
        if why.is_empty() {
            format!("the script stopped (exit {}) without saying why", out.code)
        } else {
            why.to_string()
        }
    })?;
    record_mappings(ctx, h, c, ip)
}

/// Record in the state file the mappings made for `c` to `ip`.
fn record_mappings(
    ctx: &RunContext,
    h: &Host,
    c: &crate::os::PortMappingChange,
    ip: std::net::Ipv4Addr,
) -> Result<std::net::Ipv4Addr, String> {
    super::record(ctx, h, super::Made::Published(c, ip)).map_err(|e| e.to_string())?;
    Ok(ip)
}

async fn deploy_container(
    ctx: &RunContext,
    h: &Host,
    spec: &ContainerSpec,
    health: Option<&crate::config::Health>,
    change: ContainerChange,
    mapping: Option<&crate::os::PortMappingChange>,
) -> (ComponentResult, Option<std::net::Ipv4Addr>) {
    let name = h.name();
    let fail = |detail: String| ComponentResult {
        component: spec.component.clone(),
        outcome: Outcome::Failed,
        detail: Some(detail),
        ok: false,
    };
    let verb = outcome_of(&change);
    if change != ContainerChange::Unchanged {
        ctx.ui
            .host_step(name, &format!("{} {}", verb.verb(), spec.name));
    }
    let Some(t) = h.transport.as_ref() else {
        return (fail("not connected".into()), None);
    };
    let Some(docker) = h.docker_api() else {
        return match deploy_by_script(ctx, h, t.as_ref(), spec, health, &change, mapping).await {
            Ok(ip) => (
                ComponentResult {
                    component: spec.component.clone(),
                    outcome: verb,
                    detail: None,
                    ok: true,
                },
                ip,
            ),
            Err(e) => (fail(e), None),
        };
    };
    (
        deploy_by_api(ctx, h, t.as_ref(), docker, spec, health, change, verb).await,
        None,
    )
}

fn outcome_of(change: &ContainerChange) -> Outcome {
    match change {
        ContainerChange::Create => Outcome::Created,
        ContainerChange::Replace { .. } => Outcome::Replaced,
        ContainerChange::Start => Outcome::Started,
        ContainerChange::Unchanged => Outcome::Unchanged,
    }
}

#[allow(clippy::too_many_arguments)]
async fn deploy_by_api(
    ctx: &RunContext,
    h: &Host,
    t: &dyn crate::transport::Transport,
    docker: &bollard::Docker,
    spec: &ContainerSpec,
    health: Option<&crate::config::Health>,
    change: ContainerChange,
    verb: Outcome,
) -> ComponentResult {
    let name = h.name();
    let fail = |detail: String| ComponentResult {
        component: spec.component.clone(),
        outcome: Outcome::Failed,
        detail: Some(detail),
        ok: false,
    };
    if let Err(e) = ensure::apply(docker, spec, &change, &ctx.config.registries).await {
        return fail(e);
    }
    if let Err(e) = super::record(ctx, h, super::Made::Component(&spec.component)) {
        return fail(e.to_string());
    }
    if let Some(health) = health {
        ctx.ui.host_step(
            name,
            &format!("waiting for {} to be healthy", spec.component),
        );
        let check = health_check_for(ctx, h, spec, &health.check).await;
        let check = match check {
            Ok(c) => c,
            Err(e) => return fail(format!("health check: {e}")),
        };
        if let Err(e) = wait_healthy(
            t,
            docker,
            &spec.name,
            &check,
            health.timeout,
            health.interval,
        )
        .await
        {
            return fail(format!("{} {e}", spec.name));
        }
    }
    ComponentResult {
        component: spec.component.clone(),
        outcome: verb,
        detail: None,
        ok: true,
    }
}

/// A host without the Docker API (Windows over WinRM): one script does what `ensure::apply`
/// and `wait_healthy` do, through the docker CLI on the host. A container that is running and
/// unchanged costs no round trip (doctor probes it).
async fn deploy_by_script(
    ctx: &RunContext,
    h: &Host,
    t: &dyn crate::transport::Transport,
    spec: &ContainerSpec,
    health: Option<&crate::config::Health>,
    change: &ContainerChange,
    mapping: Option<&crate::os::PortMappingChange>,
) -> Result<Option<std::net::Ipv4Addr>, String> {
    if *change == ContainerChange::Unchanged {
        return Ok(None);
    }
    let health = match health {
        Some(hl) => Some(crate::config::Health {
            check: health_check_for(ctx, h, spec, &hl.check)
                .await
                .map_err(|e| format!("health check: {e}"))?,
            ..hl.clone()
        }),
        None => None,
    };
    let isolation = if ctx
        .config
        .components
        .iter()
        .any(|c| c.name == spec.component && c.hyperv)
    {
        cli::Isolation::HyperV
    } else {
        cli::Isolation::Default
    };
    // The pull is a command of its own with its own time limit, and only where the facts
    // show the host lacks the image: a run that pulls nothing costs no round trip for it.
    let creates = matches!(
        change,
        ContainerChange::Create | ContainerChange::Replace { .. }
    );
    let present = h
        .facts
        .as_ref()
        .and_then(|f| f.images.as_ref())
        .is_some_and(|images| cli::has_image(images, &spec.image));
    if creates && !present {
        super::pull::pull_image(ctx, h, &spec.image).await?;
        ctx.ui.host_step(
            h.name(),
            &format!("{} {}", outcome_of(change).verb(), spec.name),
        );
    }
    let script = cli::ensure_script(spec, change, health.as_ref(), isolation)?;
    let os = h.node.host_os;
    let then = mapping.map(|m| os.publish_script(m)).unwrap_or_default();
    ctx.ui.debug(&format!(
        "{}: running\n{}{then}",
        h.name(),
        script.redacted()
    ));
    let command = os.script_command(&h.node.node.user);
    let text = format!("{}{then}", script.text());
    let out = t
        .exec(&command, Some(text.as_bytes()))
        .await
        .map_err(|e| e.to_string())?;
    if !cli::succeeded(&out.stdout) {
        let why = out.stderr.trim();
        return Err(if why.is_empty() {
            format!("the script stopped (exit {}) without saying why", out.code)
        } else {
            why.to_string()
        });
    }
    super::record(ctx, h, super::Made::Component(&spec.component)).map_err(|e| e.to_string())?;
    Ok(mapping.and_then(|_| os.published_address(&out.stdout)))
}

/// The health check of `spec` on host `h`, with its templates rendered: node facts, role
/// members and, for pod-network containers, the container's address (known only now).
pub(crate) async fn health_check_for(
    ctx: &RunContext,
    h: &Host,
    spec: &ContainerSpec,
    check: &crate::config::HealthCheck,
) -> Result<crate::config::HealthCheck, String> {
    use crate::config::HealthCheck;
    let container_ip = match (spec.network, h.docker_api()) {
        (NetworkMode::Pod, Some(docker)) => {
            ensure::container_ip(docker, &spec.name, POD_NETWORK).await
        }
        // The script reads the address once the container runs.
        (NetworkMode::Pod, None) => Some(cli::CONTAINER_IP.to_string()),
        _ => None,
    };
    let facts = h.node.facts();
    let roles = ctx.plan.role_members();
    let tctx = crate::config::TemplateContext {
        cluster_name: &ctx.plan.cluster_name,
        node: &facts,
        roles: &roles,
        container_ip: container_ip.as_deref(),
    };
    let rendered = match check {
        HealthCheck::Http(u) => crate::config::render(u, &tctx).map(HealthCheck::Http),
        HealthCheck::Tcp(u) => crate::config::render(u, &tctx).map(HealthCheck::Tcp),
        other => Ok(other.clone()),
    };
    rendered.map_err(|e| e.to_string())
}
