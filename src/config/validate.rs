//! Load cluster.yml and check it. YAML syntax, unknown fields and wrong types stop parsing at
//! the first one (serde's model); every semantic problem after that is collected, so one run of
//! `rwin validate` lists all of them, each at its `file:line:column`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use ipnet::Ipv4Net;

use super::diag::{Diagnostic, Report};
use super::model::*;
use super::outline::Outline;
use super::schema::*;
use super::template::{NodeFacts, TemplateContext};
use crate::secret::Secret;
use crate::settings::expand_tilde;

mod health;
mod place;
mod service;
use health::check_health;
use place::Place;
use service::check_service;

/// Where a spanned value sits: (line, column).
fn at<T>(s: &S<T>) -> (usize, usize) {
    (s.referenced.line() as usize, s.referenced.column() as usize)
}

struct Checker {
    report: Report,
    /// The file's structure, for places a `Spanned` value does not give: keys, and
    /// expressions inside strings.
    outline: Outline,
}

impl Checker {
    fn error<T>(&mut self, s: &S<T>, msg: impl Into<String>) -> &mut Diagnostic {
        let (l, c) = at(s);
        let i = self.report.diagnostics.len();
        self.report.push(Diagnostic::error(l, c, msg));
        &mut self.report.diagnostics[i]
    }

    fn report_error(&mut self, (l, c): (usize, usize), msg: impl Into<String>) -> &mut Diagnostic {
        let i = self.report.diagnostics.len();
        self.report.push(Diagnostic::error(l, c, msg));
        &mut self.report.diagnostics[i]
    }

    fn warn<T>(&mut self, s: &S<T>, msg: impl Into<String>) -> &mut Diagnostic {
        let (l, c) = at(s);
        let i = self.report.diagnostics.len();
        self.report.push(Diagnostic::warning(l, c, msg));
        &mut self.report.diagnostics[i]
    }
}

fn set_help(d: &mut Diagnostic, help: impl Into<String>) {
    d.help = Some(help.into());
}

/// Read, parse and check `path`. `Ok` carries the config and any warnings; `Err` the report
/// with at least one error.
pub fn load(path: &Path) -> Result<(Config, Report), Report> {
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(err) => {
            let mut r = Report::new(path, String::new());
            r.push(
                Diagnostic::error(0, 0, format!("cannot read {}: {err}", path.display())).help(
                    "pass the path of your cluster description, e.g. `rwin up ./cluster.yml`",
                ),
            );
            return Err(r);
        }
    };
    load_str(path, source)
}

/// Parse and check config text that came from `path`.
pub fn load_str(path: &Path, source: String) -> Result<(Config, Report), Report> {
    let raw: RawConfig = match serde_saphyr::from_str(&source) {
        Ok(raw) => raw,
        Err(err) => {
            let mut r = Report::new(path, source.clone());
            r.push(super::parse_error::diagnostic(&err, &source));
            return Err(r);
        }
    };
    let outline = Outline::parse(&source).unwrap_or_default();
    let mut c = Checker {
        report: Report::new(path, source),
        outline,
    };
    let config = check(&mut c, path, raw);
    if c.report.has_errors() {
        Err(c.report)
    } else {
        match config {
            Some(cfg) => Ok((cfg, c.report)),
            None => Err(c.report),
        }
    }
}

fn check(c: &mut Checker, path: &Path, raw: RawConfig) -> Option<Config> {
    let cluster_name = match &raw.cluster_name {
        Some(n) if valid_name(&n.value) => n.value.clone(),
        Some(n) => {
            let d = c.error(n, format!("cluster_name `{}` is not a valid name", n.value));
            set_help(d, "use lowercase letters, digits and '-', starting with a letter (it goes into container labels)");
            "invalid".into()
        }
        None => "rwin".into(),
    };

    let network = check_network(c, raw.network.as_ref());
    let passphrase = raw
        .ssh_key_passphrase_env
        .as_ref()
        .and_then(|e| secret_from_env(c, e, "ssh_key_passphrase_env"));
    let registries = raw
        .private_registries
        .iter()
        .filter_map(|r| check_registry(c, r))
        .collect::<Vec<_>>();
    for r in raw
        .private_registries
        .iter()
        .filter(|r| r.value.is_default)
        .skip(1)
    {
        let d = c.error(
            &r.value.url,
            format!(
                "registry {} is a second is_default registry",
                r.value.url.value
            ),
        );
        set_help(
            d,
            "only one registry can be the default for images without a registry host",
        );
    }
    let bastion = raw.bastion_host.as_ref().map(|b| Bastion {
        address: b.value.address.value.clone(),
        port: b.value.port.unwrap_or(22),
        user: b.value.user.clone().unwrap_or_else(|| "root".into()),
        key_path: b
            .value
            .ssh_key_path
            .as_ref()
            .or(raw.ssh_key_path.as_ref())
            .map(|k| expand_tilde(&k.value)),
    });

    let nodes = check_nodes(c, &raw, &network);
    let components = check_components(c, path, &raw, &nodes, &network, &cluster_name);
    check_engine_none(c, &raw, &nodes);

    Some(Config {
        path: path.to_path_buf(),
        cluster_name,
        ssh_key_passphrase: passphrase,
        default_key_path: raw.ssh_key_path.as_ref().map(|k| expand_tilde(&k.value)),
        default_agent_auth: raw.ssh_agent_auth,
        bastion,
        network: network?,
        registries,
        nodes,
        components,
    })
}

/// `container_engine: none` is routing only: no components, and Linux nodes only (a Windows
/// container network is made by its engine).
fn check_engine_none(c: &mut Checker, raw: &RawConfig, nodes: &[Node]) {
    let Some(engine) = raw
        .network
        .as_ref()
        .and_then(|n| n.value.container_engine.as_ref())
        .filter(|e| e.value == "none")
    else {
        return;
    };
    if let Some(first) = raw.components.first() {
        let d = c.error(
            &first.value.name,
            "components need a container engine, but network.container_engine is none",
        );
        set_help(d, "remove the components, or set container_engine: docker");
    }
    if let Some(w) = nodes.iter().find(|n| n.os == Os::Windows) {
        let d = c.error(
            engine,
            format!(
                "container_engine none is for Linux hosts only, and node {} runs Windows",
                w.name
            ),
        );
        set_help(
            d,
            "a Windows container network is made by its container engine: use docker",
        );
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn secret_from_env(c: &mut Checker, var: &S<String>, field: &str) -> Option<Secret> {
    match std::env::var(&var.value) {
        Ok(v) if !v.is_empty() => Some(Secret::new(v)),
        _ => {
            let d = c.error(
                var,
                format!(
                    "{field} names the environment variable {} but it is not set",
                    var.value
                ),
            );
            set_help(d, format!("export {}=… before running rwin", var.value));
            None
        }
    }
}

/// A Windows node's WinRM endpoint: defaults, the auth/transport combinations that work on a
/// stock host (Basic only over HTTPS; plain HTTP needs NTLM's message encryption), the password.
fn winrm_settings(
    c: &mut Checker,
    v: &super::schema::RawNode,
    name: &str,
    node_user: Option<&str>,
) -> Option<Winrm> {
    let w = v.winrm.as_ref().map(|w| &w.value);
    let https = w.and_then(|w| w.https).unwrap_or(true);
    let auth = match w.and_then(|w| w.auth.as_ref()) {
        None => WinrmAuth::Ntlm,
        Some(a) => match a.value.as_str() {
            "ntlm" => WinrmAuth::Ntlm,
            "basic" if !https => {
                let d = c.error(a, format!("node {name}: WinRM Basic auth over plain HTTP would send the password in the clear, and hosts refuse it (AllowUnencrypted=false)"));
                set_help(
                    d,
                    "use auth: ntlm (HTTP with message encryption), or https: true",
                );
                WinrmAuth::Basic
            }
            "basic" => WinrmAuth::Basic,
            "kerberos" => WinrmAuth::Kerberos,
            other => {
                c.error(
                    a,
                    format!("winrm.auth `{other}` is not one of: ntlm, basic, kerberos"),
                );
                WinrmAuth::Ntlm
            }
        },
    };
    let password = match (
        w.and_then(|w| w.password_env.as_ref()),
        w.and_then(|w| w.password.as_ref()),
    ) {
        (Some(e), _) => secret_from_env(c, e, &format!("node {name}: winrm.password_env")),
        (None, Some(p)) => Some(Secret::new(p.value.clone())),
        (None, None) if auth != WinrmAuth::Kerberos => {
            // In the winrm: settings when there are some, which is where it goes.
            let place = v
                .winrm
                .as_ref()
                .map_or((at(&v.address), None), |w| c.key_place(w));
            let d = c.error_place(
                place,
                format!(
                    "node {name} connects over WinRM ({}) but has no password",
                    auth.as_str()
                ),
            );
            set_help(
                d,
                "add winrm: {password_env: VAR} and export VAR=… before running rwin",
            );
            None
        }
        (None, None) => None,
    };
    let ca_cert = w.and_then(|w| w.ca_cert.as_ref()).and_then(|p| {
        let path = expand_tilde(&p.value);
        if path.is_file() {
            Some(path)
        } else {
            let d = c.error(
                p,
                format!("winrm.ca_cert {} does not exist", path.display()),
            );
            set_help(
                d,
                "point it at the PEM file of the CA that signed the host's WinRM certificate",
            );
            None
        }
    });
    Some(Winrm {
        port: w
            .and_then(|w| w.port)
            .unwrap_or(if https { 5986 } else { 5985 }),
        https,
        auth,
        user: w
            .and_then(|w| w.user.clone())
            .or_else(|| node_user.map(str::to_string))
            .unwrap_or_else(|| "Administrator".into()),
        password,
        password_env: w
            .and_then(|w| w.password_env.as_ref())
            .map(|e| e.value.clone()),
        ca_cert,
        insecure_skip_verify: w
            .and_then(|w| w.insecure_skip_verify.as_ref())
            .is_some_and(|s| s.value),
    })
}

/// Special-purpose ranges a container subnet cannot live in (RFC 6890's registry): routers do
/// not forward them, or hosts treat them specially. Link-local also holds seed 000's metadata
/// and DNS addresses (169.254.169.250 and .251), whether or not this file sets them.
fn reserved_overlap(net: &Ipv4Net) -> Option<(Ipv4Net, &'static str)> {
    const RESERVED: [(&str, &str); 5] = [
        ("0.0.0.0/8", "\"this network\" (RFC 1122), which hosts never route"),
        ("127.0.0.0/8", "the loopback range (RFC 1122), which never leaves a host"),
        (
            "169.254.0.0/16",
            "the link-local range: routers do not forward it (RFC 3927), and it holds the metadata and DNS addresses 169.254.169.250 and 169.254.169.251",
        ),
        ("224.0.0.0/4", "the multicast range (RFC 5771)"),
        ("240.0.0.0/4", "the reserved range (RFC 1112), which hosts do not route"),
    ];
    RESERVED.iter().find_map(|(range, why)| {
        let range: Ipv4Net = range.parse().expect("a valid constant");
        (range.contains(&net.network()) || net.contains(&range.network())).then_some((range, *why))
    })
}

fn parse_v4(c: &mut Checker, s: &S<String>, what: &str) -> Option<Ipv4Addr> {
    match s.value.parse::<Ipv4Addr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            c.error(s, format!("{what} `{}` is not an IPv4 address", s.value));
            None
        }
    }
}

fn check_network(c: &mut Checker, raw: Option<&S<RawNetwork>>) -> Option<Network> {
    let default_cidr: Ipv4Net = "10.42.0.0/16".parse().ok()?;
    let Some(raw) = raw else {
        return Some(Network {
            cluster_cidr: default_cidr,
            node_prefix: 24,
            metadata_address: None,
            dns_address: None,
            outbound_nat: true,
            windows_driver: WindowsDriver::Transparent,
            container_engine: ContainerEngine::Docker,
        });
    };
    let n = &raw.value;
    let cluster_cidr = match &n.cluster_cidr {
        None => Some(default_cidr),
        Some(s) => match s.value.parse::<Ipv4Net>() {
            Ok(net) if net.network() == net.addr() => {
                if let Some((range, why)) = reserved_overlap(&net) {
                    let d = c.error(s, format!("cluster_cidr {net} overlaps {range}, {why}"));
                    set_help(
                        d,
                        "pick a private range (RFC 1918) that no host uses, e.g. 10.42.0.0/16",
                    );
                }
                Some(net)
            }
            Ok(net) => {
                let d = c.error(s, format!("cluster_cidr `{}` has host bits set", s.value));
                set_help(d, format!("did you mean {}?", net.trunc()));
                None
            }
            Err(_) => {
                c.error(
                    s,
                    format!(
                        "cluster_cidr `{}` is not an IPv4 CIDR like 10.42.0.0/16",
                        s.value
                    ),
                );
                None
            }
        },
    };
    let node_prefix = match &n.node_prefix {
        None => 24,
        Some(p) => {
            let cluster_len = cluster_cidr.map(|n| n.prefix_len()).unwrap_or(0);
            if p.value > 30 || p.value < cluster_len {
                let d = c.error(p, format!("node_prefix /{} is not usable", p.value));
                set_help(
                    d,
                    format!("pick a prefix between /{cluster_len} (the cluster_cidr) and /30"),
                );
            }
            p.value
        }
    };
    let metadata_address = n
        .metadata_address
        .as_ref()
        .and_then(|s| parse_v4(c, s, "metadata_address"));
    let dns_address = n
        .dns_address
        .as_ref()
        .and_then(|s| parse_v4(c, s, "dns_address"));
    if let Some(cidr) = cluster_cidr {
        for (field, s, ip) in [
            ("metadata_address", &n.metadata_address, metadata_address),
            ("dns_address", &n.dns_address, dns_address),
        ] {
            if let (Some(s), Some(ip)) = (s, ip) {
                if cidr.contains(&ip) {
                    c.error(s, format!("{field} {ip} lies inside cluster_cidr {cidr}; it must be outside every node subnet"));
                }
            }
        }
    }
    let windows_driver = match &n.windows_driver {
        None => WindowsDriver::Transparent,
        Some(s) => match s.value.as_str() {
            "transparent" => WindowsDriver::Transparent,
            "l2bridge" => WindowsDriver::L2bridge,
            other => {
                c.error(
                    s,
                    format!("windows_driver `{other}` is not one of: transparent, l2bridge"),
                );
                WindowsDriver::Transparent
            }
        },
    };
    let container_engine = match &n.container_engine {
        None => ContainerEngine::Docker,
        Some(s) => match s.value.as_str() {
            "docker" => ContainerEngine::Docker,
            "none" => ContainerEngine::None,
            other => {
                c.error(
                    s,
                    format!("container_engine `{other}` is not one of: docker, none"),
                );
                ContainerEngine::Docker
            }
        },
    };
    Some(Network {
        cluster_cidr: cluster_cidr?,
        node_prefix,
        metadata_address,
        dns_address,
        outbound_nat: n.outbound_nat.unwrap_or(true),
        windows_driver,
        container_engine,
    })
}

fn check_registry(c: &mut Checker, r: &S<RawRegistry>) -> Option<Registry> {
    let v = &r.value;
    let mut password = None;
    if let Some(p) = &v.password {
        let d = c.warn(
            p,
            format!(
                "registry {} has a literal password in the file",
                v.url.value
            ),
        );
        set_help(
            d,
            "prefer password_env: REGISTRY_PASSWORD and keep the secret out of the file",
        );
        password = Some(Secret::new(p.value.clone()));
    }
    if let Some(e) = &v.password_env {
        password = secret_from_env(c, e, "password_env").or(password);
    }
    if v.url.value.contains("://") || v.url.value.is_empty() {
        let d = c.error(
            &v.url,
            format!("registry url `{}` should be host[:port]", v.url.value),
        );
        set_help(
            d,
            "write it the way image names start, e.g. registry.example:5000",
        );
    }
    Some(Registry {
        url: v.url.value.clone(),
        user: v.user.clone(),
        password,
        is_default: v.is_default,
    })
}

fn check_nodes(c: &mut Checker, raw: &RawConfig, network: &Option<Network>) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut by_address: HashMap<(String, u16), (String, usize)> = HashMap::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut subnets: Vec<(Ipv4Net, String, usize)> = Vec::new();
    if raw.nodes.value.is_empty() {
        let d = c.error(&raw.nodes, "no nodes: the cluster needs at least one");
        set_help(d, "add an entry under nodes: with at least an address");
    }
    for n in &raw.nodes.value {
        let v = &n.value;
        let name = v
            .hostname_override
            .as_ref()
            .map(|h| h.value.clone())
            .unwrap_or_else(|| v.address.value.clone());
        let port = v.port.unwrap_or(22);
        let line = at(&v.address).0;
        let duplicate_address = by_address.contains_key(&(v.address.value.clone(), port));
        if let Some((other, other_line)) = by_address.get(&(v.address.value.clone(), port)) {
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
            by_address.insert((v.address.value.clone(), port), (name.clone(), line));
        }
        let name_span = v.hostname_override.as_ref().unwrap_or(&v.address);
        if let Some(other_line) = by_name
            .get(&name)
            .filter(|_| !(duplicate_address && v.hostname_override.is_none()))
        {
            c.error(
                name_span,
                format!("duplicate node name {name} (also used on line {other_line})"),
            );
        } else {
            by_name.insert(name.clone(), at(name_span).0);
        }

        let os = match &v.os {
            None => Os::Linux,
            Some(s) => match s.value.as_str() {
                "linux" => Os::Linux,
                "windows" => Os::Windows,
                other => {
                    c.error(s, format!("os `{other}` is not one of: linux, windows"));
                    Os::Linux
                }
            },
        };
        let connection = match &v.connection {
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
        };
        let mut winrm = None;
        if let (Some(w), Connection::Ssh) = (&v.winrm, connection) {
            let ((l, col), width) = c.key_place(w);
            c.report.push(Diagnostic::warning(
                l,
                col,
                format!("node {name} has winrm settings but connects over SSH"),
            ));
            let d = c.report.diagnostics.last_mut().expect("just pushed");
            d.width = width;
            set_help(d, "remove winrm:, or set connection: winrm");
        }
        if connection == Connection::Winrm {
            winrm = winrm_settings(c, v, &name, v.user.as_deref());
        }
        if let Some(w) = &v.winrm {
            if let Some(p) = &w.value.password {
                let d = c.warn(
                    p,
                    format!("node {name} has a literal WinRM password in the file"),
                );
                set_help(d, "prefer winrm.password_env");
            }
            if let Some(skip) = w.value.insecure_skip_verify.as_ref().filter(|s| s.value) {
                c.warn(
                    skip,
                    format!(
                        "node {name}: winrm.insecure_skip_verify turns off TLS certificate checks"
                    ),
                );
            }
        }

        let internal = match &v.internal_address {
            Some(s) => parse_v4(c, s, "internal_address"),
            None => match v.address.value.parse::<IpAddr>() {
                Ok(IpAddr::V4(ip)) => Some(ip),
                _ => {
                    let d = c.error(&v.address, format!("node {name} has no IPv4 internal_address and its address `{}` is not one", v.address.value));
                    set_help(d, "set internal_address: the IPv4 address other nodes route this node's subnet through");
                    None
                }
            },
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

        let subnet = v.subnet.as_ref().and_then(|s| match s.value.parse::<Ipv4Net>() {
            Ok(sn) if sn.network() != sn.addr() => {
                let d = c.error(s, format!("subnet `{}` has host bits set", s.value));
                set_help(d, format!("did you mean {}?", sn.trunc()));
                None
            }
            Ok(sn) => {
                if let Some(net) = network {
                    if !net.cluster_cidr.contains(&sn) {
                        let d = c.error(s, format!("subnet {sn} of node {name} is outside cluster_cidr {}", net.cluster_cidr));
                        set_help(d, "pick a subnet inside cluster_cidr, or leave subnet out to have one allocated");
                    } else if sn.prefix_len() > 30 {
                        c.error(s, format!("subnet {sn} is too small for containers (at most /30)"));
                    }
                }
                for (other, other_name, other_line) in &subnets {
                    if other.contains(&sn) || sn.contains(other) {
                        c.error(s, format!("subnet {sn} of node {name} overlaps {other} of node {other_name} (line {other_line})"));
                    }
                }
                subnets.push((sn, name.clone(), at(s).0));
                Some(sn)
            }
            Err(_) => {
                c.error(s, format!("subnet `{}` is not an IPv4 CIDR like 10.42.7.0/24", s.value));
                None
            }
        });

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

        let agent_auth = v.ssh_agent_auth.unwrap_or(raw.ssh_agent_auth);
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
        let key_path = key_path.or_else(|| Some(expand_tilde("~/.ssh/id_rsa")));

        nodes.push(Node {
            name,
            line,
            address: v.address.value.clone(),
            port,
            internal_address: internal.unwrap_or(Ipv4Addr::UNSPECIFIED),
            user: v.user.clone().unwrap_or_else(|| match os {
                Os::Linux => "root".into(),
                Os::Windows => "Administrator".into(),
            }),
            os,
            connection,
            docker_socket: v
                .docker_socket
                .clone()
                .unwrap_or_else(|| "/var/run/docker.sock".into()),
            key_path,
            agent_auth,
            password,
            subnet,
            roles,
            labels: v.labels.clone(),
            route_interface: v.route_interface.clone(),
            public_address: v.public_address.as_ref().map(|p| p.value.clone()),
            winrm,
        });
    }

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
        if n.name.chars().any(|ch| ch.is_whitespace() || ch == '/') {
            let span = raw_node
                .value
                .hostname_override
                .as_ref()
                .unwrap_or(&raw_node.value.address);
            c.error(
                span,
                format!("node name `{}` may not contain spaces or '/'", n.name),
            );
        }
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
    if let Some(net) = network {
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
    nodes
}

fn check_components(
    c: &mut Checker,
    path: &Path,
    raw: &RawConfig,
    nodes: &[Node],
    network: &Option<Network>,
    cluster_name: &str,
) -> Vec<Component> {
    let names: HashSet<&str> = raw
        .components
        .iter()
        .map(|x| x.value.name.value.as_str())
        .collect();
    let service_names: HashSet<&str> = raw
        .components
        .iter()
        .filter(|x| x.value.service.is_some())
        .map(|x| x.value.name.value.as_str())
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    // Facts good enough to catch template mistakes before anything runs.
    let sample = NodeFacts {
        name: "node".into(),
        address: "192.0.2.1".into(),
        internal_address: "192.0.2.1".into(),
        subnet: network
            .as_ref()
            .map(|n| n.cluster_cidr.to_string())
            .unwrap_or_default(),
        gateway: "10.42.0.1".into(),
    };
    let roles: BTreeMap<Role, Vec<NodeFacts>> = Role::ALL
        .into_iter()
        .map(|r| (r, vec![sample.clone()]))
        .collect();

    for comp in &raw.components {
        let v = &comp.value;
        let name = v.name.value.as_str();
        if !valid_name(name) {
            let d = c.error(
                &v.name,
                format!("component name `{name}` is not a valid name"),
            );
            set_help(
                d,
                "use lowercase letters, digits and '-', starting with a letter",
            );
        }
        if let Some(line) = seen.get(name) {
            c.error(
                &v.name,
                format!("duplicate component {name} (first defined on line {line})"),
            );
        } else {
            seen.insert(name, at(&v.name).0);
        }
        let mut comp_roles = Vec::new();
        for r in &v.roles {
            match Role::parse(&r.value) {
                Some(role) => comp_roles.push(role),
                None => {
                    let d = c.error(r, format!("unknown role `{}`", r.value));
                    set_help(d, "roles are: etcd, controlplane, worker");
                }
            }
        }
        let mut os = Vec::new();
        for o in &v.os {
            match o.value.as_str() {
                "linux" => os.push(Os::Linux),
                "windows" => os.push(Os::Windows),
                other => {
                    c.error(o, format!("os `{other}` is not one of: linux, windows"));
                }
            }
        }
        if os.is_empty() && v.service.is_some() {
            os.push(Os::Windows);
        }
        if os.is_empty() {
            if v.image.is_some() {
                os.push(Os::Linux);
            }
            if !v.windows_image.is_empty() {
                os.push(Os::Windows);
            }
        }
        if v.image.is_none() && v.windows_image.is_empty() && v.service.is_none() {
            let d = c.error(&v.name, format!("component {name} has no image"));
            set_help(
                d,
                "add image: (Linux) or windows_image: (Windows, per build)",
            );
        }
        let network_mode = match &v.network {
            None => NetworkMode::Pod,
            Some(s) => match s.value.as_str() {
                "host" => NetworkMode::Host,
                "pod" => NetworkMode::Pod,
                "none" => NetworkMode::None,
                other => {
                    c.error(
                        s,
                        format!("network `{other}` is not one of: host, pod, none"),
                    );
                    NetworkMode::Pod
                }
            },
        };
        for a in &v.after {
            if a.value == name {
                c.error(a, format!("component {name} cannot come after itself"));
            } else if !names.contains(a.value.as_str()) {
                let d = c.error(
                    a,
                    format!(
                        "component {name} comes after `{}`, which is not a component",
                        a.value
                    ),
                );
                set_help(d, format!("components are: {}", sorted_names(&names)));
            }
        }
        // Arguments are rendered before the container exists, so they cannot use container.ip;
        // health checks run after, so they can.
        let ctx = TemplateContext {
            cluster_name,
            node: &sample,
            roles: &roles,
            container_ip: None,
        };
        for s in v.args.iter().chain(v.env.values()) {
            c.check_template(s, &ctx);
        }
        let ctx = TemplateContext {
            container_ip: Some("10.42.0.2"),
            ..ctx
        };
        let mut ports = Vec::new();
        for p in &v.ports {
            match parse_port(&p.value) {
                Some(pm) => ports.push(pm),
                None => {
                    let d = c.error(
                        p,
                        format!("port `{}` is not HOST:CONTAINER[/tcp|/udp]", p.value),
                    );
                    set_help(d, "for example \"8080:80/tcp\"");
                }
            }
        }
        if !ports.is_empty() && network_mode != NetworkMode::Pod {
            c.error(
                &v.ports[0],
                format!("component {name} publishes ports but its network is not pod"),
            );
        }
        for b in &v.binds {
            let parts: Vec<&str> = b.value.split(':').collect();
            let ok = (2..=3).contains(&parts.len())
                && parts[..2].iter().all(|p| !p.is_empty())
                && parts
                    .get(2)
                    .is_none_or(|m| m.split(',').all(|o| matches!(o, "ro" | "rw" | "z" | "Z")));
            if !ok {
                let d = c.error(
                    b,
                    format!("bind `{}` is not HOST_PATH:CONTAINER_PATH[:ro]", b.value),
                );
                set_help(d, "for example \"/var/lib/web:/data\"");
            }
        }
        let health = v
            .health
            .as_ref()
            .and_then(|h| check_health(c, h, &ctx, network_mode));
        let restart = match &v.restart {
            None => "unless-stopped".to_string(),
            Some(r)
                if matches!(
                    r.value.as_str(),
                    "no" | "always" | "unless-stopped" | "on-failure"
                ) =>
            {
                r.value.clone()
            }
            Some(r) => {
                c.error(
                    r,
                    format!(
                        "restart `{}` is not one of: no, always, unless-stopped, on-failure",
                        r.value
                    ),
                );
                "unless-stopped".into()
            }
        };
        let hyperv = match &v.isolation {
            None => false,
            Some(i) => match i.value.as_str() {
                "process" | "default" => false,
                "hyperv" => true,
                other => {
                    c.error(
                        i,
                        format!("isolation `{other}` is not one of: process, hyperv"),
                    );
                    false
                }
            },
        };
        for key in v.windows_image.keys() {
            if windows_build(key).is_none() {
                let place = c
                    .key_path(comp, &["windows_image", key])
                    .unwrap_or((at(&v.name), None));
                let d = c.error_place(
                    place,
                    format!("component {name}: windows_image key `{key}` is not a Windows build"),
                );
                set_help(
                    d,
                    "use a build number or name: 17763 or ltsc2019, 20348 or ltsc2022, 26100 or ltsc2025",
                );
            }
        }
        let service = v
            .service
            .as_ref()
            .and_then(|svc| check_service(c, path, v, svc, &os, &service_names, &ctx));
        let component = Component {
            name: name.to_string(),
            image: v.image.as_ref().map(|i| i.value.clone()),
            windows_image: v.windows_image.clone(),
            roles: comp_roles,
            os,
            network: network_mode,
            command: v.command.clone(),
            entrypoint: v.entrypoint.clone(),
            args: v.args.iter().map(|a| a.value.clone()).collect(),
            env: v
                .env
                .iter()
                .map(|(k, s)| (k.clone(), s.value.clone()))
                .collect(),
            binds: v.binds.iter().map(|b| b.value.clone()).collect(),
            ports,
            // A service starts after the services it depends on, so they come first in the order.
            after: {
                let mut after: Vec<String> = v.after.iter().map(|a| a.value.clone()).collect();
                for d in service.iter().flat_map(|s| &s.depends_on) {
                    if !after.contains(d) {
                        after.push(d.clone());
                    }
                }
                after
            },
            health,
            serial: v.serial,
            privileged: v.privileged,
            restart,
            hyperv,
            service,
        };
        if component.os.contains(&Os::Windows)
            && component.windows_image.is_empty()
            && v.service.is_none()
        {
            let d = c.error(
                &v.name,
                format!("component {name} runs on Windows but has no windows_image"),
            );
            set_help(
                d,
                "add windows_image: {\"20348\": image-for-ltsc2022, …}, or os: [linux]",
            );
        }
        let mut seen_ports = HashSet::new();
        for (p, span) in component.ports.iter().zip(&v.ports) {
            if !seen_ports.insert((p.host, p.protocol.clone())) {
                c.error(
                    span,
                    format!("host port {}/{} is published twice", p.host, p.protocol),
                );
            }
        }
        if !nodes.is_empty()
            && !component.os.is_empty()
            && !nodes.iter().any(|n| component.runs_on(n))
        {
            let d = c.error(&v.name, format!("component {name} matches no node"));
            set_help(
                d,
                "check its roles: and os: against the nodes' role: and os:",
            );
        }
        out.push(component);
    }
    check_cycles(c, raw);
    out
}

fn sorted_names(names: &HashSet<&str>) -> String {
    let mut v: Vec<&str> = names.iter().copied().collect();
    v.sort_unstable();
    v.join(", ")
}

fn parse_port(s: &str) -> Option<PortMapping> {
    let (ports, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    if proto != "tcp" && proto != "udp" {
        return None;
    }
    let (h, ct) = ports.split_once(':')?;
    Some(PortMapping {
        host: h.parse().ok().filter(|p| *p > 0)?,
        container: ct.parse().ok().filter(|p| *p > 0)?,
        protocol: proto.into(),
    })
}

/// Report each dependency cycle once, at the component where it is first entered.
fn check_cycles(c: &mut Checker, raw: &RawConfig) {
    let deps: HashMap<&str, Vec<&str>> = raw
        .components
        .iter()
        .map(|x| {
            (
                x.value.name.value.as_str(),
                x.value
                    .after
                    .iter()
                    .chain(x.value.service.iter().flat_map(|s| &s.value.depends_on))
                    .map(|a| a.value.as_str())
                    .collect(),
            )
        })
        .collect();
    let mut done: HashSet<&str> = HashSet::new();
    for comp in &raw.components {
        let start = comp.value.name.value.as_str();
        let mut path = vec![start];
        if let Some(cycle) = find_cycle(&deps, &mut path, &mut done) {
            let d = c.error(
                &comp.value.name,
                format!("dependency cycle: {}", cycle.join(" → ")),
            );
            set_help(
                d,
                "remove one of the `after:` (or `depends_on:`) entries in the cycle",
            );
        }
    }
}

fn find_cycle<'a>(
    deps: &HashMap<&'a str, Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    done: &mut HashSet<&'a str>,
) -> Option<Vec<&'a str>> {
    let cur = *path.last()?;
    if done.contains(cur) {
        return None;
    }
    // A component naming itself is reported on its own; it is not a cycle to trace.
    for next in deps.get(cur).into_iter().flatten().filter(|n| **n != cur) {
        if let Some(pos) = path.iter().position(|p| p == next) {
            let mut cycle = path[pos..].to_vec();
            cycle.push(next);
            for p in path.iter() {
                done.insert(p);
            }
            return Some(cycle);
        }
        path.push(next);
        if let Some(cycle) = find_cycle(deps, path, done) {
            return Some(cycle);
        }
        path.pop();
    }
    done.insert(cur);
    None
}
