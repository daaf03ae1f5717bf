//! Linux host operations as POSIX shell: one facts script and one apply script per host per
//! run, because each remote command is a round trip (LAB.md: ~0.13 s each on the lab).
//! Routes rwin makes carry their own protocol number, so they are told apart from all others.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{DesiredHost, HostChange};

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

fn nat_rule(subnet: Ipv4Net, cidr: Ipv4Net, cluster: &str) -> String {
    format!("POSTROUTING -s {subnet} ! -d {cidr} -m comment --comment rwin:{cluster} -j MASQUERADE")
}

fn forward_rules(subnet: Ipv4Net, cidr: Ipv4Net, cluster: &str) -> [String; 2] {
    [
        format!("FORWARD -s {cidr} -d {subnet} -m comment --comment rwin:{cluster} -j ACCEPT"),
        format!("FORWARD -s {subnet} -m comment --comment rwin:{cluster} -j ACCEPT"),
    ]
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

fn boot_unit() -> String {
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
    s.push_str("true\n");
    s
}

/// What `doctor` concludes from a Linux host's facts. Pure.
pub fn checks(d: &DesiredHost, f: &LinuxFacts) -> Vec<super::Check> {
    use super::Check;
    let mut v = vec![Check::pass(
        "operating system",
        format!("{}, kernel {}", f.os, f.kernel),
    )];
    v.push(if f.forwarding {
        Check::pass("IPv4 forwarding", "on")
    } else {
        Check::fail(
            "IPv4 forwarding",
            "off: the host drops traffic for other nodes' subnets",
            "rwin up (or: sysctl -w net.ipv4.ip_forward=1)",
        )
    });
    v.push(if f.dropin_ok {
        Check::pass("forwarding at boot", SYSCTL_DROPIN)
    } else {
        Check::fail(
            "forwarding at boot",
            format!("{SYSCTL_DROPIN} missing or changed: forwarding is lost on reboot"),
            "rwin up",
        )
    });
    let gw = Ipv4Net::new(d.gateway, d.subnet.prefix_len()).ok();
    v.push(match gw {
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
    });
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
    v.push(if missing.is_empty() && wrong.is_empty() {
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
    });
    let extra: Vec<String> = f
        .routes
        .iter()
        .filter(|(dest, _)| {
            d.cluster_cidr.contains(*dest) && !d.routes.iter().any(|(x, _, _)| x == *dest)
        })
        .map(|(dest, via)| format!("{dest} via {via}"))
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
    if d.outbound_nat {
        v.push(match (f.iptables, f.nat_rule) {
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
        });
    }
    if f.iptables {
        v.push(if f.forward_rule {
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
        });
    }
    if f.systemd {
        let current = f.boot_unit
            && f.boot_script_sha.as_deref() == Some(sha256_hex(&boot_script(d)).as_str());
        v.push(if current {
            Check::pass("routes at boot", BOOT_UNIT)
        } else {
            Check::fail(
                "routes at boot",
                format!("{BOOT_SCRIPT} or {BOOT_UNIT} missing or out of date"),
                "rwin up",
            )
        });
    }
    let overlaps: Vec<String> = f
        .host_nets
        .iter()
        .filter(|(_, net)| {
            d.cluster_cidr.contains(&net.network()) || net.contains(&d.cluster_cidr.network())
        })
        .map(|(dev, net)| format!("{net} on {dev}"))
        .collect();
    v.push(if overlaps.is_empty() {
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
    });
    v
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> DesiredHost {
        DesiredHost {
            cluster: "demo".into(),
            subnet: "10.42.0.0/24".parse().unwrap(),
            gateway: "10.42.0.1".parse().unwrap(),
            cluster_cidr: "10.42.0.0/16".parse().unwrap(),
            outbound_nat: true,
            routes: vec![
                (
                    "10.42.1.0/24".parse().unwrap(),
                    "10.0.0.2".parse().unwrap(),
                    "n2".into(),
                ),
                (
                    "10.42.2.0/24".parse().unwrap(),
                    "10.0.0.3".parse().unwrap(),
                    "n3".into(),
                ),
            ],
            node: "n1".into(),
            internal_address: "10.0.0.1".parse().unwrap(),
            node_addresses: vec![
                "10.0.0.1".parse().unwrap(),
                "10.0.0.2".parse().unwrap(),
                "10.0.0.3".parse().unwrap(),
            ],
            plain_bridge: false,
            windows: Default::default(),
        }
    }

    #[test]
    fn facts_round_trip_and_converged_host_has_no_changes() {
        let d = desired();
        let out = format!(
            "os=Debian GNU/Linux 12 (bookworm)\nkernel=6.1\nforwarding=1\ndropin=1\nsystemd=1\nboot_sha={}\nboot_unit=1\niptables=1\nnat_rule=1\nforward_rule=1\nroute=10.42.1.0/24 10.0.0.2\nroute=10.42.2.0/24 10.0.0.3\n",
            sha256_hex(&boot_script(&d))
        );
        let f = parse_facts(&out);
        assert_eq!(f.routes.len(), 2);
        assert_eq!(diff(&d, &f), vec![]);
    }

    #[test]
    fn drift_is_found_route_by_route() {
        let d = desired();
        let mut f = parse_facts(
            "forwarding=0\niptables=1\nroute=10.42.2.0/24 10.0.0.9\nroute=10.42.9.0/24 10.0.0.9\n",
        );
        f.dropin_ok = true;
        let changes = diff(&d, &f);
        assert!(changes.contains(&HostChange::EnableForwarding));
        assert!(changes.contains(&HostChange::AddRoute {
            dest: "10.42.1.0/24".parse().unwrap(),
            via: "10.0.0.2".parse().unwrap(),
            node: "n2".into()
        }));
        assert!(changes.iter().any(|c| matches!(c, HostChange::ReplaceRoute { old_via, .. } if old_via.to_string() == "10.0.0.9")));
        assert!(changes.iter().any(|c| matches!(c, HostChange::DeleteRoute { dest, .. } if dest.to_string() == "10.42.9.0/24")));
        assert!(
            !changes
                .iter()
                .any(|c| matches!(c, HostChange::WriteBootRoutes { .. })),
            "no systemd, no boot unit"
        );
    }

    #[test]
    fn doctor_names_each_fault_with_its_fix() {
        let d = desired();
        let healthy = "forwarding=1\ndropin=1\niptables=1\nnat_rule=1\nforward_rule=1\nroute=10.42.1.0/24 10.0.0.2\nroute=10.42.2.0/24 10.0.0.3\naddr=rwin0 10.42.0.1/24\naddr=eth0 10.0.0.1/24\n".to_string();
        let f = parse_facts(&healthy);
        assert!(
            checks(&d, &f)
                .iter()
                .all(|c| c.status == super::super::Status::Pass),
            "{:?}",
            checks(&d, &f)
        );
        let broken = healthy
            .replace("route=10.42.1.0/24 10.0.0.2\n", "")
            .replace("forwarding=1", "forwarding=0")
            .replace("addr=rwin0 10.42.0.1/24", "addr=rwin0 10.42.0.9/24")
            .replace("forward_rule=1\n", "");
        let failed: Vec<_> = checks(&d, &parse_facts(&broken))
            .into_iter()
            .filter(|c| c.status == super::super::Status::Fail)
            .collect();
        let names: Vec<&str> = failed.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "IPv4 forwarding",
                "gateway on the container bridge",
                "routes to other nodes",
                "firewall rule"
            ]
        );
        assert!(
            failed[2]
                .detail
                .contains("missing: 10.42.1.0/24 via 10.0.0.2 (n2)"),
            "{}",
            failed[2].detail
        );
        assert!(failed.iter().all(|c| !c.fix.is_empty()));
    }

    #[test]
    fn teardown_script_snapshot() {
        let t = Teardown {
            plain_bridge: false,
            cluster: "demo".into(),
            subnet: Some("10.42.0.0/24".parse().unwrap()),
            cluster_cidr: "10.42.0.0/16".parse().unwrap(),
            restore_forwarding_off: true,
            routes: vec![("10.42.1.0/24".parse().unwrap(), "10.0.0.2".parse().unwrap())],
        };
        insta::assert_snapshot!(teardown_script(&t));
    }

    #[test]
    fn apply_script_snapshot() {
        let d = desired();
        let f = parse_facts("forwarding=0\nsystemd=1\niptables=1\n");
        insta::assert_snapshot!(apply_script(&d, &diff(&d, &f)));
    }
}
