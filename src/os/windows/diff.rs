//! Facts against the desired host: the changes a Windows node needs, in the order they are
//! applied (the router first, then the container network, then what hangs off its adapter),
//! and the blockers that no change can fix.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::change::{driver_name, Change};
use super::facts::{is_vethernet, Adapter, WindowsFacts};
use super::{firewall_rule_name, DEVCON, FEATURES, LOOPBACK_NAME, NETWORK};
use crate::os::DesiredHost;

/// The NIC that carries routed traffic: `route_interface` when set; otherwise the one Up
/// adapter, not a vEthernet one, that holds the node's internal address. Once a transparent
/// network is bound to it, Windows moves that address to `vEthernet (<NIC>)`; the NIC with
/// the same MAC is then still the answer.
pub fn route_interface<'a>(d: &DesiredHost, f: &'a WindowsFacts) -> Result<&'a Adapter, String> {
    let names = || {
        let v: Vec<&str> = f
            .adapters
            .iter()
            .filter(|a| !is_vethernet(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        if v.is_empty() {
            "(no adapters found)".to_string()
        } else {
            v.join(", ")
        }
    };
    if let Some(name) = &d.windows.route_interface {
        return f.adapter(name).ok_or_else(|| format!("route_interface {name:?} is not a network adapter on this host: set route_interface: to one of: {}", names()));
    }
    let holder = f.if_index_of(d.internal_address);
    let up = |a: &&Adapter| a.status.eq_ignore_ascii_case("Up") && !is_vethernet(&a.name);
    let mut found: Vec<&Adapter> = f
        .adapters
        .iter()
        .filter(up)
        .filter(|a| Some(a.if_index) == holder)
        .collect();
    if found.is_empty() {
        if let Some(v) = holder
            .and_then(|i| f.adapter_by_index(i))
            .filter(|a| is_vethernet(&a.name))
        {
            found = f
                .adapters
                .iter()
                .filter(up)
                .filter(|a| a.mac.eq_ignore_ascii_case(&v.mac))
                .collect();
        }
    }
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("no Up network adapter (other than vEthernet) holds the internal address {}: set route_interface: to one of: {}", d.internal_address, names())),
        many => Err(format!("several adapters match the internal address {}: set route_interface: to one of: {}", d.internal_address, many.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "))),
    }
}

/// Where the container network sits on a Windows node. Never on the route NIC: binding a
/// transparent network to a NIC takes TCP/IP off it and moves its address to a vEthernet
/// adapter after a while, dropping the connections through it meanwhile (issue 12 §1;
/// tests/winsim/BEHAVIOURS.md). The seeds bind it to an adapter of its own: a second NIC
/// (seed 001) or a loopback adapter made for it (seeds 000 and 002).
#[derive(Debug, Clone)]
pub struct Layout<'a> {
    /// Where other nodes' routes and this node's routes to them go (it keeps its address).
    pub route_if: &'a Adapter,
    /// The name of the adapter the network is bound to, and the adapter once it exists.
    pub bind_name: String,
    pub bind_if: Option<&'a Adapter>,
    /// rwin makes (or made) that adapter: a loopback adapter, with devcon.
    pub loopback: bool,
}

impl<'a> Layout<'a> {
    /// RRAS NAT's public (`full`) side, where port mappings go: the interface of the host's
    /// default route (the lowest metric: where outbound traffic leaves), else the route NIC.
    pub fn nat_public(&self, f: &'a WindowsFacts) -> &'a str {
        f.default_route_if()
            .and_then(|i| f.interface_alias(i))
            .unwrap_or(&self.route_if.name)
    }
}

/// The node's layout, or why there is none (then `blockers` says it).
pub fn layout<'a>(d: &DesiredHost, f: &'a WindowsFacts) -> Result<Layout<'a>, String> {
    let route_if = route_interface(d, f)?;
    let Some(name) = &d.windows.container_interface else {
        let bind_if = f.adapter(LOOPBACK_NAME);
        if bind_if.is_none() && !f.devcon {
            return Err(format!(
                "the container network needs an adapter of its own, and there is none: put Microsoft's devcon.exe (Windows Driver Kit) at {DEVCON} so rwin can make a loopback adapter {LOOPBACK_NAME} for it, or give the node a second NIC and name it with container_interface:"
            ));
        }
        return Ok(Layout {
            route_if,
            bind_name: LOOPBACK_NAME.to_string(),
            bind_if,
            loopback: true,
        });
    };
    let bind_if = f.adapter(name).ok_or_else(|| {
        let names: Vec<&str> = f
            .adapters
            .iter()
            .filter(|a| !is_vethernet(&a.name) && a.name != route_if.name)
            .map(|a| a.name.as_str())
            .collect();
        format!(
            "container_interface {name:?} is not a network adapter on this host: set it to a NIC other than the route NIC {:?}; the others are: {}",
            route_if.name,
            if names.is_empty() { "(none)".to_string() } else { names.join(", ") }
        )
    })?;
    if bind_if.if_index == route_if.if_index || bind_if.mac.eq_ignore_ascii_case(&route_if.mac) {
        return Err(format!(
            "container_interface {name:?} is the route NIC (it holds the internal address {}): the container network needs a NIC of its own",
            d.internal_address
        ));
    }
    Ok(Layout {
        route_if,
        bind_name: name.clone(),
        bind_if: Some(bind_if),
        loopback: false,
    })
}

/// The firewall rule's remote addresses: the cluster range and every node's route IP.
pub fn firewall_remote(d: &DesiredHost) -> Vec<String> {
    let mut v = vec![d.cluster_cidr.to_string()];
    for a in &d.node_addresses {
        if !d.cluster_cidr.contains(a) && !v.contains(&a.to_string()) {
            v.push(a.to_string());
        }
    }
    v
}

/// Windows shows `10.42.0.0/255.255.0.0` for what was given as `10.42.0.0/16`.
pub(crate) fn parse_remote(s: &str) -> Option<Ipv4Net> {
    match s.trim().split_once('/') {
        None => Ipv4Net::new(s.trim().parse().ok()?, 32).ok(),
        Some((a, m)) => {
            let a: Ipv4Addr = a.parse().ok()?;
            let len = match m.parse::<u8>() {
                Ok(n) => n,
                Err(_) => Ipv4Net::with_netmask(a, m.parse().ok()?).ok()?.prefix_len(),
            };
            Ipv4Net::new(a, len).ok()
        }
    }
}

pub(crate) fn same_remote(want: &[String], got: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut n: Vec<Option<Ipv4Net>> = v
            .iter()
            .map(|s| parse_remote(s).map(|n| n.trunc()))
            .collect();
        n.sort();
        n.dedup();
        n
    };
    norm(want) == norm(got)
}

/// Everything that differs between the facts and the desired configuration. Pure. With no
/// usable route interface only the router changes are listed: `blockers` says why.
pub fn diff(d: &DesiredHost, f: &WindowsFacts) -> Vec<Change> {
    let mut v = Vec::new();
    let missing: Vec<String> = FEATURES
        .iter()
        .filter(|n| !matches!(f.feature_state(n), Some("Installed" | "InstallPending")))
        .map(|n| n.to_string())
        .collect();
    if !missing.is_empty() {
        v.push(Change::InstallFeatures { names: missing });
    }
    if f.routing_status.as_deref() != Some("Installed") {
        v.push(Change::ConfigureRouting);
    }
    let svc = f.service("RemoteAccess");
    match svc.map(|s| s.start_type.as_str()) {
        Some("Automatic") => {}
        other => v.push(Change::RemoteAccessAutomatic {
            was: other.unwrap_or("not installed").to_string(),
        }),
    }
    if svc.map(|s| s.status.as_str()) != Some("Running") {
        v.push(Change::StartRemoteAccess);
    }
    if f.ip_enable_router != Some(1) {
        v.push(Change::SetIpEnableRouter);
    }
    let rule = firewall_rule_name(&d.cluster);
    let remote = firewall_remote(d);
    match &f.firewall_rule {
        None => v.push(Change::AddFirewallRule { name: rule, remote }),
        Some(r) => {
            let why = if !same_remote(&remote, &r.remote_address) {
                Some(format!("admitted {}", r.remote_address.join(", ")))
            } else if r.enabled != "True" || r.direction != "Inbound" || r.action != "Allow" {
                Some(format!(
                    "was enabled={} {} {}",
                    r.enabled, r.direction, r.action
                ))
            } else {
                None
            };
            if let Some(why) = why {
                v.push(Change::ReplaceFirewallRule {
                    name: rule,
                    remote,
                    why,
                });
            }
        }
    }
    let Ok(layout) = layout(d, f) else {
        return v;
    };
    // No network without DNS servers for its containers (`dns.rs`): the blockers say why.
    let Ok(dns) = super::dns::dns_servers(d, f) else {
        return v;
    };
    network_changes(d, f, layout, dns, &mut v);
    v
}

fn network_changes(
    d: &DesiredHost,
    f: &WindowsFacts,
    layout: Layout,
    dns: Vec<Ipv4Addr>,
    v: &mut Vec<Change>,
) {
    let route_if = layout.route_if;
    if layout.bind_if.is_none() {
        v.push(Change::CreateLoopback {
            name: layout.bind_name.clone(),
        });
    }
    let (driver, subnet, gateway, interface) = (
        d.windows.driver,
        d.subnet,
        d.gateway,
        layout.bind_name.clone(),
    );
    let found = f.network(NETWORK);
    let new_network = match &found {
        None => {
            v.push(Change::CreateNetwork {
                driver,
                subnet,
                gateway,
                interface: interface.clone(),
                dns,
            });
            true
        }
        Some(n) => {
            let want = (
                driver_name(driver),
                subnet.to_string(),
                gateway.to_string(),
                interface.as_str(),
                dns.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            );
            let got = (
                n.driver.to_lowercase(),
                n.subnet.clone().unwrap_or_default(),
                n.gateway.clone().unwrap_or_default(),
                n.interface.as_deref().unwrap_or(""),
                super::dns::option_list(n.dns_servers.as_deref()),
            );
            let differs = want.0 != got.0
                || want.1 != got.1
                || want.2 != got.2
                || want.3 != got.3
                || want.4 != got.4;
            if differs {
                let why = format!(
                    "{}, {}, gateway {}, on {}, DNS {}",
                    got.0,
                    or_none(&got.1),
                    or_none(&got.2),
                    or_none(got.3),
                    or_none(&got.4.join(", "))
                );
                v.push(Change::RecreateNetwork {
                    driver,
                    subnet,
                    gateway,
                    interface: interface.clone(),
                    dns,
                    why,
                });
            }
            differs
        }
    };
    let adapter = if new_network {
        None
    } else {
        layout.bind_if.and_then(|b| f.container_adapter(b))
    };
    let container_name = adapter
        .map(|a| a.name.clone())
        .unwrap_or_else(|| format!("vEthernet ({})", layout.bind_name));
    let gw = gateway.to_string();
    let has_gw = adapter.is_some_and(|a| {
        f.addresses.iter().any(|x| {
            x.if_index == a.if_index && x.ip == gw && x.prefix_length == subnet.prefix_len()
        })
    });
    if let Some(a) = adapter {
        for x in f
            .addresses
            .iter()
            .filter(|x| x.if_index == a.if_index && x.ip != gw)
        {
            if let Ok(ip) = x.ip.parse::<Ipv4Addr>() {
                if d.cluster_cidr.contains(&ip) {
                    v.push(Change::RemoveAddress { ip });
                }
            }
        }
    }
    if !has_gw {
        v.push(Change::AddGatewayAddress {
            gateway,
            prefix_len: subnet.prefix_len(),
        });
    }
    let holder = f.if_index_of(d.internal_address);
    let route_alias = holder
        .and_then(|i| f.adapter_by_index(i))
        .map(|a| a.name.clone())
        .unwrap_or_else(|| route_if.name.clone());
    if new_network || holder.and_then(|i| f.forwarding(i)) != Some("Enabled") {
        v.push(Change::EnableForwarding {
            interface: route_alias,
            container: false,
        });
    }
    if adapter.and_then(|a| f.forwarding(a.if_index)) != Some("Enabled") {
        v.push(Change::EnableForwarding {
            interface: container_name.clone(),
            container: true,
        });
    }
    route_changes(d, f, holder, new_network, v);
    let host_routes = [
        (d.windows.metadata_address, "metadata"),
        (d.windows.dns_address, "DNS"),
    ];
    for (address, purpose) in host_routes.iter().filter_map(|(a, p)| a.map(|a| (a, *p))) {
        let dest = format!("{address}/32");
        let ok = adapter.is_some_and(|a| {
            f.routes
                .iter()
                .any(|r| r.dest == dest && r.if_index == a.if_index)
        });
        if !ok {
            v.push(Change::AddHostRoute {
                address,
                purpose: purpose.to_string(),
            });
        }
    }
    // RRAS takes the host's interfaces when RemoteAccess starts: a network made now has a new
    // vEthernet adapter that its NAT (and routing) do not know until RemoteAccess restarts.
    // Code that works on real hosts restarts it after creating the network, before adding NAT
    // interfaces (Calico's node-service.ps1, "to pick up any interface renumbering"; Rancher's
    // per-host-subnet startup script for rancher/rancher#10544). Inferred, not documented:
    // tests/winsim/BEHAVIOURS.md, "Routing and RRAS".
    if new_network {
        v.push(Change::RestartRemoteAccess);
    }
    // Published ports are RRAS NAT port mappings on the route NIC: they need NAT installed and
    // the NIC registered as its public side even without outbound NAT.
    let publishes = !d.published.is_empty();
    if d.outbound_nat || publishes {
        let nat = f.nat_interfaces();
        let has = |name: &str, mode: &str| nat.iter().any(|(n, m)| n == name && m == mode);
        if !f.nat_installed() {
            v.push(Change::InstallNat);
        }
        let public = layout.nat_public(f);
        if !has(public, "FULL") {
            v.push(Change::AddNatInterface {
                interface: public.to_string(),
                private: false,
            });
        }
        for mapping in super::ports::stray_mappings(d, f, public) {
            v.push(Change::DeletePortMapping { mapping });
        }
    }
    // The container side is RRAS NAT's private interface, as published RRAS NAT setups
    // register their internal vEthernet adapters (`add interface "vEthernet (…)" mode=PRIVATE`
    // after the public one; victorar/azure-hybrid-networking Configure-NVA.ps1, an Azure Stack
    // HCI host script) and as issue 12 asks. Rancher 1.6 registered only `full` interfaces and
    // no private one (WINDOWS.md, "Rancher 1.6 exactly"); rwin follows the published setups
    // and the issue, and the mixed lab's outbound checks run through it (winsim's NAT model).
    if d.outbound_nat {
        let nat = f.nat_interfaces();
        let has = |name: &str, mode: &str| nat.iter().any(|(n, m)| n == name && m == mode);
        if !has(&container_name, "PRIVATE") {
            v.push(Change::AddNatInterface {
                interface: container_name,
                private: true,
            });
        }
    }
}

fn route_changes(
    d: &DesiredHost,
    f: &WindowsFacts,
    holder: Option<u32>,
    new_network: bool,
    v: &mut Vec<Change>,
) {
    for (dest, via, node) in &d.routes {
        let dest_s = dest.to_string();
        let found: Vec<_> = f
            .routes
            .iter()
            .filter(|r| r.dest == dest_s && r.next_hop != "0.0.0.0")
            .collect();
        let right = |r: &&super::Route| r.next_hop == via.to_string() && Some(r.if_index) == holder;
        if found.is_empty() {
            v.push(Change::AddRoute {
                dest: *dest,
                via: *via,
                node: node.clone(),
            });
        } else if new_network || found.len() > 1 || !found.iter().all(right) {
            let was = found
                .iter()
                .map(|r| format!("via {} on interface {}", r.next_hop, r.if_index))
                .collect::<Vec<_>>()
                .join(" and ");
            // A new network can move the internal address to a new adapter: routes follow it.
            let was = if new_network && found.iter().all(right) {
                format!("{was}, re-added with the new network")
            } else {
                was
            };
            v.push(Change::ReplaceRoute {
                dest: *dest,
                via: *via,
                node: node.clone(),
                was,
            });
        }
    }
    for r in &f.routes {
        let (Ok(dest), Ok(via)) = (r.dest.parse::<Ipv4Net>(), r.next_hop.parse::<Ipv4Addr>())
        else {
            continue;
        };
        let stale = via != Ipv4Addr::UNSPECIFIED
            && d.cluster_cidr.contains(&dest)
            && dest != d.subnet
            && !d.routes.iter().any(|(x, _, _)| *x == dest);
        if stale && !v.contains(&Change::DeleteRoute { dest, via }) {
            v.push(Change::DeleteRoute { dest, via });
        }
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "none"
    } else {
        s
    }
}

/// Problems the diff cannot fix by itself, each saying what to do.
pub fn blockers(d: &DesiredHost, f: &WindowsFacts) -> Vec<String> {
    let mut v = Vec::new();
    if f.build_number().is_none() {
        v.push(format!("could not read the Windows build ({}\\CurrentBuildNumber): is this Windows Server 2019 or later, and is the user an administrator?", super::VERSION_KEY));
    }
    match f.docker() {
        None => v.push("Docker is not installed (no docker service, or `docker version` gave no answer): install Docker 17.06 or later (Docker CE/Moby or Mirantis Container Runtime)".into()),
        Some((ver, false)) => v.push(format!("the Docker engine does not answer (client {ver}): start it with Start-Service docker")),
        Some((ver, true)) if !docker_new_enough(&ver) => v.push(format!("Docker {ver} is too old: Windows nodes need Docker 17.06 or later")),
        Some(_) => {}
    }
    if let Err(e) = layout(d, f) {
        v.push(e);
    }
    if let Err(e) = super::dns::dns_servers(d, f) {
        v.push(e);
    }
    v
}

/// Docker versions are `YY.MM.patch[-suffix]` (17.06.2-ee-16, 20.10.9, 27.3.1).
pub(crate) fn docker_new_enough(version: &str) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (17, 6)
}
