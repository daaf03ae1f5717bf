//! The plan: a pure function of the config and the state. Which subnet each node gets, the
//! route table, and the ordered component graph with every container rendered per node.
//! Comparing the plan with what is on the hosts (phases) gives the changes `up` makes.

mod components;
mod departed;
mod subnets;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::config::{Config, NetworkMode, Node, NodeFacts, Role};
use crate::docker::spec::ContainerSpec;
use crate::os::{host_os, DesiredHost, HostOs, WindowsDesired};
use crate::state::State;

pub use components::{ComponentInstance, PlannedComponent, ServiceInstance};
pub use departed::{departed_node, missing_password};
pub use subnets::{SubnetError, SubnetSource};

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Subnets(subnets::SubnetError),
    #[error("{node}: component {component}: {reason}")]
    Template {
        node: String,
        component: String,
        #[source]
        reason: crate::config::TemplateError,
    },
}

/// Everything `up` wants to be true, before looking at any host.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub cluster_name: String,
    pub nodes: Vec<PlannedNode>,
    /// In dependency order: every component comes after those it names in `after`.
    pub components: Vec<PlannedComponent>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedNode {
    pub name: String,
    pub address: String,
    pub internal_address: Ipv4Addr,
    pub os: crate::config::Os,
    pub roles: Vec<Role>,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub subnet_source: SubnetSource,
    /// A route to every other node's subnet, via that node's internal address.
    pub routes: Vec<Route>,
    #[serde(skip)]
    pub node: Node,
    /// How this node's operating system does what rwin needs: chosen here, once.
    #[serde(skip)]
    pub host_os: &'static dyn HostOs,
    /// The host's whole desired network state (subnet, routes, NAT, published ports, reboot
    /// policy), built once here; the phases compare hosts with it and never patch it.
    #[serde(skip)]
    pub desired: DesiredHost,
}

/// Choices of this run that the desired state depends on (not in cluster.yml).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// `--allow-reboot`: rwin may restart a host whose changes need it.
    pub allow_reboot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Route {
    pub dest: Ipv4Net,
    pub via: Ipv4Addr,
    /// The node that owns `dest`.
    pub node: String,
}

impl PlannedNode {
    pub fn facts(&self) -> NodeFacts {
        NodeFacts {
            name: self.name.clone(),
            address: self.address.clone(),
            internal_address: self.internal_address.to_string(),
            subnet: self.subnet.to_string(),
            gateway: self.gateway.to_string(),
        }
    }
}

impl Plan {
    pub fn node(&self, name: &str) -> Option<&PlannedNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The members of each role, for templates rendered after planning (health checks).
    pub fn role_members(&self) -> BTreeMap<Role, Vec<NodeFacts>> {
        let mut m: BTreeMap<Role, Vec<NodeFacts>> = BTreeMap::new();
        for n in &self.nodes {
            for r in &n.roles {
                m.entry(*r).or_default().push(n.facts());
            }
        }
        m
    }

    /// Instances of all components that run on `node`, in dependency order.
    pub fn instances_on<'a>(
        &'a self,
        node: &'a str,
    ) -> impl Iterator<Item = &'a ContainerSpec> + 'a {
        self.components.iter().flat_map(move |c| {
            c.instances
                .iter()
                .filter(move |i| i.node == node)
                .map(|i| &i.spec)
        })
    }

    /// The service components (host processes) that run on `node`.
    pub fn services_on(&self, node: &str) -> Vec<&crate::os::service::ServiceSpec> {
        self.components
            .iter()
            .flat_map(|c| c.services.iter())
            .filter(|s| s.node == node)
            .map(|s| &s.spec)
            .collect()
    }
}

/// Build the plan. Pure: same config and state, same plan.
pub fn build(config: &Config, state: &State) -> Result<Plan, PlanError> {
    build_with(config, state, PlanOptions::default())
}

/// Build the plan for a run with `opts`.
pub fn build_with(config: &Config, state: &State, opts: PlanOptions) -> Result<Plan, PlanError> {
    let allocations = subnets::allocate(config, state).map_err(PlanError::Subnets)?;
    let mut nodes: Vec<PlannedNode> = config
        .nodes
        .iter()
        .zip(allocations)
        .map(|(node, (subnet, source))| PlannedNode {
            name: node.name.clone(),
            address: node.address.clone(),
            internal_address: node.internal_address,
            os: node.os,
            roles: node.roles.clone(),
            subnet,
            gateway: gateway_of(subnet),
            subnet_source: source,
            routes: Vec::new(),
            node: node.clone(),
            host_os: host_os(node.os),
            desired: DesiredHost::default(),
        })
        .collect();
    let table: Vec<(String, Ipv4Net, Ipv4Addr)> = nodes
        .iter()
        .map(|n| (n.name.clone(), n.subnet, n.internal_address))
        .collect();
    for n in &mut nodes {
        n.routes = table
            .iter()
            .filter(|(name, _, _)| *name != n.name)
            .map(|(name, dest, via)| Route {
                dest: *dest,
                via: *via,
                node: name.clone(),
            })
            .collect();
        n.routes.sort();
    }
    let mut role_members: BTreeMap<Role, Vec<NodeFacts>> = BTreeMap::new();
    for n in &nodes {
        for r in &n.roles {
            role_members.entry(*r).or_default().push(n.facts());
        }
    }
    let components = components::plan_components(config, &nodes, &role_members)?;
    for n in &mut nodes {
        let published = published_on(&components, &n.name);
        n.desired = desired_host(config, n, opts.allow_reboot, published);
    }
    Ok(Plan {
        cluster_name: config.cluster_name.clone(),
        nodes,
        components,
    })
}

/// The desired network state of `node` in `config`'s cluster.
pub(crate) fn desired_host(
    config: &Config,
    node: &PlannedNode,
    allow_reboot: bool,
    published: Vec<crate::os::Published>,
) -> DesiredHost {
    DesiredHost {
        cluster: config.cluster_name.clone(),
        subnet: node.subnet,
        gateway: node.gateway,
        cluster_cidr: config.network.cluster_cidr,
        outbound_nat: config.network.outbound_nat,
        routes: node
            .routes
            .iter()
            .map(|r| (r.dest, r.via, r.node.clone()))
            .collect(),
        node: node.name.clone(),
        internal_address: node.internal_address,
        node_addresses: config.nodes.iter().map(|n| n.internal_address).collect(),
        plain_bridge: config.network.container_engine == crate::config::ContainerEngine::None,
        allow_reboot,
        published,
        windows: WindowsDesired {
            route_interface: node.node.route_interface.clone(),
            container_interface: node.node.container_interface.clone(),
            driver: config.network.windows_driver,
            metadata_address: config.network.metadata_address,
            dns_address: config.network.dns_address,
            dns_servers: config.network.windows_dns_servers.clone(),
        },
    }
}

/// The ports the pod-network components on `node` publish (host-network ones need no mapping):
/// on Windows each becomes an RRAS NAT port mapping; on Linux Docker publishes them itself.
fn published_on(components: &[PlannedComponent], node: &str) -> Vec<crate::os::Published> {
    components
        .iter()
        .flat_map(|c| c.instances.iter().filter(move |i| i.node == node))
        .map(|i| &i.spec)
        .filter(|s| s.network == NetworkMode::Pod)
        .flat_map(|s| {
            s.ports.iter().map(|p| crate::os::Published {
                component: s.component.clone(),
                container: s.name.clone(),
                proto: p.protocol.to_ascii_lowercase(),
                host_port: p.host,
                container_port: p.container,
            })
        })
        .collect()
}

/// The first usable address of a subnet: the gateway containers route through.
pub fn gateway_of(subnet: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()).saturating_add(1))
}
