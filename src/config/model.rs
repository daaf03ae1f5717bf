//! The checked cluster description every later stage works from: addresses parsed, defaults
//! applied, secrets resolved from the environment. Built only when validation found no error.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from; the state file lives next to it.
    pub path: PathBuf,
    pub cluster_name: String,
    pub ssh_key_passphrase: Option<Secret>,
    /// Top-level `ssh_key_path` / `ssh_agent_auth`: how to reach a host that has left the file.
    pub default_key_path: Option<PathBuf>,
    pub default_agent_auth: bool,
    pub bastion: Option<Bastion>,
    pub network: Network,
    pub registries: Vec<Registry>,
    pub nodes: Vec<Node>,
    pub components: Vec<Component>,
}

#[derive(Debug, Clone)]
pub struct Bastion {
    pub address: String,
    pub port: u16,
    pub user: String,
    pub key_path: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub cluster_cidr: Ipv4Net,
    pub node_prefix: u8,
    pub metadata_address: Option<Ipv4Addr>,
    pub dns_address: Option<Ipv4Addr>,
    pub outbound_nat: bool,
    pub windows_driver: WindowsDriver,
    /// The DNS servers of every Windows node's container network; `None`: each host's own.
    pub windows_dns_servers: Option<Vec<Ipv4Addr>>,
    /// `none`: hosts without a container engine get only routing and a plain bridge with the
    /// node's gateway (no components).
    pub container_engine: ContainerEngine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerEngine {
    Docker,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowsDriver {
    Transparent,
    L2bridge,
}

#[derive(Debug, Clone)]
pub struct Registry {
    /// `host[:port]` as images name it.
    pub url: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub is_default: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Windows,
}

impl Os {
    /// The OS as the state file records it (its `Display` form); anything else is Linux, the
    /// default of a node that names none.
    pub fn from_record(s: &str) -> Os {
        if s == "windows" {
            Os::Windows
        } else {
            Os::Linux
        }
    }
}

impl std::fmt::Display for Os {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Os::Linux => "linux",
            Os::Windows => "windows",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Etcd,
    Controlplane,
    Worker,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Etcd, Role::Controlplane, Role::Worker];

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Etcd => "etcd",
            Role::Controlplane => "controlplane",
            Role::Worker => "worker",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    Ssh,
    Winrm,
}

#[derive(Debug, Clone)]
pub struct Node {
    /// `hostname_override`, or the address.
    pub name: String,
    /// The line of the node's `address:` in cluster.yml (`remove-host --edit-config` finds the
    /// entry by its name in the parsed file, not by this line).
    pub line: usize,
    /// How rwin reaches the host (IP or DNS name).
    pub address: String,
    pub port: u16,
    /// The route IP: next hop other nodes use for this node's subnet.
    pub internal_address: Ipv4Addr,
    pub user: String,
    pub os: Os,
    pub connection: Connection,
    pub docker_socket: String,
    pub key_path: Option<PathBuf>,
    pub agent_auth: bool,
    pub password: Option<Secret>,
    pub subnet: Option<Ipv4Net>,
    pub roles: Vec<Role>,
    pub labels: BTreeMap<String, String>,
    pub route_interface: Option<String>,
    /// Windows: a NIC of its own for the container network (seed 001's layout: the
    /// transparent network on a second NIC, routes through the routable one). `None`: the
    /// network is bound to the route NIC, which real Windows Server does not support well.
    pub container_interface: Option<String>,
    pub public_address: Option<String>,
    /// How to reach a Windows node over WinRM (`connection: winrm`).
    pub winrm: Option<Winrm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WinrmAuth {
    Ntlm,
    Basic,
    Kerberos,
}

impl WinrmAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            WinrmAuth::Ntlm => "ntlm",
            WinrmAuth::Basic => "basic",
            WinrmAuth::Kerberos => "kerberos",
        }
    }
}

/// A node's WinRM endpoint and credentials.
#[derive(Debug, Clone)]
pub struct Winrm {
    pub port: u16,
    pub https: bool,
    pub auth: WinrmAuth,
    pub user: String,
    pub password: Option<Secret>,
    /// The variable the password came from (recorded in state; the password never is).
    pub password_env: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// The host's network namespace.
    Host,
    /// The node's container subnet, reachable from every other node through the routes.
    Pod,
    /// No network.
    None,
}

#[derive(Debug, Clone, Serialize)]
pub struct Component {
    pub name: String,
    pub image: Option<String>,
    pub windows_image: BTreeMap<String, String>,
    pub roles: Vec<Role>,
    pub os: Vec<Os>,
    pub network: NetworkMode,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// Templates, rendered per node by the plan.
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub binds: Vec<String>,
    pub ports: Vec<PortMapping>,
    pub after: Vec<String>,
    pub health: Option<Health>,
    pub serial: bool,
    pub privileged: bool,
    pub restart: String,
    /// `isolation: hyperv` lets a Windows image of another build run (slower; needs Hyper-V).
    pub hyperv: bool,
    /// Set for a host-process component: a Windows service, not a container.
    pub service: Option<Service>,
}

/// A host-process component (seed 000's agent and per-host-subnet service): files uploaded
/// to the node and a Windows service that runs the binary.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub binary: ServiceFile,
    /// More files next to the binary (configuration, DLLs).
    pub files: Vec<ServiceFile>,
    /// Templates, rendered per node by the plan.
    pub args: Vec<String>,
    /// Other service components this one's Windows service depends on.
    pub depends_on: Vec<String>,
}

/// A file on the operator's machine, as it was when cluster.yml was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceFile {
    /// Where it is read from (relative paths are relative to cluster.yml's directory).
    pub local: PathBuf,
    /// Its file name on the node.
    pub name: String,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    pub size: u64,
}

impl Component {
    /// Whether this component runs on `node`.
    pub fn runs_on(&self, node: &Node) -> bool {
        self.os.contains(&node.os)
            && (self.roles.is_empty() || self.roles.iter().any(|r| node.roles.contains(r)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    pub host: u16,
    pub container: u16,
    pub protocol: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub check: HealthCheck,
    #[serde(with = "secs")]
    pub timeout: Duration,
    #[serde(with = "secs")]
    pub interval: Duration,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthCheck {
    Http(String),
    Tcp(String),
    Exec(Vec<String>),
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// The Windows build a `windows_image` key names: a build number (`20348`) or an LTSC name
/// (`ltsc2022`). Images must match the host build under process isolation (Microsoft's
/// version-compatibility page): ltsc2019 = 17763, ltsc2022 = 20348, ltsc2025 = 26100.
pub fn windows_build(key: &str) -> Option<u32> {
    match key {
        "ltsc2019" => Some(17763),
        "ltsc2022" => Some(20348),
        "ltsc2025" => Some(26100),
        k => k.parse().ok().filter(|b| (10_000..100_000).contains(b)),
    }
}

/// The longest duration a setting in cluster.yml may have: a health gate that waits longer
/// than a day is a mistake, and values past it could not even be held (rwin#13: a 20-digit
/// timeout crashed `validate`).
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Why a duration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadDuration {
    /// Not `60s`, `2m`, `500ms`, `1h` or a number of seconds.
    Malformed,
    /// Longer than [`MAX_DURATION`].
    TooLong,
}

/// Parse `60s`, `2m`, `500ms`, `1h` or a bare number of seconds, at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, BadDuration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| BadDuration::Malformed)?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(BadDuration::Malformed),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(BadDuration::Malformed);
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if d <= MAX_DURATION => Ok(d),
        _ => Err(BadDuration::TooLong),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_within_bounds_and_never_panic() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("24h"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        for long in [
            "24.001h",
            "86401",
            "99999999999999999999s",
            "1e400",
            "9".repeat(400).as_str(),
        ] {
            let got = parse_duration(long);
            assert!(
                got == Err(BadDuration::TooLong) || got == Err(BadDuration::Malformed),
                "{long}: {got:?}"
            );
        }
        assert_eq!(
            parse_duration("99999999999999999999s"),
            Err(BadDuration::TooLong)
        );
        for bad in ["", ".", "1 minute", "-1s", "1d", "nan", "inf"] {
            assert_eq!(parse_duration(bad), Err(BadDuration::Malformed), "{bad}");
        }
    }
}
