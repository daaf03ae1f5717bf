//! The phases of a run as values, in the order the runner walks them, and the runner. A phase
//! never runs another phase: what happens after a reboot (read the facts again, work out the
//! changes again, apply what is still to do) is a list here, walked by the runner. Phases
//! report what they made ([`Made`]); the runner is what writes it to the state file.

use std::net::Ipv4Addr;

use super::{connect, deploy_components, diff, enable_routing, gather_facts, reboot};
use super::{ErrorKind, Host, RunContext};
use crate::os::{HostChange, OsFacts, PortMappingChange};
use crate::state::{RouteRecord, StateError};

/// One step of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connect,
    GatherFacts,
    Diff,
    EnableRouting,
    /// `--allow-reboot`: restart the hosts whose changes need it and wait for them.
    Reboot,
    DeployComponents,
}

/// Read-only: what `plan`, `doctor` and the start of `up` run.
pub const SURVEY: &[Phase] = &[Phase::Connect, Phase::GatherFacts, Phase::Diff];
/// What `up` runs after the survey: the only phases that change hosts.
pub const APPLY: &[Phase] = &[Phase::EnableRouting, Phase::Reboot, Phase::DeployComponents];
/// What a host that was restarted goes through again before the components (never a second
/// reboot: `Host::rebooted` is set).
const AFTER_REBOOT: &[Phase] = &[Phase::GatherFacts, Phase::Diff, Phase::EnableRouting];

impl Phase {
    /// What the phase does, as a heading.
    pub fn title(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::GatherFacts => "read host facts",
            Phase::Diff => "work out the changes",
            Phase::EnableRouting => "routing, subnet, routes and NAT",
            Phase::Reboot => "reboot where needed (--allow-reboot)",
            Phase::DeployComponents => "components in dependency order",
        }
    }

    /// Whether the phase works host by host. Consecutive ones run as one pipeline per host (a
    /// slow host does not hold the others back); the others see every host at once.
    fn per_host(self) -> bool {
        !matches!(self, Phase::DeployComponents)
    }

    /// Run a per-host phase on `h`.
    async fn run_on(self, ctx: &RunContext, h: &mut Host) {
        match self {
            Phase::Connect => connect::run(ctx, h).await,
            Phase::GatherFacts => gather_facts::run(ctx, h).await,
            Phase::Diff => diff::run(ctx, h),
            Phase::EnableRouting => enable_routing::run(ctx, h).await,
            Phase::Reboot => restart(ctx, h).await,
            Phase::DeployComponents => unreachable!("the components phase sees every host"),
        }
    }
}

/// Restart `h` if its applied changes asked for it and the run allows it, then walk it
/// through [`AFTER_REBOOT`].
async fn restart(ctx: &RunContext, h: &mut Host) {
    if !h.reboot_wanted || h.rebooted || !h.desired.allow_reboot {
        return;
    }
    let name = h.node.name.clone();
    if let Err(e) = reboot::run(ctx, h).await {
        return h.fail(
            &ctx.ui,
            ErrorKind::Reboot,
            format!("{name}: rebooting: {e}"),
        );
    }
    h.rebooted = true;
    h.reboot_wanted = false;
    h.applied
        .push("~ rebooted (--allow-reboot), facts read again".into());
    for phase in AFTER_REBOOT {
        if !h.ok() {
            return;
        }
        Box::pin(phase.run_on(ctx, h)).await;
    }
}

/// What a phase made on a host, as the state file must know it.
pub enum Made<'a> {
    /// The host's own configuration changed (`before`: its facts as first read).
    Routing {
        before: Option<&'a OsFacts>,
        changes: &'a [HostChange],
    },
    /// The engine's pod network was created.
    Network(&'a str),
    /// A component's container or service now exists.
    Component(&'a str),
    /// A service component's service and files are about to be made (recorded first).
    Service(&'a crate::os::service::ServiceSpec),
    /// A component's ports were published to its container at this address.
    Published(&'a PortMappingChange, Ipv4Addr),
}

/// Record what a phase made on `h`. Routing records are kept in memory and written once at
/// the end of each run of per-host phases (one write for all hosts); everything else is
/// written at once, so an interrupt leaves a state file that matches what was done.
pub fn record(ctx: &RunContext, h: &Host, made: Made) -> Result<(), StateError> {
    let name = h.node.name.as_str();
    match made {
        Made::Routing { before, changes } => {
            let routes: Vec<RouteRecord> = h
                .desired
                .routes
                .iter()
                .map(|(dest, via, _)| RouteRecord {
                    dest: *dest,
                    via: *via,
                })
                .collect();
            ctx.state.update_deferred(|s| {
                let rec = s.host_mut(name);
                h.node.host_os.record(rec, before, changes);
                rec.routes = routes.into_iter().collect();
            })
        }
        Made::Network(network) => ctx
            .state
            .update(|s| s.host_mut(name).network = Some(network.to_string())),
        Made::Component(component) => ctx.state.update(|s| {
            s.host_mut(name).components.insert(component.to_string());
        }),
        Made::Service(spec) => match h.node.host_os.services() {
            Some(services) => ctx
                .state
                .update(|s| services.record(s.host_mut(name), spec)),
            None => Ok(()),
        },
        Made::Published(c, ip) => ctx
            .state
            .update(|s| h.node.host_os.record_published(s.host_mut(name), c, ip)),
    }
}

/// Record the plan's allocations and how to reach each node, before any host changes: a state
/// file that cannot be written stops the run there, so no host carries a subnet the state
/// does not know.
pub fn record_plan(ctx: &RunContext) -> Result<(), StateError> {
    ctx.state.update(|s| {
        for n in &ctx.plan.nodes {
            s.subnets.insert(n.name.clone(), n.subnet);
            let rec = s.host_mut(&n.name);
            rec.address = n.address.clone();
            rec.port = n.node.port;
            rec.user = n.node.user.clone();
            rec.ssh_key_path = n.node.key_path.clone();
            rec.docker_socket = Some(n.node.docker_socket.clone());
            rec.os = n.os.to_string();
            rec.labels = n.node.labels.clone();
            rec.public_address = n.node.public_address.clone();
            rec.connection = Some(
                match n.node.connection {
                    crate::config::Connection::Ssh => "ssh",
                    crate::config::Connection::Winrm => "winrm",
                }
                .into(),
            );
            rec.winrm = n.node.winrm.as_ref().map(|w| crate::state::WinrmRecord {
                port: w.port,
                https: w.https,
                auth: w.auth.as_str().into(),
                user: w.user.clone(),
                password_env: w.password_env.clone(),
            });
        }
    })
}

/// A node is gone: release its subnet, forget its record, and drop the routes to its subnet
/// from every other node's record.
pub fn release(ctx: &RunContext, name: &str, subnet: ipnet::Ipv4Net) -> Result<(), StateError> {
    ctx.state.update(|s| {
        s.subnets.remove(name);
        s.hosts.remove(name);
        for other in s.hosts.values_mut() {
            other.routes.retain(|r| r.dest != subnet);
        }
    })
}

/// Walk `phases` over `hosts`, at most `--concurrency` hosts at once; a host that failed
/// stops there and the others go on. Records kept in memory by a phase are written once at
/// the end of each run of per-host phases.
pub async fn walk(ctx: &RunContext, hosts: &mut [Host], phases: &[Phase]) {
    let mut i = 0;
    while i < phases.len() {
        if phases[i].per_host() {
            let end = phases[i..]
                .iter()
                .position(|p| !p.per_host())
                .map_or(phases.len(), |n| i + n);
            let run = &phases[i..end];
            super::for_each_host(hosts, ctx.settings.concurrency, |h| async move {
                for phase in run {
                    if !h.ok() {
                        return;
                    }
                    phase.run_on(ctx, h).await;
                }
            })
            .await;
            if let Err(e) = ctx.state.flush() {
                for h in hosts.iter_mut().filter(|h| h.ok()) {
                    h.fail(&ctx.ui, ErrorKind::State, format!("{}: {e}", h.node.name));
                }
                return;
            }
            i = end;
        } else {
            match phases[i] {
                Phase::DeployComponents => deploy_components::run(ctx, hosts).await,
                other => unreachable!("{other:?} works host by host"),
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_in_run_order_and_only_apply_changes_hosts() {
        assert_eq!(SURVEY, &[Phase::Connect, Phase::GatherFacts, Phase::Diff]);
        assert_eq!(
            APPLY,
            &[Phase::EnableRouting, Phase::Reboot, Phase::DeployComponents]
        );
        assert!(
            !AFTER_REBOOT.contains(&Phase::Reboot),
            "never a second reboot"
        );
        for p in SURVEY.iter().chain(APPLY) {
            assert!(!p.title().is_empty());
        }
    }
}
