//! The plan's text as the operator reads it: every kind of change line, the header of each
//! host, hosts that could not be read, departed hosts, the reboot note and the totals.

use super::{departed_line, render_text};
use crate::commands::test_support::context;
use crate::docker::ensure::ContainerChange;
use crate::os::{windows, HostChange};
use crate::phases::{Host, HostError, NetworkChange};
use crate::state::{RouteRecord, State};

const CONFIG: &str = "\
cluster_name: demo
ssh_agent_auth: true
nodes:
  - {address: 192.0.2.11, internal_address: 10.0.0.11, hostname_override: lin1, role: [etcd, controlplane, worker], public_address: 198.51.100.11, labels: {zone: a, tier: edge}}
  - {address: 192.0.2.12, internal_address: 10.0.0.12, hostname_override: lin2, role: [worker]}
  - {address: 192.0.2.21, internal_address: 10.0.0.21, hostname_override: win1, role: [worker], os: windows, connection: ssh, route_interface: Ethernet}
  - {address: 192.0.2.13, internal_address: 10.0.0.13, hostname_override: lin3, role: [worker]}
";

/// One `Host` per node of CONFIG, as `survey` makes them, with no changes yet; then `old`,
/// a node that has left cluster.yml but not the state, as `run` adds it.
fn hosts() -> Vec<Host> {
    let dir = tempfile::tempdir().unwrap();
    let mut state = State {
        version: crate::state::STATE_VERSION,
        cluster_name: "demo".into(),
        ..Default::default()
    };
    state
        .subnets
        .insert("old".into(), "10.42.5.0/24".parse().unwrap());
    let old = state.host_mut("old");
    old.address = "192.0.2.15".into();
    old.components = ["etcd".to_string(), "api".to_string()].into();
    for (dest, via) in [("10.42.0.0/24", "10.0.0.11"), ("10.42.1.0/24", "10.0.0.12")] {
        old.routes.insert(RouteRecord {
            dest: dest.parse().unwrap(),
            via: via.parse().unwrap(),
        });
    }
    let ctx = context(CONFIG, state, dir.path());
    let mut hosts: Vec<Host> = ctx.plan.nodes.iter().map(Host::new).collect();
    for (mut h, rec) in crate::phases::departed_hosts(&ctx) {
        h.departed = Some(departed_line(&h, &rec));
        hosts.push(h);
    }
    hosts
}

#[test]
fn every_kind_of_change_is_listed_under_its_host_and_counted() {
    let mut hosts = hosts();
    let lin1 = &mut hosts[0].changes;
    lin1.host = vec![
        HostChange::EnableForwarding,
        HostChange::AddRoute {
            dest: "10.42.1.0/24".parse().unwrap(),
            via: "10.0.0.12".parse().unwrap(),
            node: "lin2".into(),
        },
        HostChange::ReplaceRoute {
            dest: "10.42.2.0/24".parse().unwrap(),
            via: "10.0.0.21".parse().unwrap(),
            old_via: "10.0.0.99".parse().unwrap(),
            node: "win1".into(),
        },
        HostChange::DeleteRoute {
            dest: "10.42.9.0/24".parse().unwrap(),
            via: "10.0.0.9".parse().unwrap(),
        },
    ];
    lin1.network = Some(NetworkChange::Create);
    lin1.remove_orphans = vec!["rwin-old".into()];
    lin1.containers = vec![
        ("etcd".into(), ContainerChange::Create),
        (
            "api".into(),
            ContainerChange::Replace {
                reason: "image example/api:1 → example/api:2".into(),
            },
        ),
        ("proxy".into(), ContainerChange::Start),
        ("agent".into(), ContainerChange::Unchanged),
    ];
    lin1.blockers = vec!["outbound_nat is on but the host has no iptables command".into()];
    // lin2: already as planned.
    let win1 = &mut hosts[2];
    win1.changes.host = vec![HostChange::Windows(windows::Change::SetIpEnableRouter)];
    win1.changes.network = Some(NetworkChange::Recreate {
        was: "10.42.7.0/24 gateway 10.42.7.1".into(),
    });
    hosts[3].error = Some(HostError::connect(
        "lin3: cannot reach 192.0.2.13:22: connection refused",
        true,
    ));
    // What a departing host's survey found is not listed: it is removed whole.
    hosts[4].changes.host = vec![HostChange::EnableForwarding];
    insta::assert_snapshot!(render_text(&hosts));
}

#[test]
fn a_converged_cluster_says_so() {
    let mut hosts = hosts();
    hosts.truncate(3);
    insta::assert_snapshot!(render_text(&hosts), @r"
    lin1 (192.0.2.11, linux, subnet 10.42.0.0/24 via 10.0.0.11)
      public address 198.51.100.11, labels tier=edge, zone=a
      no changes
    lin2 (192.0.2.12, linux, subnet 10.42.1.0/24 via 10.0.0.12)
      no changes
    win1 (192.0.2.21, windows, subnet 10.42.2.0/24 via 10.0.0.21)
      no changes

    no changes: every host already matches cluster.yml
    ");
}

#[test]
fn a_host_that_could_not_be_read_is_never_reported_as_unchanged() {
    let mut hosts = hosts();
    hosts.truncate(2);
    hosts[1].error = Some(HostError::connect(
        "lin2: SSH authentication failed for user root (ssh-agent)",
        false,
    ));
    let text = render_text(&hosts);
    assert!(!text.contains("every host already matches"), "{text}");
    assert!(
        text.ends_with(
            "\n0 change(s) on 0 host(s); 1 host(s) could not be read, so their changes are unknown\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  ? unknown: lin2: SSH authentication failed"),
        "{text}"
    );
}
