//! What to run on a host, per operating system. Pure functions that build scripts and parse
//! their answers; `linux` builds POSIX shell. OS differences live here and nowhere else.

mod host_os;
pub mod linux;
pub mod service;
pub mod windows;

pub use host_os::{host_os, HostOs};

/// The last line every teardown script prints: without it the script stopped part way
/// (whatever its `removed=` lines say), and the node is not removed from the state.
pub const TEARDOWN_DONE: &str = "teardown=done";
pub use linux::Linux;
/// What the engine-independent phases carry of a Windows port mapping (opaque to them).
pub use windows::PortMappingChange;

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

/// One change to a host's own configuration (the container runtime's objects are separate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum HostChange {
    EnableForwarding,
    WriteForwardingDropin {
        path: String,
    },
    AddRoute {
        dest: Ipv4Net,
        via: Ipv4Addr,
        node: String,
    },
    ReplaceRoute {
        dest: Ipv4Net,
        via: Ipv4Addr,
        old_via: Ipv4Addr,
        node: String,
    },
    DeleteRoute {
        dest: Ipv4Net,
        via: Ipv4Addr,
    },
    AddOutboundNat {
        subnet: Ipv4Net,
        cluster_cidr: Ipv4Net,
    },
    DeleteOutboundNat {
        subnet: Ipv4Net,
        cluster_cidr: Ipv4Net,
    },
    AllowForwarding {
        subnet: Ipv4Net,
        cluster_cidr: Ipv4Net,
    },
    WriteBootRoutes {
        path: String,
    },
    /// No container engine: a plain bridge carries the node's gateway.
    CreateBridge {
        gateway: Ipv4Net,
    },
    /// A change to a Windows host (RRAS, IPEnableRouter, firewall, the container network…).
    Windows(windows::Change),
}

impl HostChange {
    /// Whether this change deletes the route to `subnet` (whatever the OS).
    pub fn deletes_route_to(&self, subnet: Ipv4Net) -> bool {
        match self {
            HostChange::DeleteRoute { dest, .. } => *dest == subnet,
            HostChange::Windows(windows::Change::DeleteRoute { dest, .. }) => *dest == subnet,
            _ => false,
        }
    }

    /// Whether this change rewrites what re-applies the routes at boot.
    pub fn rewrites_boot_routes(&self) -> bool {
        matches!(self, HostChange::WriteBootRoutes { .. })
    }
}

impl std::fmt::Display for HostChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostChange::EnableForwarding => {
                write!(f, "+ enable IPv4 forwarding (net.ipv4.ip_forward=1)")
            }
            HostChange::WriteForwardingDropin { path } => {
                write!(f, "+ persist IPv4 forwarding in {path}")
            }
            HostChange::AddRoute { dest, via, node } => {
                write!(f, "+ route {dest} via {via} ({node})")
            }
            HostChange::ReplaceRoute {
                dest,
                via,
                old_via,
                node,
            } => write!(f, "~ route {dest} via {via} ({node}), was via {old_via}"),
            HostChange::DeleteRoute { dest, via } => {
                write!(f, "- route {dest} via {via} (no node owns it any more)")
            }
            HostChange::AddOutboundNat {
                subnet,
                cluster_cidr,
            } => write!(
                f,
                "+ outbound NAT for {subnet} to destinations outside {cluster_cidr}"
            ),
            HostChange::DeleteOutboundNat { subnet, .. } => {
                write!(f, "- outbound NAT for {subnet} (outbound_nat is off)")
            }
            HostChange::AllowForwarding {
                subnet,
                cluster_cidr,
            } => write!(
                f,
                "+ firewall: allow forwarding between {cluster_cidr} and {subnet}"
            ),
            HostChange::WriteBootRoutes { path } => {
                write!(f, "+ re-apply routes and NAT at boot ({path})")
            }
            HostChange::CreateBridge { gateway } => {
                write!(f, "+ bridge {} with gateway {gateway}", linux::BRIDGE)
            }
            HostChange::Windows(c) => c.fmt(f),
        }
    }
}

/// The outcome of one `doctor` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

/// One line of `doctor`'s report: what was checked, what was found, and how to fix it.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    pub fix: String,
}

impl Check {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Pass,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name: name.into(),
            status: Status::Warn,
            detail: detail.into(),
            fix: fix.into(),
        }
    }

    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name: name.into(),
            status: Status::Fail,
            detail: detail.into(),
            fix: fix.into(),
        }
    }
}

/// The desired host network configuration of one node, OS-neutral.
#[derive(Debug, Clone)]
pub struct DesiredHost {
    pub cluster: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub cluster_cidr: Ipv4Net,
    pub outbound_nat: bool,
    /// (destination subnet, next hop, owning node)
    pub routes: Vec<(Ipv4Net, Ipv4Addr, String)>,
    /// This node's name and route IP (the address other nodes use as next hop to it).
    pub node: String,
    pub internal_address: Ipv4Addr,
    /// Every node's route IP: the firewall rule on Windows admits these and the cluster range.
    pub node_addresses: Vec<Ipv4Addr>,
    /// No container engine (network.container_engine: none): rwin makes the bridge itself.
    pub plain_bridge: bool,
    /// `--allow-reboot`: rwin may restart the host when a change needs it (never while a
    /// host is being removed).
    pub allow_reboot: bool,
    /// The ports pod-network components on this node publish (Windows maps them with RRAS
    /// NAT; on Linux Docker publishes them itself).
    pub published: Vec<Published>,
    /// What only Windows hosts use.
    pub windows: WindowsDesired,
}

/// A component port a node publishes: `HOST:CONTAINER/PROTO` from cluster.yml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    pub component: String,
    /// The component's container on this node (`rwin-<component>`).
    pub container: String,
    /// `tcp` or `udp`.
    pub proto: String,
    pub host_port: u16,
    pub container_port: u16,
}

/// Nothing: the plan builds each node's real one (a placeholder while it is assembled).
impl Default for DesiredHost {
    fn default() -> Self {
        DesiredHost {
            cluster: String::new(),
            subnet: Ipv4Net::default(),
            gateway: Ipv4Addr::UNSPECIFIED,
            cluster_cidr: Ipv4Net::default(),
            outbound_nat: false,
            routes: Vec::new(),
            node: String::new(),
            internal_address: Ipv4Addr::UNSPECIFIED,
            node_addresses: Vec::new(),
            plain_bridge: false,
            allow_reboot: false,
            published: Vec::new(),
            windows: WindowsDesired::default(),
        }
    }
}

/// The parts of a node's desired state that only Windows hosts have.
#[derive(Debug, Clone)]
pub struct WindowsDesired {
    /// The NIC that carries routed traffic (seed 002's "Subnet B" NIC); `None`: detect it.
    pub route_interface: Option<String>,
    /// A NIC of its own for the container network (seed 001); `None`: the route NIC.
    pub container_interface: Option<String>,
    pub driver: crate::config::WindowsDriver,
    /// /32 routes on the container network adapter (seed 000), when configured.
    pub metadata_address: Option<Ipv4Addr>,
    pub dns_address: Option<Ipv4Addr>,
    /// The DNS servers the container network gives its containers (`network.
    /// windows_dns_servers`); `None`: the host's own.
    pub dns_servers: Option<Vec<Ipv4Addr>>,
}

impl Default for WindowsDesired {
    fn default() -> Self {
        WindowsDesired {
            route_interface: None,
            container_interface: None,
            driver: crate::config::WindowsDriver::Transparent,
            metadata_address: None,
            dns_address: None,
            dns_servers: None,
        }
    }
}

/// What the host script found, per OS.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase", tag = "os")]
pub enum OsFacts {
    Linux(linux::LinuxFacts),
    Windows(Box<windows::WindowsFacts>),
}

impl OsFacts {
    pub fn linux(&self) -> Option<&linux::LinuxFacts> {
        match self {
            OsFacts::Linux(f) => Some(f),
            OsFacts::Windows(_) => None,
        }
    }

    pub fn windows(&self) -> Option<&windows::WindowsFacts> {
        match self {
            OsFacts::Windows(f) => Some(f),
            OsFacts::Linux(_) => None,
        }
    }
}
