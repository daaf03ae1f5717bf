//! `nodes:`: each node's name, address and port (no duplicates), os and connection, route IP,
//! subnet, roles and SSH credentials; then what needs every node: one route IP per node, and
//! enough room in cluster_cidr for a subnet each.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use ipnet::Ipv4Net;

use super::text::{is_host, is_host_name, shown, Text};
use super::winrm::check_node_winrm;
use super::{at, parse_v4, secret_from_env, set_help, Checker};
use crate::config::diag::Diagnostic;
use crate::config::model::{Connection, Network, Node, Os, Role};
use crate::config::schema::{RawConfig, RawNode};
use crate::powershell::SINGLE_QUOTES;
use crate::secret::Secret;
use crate::settings::{expand_tilde, home_dir};

/// What the nodes before this one use, to find duplicates and overlaps.
#[derive(Default)]
struct Seen {
    /// (address, port) → (node name, line).
    by_address: HashMap<(String, u16), (String, usize)>,
    /// Node name → line.
    by_name: HashMap<String, usize>,
    /// Written subnets, with their node's name and line.
    subnets: Vec<(Ipv4Net, String, usize)>,
}

pub(super) fn check_nodes(
    c: &mut Checker,
    raw: &RawConfig,
    network: &Option<Network>,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut seen = Seen::default();
    if raw.nodes.value.is_empty() {
        let d = c.error(&raw.nodes, "no nodes: the cluster needs at least one");
        set_help(d, "add an entry under nodes: with at least an address");
    }
    for n in &raw.nodes.value {
        nodes.push(check_node(c, raw, &n.value, network, &mut seen));
    }
    check_against_all(c, raw, &nodes, network);
    check_capacity(c, raw, &nodes, network);
    nodes
}

/// One node, its checks in the order they are reported.
fn check_node(
    c: &mut Checker,
    raw: &RawConfig,
    v: &RawNode,
    network: &Option<Network>,
    seen: &mut Seen,
) -> Node {
    let name = v
        .hostname_override
        .as_ref()
        .map(|h| h.value.clone())
        .unwrap_or_else(|| v.address.value.clone());
    let port = v.port.unwrap_or(22);
    let line = at(&v.address).0;
    check_node_text(c, v, &name);
    check_duplicates(c, v, &name, port, seen);
    let os = node_os(c, v);
    let connection = node_connection(c, v, os);
    let winrm = check_node_winrm(c, v, &name, connection);
    let internal = check_internal_address(c, v, &name, network);
    let subnet = check_subnet(c, v, &name, network, &mut seen.subnets);
    let roles = node_roles(c, v);
    let agent_auth = v.ssh_agent_auth.unwrap_or(raw.ssh_agent_auth);
    let (key_path, password) = check_ssh_auth(c, raw, v, &name, connection, agent_auth);

    Node {
        name,
        line,
        address: v.address.value.clone(),
        port,
        internal_address: internal.unwrap_or(Ipv4Addr::UNSPECIFIED),
        user: v.user.as_ref().map_or_else(
            || match os {
                Os::Linux => "root".into(),
                Os::Windows => "Administrator".into(),
            },
            |u| u.value.clone(),
        ),
        os,
        connection,
        docker_socket: v
            .docker_socket
            .as_ref()
            .map_or_else(|| "/var/run/docker.sock".into(), |d| d.value.clone()),
        key_path,
        agent_auth,
        password,
        subnet,
        roles,
        labels: v
            .labels
            .iter()
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .collect(),
        route_interface: v.route_interface.as_ref().map(|r| r.value.clone()),
        container_interface: container_interface(c, v, os),
        public_address: v.public_address.as_ref().map(|p| p.value.clone()),
        winrm,
    }
}

/// Every value of the node that reaches its host: an address rwin can connect to, and no
/// control characters (nor spaces or quotes in a label key) anywhere.
fn check_node_text(c: &mut Checker, v: &RawNode, name: &str) {
    c.check_host(&v.address, "node address");
    if let Some(p) = &v.public_address {
        c.check_host(p, "node public_address");
    }
    let who = format!("node {}", shown(name));
    c.check_text_opt(&v.user, &format!("{who}: user"), Text::Line);
    c.check_text_opt(
        &v.docker_socket,
        &format!("{who}: docker_socket"),
        Text::Line,
    );
    c.check_text_opt(
        &v.route_interface,
        &format!("{who}: route_interface"),
        Text::Line,
    );
    c.check_text_opt(
        &v.container_interface,
        &format!("{who}: container_interface"),
        Text::Line,
    );
    for (key, value) in &v.labels {
        c.check_text(value, &format!("{who}: label `{}`", shown(key)), Text::Line);
        if key.is_empty()
            || key.chars().any(|ch| {
                ch.is_whitespace() || ch.is_control() || ch == '"' || SINGLE_QUOTES.contains(&ch)
            })
        {
            let place = c.key_place(value);
            let d = c.error_place(
                place,
                format!(
                    "{who}: label key `{}` may hold no spaces, quotes or control characters",
                    shown(key)
                ),
            );
            set_help(
                d,
                "use letters, digits, '.', '-' and '/' (as Docker label keys do)",
            );
        }
    }
}

/// An address and port, or a name, an earlier node already has. A duplicate address without
/// hostname_override is a duplicate name too; that is reported once, as the address.
fn check_duplicates(c: &mut Checker, v: &RawNode, name: &str, port: u16, seen: &mut Seen) {
    let line = at(&v.address).0;
    let duplicate_address = seen
        .by_address
        .contains_key(&(v.address.value.clone(), port));
    if let Some((other, other_line)) = seen.by_address.get(&(v.address.value.clone(), port)) {
        let d = c.error(
            &v.address,
            format!(
                "duplicate node address {} (node {other} on line {other_line} has it too)",
                v.address.value
            ),
        );
        set_help(
            d,
            "every node needs its own address; remove or change one of them",
        );
    } else {
        seen.by_address
            .insert((v.address.value.clone(), port), (name.to_string(), line));
    }
    let name_span = v.hostname_override.as_ref().unwrap_or(&v.address);
    if let Some(other_line) = seen
        .by_name
        .get(name)
        .filter(|_| !(duplicate_address && v.hostname_override.is_none()))
    {
        c.error(
            name_span,
            format!("duplicate node name {name} (also used on line {other_line})"),
        );
    } else {
        seen.by_name.insert(name.to_string(), at(name_span).0);
    }
}

fn node_os(c: &mut Checker, v: &RawNode) -> Os {
    match &v.os {
        None => Os::Linux,
        Some(s) => match s.value.as_str() {
            "linux" => Os::Linux,
            "windows" => Os::Windows,
            other => {
                c.error(s, format!("os `{other}` is not one of: linux, windows"));
                Os::Linux
            }
        },
    }
}

/// A Windows node's container NIC: a NIC of its own, never the one routes leave through
/// (binding a transparent network to a NIC moves that NIC's address to the vEthernet).
fn container_interface(c: &mut Checker, v: &RawNode, os: Os) -> Option<String> {
    let ci = v.container_interface.as_ref()?;
    if os != Os::Windows {
        let d = c.error(ci, "container_interface is for Windows nodes");
        set_help(
            d,
            "Linux nodes put their containers on a bridge rwin makes; remove the key",
        );
        return None;
    }
    if v.route_interface.as_ref().map(|r| r.value.as_str()) == Some(ci.value.as_str()) {
        let d = c.error(
            ci,
            format!(
                "container_interface `{}` is also the route_interface: the container network needs a NIC of its own",
                ci.value
            ),
        );
        set_help(
            d,
            "name a second NIC here (seed 001's layout), and keep route_interface for the NIC other nodes reach",
        );
        return None;
    }
    Some(ci.value.clone())
}

fn node_connection(c: &mut Checker, v: &RawNode, os: Os) -> Connection {
    match &v.connection {
        None if os == Os::Windows => Connection::Winrm,
        None => Connection::Ssh,
        Some(s) => match s.value.as_str() {
            "ssh" => Connection::Ssh,
            "winrm" if os == Os::Windows => Connection::Winrm,
            "winrm" => {
                let d = c.error(s, "connection winrm is only for Windows nodes");
                set_help(d, "add `os: windows`, or use connection: ssh");
                Connection::Ssh
            }
            other => {
                c.error(s, format!("connection `{other}` is not one of: ssh, winrm"));
                Connection::Ssh
            }
        },
    }
}

/// The route IP (internal_address, else the address when it is IPv4), and neither it nor the
/// address inside cluster_cidr.
fn check_internal_address(
    c: &mut Checker,
    v: &RawNode,
    name: &str,
    network: &Option<Network>,
) -> Option<Ipv4Addr> {
    let internal = match &v.internal_address {
        Some(s) => parse_v4(c, s, "internal_address"),
        None => {
            match v.address.value.parse::<IpAddr>() {
                Ok(IpAddr::V4(ip)) => Some(ip),
                _ => {
                    let d = c.error(&v.address, format!("node {name} has no IPv4 internal_address and its address `{}` is not one", v.address.value));
                    set_help(d, "set internal_address: the IPv4 address other nodes route this node's subnet through");
                    None
                }
            }
        }
    };
    if let (Some(net), Some(ip)) = (network, internal) {
        if net.cluster_cidr.contains(&ip) {
            let span = v.internal_address.as_ref().unwrap_or(&v.address);
            let d = c.error(
                span,
                format!(
                    "node {name}'s address {ip} lies inside cluster_cidr {}",
                    net.cluster_cidr
                ),
            );
            set_help(
                d,
                "choose a cluster_cidr that does not overlap the hosts' own network",
            );
        }
    }
    if let (Some(net), Ok(IpAddr::V4(ip))) = (network, v.address.value.parse::<IpAddr>()) {
        if net.cluster_cidr.contains(&ip) && v.internal_address.is_some() {
            c.error(
                &v.address,
                format!(
                    "node {name}'s address {ip} lies inside cluster_cidr {}",
                    net.cluster_cidr
                ),
            );
        }
    }
    internal
}

/// A written subnet: a network address inside cluster_cidr, at most /30, overlapping no
/// earlier node's.
fn check_subnet(
    c: &mut Checker,
    v: &RawNode,
    name: &str,
    network: &Option<Network>,
    subnets: &mut Vec<(Ipv4Net, String, usize)>,
) -> Option<Ipv4Net> {
    let s = v.subnet.as_ref()?;
    match s.value.parse::<Ipv4Net>() {
        Ok(sn) if sn.network() != sn.addr() => {
            let d = c.error(s, format!("subnet `{}` has host bits set", s.value));
            set_help(d, format!("did you mean {}?", sn.trunc()));
            None
        }
        Ok(sn) => {
            if let Some(net) = network {
                if !net.cluster_cidr.contains(&sn) {
                    let d = c.error(
                        s,
                        format!(
                            "subnet {sn} of node {name} is outside cluster_cidr {}",
                            net.cluster_cidr
                        ),
                    );
                    set_help(d, "pick a subnet inside cluster_cidr, or leave subnet out to have one allocated");
                } else if sn.prefix_len() > 30 {
                    c.error(
                        s,
                        format!("subnet {sn} is too small for containers (at most /30)"),
                    );
                }
            }
            for (other, other_name, other_line) in subnets.iter() {
                if other.contains(&sn) || sn.contains(other) {
                    c.error(s, format!("subnet {sn} of node {name} overlaps {other} of node {other_name} (line {other_line})"));
                }
            }
            subnets.push((sn, name.to_string(), at(s).0));
            Some(sn)
        }
        Err(_) => {
            c.error(
                s,
                format!("subnet `{}` is not an IPv4 CIDR like 10.42.7.0/24", s.value),
            );
            None
        }
    }
}

fn node_roles(c: &mut Checker, v: &RawNode) -> Vec<Role> {
    let mut roles = Vec::new();
    for r in &v.role {
        match Role::parse(&r.value) {
            Some(role) if !roles.contains(&role) => roles.push(role),
            Some(_) => {}
            None => {
                let d = c.error(r, format!("unknown role `{}`", r.value));
                set_help(d, "roles are: etcd, controlplane, worker");
            }
        }
    }
    roles
}

/// The SSH key (the node's, the top-level one, else ~/.ssh/id_rsa) and password; over SSH
/// without the agent or a password, the key must exist.
fn check_ssh_auth(
    c: &mut Checker,
    raw: &RawConfig,
    v: &RawNode,
    name: &str,
    connection: Connection,
    agent_auth: bool,
) -> (Option<PathBuf>, Option<Secret>) {
    let key_span = v.ssh_key_path.as_ref().or(raw.ssh_key_path.as_ref());
    let key_path = key_span.map(|k| expand_tilde(&k.value));
    let password = v
        .password_env
        .as_ref()
        .and_then(|e| secret_from_env(c, e, &format!("node {name}: password_env")));
    if connection == Connection::Ssh && !agent_auth && v.password_env.is_none() {
        match (key_span, &key_path) {
            (Some(span), Some(p)) if !p.is_file() => {
                let d = c.error(
                    span,
                    format!("ssh key {} (for node {name}) does not exist", p.display()),
                );
                set_help(
                    d,
                    "fix ssh_key_path, or set ssh_agent_auth: true to use your ssh-agent",
                );
            }
            (None, _) if home_dir().is_none() => {
                let d = c.error(
                    &v.address,
                    format!("node {name} has no ssh_key_path, and HOME is not set, so there is no default ~/.ssh/id_rsa"),
                );
                set_help(
                    d,
                    "set ssh_key_path to the key's full path (top level or on the node), set HOME, or use ssh_agent_auth: true",
                );
            }
            (None, _) => {
                let default = expand_tilde("~/.ssh/id_rsa");
                if !default.is_file() {
                    let d = c.error(
                        &v.address,
                        format!(
                            "node {name} has no ssh_key_path and the default {} does not exist",
                            default.display()
                        ),
                    );
                    set_help(
                        d,
                        "set ssh_key_path (top level or on the node) or ssh_agent_auth: true",
                    );
                }
            }
            _ => {}
        }
    }
    // Without HOME there is no default key (not `./~/.ssh/id_rsa`).
    let key_path = key_path.or_else(|| home_dir().map(|h| h.join(".ssh").join("id_rsa")));
    (key_path, password)
}

/// Checks made once every node is known, node by node: a route IP an earlier node has too,
/// port 0, a name that is not a host name, a subnet larger than node_prefix.
fn check_against_all(c: &mut Checker, raw: &RawConfig, nodes: &[Node], network: &Option<Network>) {
    let mut by_internal: HashMap<Ipv4Addr, &str> = HashMap::new();
    for (n, raw_node) in nodes.iter().zip(&raw.nodes.value) {
        if n.internal_address.is_unspecified() {
            continue;
        }
        // Without an explicit internal_address it is the address, already checked for duplicates.
        let explicit = raw_node.value.internal_address.is_some();
        if let Some(other) = by_internal
            .insert(n.internal_address, &n.name)
            .filter(|_| explicit)
        {
            let span = raw_node
                .value
                .internal_address
                .as_ref()
                .unwrap_or(&raw_node.value.address);
            let d = c.error(
                span,
                format!(
                    "node {} has the same route IP {} as node {other}",
                    n.name, n.internal_address
                ),
            );
            set_help(
                d,
                "internal_address is the next hop for the node's subnet: every node needs its own",
            );
        }
        if n.port == 0 {
            c.error(
                &raw_node.value.address,
                format!("node {} has port 0", n.name),
            );
        }
        check_name(c, &raw_node.value, &n.name);
        if let (Some(net), Some(s)) = (network, n.subnet) {
            if s.prefix_len() < net.node_prefix {
                if let Some(span) = &raw_node.value.subnet {
                    let d = c.error(
                        span,
                        format!(
                            "subnet {s} of node {} is larger than node_prefix /{}",
                            n.name, net.node_prefix
                        ),
                    );
                    set_help(
                        d,
                        "a node's subnet is one /node_prefix block of cluster_cidr",
                    );
                }
            }
        }
    }
}

/// A node's name is a host name: it goes into file paths, service arguments, the state file
/// and messages. A bad address that is the name too is reported once, as the address.
fn check_name(c: &mut Checker, v: &RawNode, name: &str) {
    if is_host_name(name) || (v.hostname_override.is_none() && !is_host(&v.address.value)) {
        return;
    }
    let span = v.hostname_override.as_ref().unwrap_or(&v.address);
    let d = c.error(
        span,
        format!("node name `{}` is not a host name", shown(name)),
    );
    set_help(
        d,
        if v.hostname_override.is_some() {
            "use letters, digits and '-', in parts separated by '.' (it goes into file paths, service arguments and the state file)"
        } else {
            "the address is the node's name when it has no hostname_override: set hostname_override: to a host name"
        },
    );
}

/// cluster_cidr holds one /node_prefix subnet per node.
fn check_capacity(c: &mut Checker, raw: &RawConfig, nodes: &[Node], network: &Option<Network>) {
    let Some(net) = network else {
        return;
    };
    let bits = u32::from(
        net.node_prefix
            .saturating_sub(net.cluster_cidr.prefix_len()),
    );
    let capacity: u64 = if bits >= 32 { u64::MAX } else { 1u64 << bits };
    let cidr_span = raw
        .network
        .as_ref()
        .and_then(|n| n.value.cluster_cidr.as_ref());
    if (nodes.len() as u64) > capacity {
        let (l, col) = cidr_span.map(at).unwrap_or_else(|| at(&raw.nodes));
        c.report.push(Diagnostic::error(
            l,
            col,
            format!(
                "cluster_cidr {} holds only {capacity} subnets of /{} but there are {} nodes",
                net.cluster_cidr,
                net.node_prefix,
                nodes.len()
            ),
        ));
        if let Some(d) = c.report.diagnostics.last_mut() {
            set_help(d, "use a larger cluster_cidr or a longer node_prefix");
        }
    }
}
