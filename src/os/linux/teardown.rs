//! Undoing everything rwin made on a Linux host.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{
    forward_rules, nat_rule, LinuxFacts, BOOT_SCRIPT, BOOT_UNIT, BRIDGE, ROUTE_PROTO, SYSCTL_DROPIN,
};

/// Everything rwin made on a host, as recorded in the state file, to undo.
#[derive(Debug, Clone)]
pub struct Teardown {
    pub cluster: String,
    pub subnet: Option<Ipv4Net>,
    pub cluster_cidr: Ipv4Net,
    pub restore_forwarding_off: bool,
    /// rwin made the bridge itself (no container engine): delete it.
    pub plain_bridge: bool,
    /// rwin's routes found on the host (into the cluster range).
    pub routes: Vec<(Ipv4Net, Ipv4Addr)>,
}

impl Teardown {
    /// rwin's routes among `facts`, limited to this cluster's range.
    pub fn routes_from(facts: &LinuxFacts, cluster_cidr: Ipv4Net) -> Vec<(Ipv4Net, Ipv4Addr)> {
        facts
            .routes
            .iter()
            .filter(|(d, _)| cluster_cidr.contains(*d))
            .map(|(d, v)| (*d, *v))
            .collect()
    }
}

/// One script that removes rwin's host configuration: routes into the cluster range, NAT and
/// firewall rules, boot unit and script, the forwarding drop-in and rwin's directories.
/// Forwarding is switched back off only if rwin switched it on. Every step runs even if one
/// fails; the script prints `left=WHAT` for anything it could not remove.
pub fn teardown_script(t: &Teardown) -> String {
    let mut s = String::from("left() { echo \"left=$1\"; }\n");
    for (dest, via) in &t.routes {
        let _ = writeln!(s, "ip route del {dest} via {via} proto {ROUTE_PROTO} && echo 'removed=route {dest} via {via}' || left 'route {dest}'");
    }
    if let Some(subnet) = t.subnet {
        let nat = nat_rule(subnet, t.cluster_cidr, &t.cluster);
        let _ = writeln!(s, "if command -v iptables >/dev/null; then\n  while iptables -t nat -D {nat} 2>/dev/null; do echo 'removed=NAT rule'; done");
        for rule in forward_rules(subnet, t.cluster_cidr, &t.cluster) {
            let _ = writeln!(
                s,
                "  while iptables -D {rule} 2>/dev/null; do echo 'removed=firewall rule'; done"
            );
        }
        s.push_str("fi\n");
    }
    let _ = writeln!(
        s,
        "for f in /etc/systemd/system/multi-user.target.wants/rwin-routes.service {BOOT_UNIT} {BOOT_SCRIPT} {SYSCTL_DROPIN}; do\n  [ -e \"$f\" ] || [ -L \"$f\" ] || continue\n  rm -f \"$f\" && echo \"removed=$f\" || left \"$f\"\ndone\n[ -d /run/systemd/system ] && systemctl daemon-reload 2>/dev/null\nfor d in /etc/rwin /var/lib/rwin; do\n  [ -e \"$d\" ] || continue\n  if mountpoint -q \"$d\" 2>/dev/null; then\n    find \"$d\" -mindepth 1 -delete && echo \"removed=everything in $d (a mount point, kept)\" || left \"$d\"\n  else\n    rm -rf \"$d\" && echo \"removed=$d\" || left \"$d\"\n  fi\ndone"
    );
    if t.plain_bridge {
        let _ = writeln!(s, "if ip link show {BRIDGE} >/dev/null 2>&1; then ip link del {BRIDGE} && echo 'removed=bridge {BRIDGE}' || left 'bridge {BRIDGE}'; fi");
    }
    if t.restore_forwarding_off {
        s.push_str("sysctl -q -w net.ipv4.ip_forward=0 && echo 'removed=IPv4 forwarding (rwin had turned it on)' || left 'IPv4 forwarding'\n");
    }
    let _ = writeln!(s, "echo {}", crate::os::TEARDOWN_DONE);
    s
}
