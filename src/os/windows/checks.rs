//! What `rwin doctor` concludes from a Windows host's facts: one check per thing a user would
//! notice broken, each with a one-line fix. Pure.

use std::net::Ipv4Addr;

use super::diff::{docker_new_enough, firewall_remote, same_remote};
use super::{firewall_rule_name, WindowsFacts, FEATURES, NETWORK};
use crate::os::{Check, DesiredHost};

const UP: &str = "rwin up";

pub fn checks(d: &DesiredHost, f: &WindowsFacts) -> Vec<Check> {
    let mut v = Vec::new();
    let build = f.build.as_deref().unwrap_or("unknown");
    let edition = f.edition.as_deref().unwrap_or("unknown edition");
    let ubr = f.ubr.map(|u| format!(".{u}")).unwrap_or_default();
    v.push(Check::pass(
        "operating system",
        format!("Windows build {build}{ubr}, {edition}"),
    ));
    v.push(match f.docker() {
        Some((ver, true)) if docker_new_enough(&ver) => {
            Check::pass("Docker", format!("engine {ver}"))
        }
        Some((ver, true)) => Check::fail(
            "Docker",
            format!("engine {ver} is older than 17.06"),
            "upgrade Docker to 17.06 or later",
        ),
        Some((ver, false)) => Check::fail(
            "Docker",
            format!("client {ver}, the engine does not answer"),
            "Start-Service docker",
        ),
        None => Check::fail(
            "Docker",
            "not installed",
            "install Docker 17.06 or later (Docker CE/Moby or Mirantis Container Runtime)",
        ),
    });
    let states: Vec<String> = FEATURES
        .iter()
        .map(|n| format!("{n} {}", f.feature_state(n).unwrap_or("missing")))
        .collect();
    v.push(
        if FEATURES
            .iter()
            .all(|n| f.feature_state(n) == Some("Installed"))
        {
            Check::pass("Routing installed", states.join(", "))
        } else if FEATURES
            .iter()
            .all(|n| matches!(f.feature_state(n), Some("Installed" | "InstallPending")))
        {
            Check::warn(
                "Routing installed",
                states.join(", "),
                "reboot the host to finish installing",
            )
        } else {
            Check::fail("Routing installed", states.join(", "), UP)
        },
    );
    v.push(if f.routing_status.as_deref() == Some("Installed") {
        Check::pass("RRAS routing", "configured (routing only)")
    } else {
        Check::fail(
            "RRAS routing",
            format!(
                "routing status {}",
                f.routing_status.as_deref().unwrap_or("unknown")
            ),
            UP,
        )
    });
    v.push(match f.service("RemoteAccess") {
        Some(s) if s.status == "Running" && s.start_type == "Automatic" => {
            Check::pass("RemoteAccess service", "running, starts automatically")
        }
        Some(s) => Check::fail(
            "RemoteAccess service",
            format!("{}, start type {}", s.status, s.start_type),
            UP,
        ),
        None => Check::fail("RemoteAccess service", "not installed", UP),
    });
    v.push(if f.ip_enable_router == Some(1) {
        Check::pass("IPEnableRouter", "1")
    } else {
        Check::fail(
            "IPEnableRouter",
            format!(
                "{} (routing is off after a reboot)",
                f.ip_enable_router
                    .map_or("not set".into(), |x| x.to_string())
            ),
            UP,
        )
    });
    v.push(if f.reboot_pending {
        Check::warn(
            "reboot pending",
            "Windows is waiting for a reboot",
            "reboot the host (or rwin up --allow-reboot)",
        )
    } else {
        Check::pass("reboot pending", "no")
    });
    let rule = firewall_rule_name(&d.cluster);
    v.push(match &f.firewall_rule {
        Some(r) if r.enabled == "True" && same_remote(&firewall_remote(d), &r.remote_address) => {
            Check::pass(
                "firewall rule",
                format!("{rule} admits {}", firewall_remote(d).join(", ")),
            )
        }
        Some(r) => Check::fail(
            "firewall rule",
            format!(
                "{rule} is enabled={} and admits {}",
                r.enabled,
                r.remote_address.join(", ")
            ),
            UP,
        ),
        None => Check::fail(
            "firewall rule",
            format!("{rule} is missing: other nodes cannot reach this host"),
            UP,
        ),
    });
    let layout = match super::diff::layout(d, f) {
        Ok(l) => l,
        Err(e) => {
            v.push(Check::fail(
                "route interface",
                e,
                "set route_interface: (and container_interface:) in cluster.yml",
            ));
            return v;
        }
    };
    let route_if = layout.route_if;
    v.push(Check::pass("route interface", route_if.name.clone()));
    v.push(match layout.bind_if {
        Some(a) => Check::pass(
            "container interface",
            if layout.loopback {
                format!("{} (the loopback adapter rwin made)", a.name)
            } else {
                format!("{} (a NIC of its own)", a.name)
            },
        ),
        None => Check::fail(
            "container interface",
            format!("the loopback adapter {} is missing", layout.bind_name),
            UP,
        ),
    });
    v.push(match f.network(NETWORK) {
        Some(n)
            if n.subnet.as_deref() == Some(&d.subnet.to_string())
                && n.gateway.as_deref() == Some(&d.gateway.to_string()) =>
        {
            Check::pass(
                "container network",
                format!(
                    "{NETWORK}: {} {}, gateway {}",
                    n.driver, d.subnet, d.gateway
                ),
            )
        }
        Some(n) => Check::fail(
            "container network",
            format!(
                "{NETWORK} has subnet {} gateway {}, should be {} gateway {}",
                n.subnet.unwrap_or_default(),
                n.gateway.unwrap_or_default(),
                d.subnet,
                d.gateway
            ),
            "rwin up (recreates it)",
        ),
        None => Check::fail("container network", format!("{NETWORK} is missing"), UP),
    });
    if let Some(n) = f.network(NETWORK) {
        v.push(dns_check(d, f, &n));
    }
    let adapter = layout.bind_if.and_then(|b| f.container_adapter(b));
    let gw = d.gateway.to_string();
    v.push(match adapter {
        Some(a)
            if f.addresses
                .iter()
                .any(|x| x.if_index == a.if_index && x.ip == gw) =>
        {
            Check::pass(
                "gateway on the container adapter",
                format!("{gw} on {}", a.name),
            )
        }
        Some(a) => Check::fail(
            "gateway on the container adapter",
            format!("{} does not hold {gw}", a.name),
            UP,
        ),
        None => Check::fail(
            "gateway on the container adapter",
            format!("no vEthernet adapter with the MAC of {}", layout.bind_name),
            UP,
        ),
    });
    routes(d, f, &mut v);
    for (addr, purpose) in [
        (d.windows.metadata_address, "metadata route"),
        (d.windows.dns_address, "DNS route"),
    ] {
        if let Some(addr) = addr {
            v.push(host_route(f, addr, purpose, adapter.map(|a| a.if_index)));
        }
    }
    if d.outbound_nat {
        let nat = f.nat_interfaces();
        let cname = adapter
            .map(|a| a.name.as_str())
            .unwrap_or("the container adapter");
        let public = layout.nat_public(f);
        let want = [(public, "FULL"), (cname, "PRIVATE")];
        let missing: Vec<String> = want
            .iter()
            .filter(|(n, m)| !nat.iter().any(|(a, b)| a == n && b == m))
            .map(|(n, m)| format!("{n} ({})", m.to_lowercase()))
            .collect();
        v.push(if missing.is_empty() {
            Check::pass("outbound NAT", format!("{public} public, {cname} private"))
        } else {
            Check::fail(
                "outbound NAT",
                format!(
                    "RRAS NAT lacks {}: pods cannot reach outside the cluster",
                    missing.join(", ")
                ),
                UP,
            )
        });
    }
    if !d.published.is_empty() {
        v.push(super::ports::check(d, f, layout.nat_public(f)));
    }
    v
}

fn routes(d: &DesiredHost, f: &WindowsFacts, v: &mut Vec<Check>) {
    let holder = f.if_index_of(d.internal_address);
    let mut bad = Vec::new();
    for (dest, via, node) in &d.routes {
        let dest_s = dest.to_string();
        let found: Vec<_> = f
            .routes
            .iter()
            .filter(|r| r.dest == dest_s && r.next_hop != "0.0.0.0")
            .collect();
        if found.is_empty() {
            bad.push(format!("missing {dest} via {via} ({node})"));
        } else if !found
            .iter()
            .all(|r| r.next_hop == via.to_string() && Some(r.if_index) == holder)
        {
            let got: Vec<String> = found
                .iter()
                .map(|r| format!("via {} on interface {}", r.next_hop, r.if_index))
                .collect();
            bad.push(format!(
                "{dest} is {}, should be via {via} ({node})",
                got.join(" and ")
            ));
        }
    }
    v.push(if bad.is_empty() {
        Check::pass(
            "routes to other nodes",
            format!("{} of {}, right next hops", d.routes.len(), d.routes.len()),
        )
    } else {
        Check::fail("routes to other nodes", bad.join("; "), UP)
    });
    let extra: Vec<String> = f
        .routes
        .iter()
        .filter(|r| r.next_hop != "0.0.0.0")
        .filter_map(|r| Some((r.dest.parse::<ipnet::Ipv4Net>().ok()?, r)))
        .filter(|(n, _)| {
            d.cluster_cidr.contains(n) && *n != d.subnet && !d.routes.iter().any(|(x, _, _)| x == n)
        })
        .map(|(n, r)| format!("{n} via {}", r.next_hop))
        .collect();
    v.push(if extra.is_empty() {
        Check::pass("no stray routes", "only routes rwin plans")
    } else {
        Check::fail(
            "no stray routes",
            format!("routes no node owns: {}", extra.join(", ")),
            "rwin up (removes them)",
        )
    });
}

fn host_route(f: &WindowsFacts, addr: Ipv4Addr, purpose: &str, container: Option<u32>) -> Check {
    let dest = format!("{addr}/32");
    match f.routes.iter().find(|r| r.dest == dest) {
        Some(r) if Some(r.if_index) == container => {
            Check::pass(purpose, format!("{dest} on the container adapter"))
        }
        Some(r) => Check::fail(
            purpose,
            format!(
                "{dest} is on interface {}, not the container adapter",
                r.if_index
            ),
            UP,
        ),
        None => Check::fail(purpose, format!("{dest} is missing"), UP),
    }
}

/// The container network gives its containers the DNS servers rwin wants (`dns.rs`).
fn dns_check(d: &DesiredHost, f: &WindowsFacts, n: &super::NetworkView) -> Check {
    const NAME: &str = "container DNS";
    let got = super::dns::option_list(n.dns_servers.as_deref());
    match super::dns::dns_servers(d, f) {
        Err(e) => Check::fail(
            NAME,
            e,
            "Set-DnsClientServerAddress on the host's NIC, or network.windows_dns_servers in cluster.yml",
        ),
        Ok(want) => {
            let want: Vec<String> = want.iter().map(|a| a.to_string()).collect();
            if got == want {
                Check::pass(NAME, format!("{NETWORK} gives containers {}", want.join(", ")))
            } else {
                Check::fail(
                    NAME,
                    format!(
                        "{NETWORK} gives containers {}, should be {}",
                        if got.is_empty() {
                            "no DNS server".to_string()
                        } else {
                            got.join(", ")
                        },
                        want.join(", ")
                    ),
                    "rwin up (recreates it)",
                )
            }
        }
    }
}
