//! Unit tests: facts parsed, the diff on a converged and a drifted host, doctor's checks, and
//! the apply and teardown scripts (snapshots).

use super::*;
use crate::os::{DesiredHost, HostChange};

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
        allow_reboot: false,
        published: Vec::new(),
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
    assert!(changes.iter().any(
        |c| matches!(c, HostChange::DeleteRoute { dest, .. } if dest.to_string() == "10.42.9.0/24")
    ));
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

/// PRETTY_NAME is host text: a host can put terminal escapes in it (a title change, a cursor
/// move over earlier lines). doctor shows it on one line with every control character escaped.
#[test]
fn doctor_shows_a_hostile_os_name_escaped_on_one_line() {
    let f = parse_facts("os=Evil\x1b]0;pwned\x07 Linux\r\x1b[2J\tx\u{9b}1m\nkernel=6.1\x1b[A\n");
    let os = checks(&desired(), &f).remove(0);
    assert_eq!(os.name, "operating system");
    assert_eq!(
        os.detail,
        r"Evil\x1b]0;pwned\x07 Linux\r\x1b[2J\tx\u{9b}1m, kernel 6.1\x1b[A"
    );
}
