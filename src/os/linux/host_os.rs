//! `HostOs` for Linux: POSIX shell over SSH, the Docker API through the node's socket, iproute2,
//! iptables and sysctl (the functions it calls are in `linux`).

use std::collections::BTreeMap;

use super::Teardown;
use crate::config::Os;
use crate::docker::Endpoint;
use crate::os::linux;
use crate::os::{Check, DesiredHost, HostChange, HostOs, OsFacts};
use crate::state::HostRecord;

#[derive(Debug)]
pub struct Linux;

fn facts(f: &OsFacts) -> Option<&linux::LinuxFacts> {
    f.linux()
}

impl HostOs for Linux {
    fn os(&self) -> Os {
        Os::Linux
    }

    fn script_command(&self, user: &str) -> String {
        linux::script_command(user)
    }

    fn facts_script(&self, d: &DesiredHost) -> String {
        linux::facts_script(d)
    }

    fn parse_facts(&self, stdout: &str) -> Result<OsFacts, String> {
        Ok(OsFacts::Linux(linux::parse_facts(stdout)))
    }

    fn diff(&self, d: &DesiredHost, f: &OsFacts) -> Vec<HostChange> {
        facts(f).map(|f| linux::diff(d, f)).unwrap_or_default()
    }

    fn blockers(&self, d: &DesiredHost, f: &OsFacts) -> Vec<String> {
        facts(f).map(|f| linux::blockers(d, f)).unwrap_or_default()
    }

    fn apply_script(&self, d: &DesiredHost, changes: &[HostChange]) -> String {
        linux::apply_script(d, changes)
    }

    fn reboot_needed_after(&self, _stdout: &str) -> bool {
        false
    }

    fn record(&self, rec: &mut HostRecord, facts: Option<&OsFacts>, changes: &[HostChange]) {
        let was_forwarding = facts.and_then(OsFacts::linux).is_some_and(|f| f.forwarding);
        for c in changes {
            match c {
                // Only the first time: a later repair of forwarding someone switched off does
                // not make rwin the one who turned it on.
                HostChange::EnableForwarding if !was_forwarding && rec.sysctl_dropin.is_none() => {
                    rec.forwarding_enabled_by_rwin = true
                }
                HostChange::WriteForwardingDropin { path } => {
                    rec.sysctl_dropin = Some(path.clone())
                }
                HostChange::WriteBootRoutes { .. } => {
                    rec.boot_routes_unit = Some(linux::BOOT_UNIT.into())
                }
                HostChange::AddOutboundNat { .. } | HostChange::AllowForwarding { .. } => {
                    rec.masquerade = true
                }
                _ => {}
            }
        }
    }

    fn docker_endpoint(&self, docker_socket: &str) -> Endpoint {
        Endpoint::Socket(docker_socket.to_string())
    }

    fn docker_endpoint_text(&self, docker_socket: &str) -> String {
        docker_socket.to_string()
    }

    fn engine_makes_network(&self, d: &DesiredHost) -> bool {
        !d.plain_bridge
    }

    fn network_drift(&self, d: &DesiredHost, f: &OsFacts) -> Option<String> {
        facts(f).and_then(|l| linux::network_drift(d, l))
    }

    fn network_options(&self) -> BTreeMap<String, String> {
        linux::network_options()
    }

    fn reboot_needed(&self, _f: Option<&OsFacts>, _changes: &[HostChange]) -> bool {
        false
    }

    fn reboot_script(&self) -> Option<String> {
        None
    }

    fn teardown_script(&self, d: &DesiredHost, f: Option<&OsFacts>, rec: &HostRecord) -> String {
        linux::teardown_script(&Teardown {
            cluster: d.cluster.clone(),
            subnet: Some(d.subnet).filter(|s| s.prefix_len() < 32),
            cluster_cidr: d.cluster_cidr,
            restore_forwarding_off: rec.forwarding_enabled_by_rwin,
            plain_bridge: d.plain_bridge,
            routes: f
                .and_then(OsFacts::linux)
                .map(|f| Teardown::routes_from(f, d.cluster_cidr))
                // Facts unread (--force on a host that did not answer fully): what rwin recorded.
                .unwrap_or_else(|| rec.routes.iter().map(|r| (r.dest, r.via)).collect()),
        })
    }

    fn teardown_step(&self) -> &'static str {
        "removing routes, rules and files"
    }

    fn engine_removes_containers(&self) -> bool {
        true
    }

    fn removal_items(&self, rec: &HostRecord, _cluster: &str) -> Vec<String> {
        let mut v = Vec::new();
        if rec.masquerade {
            v.push("  - outbound NAT and firewall rules".to_string());
        }
        if let Some(u) = &rec.boot_routes_unit {
            v.push(format!("  - boot unit {u} and /etc/rwin/routes.sh"));
        }
        if let Some(d) = &rec.sysctl_dropin {
            v.push(format!("  - {d}"));
        }
        v.push(
            "  - /etc/rwin and /var/lib/rwin, including component data kept there (e.g. etcd's)"
                .into(),
        );
        v.push(if rec.forwarding_enabled_by_rwin {
            "  - IPv4 forwarding (rwin turned it on; it goes back off)".into()
        } else {
            "  (IPv4 forwarding stays on: it was on before rwin)".into()
        });
        v
    }

    fn checks(&self, d: &DesiredHost, f: &OsFacts) -> Vec<Check> {
        facts(f).map(|f| linux::checks(d, f)).unwrap_or_default()
    }

    fn checks_cover_engine(&self) -> bool {
        false
    }

    fn clock(&self, f: &OsFacts) -> Option<f64> {
        facts(f).and_then(|l| l.clock)
    }

    fn boot_time(&self, _f: &OsFacts) -> Option<String> {
        None
    }

    fn probe_keep_alive(&self) -> Vec<String> {
        ["sleep", "120"].map(String::from).to_vec()
    }

    fn probe_ping(&self, ip: &str) -> Vec<String> {
        ["ping", "-c", "1", "-W", "2", ip]
            .map(String::from)
            .to_vec()
    }
}
