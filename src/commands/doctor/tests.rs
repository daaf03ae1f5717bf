//! doctor's text report as the operator reads it: the rows for a read host, an unreachable
//! host and a host that answered SSH but not the facts, the probe matrix, and the verdict.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::host::checks as host_checks;
use super::probe::Probe;
use super::report::{render_matrix, render_text, table_rows};
use crate::commands::test_support::context;
use crate::os::{linux, OsFacts};
use crate::phases::{ErrorKind, Host, HostError, HostFacts};
use crate::state::State;
use crate::transport::{ExecOutput, Transport, TransportError};

const CONFIG: &str = "\
cluster_name: demo
ssh_agent_auth: true
nodes:
  - {address: 192.0.2.11, internal_address: 10.0.0.11, hostname_override: lin1, role: [etcd, controlplane, worker]}
  - {address: 192.0.2.12, internal_address: 10.0.0.12, hostname_override: lin2, role: [worker], port: 2222}
  - {address: 192.0.2.13, internal_address: 10.0.0.13, hostname_override: lin3, role: [worker], user: ops}
";

/// A connection that was opened: doctor must not need it once the facts are missing.
struct Opened;

impl Transport for Opened {
    fn node(&self) -> &str {
        "lin3"
    }

    fn exec<'a>(
        &'a self,
        _: &'a str,
        _: Option<&'a [u8]>,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        Box::pin(async { panic!("doctor ran a command on a host whose facts failed") })
    }
}

#[tokio::test]
async fn rows_for_a_read_host_an_unreachable_one_and_one_without_docker() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(CONFIG, State::default(), dir.path());
    let mut hosts: Vec<Host> = ctx.plan.nodes.iter().map(Host::new).collect();
    // lin1 answered: forwarding on, one route missing, one stray, NAT rule gone, its clock 5 s
    // ahead. Its transport is gone, so no component rows follow.
    let received_at = 1_700_000_000.0;
    hosts[0].facts = Some(HostFacts {
        os: OsFacts::Linux(linux::parse_facts(&format!(
            "os=Debian GNU/Linux 12 (bookworm)\nkernel=6.1.0-18-amd64\nforwarding=1\ndropin=1\niptables=1\nforward_rule=1\naddr=rwin0 10.42.0.1/24\naddr=eth0 192.0.2.11/24\nroute=10.42.1.0/24 10.0.0.12\nroute=10.42.9.0/24 10.0.0.9\nclock={}\n",
            received_at + 5.0
        ))),
        docker_version: "24.0.7".into(),
        network: None,
        containers: BTreeMap::new(),
        services: BTreeMap::new(),
        orphans: Vec::new(),
        images: None,
        received_at,
    });
    hosts[1].error = Some(HostError::connect("lin2: cannot reach 192.0.2.12:2222: Connection refused (os error 111). Is the host up and sshd listening on that port?", true));
    hosts[2].transport = Some(Arc::new(Opened));
    hosts[2].error = Some(HostError::new(
        ErrorKind::Engine,
        "lin3: Docker: cannot connect to /var/run/docker.sock (is dockerd running?)",
    ));
    let mut rows = Vec::new();
    for h in &hosts {
        for c in host_checks(&ctx, h).await {
            rows.push((h.node.name.clone(), c));
        }
    }
    insta::assert_snapshot!(render_text(&table_rows(rows), None));
}

#[test]
fn the_verdict_counts_warnings_when_nothing_failed() {
    let rows = vec![
        (
            "lin1".to_string(),
            crate::os::Check::pass("IPv4 forwarding", "on"),
        ),
        (
            "lin1".to_string(),
            crate::os::Check::warn("clock", "+2.00s from this machine", "synchronise it"),
        ),
    ];
    let text = render_text(&table_rows(rows), None);
    assert!(
        text.ends_with("\nall checks passed (1 warning(s))\n"),
        "{text}"
    );
}

#[test]
fn the_probe_matrix_reads_row_reaches_column() {
    // lin2 reaches win1 but not the other way round: a transposed matrix would show it.
    let mut matrix = BTreeMap::new();
    matrix.insert(
        "lin1".to_string(),
        BTreeMap::from([("lin2".to_string(), true), ("win1".to_string(), false)]),
    );
    matrix.insert(
        "lin2".to_string(),
        BTreeMap::from([("lin1".to_string(), true), ("win1".to_string(), true)]),
    );
    matrix.insert(
        "win1".to_string(),
        BTreeMap::from([("lin1".to_string(), false), ("lin2".to_string(), false)]),
    );
    let probe = Probe {
        checks: Vec::new(),
        matrix,
    };
    insta::assert_snapshot!(render_matrix(&probe.matrix), @r"
    pod-to-pod probe (row reaches column):
                     lin1     lin2     win1
            lin1        -        ✔        ✘
            lin2        ✔        -        ✔
            win1        ✘        ✘        -
    ");
}

/// A connected host whose facts failed is named by the kind of its error, not by the words in
/// it: an engine failure that never says "Docker" is the engine's row, and a facts failure that
/// does is the facts row.
#[tokio::test]
async fn a_failed_host_is_classified_by_its_error_kind() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(CONFIG, State::default(), dir.path());
    let mut hosts: Vec<Host> = ctx.plan.nodes.iter().map(Host::new).collect();
    for (h, kind, message) in [
        (
            0,
            ErrorKind::Engine,
            "lin1: listing containers failed (exit 1): no such pipe",
        ),
        (
            1,
            ErrorKind::Facts,
            "lin2: reading facts failed (exit 1): Docker mentioned here",
        ),
    ] {
        hosts[h].transport = Some(Arc::new(Opened));
        hosts[h].error = Some(HostError::new(kind, message));
    }
    let engine = host_checks(&ctx, &hosts[0]).await;
    let facts = host_checks(&ctx, &hosts[1]).await;
    assert_eq!(engine[1].name, "container engine", "{engine:?}");
    assert_eq!(facts[1].name, "host facts", "{facts:?}");
}
