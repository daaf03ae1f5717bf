//! What differs between a host's facts and its desired configuration. Pure.

use ipnet::Ipv4Net;

use super::{boot_script, list, sha256_hex, LinuxFacts, BOOT_SCRIPT, BRIDGE, SYSCTL_DROPIN};
use crate::os::{DesiredHost, HostChange};

/// Everything that differs between the facts and the desired configuration. Pure.
pub fn diff(d: &DesiredHost, f: &LinuxFacts) -> Vec<HostChange> {
    let mut changes = Vec::new();
    if !f.forwarding {
        changes.push(HostChange::EnableForwarding);
    }
    if d.plain_bridge {
        if let Ok(gw) = Ipv4Net::new(d.gateway, d.subnet.prefix_len()) {
            if f.bridge_addrs != [gw] {
                changes.push(HostChange::CreateBridge { gateway: gw });
            }
        }
    }
    if !f.dropin_ok {
        changes.push(HostChange::WriteForwardingDropin {
            path: SYSCTL_DROPIN.into(),
        });
    }
    for (dest, via, node) in &d.routes {
        match f.routes.get(dest) {
            None => changes.push(HostChange::AddRoute {
                dest: *dest,
                via: *via,
                node: node.clone(),
            }),
            Some(old) if old != via => changes.push(HostChange::ReplaceRoute {
                dest: *dest,
                via: *via,
                old_via: *old,
                node: node.clone(),
            }),
            Some(_) => {}
        }
    }
    // Only routes into this cluster's range: another cluster managed by rwin on the same host
    // keeps its own.
    for (dest, via) in f
        .routes
        .iter()
        .filter(|(dest, _)| d.cluster_cidr.contains(*dest))
    {
        if !d.routes.iter().any(|(d2, _, _)| d2 == dest) {
            changes.push(HostChange::DeleteRoute {
                dest: *dest,
                via: *via,
            });
        }
    }
    if f.iptables {
        if d.outbound_nat && !f.nat_rule {
            changes.push(HostChange::AddOutboundNat {
                subnet: d.subnet,
                cluster_cidr: d.cluster_cidr,
            });
        }
        if !d.outbound_nat && f.nat_rule {
            changes.push(HostChange::DeleteOutboundNat {
                subnet: d.subnet,
                cluster_cidr: d.cluster_cidr,
            });
        }
        if !f.forward_rule {
            changes.push(HostChange::AllowForwarding {
                subnet: d.subnet,
                cluster_cidr: d.cluster_cidr,
            });
        }
    }
    if f.systemd
        && (f.boot_script_sha.as_deref() != Some(sha256_hex(&boot_script(d)).as_str())
            || !f.boot_unit)
    {
        changes.push(HostChange::WriteBootRoutes {
            path: BOOT_SCRIPT.into(),
        });
    }
    changes
}

/// Drift of the container network that Docker's own view does not show: the gateway address
/// taken off (or changed on) rwin's bridge. Recreating the network puts it back.
pub fn network_drift(d: &DesiredHost, f: &LinuxFacts) -> Option<String> {
    let gw = Ipv4Net::new(d.gateway, d.subnet.prefix_len()).ok()?;
    (!f.bridge_addrs.contains(&gw)).then(|| {
        format!(
            "{BRIDGE} has {} instead of gateway {gw}",
            list(&f.bridge_addrs)
        )
    })
}

/// Problems the diff cannot fix by itself, to report before applying.
pub fn blockers(d: &DesiredHost, f: &LinuxFacts) -> Vec<String> {
    let mut v = Vec::new();
    if d.outbound_nat && !f.iptables {
        v.push("outbound_nat is on but the host has no iptables command: install iptables, or set network.outbound_nat: false".into());
    }
    v
}
