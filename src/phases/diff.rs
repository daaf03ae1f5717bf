//! Diff: compare a host's facts with the plan and list every change `up` would make. Pure.

use super::{Host, NetworkChange, RunContext};
use crate::docker::ensure::decide;
use crate::os::{self, linux};

pub fn run(ctx: &RunContext, h: &mut Host) {
    let Some(facts) = &h.facts else { return };
    let mut changes = super::HostChanges {
        host: os::diff(&h.desired, &facts.os),
        blockers: os::blockers(&h.desired, &facts.os),
        ..Default::default()
    };
    let subnet = h.node.subnet.to_string();
    let gateway = h.node.gateway.to_string();
    changes.network = match &facts.network {
        // Windows, or no container engine: the network is part of the host's own changes.
        _ if h.node.os == crate::config::Os::Windows || h.desired.plain_bridge => None,
        None => Some(NetworkChange::Create),
        Some(n)
            if n.subnet.as_deref() != Some(subnet.as_str())
                || n.gateway.as_deref() != Some(gateway.as_str()) =>
        {
            Some(NetworkChange::Recreate {
                was: format!(
                    "{} gateway {}",
                    n.subnet.clone().unwrap_or_default(),
                    n.gateway.clone().unwrap_or_default()
                ),
            })
        }
        Some(n) => facts
            .os
            .linux()
            .and_then(|l| linux::network_drift(&h.desired, l))
            .map(|why| NetworkChange::Recreate {
                was: format!(
                    "{} gateway {}, but {why}",
                    n.subnet.clone().unwrap_or_default(),
                    n.gateway.clone().unwrap_or_default()
                ),
            }),
    };
    let recreate_network = matches!(changes.network, Some(NetworkChange::Recreate { .. }));
    let mut specs = std::collections::BTreeMap::new();
    if let Some(w) = facts.os.windows() {
        let build = w
            .build
            .as_deref()
            .and_then(|b| b.trim().parse::<u32>().ok());
        for spec in ctx.plan.instances_on(h.name()) {
            let Some(c) = ctx
                .config
                .components
                .iter()
                .find(|c| c.name == spec.component)
            else {
                continue;
            };
            let Some(build) = build else {
                changes.blockers.push(
                    "the host's Windows build could not be read, so no image can be chosen".into(),
                );
                break;
            };
            match os::windows::select_image(build, &c.windows_image, c.hyperv) {
                Ok(image) => {
                    let image = crate::docker::spec::resolve_image(&ctx.config, &image);
                    // Published ports are RRAS NAT mappings on Windows (os::windows::ports):
                    // `-p` on a transparent network publishes nothing.
                    let mut spec = spec.clone();
                    spec.ports.clear();
                    specs.insert(spec.component.clone(), spec.with_image(image));
                }
                Err(e) => changes
                    .blockers
                    .push(format!("component {}: {e}", spec.component)),
            }
        }
    }
    for spec in ctx.plan.instances_on(h.name()) {
        let spec = specs.get(&spec.component).unwrap_or(spec);
        let existing = facts
            .containers
            .get(&spec.component)
            .and_then(|e| e.as_ref());
        let mut change = decide(spec, existing);
        if recreate_network && existing.is_some() && spec.network == crate::config::NetworkMode::Pod
        {
            change = crate::docker::ensure::ContainerChange::Replace {
                reason: "its network is recreated".into(),
            };
        }
        changes.containers.push((spec.component.clone(), change));
    }
    if let Some(w) = facts.os.windows() {
        changes.port_mappings = port_mappings(h, w, &changes.containers, facts);
    }
    changes.remove_orphans = facts.orphans.clone();
    h.changes = changes;
    h.specs = specs;
}

/// The RRAS NAT port mappings a Windows host needs, per component that publishes ports.
fn port_mappings(
    h: &Host,
    w: &os::windows::WindowsFacts,
    containers: &[(String, crate::docker::ensure::ContainerChange)],
    facts: &super::HostFacts,
) -> Vec<os::windows::PortMappingChange> {
    let published = &h.desired.windows.published;
    let Ok(route_if) = os::windows::route_interface(&h.desired, w) else {
        return Vec::new();
    };
    containers
        .iter()
        .filter_map(|(component, change)| {
            let ports: Vec<_> = published
                .iter()
                .filter(|p| &p.component == component)
                .cloned()
                .collect();
            let ip = facts
                .containers
                .get(component)
                .and_then(|e| e.as_ref())
                .and_then(|e| e.pod_ip.as_deref());
            os::windows::port_mapping_change(
                &h.desired,
                w,
                &route_if.name,
                &ports,
                *change != crate::docker::ensure::ContainerChange::Unchanged,
                ip,
            )
        })
        .collect()
}
