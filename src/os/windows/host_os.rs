//! `HostOs` for Windows Server: PowerShell over WinRM or OpenSSH, the Docker API through
//! `docker system dial-stdio` (OpenSSH) or the docker CLI in scripts (WinRM), RRAS, HNS and
//! netsh (the functions it calls are in this folder).

use std::collections::BTreeMap;

use super::{Change, PortMappingChange, TurnedOn};
use crate::config::Os;
use crate::docker::ensure::{ContainerChange, Existing};
use crate::docker::spec::ContainerSpec;
use crate::docker::Endpoint;
use crate::os::{Check, DesiredHost, HostChange, HostOs, OsFacts};
use crate::state::HostRecord;

#[derive(Debug)]
pub struct Windows;

fn windows_changes(changes: &[HostChange]) -> Vec<Change> {
    changes
        .iter()
        .filter_map(|c| match c {
            HostChange::Windows(w) => Some(w.clone()),
            _ => None,
        })
        .collect()
}

impl HostOs for Windows {
    fn os(&self) -> Os {
        Os::Windows
    }

    fn script_command(&self, _user: &str) -> String {
        super::script_command()
    }

    fn facts_script(&self, d: &DesiredHost) -> String {
        super::facts_script(d)
    }

    fn parse_facts(&self, stdout: &str) -> Result<OsFacts, String> {
        super::parse_facts(stdout).map(|f| OsFacts::Windows(Box::new(f)))
    }

    fn diff(&self, d: &DesiredHost, f: &OsFacts) -> Vec<HostChange> {
        f.windows()
            .map(|f| {
                super::diff(d, f)
                    .into_iter()
                    .map(HostChange::Windows)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn blockers(&self, d: &DesiredHost, f: &OsFacts) -> Vec<String> {
        f.windows()
            .map(|f| super::blockers(d, f))
            .unwrap_or_default()
    }

    fn apply_script(&self, d: &DesiredHost, changes: &[HostChange]) -> String {
        super::apply_script(d, &windows_changes(changes))
    }

    /// The apply script's last JSON line says whether a reboot is needed for all of it to
    /// take effect.
    fn reboot_needed_after(&self, stdout: &str) -> bool {
        stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
            .is_some_and(|r| r["reboot_needed"] == true)
    }

    fn record(&self, rec: &mut HostRecord, _facts: Option<&OsFacts>, changes: &[HostChange]) {
        let changes = windows_changes(changes);
        let mut made = crate::state::WindowsRecord {
            turned_on: TurnedOn::from_changes(&changes),
            ..Default::default()
        };
        for c in &changes {
            match c {
                Change::AddNatInterface { interface, .. } => {
                    made.nat_interfaces.push(interface.clone())
                }
                Change::AddHostRoute { address, .. } => made.host_routes.push(*address),
                Change::AddGatewayAddress {
                    gateway,
                    prefix_len,
                } => made.gateway = ipnet::Ipv4Net::new(*gateway, *prefix_len).ok(),
                _ => {}
            }
        }
        // Like forwarding on Linux: only what the first run switched on is rwin's doing; a
        // later repair of something an admin had on does not make it so.
        let first = rec.windows.is_none();
        let w = rec.windows.get_or_insert_with(Default::default);
        // The loopback adapter is always rwin's own, whichever run made it.
        let loopback = made.turned_on.loopback || w.turned_on.loopback;
        if first {
            w.turned_on = made.turned_on;
        }
        w.turned_on.loopback = loopback;
        for i in made.nat_interfaces {
            if !w.nat_interfaces.contains(&i) {
                w.nat_interfaces.push(i);
            }
        }
        for r in made.host_routes {
            if !w.host_routes.contains(&r) {
                w.host_routes.push(r);
            }
        }
        if made.gateway.is_some() {
            w.gateway = made.gateway;
        }
        for c in &changes {
            if let Change::DeletePortMapping { mapping } = c {
                w.port_mappings.retain(|m| m != mapping);
            }
        }
    }

    fn docker_endpoint(&self, _docker_socket: &str) -> Endpoint {
        Endpoint::DialStdio
    }

    fn docker_endpoint_text(&self, _docker_socket: &str) -> String {
        format!("`{}`", crate::docker::DIAL_STDIO)
    }

    fn engine_makes_network(&self, _d: &DesiredHost) -> bool {
        false
    }

    fn network_drift(&self, _d: &DesiredHost, _f: &OsFacts) -> Option<String> {
        None
    }

    fn network_options(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// The apply script recreates the network (and first removes rwin's containers on it,
    /// which Docker requires: a network with endpoints is not removed).
    fn host_changes_recreate_network(&self, changes: &[HostChange]) -> bool {
        windows_changes(changes)
            .iter()
            .any(|c| matches!(c, Change::RecreateNetwork { .. }))
    }

    /// Windows says a reboot is pending, or a planned change takes full effect only after one
    /// (IPEnableRouter, installing the Routing features).
    fn reboot_needed(&self, f: Option<&OsFacts>, changes: &[HostChange]) -> bool {
        let pending = f
            .and_then(OsFacts::windows)
            .is_some_and(|w| w.reboot_pending);
        pending
            || changes.iter().any(|c| {
                matches!(
                    c,
                    HostChange::Windows(Change::SetIpEnableRouter | Change::InstallFeatures { .. })
                )
            })
    }

    fn reboot_script(&self) -> Option<String> {
        Some(super::reboot_script())
    }

    fn teardown_script(&self, d: &DesiredHost, _f: Option<&OsFacts>, rec: &HostRecord) -> String {
        let made = rec.windows.clone().unwrap_or_default();
        super::teardown_script(&super::Teardown {
            cluster: d.cluster.clone(),
            gateway: made.gateway,
            routes: rec.routes.iter().map(|r| (r.dest, r.via)).collect(),
            host_routes: made.host_routes,
            nat_interfaces: made.nat_interfaces,
            port_mappings: made.port_mappings,
            turned_on: made.turned_on,
            services: made.services,
        })
    }

    fn teardown_step(&self) -> &'static str {
        "removing rwin's services, containers, network, routes, firewall rule and NAT"
    }

    /// The teardown script removes the containers and the network itself (the docker CLI).
    fn engine_removes_containers(&self) -> bool {
        false
    }

    fn removal_items(&self, rec: &HostRecord, cluster: &str) -> Vec<String> {
        let mut s = String::new();
        if let Some(w) = &rec.windows {
            windows_items(&mut s, w, cluster);
        }
        s.lines().map(str::to_string).collect()
    }

    fn checks(&self, d: &DesiredHost, f: &OsFacts) -> Vec<Check> {
        f.windows().map(|f| super::checks(d, f)).unwrap_or_default()
    }

    /// The engine (and its minimum version) and the container network are among Windows' own
    /// checks.
    fn checks_cover_engine(&self) -> bool {
        true
    }

    fn clock(&self, _f: &OsFacts) -> Option<f64> {
        None
    }

    fn boot_time(&self, f: &OsFacts) -> Option<String> {
        f.windows().and_then(|w| w.last_boot.clone())
    }

    /// Windows images have no `sleep`, and their ping takes `/n COUNT /w MS`.
    fn probe_keep_alive(&self) -> Vec<String> {
        crate::docker::cli::probe::KEEP_ALIVE
            .map(String::from)
            .to_vec()
    }

    fn probe_ping(&self, ip: &str) -> Vec<String> {
        crate::docker::cli::probe::ping_command(ip)
    }

    /// Each component's image for the host's build (`windows_image`); published ports are
    /// RRAS NAT mappings here (`port_mappings`): `-p` on a transparent network publishes nothing.
    fn host_specs(
        &self,
        config: &crate::config::Config,
        instances: &[&ContainerSpec],
        f: &OsFacts,
    ) -> (BTreeMap<String, ContainerSpec>, Vec<String>) {
        let mut specs = BTreeMap::new();
        let mut blockers = Vec::new();
        let Some(w) = f.windows() else {
            return (specs, blockers);
        };
        let build = w
            .build
            .as_deref()
            .and_then(|b| b.trim().parse::<u32>().ok());
        for spec in instances {
            let Some(c) = config.components.iter().find(|c| c.name == spec.component) else {
                continue;
            };
            let Some(build) = build else {
                blockers.push(
                    "the host's Windows build could not be read, so no image can be chosen".into(),
                );
                break;
            };
            match super::select_image(build, &c.windows_image, c.hyperv) {
                Ok(image) => {
                    let image = crate::docker::spec::resolve_image(config, &image);
                    let mut spec = (*spec).clone();
                    spec.ports.clear();
                    specs.insert(spec.component.clone(), spec.with_image(image));
                }
                Err(e) => blockers.push(format!("component {}: {e}", spec.component)),
            }
        }
        (specs, blockers)
    }

    fn services(&self) -> Option<&'static dyn crate::os::service::HostServices> {
        Some(&super::WindowsServices)
    }

    fn publish_script(&self, c: &PortMappingChange) -> String {
        super::mapping_script(c)
    }

    fn published_address(&self, stdout: &str) -> Option<std::net::Ipv4Addr> {
        super::parse_mapped_address(stdout)
    }

    fn record_published(
        &self,
        rec: &mut HostRecord,
        c: &PortMappingChange,
        ip: std::net::Ipv4Addr,
    ) {
        let made = super::mapped(c, &ip.to_string());
        let w = rec.windows.get_or_insert_with(Default::default);
        w.port_mappings
            .retain(|m| !made.iter().any(|n| n.same_port(m)));
        w.port_mappings.extend(made);
    }

    fn port_mappings(
        &self,
        d: &DesiredHost,
        f: &OsFacts,
        containers: &[(String, ContainerChange)],
        found: &BTreeMap<String, Option<Existing>>,
    ) -> Vec<PortMappingChange> {
        let Some(w) = f.windows() else {
            return Vec::new();
        };
        let Ok(layout) = super::diff::layout(d, w) else {
            return Vec::new();
        };
        containers
            .iter()
            .filter_map(|(component, change)| {
                let ports: Vec<_> = d
                    .published
                    .iter()
                    .filter(|p| &p.component == component)
                    .cloned()
                    .collect();
                let ip = found
                    .get(component)
                    .and_then(|e| e.as_ref())
                    .and_then(|e| e.pod_ip.as_deref());
                super::port_mapping_change(
                    d,
                    w,
                    layout.nat_public(w),
                    &ports,
                    *change != ContainerChange::Unchanged,
                    ip,
                )
            })
            .collect()
    }
}

/// A Windows node's own items, and which router settings go back (only those rwin turned on).
fn windows_items(s: &mut String, w: &crate::state::WindowsRecord, cluster: &str) {
    use std::fmt::Write as _;
    for svc in super::removal_order(&w.services) {
        let _ = writeln!(
            s,
            "  - Windows service {} and its {} uploaded files",
            svc.name,
            svc.files.len()
        );
    }
    if !w.services.is_empty() {
        let _ = writeln!(
            s,
            "  - {} and {}, including service logs and state kept there",
            super::PROGRAM_DIR,
            super::DATA_DIR
        );
    }
    if let Some(gw) = w.gateway {
        let _ = writeln!(
            s,
            "  - gateway address {gw} on the container network's adapter"
        );
    }
    for a in &w.host_routes {
        let _ = writeln!(s, "  - route {a}/32 on the container network's adapter");
    }
    let _ = writeln!(s, "  - firewall rule rwin-{cluster}");
    for m in &w.port_mappings {
        let _ = writeln!(s, "  - port mapping {m}");
    }
    for i in &w.nat_interfaces {
        let _ = writeln!(s, "  - RRAS NAT on {i}");
    }
    let t = &w.turned_on;
    if t.nat {
        s.push_str("  - RRAS NAT itself (rwin installed it)\n");
    }
    if t.routing {
        s.push_str("  - the routing-only RRAS configuration (rwin made it)\n");
    }
    if t.remote_access_started {
        s.push_str("  - the running RemoteAccess service (rwin started it)\n");
    }
    if t.ip_enable_router {
        s.push_str(
            "  - IPEnableRouter=1 (rwin set it; back to 0 takes full effect after a reboot)\n",
        );
    }
    if !t.features.is_empty() {
        let _ = writeln!(
            s,
            "  - Windows features {} (rwin installed them; removing them needs a reboot)",
            t.features.join(", ")
        );
    }
}
