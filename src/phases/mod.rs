//! Phases of a run, one file each, and the runner that drives them over all hosts with bounded
//! parallelism. Read-only phases (connect, gather facts, diff) serve `plan` and `up` alike; the
//! phases that change hosts are only reachable through `apply`, so a dry run cannot change
//! anything whatever a phase forgets to check.

mod connect;
mod deploy_components;
mod deploy_services;
mod diff;
mod enable_routing;
mod error;
mod gather_facts;
mod outcome;
mod pull;
mod reboot;
mod runner;
mod teardown;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;

use crate::config::Config;
use crate::docker::ensure::{ContainerChange, Existing, NetworkFacts};
use crate::os::{DesiredHost, HostChange, OsFacts};
use crate::plan::{Plan, PlannedNode};
use crate::settings::Settings;
use crate::state::{HostRecord, StateStore};
use crate::transport::Transport;
use crate::ui::Ui;

pub(crate) use deploy_components::health_check_for;
pub use error::{ErrorKind, HostError};
pub use outcome::ComponentResult;
pub(crate) use pull::pull_image;
pub use reboot::{wait_for_reboot, Boot, RebootWait, Rebooted};
pub use runner::{record, Made, Phase, APPLY, SURVEY};

/// What every phase may read.
pub struct RunContext {
    pub settings: Settings,
    pub ui: Arc<Ui>,
    pub config: Config,
    pub plan: Plan,
    pub state: Arc<StateStore>,
}

/// What rwin found on a host.
#[derive(Debug, Clone, Serialize)]
pub struct HostFacts {
    pub os: OsFacts,
    pub docker_version: String,
    pub network: Option<NetworkFacts>,
    /// Component → its container as found (None: missing).
    pub containers: BTreeMap<String, Option<Existing>>,
    /// Windows: each service component's files and service, read with the other facts.
    pub services: BTreeMap<String, crate::os::service::ServiceFacts>,
    /// rwin-labelled containers of this cluster that no planned component claims.
    pub orphans: Vec<String>,
    /// The images the host has, as `docker images` names them (`docker::cli::parse_images`),
    /// where the docker CLI engine read them; `None` elsewhere (the API pulls by itself).
    #[serde(skip)]
    pub images: Option<std::collections::BTreeSet<String>>,
    /// This machine's clock (seconds since the epoch) when the host's answer arrived.
    pub received_at: f64,
}

/// The container network change, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum NetworkChange {
    Create,
    Recreate { was: String },
}

/// Every change `up` would make on one host.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostChanges {
    pub host: Vec<HostChange>,
    pub network: Option<NetworkChange>,
    pub containers: Vec<(String, ContainerChange)>,
    pub remove_orphans: Vec<String>,
    /// Windows: RRAS NAT port mappings to (re)make once their component's container runs.
    pub port_mappings: Vec<crate::os::PortMappingChange>,
    pub blockers: Vec<String>,
}

impl HostChanges {
    pub fn is_empty(&self) -> bool {
        self.host.is_empty()
            && self.network.is_none()
            && self.remove_orphans.is_empty()
            && self.port_mappings.is_empty()
            && self
                .containers
                .iter()
                .all(|(_, c)| *c == ContainerChange::Unchanged)
    }

    pub fn count(&self) -> usize {
        self.host.len()
            + usize::from(self.network.is_some())
            + self.remove_orphans.len()
            + self.port_mappings.len()
            + self
                .containers
                .iter()
                .filter(|(_, c)| *c != ContainerChange::Unchanged)
                .count()
    }
}

/// One host as a run goes through it.
pub struct Host {
    pub node: PlannedNode,
    pub desired: DesiredHost,
    pub transport: Option<Arc<dyn Transport>>,
    /// How its container engine is worked (none without one).
    pub engine: Option<crate::docker::Engine>,
    pub facts: Option<HostFacts>,
    pub changes: HostChanges,
    /// Specs that differ on this host from the plan's (a Windows image chosen by the host's
    /// build), by component.
    pub specs: BTreeMap<String, crate::docker::spec::ContainerSpec>,
    /// The first error that stopped work on this host.
    pub error: Option<HostError>,
    /// Changes actually made, in words.
    pub applied: Vec<String>,
    pub components: Vec<ComponentResult>,
    /// Its applied changes need a reboot, and the run allows one (`--allow-reboot`).
    pub reboot_wanted: bool,
    /// rwin restarted it in this run (never twice).
    pub rebooted: bool,
    /// Set for a node that left cluster.yml: what `up` will remove there.
    pub departed: Option<String>,
    /// Wall time this host took, from the first connection attempt to its last step.
    pub elapsed: Duration,
    started: Instant,
}

impl Host {
    /// A host to work on, with the desired state the plan built for it.
    pub fn new(node: &PlannedNode) -> Host {
        let desired = node.desired.clone();
        Host {
            node: node.clone(),
            desired,
            transport: None,
            engine: None,
            facts: None,
            changes: HostChanges::default(),
            specs: BTreeMap::new(),
            error: None,
            applied: Vec::new(),
            components: Vec::new(),
            reboot_wanted: false,
            rebooted: false,
            departed: None,
            elapsed: Duration::ZERO,
            started: Instant::now(),
        }
    }

    pub fn name(&self) -> &str {
        &self.node.name
    }

    /// The container `spec` as it runs on this host.
    pub fn spec<'a>(
        &'a self,
        spec: &'a crate::docker::spec::ContainerSpec,
    ) -> &'a crate::docker::spec::ContainerSpec {
        self.specs.get(&spec.component).unwrap_or(spec)
    }

    /// The Docker API client, where the engine is worked through the API.
    pub fn docker_api(&self) -> Option<&bollard::Docker> {
        self.engine.as_ref().and_then(crate::docker::Engine::api)
    }

    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// Stop work on this host: the first error is kept, with its kind.
    fn fail(&mut self, ui: &Ui, kind: ErrorKind, message: impl Into<String>) {
        self.fail_with(ui, HostError::new(kind, message));
    }

    fn fail_with(&mut self, ui: &Ui, err: HostError) {
        self.elapsed = self.started.elapsed();
        ui.host_done(&self.node.name, false, &err.message);
        if self.error.is_none() {
            self.error = Some(err);
        }
    }
}

/// Run `step` on every host that has no error yet, at most `concurrency` at once.
async fn for_each_host<'a, F, Fut>(hosts: &'a mut [Host], concurrency: usize, step: F)
where
    F: Fn(&'a mut Host) -> Fut,
    Fut: std::future::Future<Output = ()> + 'a,
{
    futures_util::stream::iter(hosts.iter_mut().filter(|h| h.ok()))
        .for_each_concurrent(concurrency, step)
        .await;
}

/// Connect to every host, read its facts and work out its changes. Changes nothing.
pub async fn survey(ctx: &RunContext) -> Vec<Host> {
    let mut hosts: Vec<Host> = ctx.plan.nodes.iter().map(Host::new).collect();
    runner::walk(ctx, &mut hosts, SURVEY).await;
    for h in hosts.iter_mut().filter(|h| h.ok()) {
        h.elapsed = h.started.elapsed();
    }
    hosts
}

/// Hosts that are in the state file but no longer in cluster.yml: rwin still knows how to
/// reach them (address, port and user are recorded) and what it made there.
pub fn departed_hosts(ctx: &RunContext) -> Vec<(Host, HostRecord)> {
    let state = ctx.state.snapshot();
    state
        .hosts
        .iter()
        .filter(|(name, _)| ctx.plan.node(name).is_none())
        .map(|(name, rec)| {
            (
                Host::new(&crate::plan::departed_node(
                    &ctx.config,
                    name,
                    rec,
                    state.subnets.get(name).copied(),
                )),
                rec.clone(),
            )
        })
        .collect()
}

/// Connect to hosts that are being removed and read what is there. Changes nothing.
pub async fn survey_departed(ctx: &RunContext, hosts: &mut [(Host, HostRecord)]) {
    futures_util::stream::iter(hosts.iter_mut())
        .for_each_concurrent(ctx.settings.concurrency, |(h, _)| async move {
            connect::run(ctx, h).await;
            if h.ok() {
                gather_facts::run(ctx, h).await;
            }
        })
        .await;
}

/// Remove everything rwin made on each of `hosts`; release each cleaned host's subnet and
/// record in the state. A host that could not be cleaned stays in the state unless `force`.
pub async fn teardown(ctx: &RunContext, hosts: &mut [(Host, HostRecord)], force: bool) {
    futures_util::stream::iter(hosts.iter_mut())
        .for_each_concurrent(ctx.settings.concurrency, |(h, rec)| async move {
            if h.ok() {
                teardown::run(ctx, h, rec).await;
            } else if force && h.transport.is_some() {
                // Reachable but not all readable (e.g. Docker down): --force removes what the
                // host script can, and the result names what stayed.
                let Some(cause) = h.error.take() else {
                    return;
                };
                ctx.ui.warn(&format!(
                    "{cause}; --force: removing what can be removed without it"
                ));
                h.engine = None;
                teardown::run(ctx, h, rec).await;
                h.error = Some(match h.error.take() {
                    Some(e) => e.after(&cause),
                    None => HostError::new(
                        ErrorKind::Teardown,
                        format!(
                            "{}: rwin's containers and network were left: {cause}",
                            h.node.name
                        ),
                    ),
                });
            }
            if h.ok() || force {
                let name = h.node.name.clone();
                if let Err(e) = runner::release(ctx, &name, h.node.subnet) {
                    h.fail(&ctx.ui, ErrorKind::State, e.to_string());
                }
            }
            if h.ok() {
                ctx.ui.host_done(
                    &h.node.name,
                    true,
                    &format!("removed ({} items)", h.applied.len()),
                );
            }
        })
        .await;
}

/// On hosts that stay: remove the routes to a subnet that is going away (and rewrite the boot
/// script). Nothing else about them is touched.
pub async fn remove_routes_to(ctx: &RunContext, hosts: &mut [Host], subnet: ipnet::Ipv4Net) {
    for h in hosts.iter_mut() {
        let keep: Vec<HostChange> = h
            .changes
            .host
            .iter()
            .filter(|c| c.deletes_route_to(subnet) || c.rewrites_boot_routes())
            .cloned()
            .collect();
        h.changes = HostChanges {
            host: keep,
            ..Default::default()
        };
    }
    runner::walk(ctx, hosts, &[Phase::EnableRouting]).await;
    for h in hosts.iter_mut().filter(|h| h.ok()) {
        let n = h.applied.len();
        ctx.ui.host_done(
            &h.node.name,
            true,
            &if n == 0 {
                "no route to remove".to_string()
            } else {
                format!("{n} changes made")
            },
        );
    }
}

/// Make the changes `survey` found: host networking first, then components in dependency
/// order with health gates. The only way into phases that change hosts.
pub async fn apply(ctx: &RunContext, hosts: &mut [Host]) {
    // Allocations are recorded before any host changes: a state file that cannot be written
    // stops the run here, so no host ever carries a subnet the state does not know.
    let recorded = runner::record_plan(ctx);
    if let Err(e) = recorded {
        for h in hosts.iter_mut() {
            h.fail(
                &ctx.ui,
                ErrorKind::State,
                format!("{}: not changed: {e}", h.node.name),
            );
        }
        return;
    }
    runner::walk(ctx, hosts, APPLY).await;
    for h in hosts.iter_mut() {
        if h.ok() {
            h.elapsed = h.started.elapsed();
            let n = h.applied.len();
            ctx.ui.host_done(
                &h.node.name,
                true,
                &if n == 0 {
                    "no changes".to_string()
                } else {
                    format!("{n} changes made")
                },
            );
        }
    }
}
