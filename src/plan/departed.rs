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
