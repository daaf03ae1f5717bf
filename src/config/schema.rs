//! cluster.yml exactly as written: serde types with unknown fields rejected and positions kept
//! (`Spanned`) wherever a later check needs to point at a value. RKE1's node field names are
//! kept so an RKE user's node list works unchanged.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

pub type S<T> = Spanned<T>;

// Some fields are accepted for RKE compatibility or for Windows nodes and not read yet.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub cluster_name: Option<S<String>>,
    pub ssh_key_path: Option<S<String>>,
    pub ssh_key_passphrase_env: Option<S<String>>,
    #[serde(default)]
    pub ssh_agent_auth: bool,
    pub bastion_host: Option<S<RawBastion>>,
    /// Accepted for RKE compatibility; rwin checks Docker's API version itself.
    #[serde(default)]
    pub ignore_docker_version: bool,
    /// Accepted for RKE compatibility (prefix for rwin's host directories is fixed).
    pub prefix_path: Option<S<String>>,
    pub network: Option<S<RawNetwork>>,
    #[serde(default)]
    pub private_registries: Vec<S<RawRegistry>>,
    pub nodes: S<Vec<S<RawNode>>>,
    #[serde(default)]
    pub components: Vec<S<RawComponent>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBastion {
    pub address: S<String>,
    pub user: Option<S<String>>,
    pub port: Option<u16>,
    pub ssh_key_path: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub cluster_cidr: Option<S<String>>,
    pub node_prefix: Option<S<u8>>,
    pub metadata_address: Option<S<String>>,
    pub dns_address: Option<S<String>>,
    pub outbound_nat: Option<bool>,
    pub windows_driver: Option<S<String>>,
    pub windows_dns_servers: Option<S<Vec<S<String>>>>,
    pub container_engine: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistry {
    pub url: S<String>,
    pub user: Option<S<String>>,
    pub password: Option<S<String>>,
    pub password_env: Option<S<String>>,
    #[serde(default)]
    pub is_default: bool,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    pub address: S<String>,
    pub internal_address: Option<S<String>>,
    pub hostname_override: Option<S<String>>,
    #[serde(default)]
    pub role: Vec<S<String>>,
    pub user: Option<S<String>>,
    pub port: Option<u16>,
    pub docker_socket: Option<S<String>>,
    pub ssh_key_path: Option<S<String>>,
    pub ssh_agent_auth: Option<bool>,
    pub password_env: Option<S<String>>,
    pub subnet: Option<S<String>>,
    #[serde(default)]
    pub labels: BTreeMap<String, S<String>>,
    /// Accepted for RKE compatibility; rwin has no scheduler to apply them to.
    #[serde(default)]
    pub taints: Vec<serde_json::Value>,
    pub os: Option<S<String>>,
    pub connection: Option<S<String>>,
    pub winrm: Option<S<RawWinrm>>,
    pub route_interface: Option<S<String>>,
    pub container_interface: Option<S<String>>,
    pub public_address: Option<S<String>>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWinrm {
    pub port: Option<u16>,
    pub https: Option<bool>,
    pub auth: Option<S<String>>,
    pub user: Option<S<String>>,
    pub password: Option<S<String>>,
    pub password_env: Option<S<String>>,
    pub ca_cert: Option<S<String>>,
    pub insecure_skip_verify: Option<S<bool>>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawComponent {
    pub name: S<String>,
    pub image: Option<S<String>>,
    #[serde(default)]
    pub windows_image: BTreeMap<String, S<String>>,
    #[serde(default)]
    pub roles: Vec<S<String>>,
    #[serde(default)]
    pub os: Vec<S<String>>,
    pub network: Option<S<String>>,
    pub command: Option<Vec<S<String>>>,
    pub entrypoint: Option<Vec<S<String>>>,
    #[serde(default)]
    pub args: Vec<S<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, S<String>>,
    #[serde(default)]
    pub binds: Vec<S<String>>,
    #[serde(default)]
    pub ports: Vec<S<String>>,
    #[serde(default)]
    pub after: Vec<S<String>>,
    pub health: Option<S<RawHealth>>,
    #[serde(default)]
    pub serial: bool,
    #[serde(default)]
    pub privileged: bool,
    pub restart: Option<S<String>>,
    pub isolation: Option<S<String>>,
    /// A host-process component: a Windows service instead of a container.
    pub service: Option<S<RawService>>,
}

/// `service:` of a component: files on the operator's machine that rwin uploads to a Windows
/// node and registers as a Windows service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub binary: S<String>,
    #[serde(default)]
    pub files: Vec<S<String>>,
    #[serde(default)]
    pub args: Vec<S<String>>,
    #[serde(default)]
    pub depends_on: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub http: Option<S<String>>,
    pub tcp: Option<S<String>>,
    pub exec: Option<Vec<S<String>>>,
    pub timeout: Option<S<String>>,
    pub interval: Option<S<String>>,
}
