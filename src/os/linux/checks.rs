//! What `doctor` concludes from a Linux host's facts, row by row. Pure.

use ipnet::Ipv4Net;

use super::{
    boot_script, list, sha256_hex, LinuxFacts, BOOT_SCRIPT, BOOT_UNIT, BRIDGE, SYSCTL_DROPIN,
};
use crate::os::{Check, DesiredHost};
use crate::ui::one_line;

/// What `doctor` concludes from a Linux host's facts. Pure.
pub fn checks(d: &DesiredHost, f: &LinuxFacts) -> Vec<Check> {
    let mut v = vec![Check::pass(
        "operating system",
        format!("{}, kernel {}", one_line(&f.os), one_line(&f.kernel)),
    )];
    v.push(forwarding(f));
    v.push(forwarding_at_boot(f));
    v.push(gateway(d, f));
    v.push(routes(d, f));
    v.push(stray_routes(d, f));
    v.extend(outbound_nat(d, f));
    v.extend(firewall(d, f));
    v.extend(routes_at_boot(d, f));
    v.push(overlap(d, f));
    v
}

fn forwarding(f: &LinuxFacts) -> Check {
    if f.forwarding {
        Check::pass("IPv4 forwarding", "on")
    } else {
        Check::fail(
            "IPv4 forwarding",
            "off: the host drops traffic for other nodes' subnets",
            "rwin up (or: sysctl -w net.ipv4.ip_forward=1)",
        )
    }
}

fn forwarding_at_boot(f: &LinuxFacts) -> Check {
    if f.dropin_ok {
        Check::pass("forwarding at boot", SYSCTL_DROPIN)
    } else {
        Check::fail(
            "forwarding at boot",
            format!("{SYSCTL_DROPIN} missing or changed: forwarding is lost on reboot"),
            "rwin up",
        )
    }
}

/// The node's gateway address on rwin's bridge.
fn gateway(d: &DesiredHost, f: &LinuxFacts) -> Check {
    let gw = Ipv4Net::new(d.gateway, d.subnet.prefix_len()).ok();
    match gw {
        Some(gw) if f.bridge_addrs.contains(&gw) => Check::pass(
            "gateway on the container bridge",
            format!("{gw} on {BRIDGE}"),
        ),
        _ => Check::fail(
            "gateway on the container bridge",
            format!(
                "{BRIDGE} has {} instead of {}/{}",
                list(&f.bridge_addrs),
                d.gateway,
                d.subnet.prefix_len()
            ),
            if d.plain_bridge {
                "rwin up (puts the gateway back on the bridge)"
            } else {
                "rwin up (recreates the container network)"
            },
        ),
    }
}

/// Routes to every other node's subnet, each via that node.
fn routes(d: &DesiredHost, f: &LinuxFacts) -> Check {
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for (dest, via, node) in &d.routes {
        match f.routes.get(dest) {
            None => missing.push(format!("{dest} via {via} ({node})")),
            Some(got) if got != via => {
                wrong.push(format!("{dest} via {got}, should be via {via} ({node})"))
            }
            Some(_) => {}
        }
    }
    if missing.is_empty() && wrong.is_empty() {
        Check::pass(
            "routes to other nodes",
            format!("{} of {}, right next hops", d.routes.len(), d.routes.len()),
        )
    } else {
        let mut detail = Vec::new();
        if !missing.is_empty() {
            detail.push(format!("missing: {}", missing.join(", ")));
        }
        if !wrong.is_empty() {
            detail.push(format!("wrong next hop: {}", wrong.join(", ")));
        }
        Check::fail("routes to other nodes", detail.join("; "), "rwin up")
    }
}

/// rwin's routes into the cluster range that no node owns.
fn stray_routes(d: &DesiredHost, f: &LinuxFacts) -> Check {
    let extra: Vec<String> = f
        .routes
        .iter()
        .filter(|(dest, _)| {
            d.cluster_cidr.contains(*dest) && !d.routes.iter().any(|(x, _, _)| x == *dest)
        })
        .map(|(dest, via)| format!("{dest} via {via}"))
        .collect();
    if extra.is_empty() {
        Check::pass("no stray routes", "only routes rwin plans")
    } else {
        Check::fail(
            "no stray routes",
            format!("routes no node owns: {}", extra.join(", ")),
            "rwin up (removes them)",
        )
    }
}

fn outbound_nat(d: &DesiredHost, f: &LinuxFacts) -> Option<Check> {
    if !d.outbound_nat {
        return None;
    }
    Some(match (f.iptables, f.nat_rule) {
        (true, true) => Check::pass(
            "outbound NAT",
            format!("{} to outside {}", d.subnet, d.cluster_cidr),
        ),
        (true, false) => Check::fail(
            "outbound NAT",
            "the MASQUERADE rule is missing: pods cannot reach outside the cluster",
            "rwin up",
        ),
        (false, _) => Check::fail(
            "outbound NAT",
            "no iptables on the host",
            "install iptables, or set network.outbound_nat: false",
        ),
    })
}

fn firewall(d: &DesiredHost, f: &LinuxFacts) -> Option<Check> {
    if !f.iptables {
        return None;
    }
    Some(if f.forward_rule {
        Check::pass(
            "firewall rule",
            format!(
                "forwarding allowed between {} and {}",
                d.cluster_cidr, d.subnet
            ),
        )
    } else {
        Check::fail(
            "firewall rule",
            "rwin's FORWARD accept rule is missing",
            "rwin up",
        )
    })
}

/// The boot script and unit that put the routes and rules back, where there is systemd.
fn routes_at_boot(d: &DesiredHost, f: &LinuxFacts) -> Option<Check> {
    if !f.systemd {
        return None;
    }
    let current =
        f.boot_unit && f.boot_script_sha.as_deref() == Some(sha256_hex(&boot_script(d)).as_str());
    Some(if current {
        Check::pass("routes at boot", BOOT_UNIT)
    } else {
        Check::fail(
            "routes at boot",
            format!("{BOOT_SCRIPT} or {BOOT_UNIT} missing or out of date"),
            "rwin up",
        )
    })
}

/// The cluster range against the host's own networks.
fn overlap(d: &DesiredHost, f: &LinuxFacts) -> Check {
    let overlaps: Vec<String> = f
        .host_nets
        .iter()
        .filter(|(_, net)| {
            d.cluster_cidr.contains(&net.network()) || net.contains(&d.cluster_cidr.network())
        })
        .map(|(dev, net)| format!("{net} on {dev}"))
        .collect();
    if overlaps.is_empty() {
        Check::pass(
            "no overlap with host networks",
            format!("{} is clear of the host's own networks", d.cluster_cidr),
        )
    } else {
        Check::fail(
            "no overlap with host networks",
            format!("{} overlaps {}", d.cluster_cidr, overlaps.join(", ")),
            "choose a cluster_cidr outside the hosts' networks",
        )
    }
}
