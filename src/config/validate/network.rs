//! `network:`: cluster_cidr and node_prefix, the metadata and DNS addresses, the Windows
//! driver and DNS servers, and the container engine; and the special-purpose ranges a container subnet cannot
//! live in.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{parse_v4, set_help, Checker, S};
use crate::config::model::{ContainerEngine, Network, Node, Os, WindowsDriver};
use crate::config::schema::{RawConfig, RawNetwork};

pub(super) fn check_network(c: &mut Checker, raw: Option<&S<RawNetwork>>) -> Option<Network> {
    let default_cidr: Ipv4Net = "10.42.0.0/16".parse().ok()?;
    let Some(raw) = raw else {
        return Some(Network {
            cluster_cidr: default_cidr,
            node_prefix: 24,
            metadata_address: None,
            dns_address: None,
            outbound_nat: true,
            windows_driver: WindowsDriver::Transparent,
            windows_dns_servers: None,
            container_engine: ContainerEngine::Docker,
        });
    };
    let n = &raw.value;
    let cluster_cidr = match &n.cluster_cidr {
        None => Some(default_cidr),
        Some(s) => check_cluster_cidr(c, s),
    };
    let node_prefix = check_node_prefix(c, n, cluster_cidr);
    let (metadata_address, dns_address) = check_addresses(c, n, cluster_cidr);
    let windows_driver = windows_driver(c, n);
    let windows_dns_servers = n
        .windows_dns_servers
        .as_ref()
        .map(|list| windows_dns_servers(c, list));
    let container_engine = container_engine(c, n);
    Some(Network {
        cluster_cidr: cluster_cidr?,
        node_prefix,
        metadata_address,
        dns_address,
        outbound_nat: n.outbound_nat.unwrap_or(true),
        windows_driver,
        windows_dns_servers,
        container_engine,
    })
}

/// A written cluster_cidr: a network address, and not in a reserved range.
fn check_cluster_cidr(c: &mut Checker, s: &S<String>) -> Option<Ipv4Net> {
    match s.value.parse::<Ipv4Net>() {
        Ok(net) if net.network() == net.addr() => {
            if let Some((range, why)) = reserved_overlap(&net) {
                let d = c.error(s, format!("cluster_cidr {net} overlaps {range}, {why}"));
                set_help(
                    d,
                    "pick a private range (RFC 1918) that no host uses, e.g. 10.42.0.0/16",
                );
            }
            Some(net)
        }
        Ok(net) => {
            let d = c.error(s, format!("cluster_cidr `{}` has host bits set", s.value));
            set_help(d, format!("did you mean {}?", net.trunc()));
            None
        }
        Err(_) => {
            c.error(
                s,
                format!(
                    "cluster_cidr `{}` is not an IPv4 CIDR like 10.42.0.0/16",
                    s.value
                ),
            );
            None
        }
    }
}

fn check_node_prefix(c: &mut Checker, n: &RawNetwork, cluster_cidr: Option<Ipv4Net>) -> u8 {
    match &n.node_prefix {
        None => 24,
        Some(p) => {
            let cluster_len = cluster_cidr.map(|n| n.prefix_len()).unwrap_or(0);
            if p.value > 30 || p.value < cluster_len {
                let d = c.error(p, format!("node_prefix /{} is not usable", p.value));
                set_help(
                    d,
                    format!("pick a prefix between /{cluster_len} (the cluster_cidr) and /30"),
                );
            }
            p.value
        }
    }
}

/// metadata_address and dns_address: IPv4 addresses outside cluster_cidr.
fn check_addresses(
    c: &mut Checker,
    n: &RawNetwork,
    cluster_cidr: Option<Ipv4Net>,
) -> (Option<Ipv4Addr>, Option<Ipv4Addr>) {
    let metadata_address = n
        .metadata_address
        .as_ref()
        .and_then(|s| parse_v4(c, s, "metadata_address"));
    let dns_address = n
        .dns_address
        .as_ref()
        .and_then(|s| parse_v4(c, s, "dns_address"));
    if let Some(cidr) = cluster_cidr {
        for (field, s, ip) in [
            ("metadata_address", &n.metadata_address, metadata_address),
            ("dns_address", &n.dns_address, dns_address),
        ] {
            if let (Some(s), Some(ip)) = (s, ip) {
                if cidr.contains(&ip) {
                    c.error(s, format!("{field} {ip} lies inside cluster_cidr {cidr}; it must be outside every node subnet"));
                }
            }
        }
    }
    (metadata_address, dns_address)
}

fn windows_driver(c: &mut Checker, n: &RawNetwork) -> WindowsDriver {
    match &n.windows_driver {
        None => WindowsDriver::Transparent,
        Some(s) => match s.value.as_str() {
            "transparent" => WindowsDriver::Transparent,
            "l2bridge" => WindowsDriver::L2bridge,
            other => {
                c.error(
                    s,
                    format!("windows_driver `{other}` is not one of: transparent, l2bridge"),
                );
                WindowsDriver::Transparent
            }
        },
    }
}

/// windows_dns_servers: one or more IPv4 addresses a container can send queries to. Not the
/// unspecified address, a loopback address (inside a container that is the container itself),
/// a multicast or the broadcast address.
fn windows_dns_servers(c: &mut Checker, list: &S<Vec<S<String>>>) -> Vec<Ipv4Addr> {
    if list.value.is_empty() {
        let d = c.error(list, "windows_dns_servers is an empty list");
        set_help(
            d,
            "list one or more IPv4 addresses, or leave the key out to give each Windows node's containers the host's own DNS servers",
        );
        return Vec::new();
    }
    let mut servers = Vec::new();
    for s in &list.value {
        let Some(ip) = parse_v4(c, s, "windows_dns_servers entry") else {
            continue;
        };
        let why = if ip.is_unspecified() {
            Some("the unspecified address")
        } else if ip.is_loopback() {
            Some("a loopback address, which inside a container is the container itself")
        } else if ip.is_multicast() {
            Some("a multicast address")
        } else if ip.is_broadcast() {
            Some("the broadcast address")
        } else {
            None
        };
        match why {
            Some(why) => {
                let d = c.error(s, format!("windows_dns_servers entry {ip} is {why}"));
                set_help(
                    d,
                    "give the address of a DNS server the containers can reach",
                );
            }
            None => servers.push(ip),
        }
    }
    servers
}

fn container_engine(c: &mut Checker, n: &RawNetwork) -> ContainerEngine {
    match &n.container_engine {
        None => ContainerEngine::Docker,
        Some(s) => match s.value.as_str() {
            "docker" => ContainerEngine::Docker,
            "none" => ContainerEngine::None,
            other => {
                c.error(
                    s,
                    format!("container_engine `{other}` is not one of: docker, none"),
                );
                ContainerEngine::Docker
            }
        },
    }
}

/// `container_engine: none` is routing only: no components, and Linux nodes only (a Windows
/// container network is made by its engine).
pub(super) fn check_engine_none(c: &mut Checker, raw: &RawConfig, nodes: &[Node]) {
    let Some(engine) = raw
        .network
        .as_ref()
        .and_then(|n| n.value.container_engine.as_ref())
        .filter(|e| e.value == "none")
    else {
        return;
    };
    if let Some(first) = raw.components.first() {
        let d = c.error(
            &first.value.name,
            "components need a container engine, but network.container_engine is none",
        );
        set_help(d, "remove the components, or set container_engine: docker");
    }
    if let Some(w) = nodes.iter().find(|n| n.os == Os::Windows) {
        let d = c.error(
            engine,
            format!(
                "container_engine none is for Linux hosts only, and node {} runs Windows",
                w.name
            ),
        );
        set_help(
            d,
            "a Windows container network is made by its container engine: use docker",
        );
    }
}

/// Special-purpose ranges a container subnet cannot live in (RFC 6890's registry): routers do
/// not forward them, or hosts treat them specially. Link-local also holds seed 000's metadata
/// and DNS addresses (169.254.169.250 and .251), whether or not this file sets them.
fn reserved_overlap(net: &Ipv4Net) -> Option<(Ipv4Net, &'static str)> {
    const RESERVED: [(&str, &str); 5] = [
        ("0.0.0.0/8", "\"this network\" (RFC 1122), which hosts never route"),
        ("127.0.0.0/8", "the loopback range (RFC 1122), which never leaves a host"),
        (
            "169.254.0.0/16",
            "the link-local range: routers do not forward it (RFC 3927), and it holds the metadata and DNS addresses 169.254.169.250 and 169.254.169.251",
        ),
        ("224.0.0.0/4", "the multicast range (RFC 5771)"),
        ("240.0.0.0/4", "the reserved range (RFC 1112), which hosts do not route"),
    ];
    RESERVED.iter().find_map(|(range, why)| {
        let range: Ipv4Net = range.parse().expect("a valid constant");
        (range.contains(&net.network()) || net.contains(&range.network())).then_some((range, *why))
    })
}

#[cfg(test)]
mod tests {
    /// `windows_dns_servers` reaches the model in order; left out, each host's own are used
    /// (`None`). Its mistakes are the bad-config corpus's `windows-dns-servers-*` cases.
    #[test]
    fn windows_dns_servers_are_read_in_order() {
        let key = std::env::temp_dir().join("rwin-network-test-key");
        std::fs::write(&key, "k").unwrap();
        let load = |network: &str| {
            let text = format!(
                "ssh_key_path: {}\n{network}nodes:\n  - {{address: 192.0.2.1}}\n",
                key.display()
            );
            crate::config::load_str(std::path::Path::new("c.yml"), text)
                .map(|(c, _)| c.network.windows_dns_servers)
                .map_err(|r| r.render())
                .unwrap()
        };
        assert_eq!(load(""), None);
        assert_eq!(
            load("network:\n  windows_dns_servers: [10.0.0.3, 169.254.169.251]\n"),
            Some(vec![
                "10.0.0.3".parse().unwrap(),
                "169.254.169.251".parse().unwrap()
            ])
        );
    }
}
