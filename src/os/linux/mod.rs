//! Linux host operations as POSIX shell: one facts script and one apply script per host per
//! run, because each remote command is a round trip (LAB.md: ~0.13 s each on the lab).
//! Routes rwin makes carry their own protocol number, so they are told apart from all others.
//!
//! `facts` reads a host, `diff` compares it with the desired configuration, `apply` makes the
//! changes, `boot` keeps them across reboots, `checks` is what doctor concludes, `teardown`
//! undoes it all. The names rwin gives its rules, files and bridge are here.

mod apply;
mod boot;
mod checks;
mod diff;
mod facts;
mod host_os;
mod teardown;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

pub use apply::apply_script;
pub use boot::{boot_script, sha256_hex};
pub use checks::checks;
pub use diff::{blockers, diff, network_drift};
pub use facts::{facts_script, parse_facts, LinuxFacts};
pub use host_os::Linux;
pub use teardown::{teardown_script, Teardown};

/// `ip route … proto 157`: marks routes made by rwin (any number 5–252 not in rt_protos works).
pub const ROUTE_PROTO: u8 = 157;
pub const SYSCTL_DROPIN: &str = "/etc/sysctl.d/90-rwin.conf";
pub const BOOT_SCRIPT: &str = "/etc/rwin/routes.sh";
pub const BOOT_UNIT: &str = "/etc/systemd/system/rwin-routes.service";
pub const BRIDGE: &str = "rwin0";
const SYSCTL_CONTENT: &str =
    "# Written by rwin: container subnets are routed through this host.\nnet.ipv4.ip_forward = 1\n";

pub fn script_command(user: &str) -> String {
    if user == "root" {
        "sh -s".into()
    } else {
        // Non-root users need passwordless sudo; -n fails at once instead of hanging on a prompt.
        "sudo -n sh -s".into()
    }
}

/// rwin's outbound NAT rule (`iptables -t nat`), marked with the cluster's name.
fn nat_rule(subnet: Ipv4Net, cidr: Ipv4Net, cluster: &str) -> String {
    format!("POSTROUTING -s {subnet} ! -d {cidr} -m comment --comment rwin:{cluster} -j MASQUERADE")
}

/// rwin's FORWARD accept rules: into this node's subnet from the cluster, and out of it.
fn forward_rules(subnet: Ipv4Net, cidr: Ipv4Net, cluster: &str) -> [String; 2] {
    [
        format!("FORWARD -s {cidr} -d {subnet} -m comment --comment rwin:{cluster} -j ACCEPT"),
        format!("FORWARD -s {subnet} -m comment --comment rwin:{cluster} -j ACCEPT"),
    ]
}

/// Networks as a comma-separated list, or "no address".
fn list(nets: &[Ipv4Net]) -> String {
    if nets.is_empty() {
        "no address".into()
    } else {
        nets.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Options for the node's Docker bridge network: rwin's bridge name, no Docker masquerade
/// (rwin's own rule NATs only non-cluster destinations, so pods see each other's real IPs).
pub fn network_options() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "com.docker.network.bridge.name".to_string(),
            BRIDGE.to_string(),
        ),
        (
            "com.docker.network.bridge.enable_ip_masquerade".to_string(),
            "false".to_string(),
        ),
    ])
}
