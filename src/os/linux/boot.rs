//! Persistence at boot: the script and systemd unit that put the routes and rules back.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::{forward_rules, nat_rule, BOOT_SCRIPT, ROUTE_PROTO};
use crate::os::DesiredHost;

/// The script that re-applies routes and NAT at boot; also what `up` compares to see drift.
pub fn boot_script(d: &DesiredHost) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Written by rwin: routes to the other nodes' container subnets, and NAT.\n",
    );
    for (dest, via, _) in &d.routes {
        let _ = writeln!(s, "ip route replace {dest} via {via} proto {ROUTE_PROTO}");
    }
    if d.outbound_nat {
        let nat = nat_rule(d.subnet, d.cluster_cidr, &d.cluster);
        let _ = writeln!(
            s,
            "iptables -t nat -C {nat} 2>/dev/null || iptables -t nat -A {nat}"
        );
    }
    for rule in forward_rules(d.subnet, d.cluster_cidr, &d.cluster) {
        let _ = writeln!(s, "iptables -C {rule} 2>/dev/null || iptables -I {rule}");
    }
    s
}

pub(super) fn boot_unit() -> String {
    format!(
        "[Unit]\nDescription=rwin: routes to the cluster's container subnets\nAfter=network-online.target docker.service\nWants=network-online.target\n\n[Service]\nType=oneshot\nExecStart=/bin/sh {BOOT_SCRIPT}\nRemainAfterExit=yes\n\n[Install]\nWantedBy=multi-user.target\n"
    )
}

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
