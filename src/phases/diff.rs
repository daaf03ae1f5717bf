//! Diff: compare a host's facts with the plan and list every change `up` would make. Pure.

use super::{Host, NetworkChange, RunContext};
use crate::docker::ensure::decide;

pub fn run(ctx: &RunContext, h: &mut Host) {
    let Some(facts) = &h.facts else { return };
    let os = h.node.host_os;
    let mut changes = super::HostChanges {
        host: os.diff(&h.desired, &facts.os),
        blockers: os.blockers(&h.desired, &facts.os),
        ..Default::default()
    };
    let subnet = h.node.subnet.to_string();
    let gateway = h.node.gateway.to_string();
    changes.network = match &facts.network {
        // The host script makes the network (Windows), or there is no container engine.
        _ if !os.engine_makes_network(&h.desired) => None,
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
        Some(n) => os
            .network_drift(&h.desired, &facts.os)
            .map(|why| NetworkChange::Recreate {
                was: format!(
                    "{} gateway {}, but {why}",
                    n.subnet.clone().unwrap_or_default(),
                    n.gateway.clone().unwrap_or_default()
                ),
            }),
    };
    let recreate_network = matches!(changes.network, Some(NetworkChange::Recreate { .. }))
        || os.host_changes_recreate_network(&changes.host);
    let instances: Vec<_> = ctx.plan.instances_on(h.name()).collect();
    let (specs, blockers) = os.host_specs(&ctx.config, &instances, &facts.os);
    changes.blockers.extend(blockers);
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
    changes.port_mappings = os.port_mappings(
        &h.desired,
        &facts.os,
        &changes.containers,
        &facts.containers,
    );
    changes.remove_orphans = facts.orphans.clone();
    h.changes = changes;
    h.specs = specs;
}
