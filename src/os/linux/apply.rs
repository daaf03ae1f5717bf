//! The apply script: every change in one script, stopping at the first failure.

use std::fmt::Write as _;

use super::boot::boot_unit;
use super::{boot_script, forward_rules, nat_rule, BOOT_UNIT, BRIDGE, ROUTE_PROTO, SYSCTL_CONTENT};
use crate::os::{DesiredHost, HostChange};

/// One script that makes all `changes`, stopping at the first failure with its line.
pub fn apply_script(d: &DesiredHost, changes: &[HostChange]) -> String {
    let mut s = String::from("set -e\n");
    for c in changes {
        match c {
            HostChange::EnableForwarding => s.push_str("sysctl -q -w net.ipv4.ip_forward=1\n"),
            HostChange::WriteForwardingDropin { path } => {
                let _ = writeln!(s, "mkdir -p /etc/sysctl.d\ncat > {path}.rwin-tmp <<'RWIN_EOF'\n{SYSCTL_CONTENT}RWIN_EOF\nmv {path}.rwin-tmp {path}");
            }
            HostChange::AddRoute { dest, via, .. } | HostChange::ReplaceRoute { dest, via, .. } => {
                let _ = writeln!(s, "ip route replace {dest} via {via} proto {ROUTE_PROTO}");
            }
            HostChange::DeleteRoute { dest, via } => {
                let _ = writeln!(
                    s,
                    "ip route del {dest} via {via} proto {ROUTE_PROTO} 2>/dev/null || true"
                );
            }
            HostChange::AddOutboundNat { .. } => {
                let nat = nat_rule(d.subnet, d.cluster_cidr, &d.cluster);
                let _ = writeln!(
                    s,
                    "iptables -t nat -C {nat} 2>/dev/null || iptables -t nat -A {nat}"
                );
            }
            HostChange::DeleteOutboundNat { .. } => {
                let nat = nat_rule(d.subnet, d.cluster_cidr, &d.cluster);
                let _ = writeln!(s, "while iptables -t nat -D {nat} 2>/dev/null; do :; done");
            }
            HostChange::AllowForwarding { .. } => {
                for rule in forward_rules(d.subnet, d.cluster_cidr, &d.cluster) {
                    let _ = writeln!(s, "iptables -C {rule} 2>/dev/null || iptables -I {rule}");
                }
            }
            HostChange::WriteBootRoutes { path } => {
                let _ = writeln!(
                    s,
                    "mkdir -p /etc/rwin /etc/systemd/system/multi-user.target.wants\ncat > {path}.rwin-tmp <<'RWIN_EOF'\n{script}RWIN_EOF\nmv {path}.rwin-tmp {path}\ncat > {BOOT_UNIT} <<'RWIN_EOF'\n{unit}RWIN_EOF\nln -sf {BOOT_UNIT} /etc/systemd/system/multi-user.target.wants/rwin-routes.service\n[ -d /run/systemd/system ] && systemctl daemon-reload || true",
                    script = boot_script(d),
                    unit = boot_unit()
                );
            }
            HostChange::CreateBridge { gateway } => {
                let _ = writeln!(
                    s,
                    "ip link show {BRIDGE} >/dev/null 2>&1 || ip link add {BRIDGE} type bridge\nip addr flush dev {BRIDGE}\nip addr add {gateway} dev {BRIDGE}\nip link set {BRIDGE} up"
                );
            }
            // Windows changes are never planned for a Linux host.
            HostChange::Windows(_) => {}
        }
    }
    s
}
