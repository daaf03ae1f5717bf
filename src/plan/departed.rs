//! A plan entry for a node known only from the state file: it has left cluster.yml (or is
//! being removed), and rwin still knows how to reach it and what it made there.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{desired_host, gateway_of, PlannedNode, SubnetSource};
use crate::config::{Config, Connection, Node, Os, Winrm, WinrmAuth};
use crate::state::HostRecord;

/// The node `name` as the state file recorded it. Its desired state never allows a reboot:
/// teardown reports a reboot that removing something needs, and never restarts a host that
/// is leaving the cluster.
pub fn departed_node(
    config: &Config,
    name: &str,
    rec: &HostRecord,
    subnet: Option<Ipv4Net>,
) -> PlannedNode {
    let subnet =
        subnet.unwrap_or_else(|| Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 32).unwrap_or_default());
    let os = Os::from_record(&rec.os);
    let node = Node {
        name: name.to_string(),
        line: 0,
        address: rec.address.clone(),
        port: if rec.port == 0 { 22 } else { rec.port },
        internal_address: Ipv4Addr::UNSPECIFIED,
        user: if rec.user.is_empty() {
            "root".into()
        } else {
            rec.user.clone()
        },
        os,
        connection: match rec.connection.as_deref() {
            Some("winrm") => Connection::Winrm,
            _ => Connection::Ssh,
        },
        docker_socket: rec
            .docker_socket
            .clone()
            .unwrap_or_else(|| "/var/run/docker.sock".into()),
        key_path: rec
            .ssh_key_path
            .clone()
            .or_else(|| config.default_key_path.clone()),
        agent_auth: config.default_agent_auth,
        password: None,
        subnet: Some(subnet),
        roles: Vec::new(),
        labels: Default::default(),
        route_interface: None,
        container_interface: None,
        public_address: None,
        // The password is never in the state; the variable it came from is.
        winrm: rec.winrm.as_ref().map(|w| Winrm {
            port: w.port,
            https: w.https,
            auth: match w.auth.as_str() {
                "basic" => WinrmAuth::Basic,
                "kerberos" => WinrmAuth::Kerberos,
                _ => WinrmAuth::Ntlm,
            },
            user: w.user.clone(),
            password: w
                .password_env
                .as_ref()
                .filter(|v| names_winrm_password(config, v))
                .and_then(|v| std::env::var(v).ok())
                .map(crate::secret::Secret::new),
            password_env: w.password_env.clone(),
            ca_cert: None,
            insecure_skip_verify: false,
        }),
    };
    let mut planned = PlannedNode {
        name: name.to_string(),
        address: rec.address.clone(),
        internal_address: node.internal_address,
        os,
        roles: Vec::new(),
        subnet,
        gateway: gateway_of(subnet),
        subnet_source: SubnetSource::State,
        routes: Vec::new(),
        node,
        host_os: crate::os::host_os(os),
        desired: Default::default(),
    };
    planned.desired = desired_host(config, &planned, false, Vec::new());
    planned
}

/// Whether some node of cluster.yml takes its WinRM password from `var`. Only such a variable
/// is read for a node known from the state file alone: the state file is not the user's
/// word, and one naming any variable (a cloud token, another cluster's password) would have
/// rwin send it to whatever address it records (issue 13, point 10).
pub fn names_winrm_password(config: &Config, var: &str) -> bool {
    config.nodes.iter().any(|n| {
        n.winrm
            .as_ref()
            .is_some_and(|w| w.password_env.as_deref() == Some(var))
    })
}

/// Why a departed node's WinRM login has no password, when its record names a variable.
pub fn missing_password(config: &Config, node: &Node, var: &str) -> String {
    if names_winrm_password(config, var) {
        format!(
            "{}: {var}, the WinRM password of {}, is not set: export it and run again",
            node.name, node.address
        )
    } else {
        format!(
            "{name}: the state file names {var} as the WinRM password of {address}, but no node in cluster.yml has winrm.password_env {var}, and rwin sends a password only from a variable cluster.yml names (a state file could name any). If {var} is right for {address}, put {name} back under nodes: with winrm: {{password_env: {var}}} and run `rwin remove-host {name} --edit-config`; or, if {name} is gone, `rwin remove-host {name} --force`",
            name = node.name,
            address = node.address,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::WinrmRecord;

    fn config(password_env: &str) -> Config {
        let text = format!("ssh_agent_auth: true\nnodes:\n  - {{address: 10.0.0.1, os: windows, winrm: {{https: false, password_env: {password_env}}}}}\n");
        crate::config::load_str(std::path::Path::new("c.yml"), text)
            .map(|(c, _)| c)
            .unwrap_or_else(|r| panic!("{}", r.render()))
    }

    #[test]
    fn a_departed_node_gets_a_password_only_from_a_variable_cluster_yml_names() {
        std::env::set_var("RWIN_TEST_DEPARTED_NAMED", "p1");
        std::env::set_var("RWIN_TEST_DEPARTED_STOLEN", "p2");
        let rec = |var: &str| HostRecord {
            address: "203.0.113.9".into(),
            os: "windows".into(),
            connection: Some("winrm".into()),
            winrm: Some(WinrmRecord {
                port: 5985,
                auth: "ntlm".into(),
                user: "Administrator".into(),
                password_env: Some(var.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let cfg = config("RWIN_TEST_DEPARTED_NAMED");
        let password = |var: &str| {
            departed_node(&cfg, "gone", &rec(var), None)
                .node
                .winrm
                .and_then(|w| w.password)
                .map(|p| p.expose().to_string())
        };
        assert_eq!(password("RWIN_TEST_DEPARTED_NAMED").as_deref(), Some("p1"));
        assert_eq!(password("RWIN_TEST_DEPARTED_STOLEN"), None);
        let node = departed_node(&cfg, "gone", &rec("RWIN_TEST_DEPARTED_STOLEN"), None).node;
        let why = missing_password(&cfg, &node, "RWIN_TEST_DEPARTED_STOLEN");
        assert!(why.starts_with("gone: the state file names RWIN_TEST_DEPARTED_STOLEN as the WinRM password of 203.0.113.9, but no node"), "{why}");
    }
}
