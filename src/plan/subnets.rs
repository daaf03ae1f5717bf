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

/// Why nodes cannot get their subnets.
#[derive(Debug, thiserror::Error)]
pub enum SubnetError {
    /// `node_prefix` is shorter than the cluster CIDR's, or longer than 32.
    #[error("cannot split {cidr} into /{prefix}: {source}")]
    Split {
        cidr: Ipv4Net,
        prefix: u8,
        #[source]
        source: ipnet::PrefixLenError,
    },

    #[error("no free /{prefix} left in cluster_cidr {cidr} for node {node}: use a larger cluster_cidr, or remove-host nodes you no longer use")]
    Exhausted {
        cidr: Ipv4Net,
        prefix: u8,
        node: String,
    },
}

/// One subnet per node, in `config.nodes` order.
pub fn allocate(
    config: &Config,
    state: &State,
) -> Result<Vec<(Ipv4Net, SubnetSource)>, SubnetError> {
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
        .map_err(|source| SubnetError::Split {
            cidr,
            prefix,
            source,
        })?
        .filter(|s| !overlaps(&taken, s));
    for (i, n) in config.nodes.iter().enumerate() {
        if out[i].is_none() {
            let s = free.next().ok_or_else(|| SubnetError::Exhausted {
                cidr,
                prefix,
                node: n.name.clone(),
            })?;
            out[i] = Some((s, SubnetSource::New));
        }
    }
    Ok(out.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(names: &[&str]) -> Config {
        let dir = std::env::temp_dir();
        let key = dir.join("rwin-subnets-test-key");
        std::fs::write(&key, "k").unwrap();
        let nodes: String = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!(
                    "  - {{address: 192.0.2.{}, hostname_override: {n}}}\n",
                    i + 1
                )
            })
            .collect();
        let text = format!("ssh_key_path: {}\nnodes:\n{nodes}", key.display());
        crate::config::load_str(std::path::Path::new("t.yml"), text)
            .map(|(c, _)| c)
            .map_err(|r| r.render())
            .unwrap()
    }

    fn assigned(c: &Config, s: &State) -> Vec<(String, String)> {
        let subnets = allocate(c, s).unwrap();
        c.nodes
            .iter()
            .zip(subnets)
            .map(|(n, (s, _))| (n.name.clone(), s.to_string()))
            .collect()
    }

    #[test]
    fn reordering_or_adding_nodes_never_renumbers() {
        let first = config(&["a", "b", "c"]);
        let mut state = State::default();
        for (name, s) in assigned(&first, &state) {
            state.subnets.insert(name, s.parse().unwrap());
        }
        let before: std::collections::BTreeMap<_, _> =
            assigned(&first, &state).into_iter().collect();
        let shuffled = config(&["new", "c", "a", "b"]);
        let after: std::collections::BTreeMap<_, _> =
            assigned(&shuffled, &state).into_iter().collect();
        for n in ["a", "b", "c"] {
            assert_eq!(before[n], after[n], "{n} keeps its subnet");
        }
        assert_eq!(
            after["new"], "10.42.3.0/24",
            "a new node gets the first free subnet"
        );
    }

    #[test]
    fn a_full_cidr_or_an_impossible_prefix_is_an_error() {
        let mut c = config(&["a", "b"]);
        c.network.cluster_cidr = "10.42.0.0/24".parse().unwrap();
        c.network.node_prefix = 24;
        let err = allocate(&c, &State::default()).unwrap_err();
        assert!(
            matches!(&err, SubnetError::Exhausted { node, .. } if node == "b"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "no free /24 left in cluster_cidr 10.42.0.0/24 for node b: use a larger cluster_cidr, or remove-host nodes you no longer use"
        );
        c.network.node_prefix = 16;
        let err = allocate(&c, &State::default()).unwrap_err();
        assert!(
            matches!(err, SubnetError::Split { prefix: 16, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("cannot split 10.42.0.0/24 into /16: "),
            "{err}"
        );
    }

    #[test]
    fn a_removed_nodes_subnet_stays_reserved_until_released() {
        let mut state = State::default();
        state
            .subnets
            .insert("gone".into(), "10.42.0.0/24".parse().unwrap());
        let c = config(&["a"]);
        assert_eq!(
            assigned(&c, &state),
            vec![("a".to_string(), "10.42.1.0/24".to_string())]
        );
    }
}
