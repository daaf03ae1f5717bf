//! Subnet allocation. Stable: a node keeps the subnet recorded in the state file, so reordering
//! or adding nodes never renumbers an existing one. Subnets of nodes that left cluster.yml stay
//! reserved until `remove-host` releases them, so routes on other hosts are never ambiguous.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::config::Config;
use crate::state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubnetSource {
    /// Written in cluster.yml.
    Configured,
    /// Allocated on an earlier run (state file).
    State,
    /// Allocated now; recorded when `up` runs.
    New,
}

/// One subnet per node, in `config.nodes` order.
pub fn allocate(config: &Config, state: &State) -> Result<Vec<(Ipv4Net, SubnetSource)>, String> {
    let cidr = config.network.cluster_cidr;
    let prefix = config.network.node_prefix;
    let mut taken: BTreeSet<Ipv4Net> = BTreeSet::new();
    let mut out: Vec<Option<(Ipv4Net, SubnetSource)>> = vec![None; config.nodes.len()];

    for (i, n) in config.nodes.iter().enumerate() {
        if let Some(s) = n.subnet {
            out[i] = Some((s, SubnetSource::Configured));
            taken.insert(s);
        }
    }
    let overlaps = |taken: &BTreeSet<Ipv4Net>, s: &Ipv4Net| {
        taken.iter().any(|t| t.contains(s) || s.contains(t))
    };
    for (i, n) in config.nodes.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        if let Some(s) = state.subnets.get(&n.name) {
            if cidr.contains(s) && !overlaps(&taken, s) {
                out[i] = Some((*s, SubnetSource::State));
                taken.insert(*s);
            }
        }
    }
    // Subnets still held by nodes that are no longer in the file.
    for (name, s) in &state.subnets {
        if !config.nodes.iter().any(|n| &n.name == name) {
            taken.insert(*s);
        }
    }
    let mut free = cidr
        .subnets(prefix)
        .map_err(|e| format!("cannot split {cidr} into /{prefix}: {e}"))?
        .filter(|s| !overlaps(&taken, s));
    for (i, n) in config.nodes.iter().enumerate() {
        if out[i].is_none() {
            let s = free.next().ok_or_else(|| {
                format!("no free /{prefix} left in cluster_cidr {cidr} for node {}: use a larger cluster_cidr, or remove-host nodes you no longer use", n.name)
            })?;
            out[i] = Some((s, SubnetSource::New));
        }
    }
    Ok(out.into_iter().flatten().collect())
}
