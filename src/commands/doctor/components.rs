//! What runs on a host: each planned component's container (there, running, healthy, up to
//! date), each Windows service component, and nothing of rwin's that no component claims.

use std::time::Duration;

use crate::docker::health::wait_healthy;
use crate::docker::spec::ContainerSpec;
use crate::os::Check;
use crate::phases::{self, Host, HostFacts};
use crate::transport::Transport;

/// One row per component instance planned on the host, in the plan's order.
pub(super) async fn components(
    ctx: &phases::RunContext,
    h: &Host,
    facts: &HostFacts,
    t: &dyn Transport,
) -> Vec<Check> {
    let mut v = Vec::new();
    for spec in ctx.plan.instances_on(&h.node.name) {
        v.push(component(ctx, h, facts, t, h.spec(spec)).await);
    }
    v
}

async fn component(
    ctx: &phases::RunContext,
    h: &Host,
    facts: &HostFacts,
    t: &dyn Transport,
    spec: &ContainerSpec,
) -> Check {
    let name = format!("component {}", spec.component);
    let existing = facts
        .containers
        .get(&spec.component)
        .and_then(|e| e.as_ref());
    let Some(e) = existing else {
        return Check::fail(
            name,
            format!("container {} does not exist", spec.name),
            "rwin up",
        );
    };
    if !e.running {
        return Check::fail(
            name,
            format!(
                "{} is not running ({} restarts)",
                spec.name, e.restart_count
            ),
            format!("rwin up (starts it); its logs: docker logs {}", spec.name),
        );
    }
    let stale = e.hash.as_deref() != Some(spec.hash.as_str());
    let verdict = health(ctx, h, t, spec).await;
    let restarts = format!("{} restarts", e.restart_count);
    match verdict {
        Err(err) => Check::fail(
            name,
            format!("{} {err}", spec.name),
            format!(
                "docker logs {} on the host; rwin up replaces it once fixed",
                spec.name
            ),
        ),
        Ok(text) if stale => Check::warn(
            name,
            format!("{text}, {restarts}, but its configuration is out of date"),
            "rwin up (replaces it)",
        ),
        Ok(text) if e.restart_count > 0 => Check::warn(
            name,
            format!("{text}, {restarts}"),
            format!("docker logs {}", spec.name),
        ),
        Ok(text) => Check::pass(name, format!("{text}, {restarts}")),
    }
}

/// A running container's health, in words, by its component's health check where one is set.
async fn health(
    ctx: &phases::RunContext,
    h: &Host,
    t: &dyn Transport,
    spec: &ContainerSpec,
) -> Result<String, String> {
    let health = ctx
        .plan
        .components
        .iter()
        .find(|c| c.name == spec.component)
        .and_then(|c| c.health.clone());
    match (health, h.docker_api()) {
        (None, _) => Ok("running, no health check".to_string()),
        // WinRM carries no streams to probe with; `up` runs the check in its script.
        (Some(_), None) => Ok("running (health not probed over WinRM)".to_string()),
        (Some(hc), Some(docker)) => {
            let check = phases::health_check_for(ctx, h, spec, &hc.check).await;
            match check {
                Ok(check) => wait_healthy(
                    t,
                    docker,
                    &spec.name,
                    &check,
                    Duration::from_secs(3),
                    Duration::from_millis(500),
                )
                .await
                .map(|_| "running and healthy".to_string())
                .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        }
    }
}

/// Service components (seed 002: `Get-Service rancher-agent`): each running, and no rwin
/// service that no component claims (seed 003's orphaned host processes).
pub(super) fn services(ctx: &phases::RunContext, h: &Host, facts: &HostFacts) -> Vec<Check> {
    let Some(services) = h.node.host_os.services() else {
        return Vec::new();
    };
    let planned = ctx.plan.services_on(&h.node.name);
    let mut v = Vec::new();
    for spec in &planned {
        let name = format!("service {}", spec.name);
        v.push(
            match facts
                .services
                .get(&spec.name)
                .and_then(|f| f.status.as_deref())
            {
                Some("Running") => Check::pass(name, "running"),
                Some(other) => Check::fail(
                    name,
                    other.to_string(),
                    format!("rwin up (starts it); its logs: {}", services.logs(spec)),
                ),
                None => Check::fail(name, "not installed", "rwin up"),
            },
        );
    }
    let orphans: Vec<String> = services
        .installed(&facts.os)
        .into_iter()
        .filter(|n| !planned.iter().any(|p| p.name == *n))
        .collect();
    if !orphans.is_empty() {
        v.push(Check::fail(
            "no orphaned services",
            format!("rwin services no component claims: {}", orphans.join(", ")),
            format!(
                "stop and delete them on the host ({}), or take the node out with rwin remove-host",
                services.remove_by_hand()
            ),
        ));
    }
    v
}

/// rwin containers on the host that no component claims.
pub(super) fn orphans(facts: &HostFacts) -> Check {
    if facts.orphans.is_empty() {
        Check::pass("no orphans", "every rwin container belongs to a component")
    } else {
        Check::fail(
            "no orphans",
            format!(
                "rwin containers no component claims: {}",
                facts.orphans.join(", ")
            ),
            "rwin up (removes them)",
        )
    }
}
