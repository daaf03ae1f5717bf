//! The facts script, and its `key=value` answer parsed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use super::{
    forward_rules, nat_rule, BOOT_SCRIPT, BOOT_UNIT, BRIDGE, ROUTE_PROTO, SYSCTL_CONTENT,
    SYSCTL_DROPIN,
};
use crate::os::DesiredHost;

/// What the facts script reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinuxFacts {
    pub os: String,
    pub kernel: String,
    pub forwarding: bool,
    pub dropin_ok: bool,
    pub systemd: bool,
    pub boot_script_sha: Option<String>,
    pub boot_unit: bool,
    pub iptables: bool,
    pub nat_rule: bool,
    pub forward_rule: bool,
    /// Routes with rwin's protocol: destination → next hop.
    pub routes: BTreeMap<Ipv4Net, Ipv4Addr>,
    /// Addresses on rwin's bridge (the container network's gateway belongs here).
    pub bridge_addrs: Vec<Ipv4Net>,
    /// The host's other IPv4 networks, to spot overlaps with the cluster range.
    pub host_nets: Vec<(String, Ipv4Net)>,
    /// The host's clock (seconds since the epoch) when the script ran.
    pub clock: Option<f64>,
}

/// One script that reports everything the diff needs, as `key=value` lines.
pub fn facts_script(d: &DesiredHost) -> String {
    let nat = nat_rule(d.subnet, d.cluster_cidr, &d.cluster);
    let fwd = &forward_rules(d.subnet, d.cluster_cidr, &d.cluster)[0];
    format!(
        r#"exec 2>/dev/null
. /etc/os-release && echo "os=$PRETTY_NAME"
echo "kernel=$(uname -r)"
echo "forwarding=$(cat /proc/sys/net/ipv4/ip_forward)"
[ "$(cat {SYSCTL_DROPIN})" = "$(printf '%s' '{sysctl}')" ] && echo dropin=1
[ -d /etc/systemd/system ] && echo systemd=1
[ -f {BOOT_SCRIPT} ] && echo "boot_sha=$(sha256sum < {BOOT_SCRIPT} | cut -d' ' -f1)"
[ -f {BOOT_UNIT} ] && echo boot_unit=1
if command -v iptables >/dev/null; then
  echo iptables=1
  iptables -t nat -C {nat} && echo nat_rule=1
  iptables -C {fwd} && echo forward_rule=1
fi
ip -4 route show proto {ROUTE_PROTO} | while read -r dest _ via _; do echo "route=$dest $via"; done
ip -4 -o addr show | while read -r _ dev _ addr _; do echo "addr=$dev $addr"; done
echo "clock=$(date +%s.%N)"
true
"#,
        sysctl = SYSCTL_CONTENT.trim_end()
    )
}

pub fn parse_facts(out: &str) -> LinuxFacts {
    let mut f = LinuxFacts::default();
    for line in out.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k {
            "os" => f.os = v.to_string(),
            "kernel" => f.kernel = v.to_string(),
            "forwarding" => f.forwarding = v.trim() == "1",
            "dropin" => f.dropin_ok = true,
            "systemd" => f.systemd = true,
            "boot_sha" => f.boot_script_sha = Some(v.trim().to_string()),
            "boot_unit" => f.boot_unit = true,
            "iptables" => f.iptables = true,
            "nat_rule" => f.nat_rule = true,
            "forward_rule" => f.forward_rule = true,
            "addr" => {
                if let Some((dev, net)) = v.split_once(' ') {
                    if let Ok(net) = net.trim().parse::<Ipv4Net>() {
                        if dev == BRIDGE {
                            f.bridge_addrs.push(net);
                        } else if dev != "lo" {
                            f.host_nets.push((dev.to_string(), net));
                        }
                    }
                }
            }
            "clock" => f.clock = v.trim().parse().ok(),
            "route" => {
                if let Some((dest, via)) = v.split_once(' ') {
                    if let (Ok(d), Ok(g)) = (dest.parse::<Ipv4Net>(), via.parse::<Ipv4Addr>()) {
                        f.routes.insert(d, g);
                    }
                }
            }
            _ => {}
        }
    }
    f
}
