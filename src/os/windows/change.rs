//! One change to a Windows host's configuration, as `rwin plan` shows it: "+ …" adds,
//! "~ …" changes, "- …" removes (the style of Linux's `HostChange`).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use super::NETWORK;
use crate::config::WindowsDriver;

/// One change to a Windows host's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    InstallFeatures {
        names: Vec<String>,
    },
    ConfigureRouting,
    RemoteAccessAutomatic {
        was: String,
    },
    StartRemoteAccess,
    SetIpEnableRouter,
    AddFirewallRule {
        name: String,
        remote: Vec<String>,
    },
    ReplaceFirewallRule {
        name: String,
        remote: Vec<String>,
        why: String,
    },
    /// A loopback adapter of the container network's own, made with devcon and renamed.
    CreateLoopback {
        name: String,
    },
    /// `dns`: the DNS servers its containers get, never empty (with none the diff plans no
    /// network and the blockers say why: `dns.rs`).
    CreateNetwork {
        driver: WindowsDriver,
        subnet: Ipv4Net,
        gateway: Ipv4Addr,
        interface: String,
        dns: Vec<Ipv4Addr>,
    },
    RecreateNetwork {
        driver: WindowsDriver,
        subnet: Ipv4Net,
        gateway: Ipv4Addr,
        interface: String,
        dns: Vec<Ipv4Addr>,
        why: String,
    },
    RemoveAddress {
        ip: Ipv4Addr,
    },
    AddGatewayAddress {
        gateway: Ipv4Addr,
        prefix_len: u8,
    },
    /// `container`: the container network's adapter, looked up when the script runs.
    EnableForwarding {
        interface: String,
        container: bool,
    },
    AddRoute {
        dest: Ipv4Net,
        via: Ipv4Addr,
        node: String,
    },
    ReplaceRoute {
        dest: Ipv4Net,
        via: Ipv4Addr,
        node: String,
        was: String,
    },
    DeleteRoute {
        dest: Ipv4Net,
        via: Ipv4Addr,
    },
    /// A /32 on the container adapter, next hop 0.0.0.0 (seed 000's metadata and DNS).
    AddHostRoute {
        address: Ipv4Addr,
        purpose: String,
    },
    /// RemoteAccess restarted after the container network was made, so RRAS takes its new
    /// vEthernet adapter before NAT interfaces are added (Calico's node-service.ps1, Rancher's
    /// per-host-subnet for rancher/rancher#10544; tests/winsim/BEHAVIOURS.md, inferred).
    RestartRemoteAccess,
    InstallNat,
    /// A port mapping into the container subnet that no published port wants any more.
    DeletePortMapping {
        mapping: super::NatPortMapping,
    },
    /// `private`: the container adapter (looked up at run time); otherwise the public side.
    AddNatInterface {
        interface: String,
        private: bool,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Change::*;
        match self {
            InstallFeatures { names } => write!(f, "+ install Windows features {} (with management tools)", names.join(", ")),
            ConfigureRouting => write!(f, "+ configure Routing and Remote Access as routing only"),
            RemoteAccessAutomatic { was } => write!(f, "~ RemoteAccess service starts automatically (was {was})"),
            StartRemoteAccess => write!(f, "+ start the RemoteAccess service"),
            SetIpEnableRouter => write!(f, "+ IPEnableRouter=1 (persisted; full effect after a reboot: rwin does it only with --allow-reboot)"),
            AddFirewallRule { name, remote } => write!(f, "+ firewall rule {name} admitting {}", remote.join(", ")),
            ReplaceFirewallRule { name, remote, why } => write!(f, "~ firewall rule {name} admitting {} ({why})", remote.join(", ")),
            CreateLoopback { name } => write!(f, "+ loopback adapter {name} for the container network (devcon install netloop.inf *MSLOOP)"),
            CreateNetwork { driver, subnet, gateway, interface, dns } => write!(f, "+ container network {NETWORK} ({}, {subnet}, gateway {gateway}, on {interface}, DNS {})", driver_name(*driver), dns_list(dns)),
            RecreateNetwork { driver, subnet, gateway, interface, dns, why } => write!(f, "~ container network {NETWORK} ({}, {subnet}, gateway {gateway}, on {interface}, DNS {}), was {why}", driver_name(*driver), dns_list(dns)),
            RemoveAddress { ip } => write!(f, "- address {ip} on the container network's adapter"),
            AddGatewayAddress { gateway, prefix_len } => write!(f, "+ gateway {gateway}/{prefix_len} on the container network's adapter"),
            EnableForwarding { interface, .. } => write!(f, "+ IPv4 forwarding on {interface}"),
            AddRoute { dest, via, node } => write!(f, "+ route {dest} via {via} ({node})"),
            ReplaceRoute { dest, via, node, was } => write!(f, "~ route {dest} via {via} ({node}), was {was}"),
            DeleteRoute { dest, via } => write!(f, "- route {dest} via {via} (no node owns it any more)"),
            AddHostRoute { address, purpose } => write!(f, "+ {purpose} route {address}/32 on the container network's adapter"),
            RestartRemoteAccess => write!(f, "~ restart the RemoteAccess service, so RRAS takes the new container network's adapter"),
            InstallNat => write!(f, "+ install RRAS NAT"),
            DeletePortMapping { mapping } => write!(f, "- port mapping {mapping} (no component publishes it)"),
            AddNatInterface { interface, private } => write!(f, "+ outbound NAT: {interface} as the {} side", if *private { "private" } else { "public (full)" }),
        }
    }
}

/// DNS servers as a plan shows them: `10.0.0.2, 10.0.0.3`.
fn dns_list(dns: &[Ipv4Addr]) -> String {
    dns.iter()
        .map(Ipv4Addr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn driver_name(d: WindowsDriver) -> &'static str {
    match d {
        WindowsDriver::Transparent => "transparent",
        WindowsDriver::L2bridge => "l2bridge",
    }
}
