//! The read-only facts script and its answer: one JSON object with everything the diff,
//! the blockers and `doctor` need, so a Windows host costs one round trip to inspect.
//! Native commands' output (docker, netsh) travels as raw text and is parsed here, not in
//! PowerShell: `ConvertTo-Json -Depth 5` would cut Docker's deeper objects short.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{firewall_rule_name, CLUSTER_LABEL, TCPIP_KEY, VERSION_KEY};
use crate::os::DesiredHost;
use crate::powershell::quote;

const REBOOT_KEYS: [&str; 2] = [
    r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
    r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
];

/// What rwin found on a Windows host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowsFacts {
    /// `CurrentBuildNumber`, e.g. "20348"; `None` when it could not be read.
    #[serde(deserialize_with = "text")]
    pub build: Option<String>,
    pub ubr: Option<u32>,
    #[serde(deserialize_with = "text")]
    pub edition: Option<String>,
    #[serde(deserialize_with = "many")]
    pub features: Vec<Feature>,
    /// Get-RemoteAccess `RoutingStatus` ("Installed" / "Uninstalled"); `None`: not readable.
    #[serde(deserialize_with = "text")]
    pub routing_status: Option<String>,
    #[serde(deserialize_with = "many")]
    pub services: Vec<Service>,
    pub ip_enable_router: Option<u32>,
    /// Windows itself says a reboot is pending (servicing or Windows Update keys).
    pub reboot_pending: bool,
    /// Win32_OperatingSystem.LastBootUpTime as `[string]` renders it: which boot the host is
    /// in. It changes exactly when the host has restarted (`wait_for_reboot`).
    #[serde(deserialize_with = "text")]
    pub last_boot: Option<String>,
    #[serde(deserialize_with = "many")]
    pub adapters: Vec<Adapter>,
    #[serde(deserialize_with = "many")]
    pub addresses: Vec<Address>,
    #[serde(deserialize_with = "many")]
    pub interfaces: Vec<IpInterface>,
    #[serde(deserialize_with = "many")]
    pub routes: Vec<Route>,
    /// Get-DnsClientServerAddress -AddressFamily IPv4: each IP interface's DNS servers, as
    /// Windows gives them (checked as IPv4 addresses where they are used: `dns.rs`).
    #[serde(deserialize_with = "many")]
    pub dns: Vec<DnsServers>,
    pub firewall_rule: Option<FirewallRule>,
    /// devcon.exe is where rwin looks for it (`DEVCON`): rwin can make a loopback adapter.
    pub devcon: bool,
    /// `netsh routing ip nat dump` as printed; `None` when RRAS is not configured.
    #[serde(deserialize_with = "text")]
    pub nat_dump: Option<String>,
    /// `docker version --format '{{json .}}'`; `None`: no Docker service or no answer.
    #[serde(deserialize_with = "json_text")]
    pub docker_version: Option<Value>,
    /// `docker network inspect` of the networks labelled with this cluster.
    #[serde(deserialize_with = "json_list_text")]
    pub networks: Vec<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Feature {
    pub name: String,
    pub install_state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    pub name: String,
    pub status: String,
    pub start_type: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Adapter {
    pub name: String,
    pub if_index: u32,
    /// As Windows prints it: `00-15-5D-01-02-03`.
    pub mac: String,
    pub description: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    pub if_index: u32,
    pub ip: String,
    pub prefix_length: u8,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpInterface {
    pub if_index: u32,
    pub alias: String,
    /// "Enabled" / "Disabled".
    pub forwarding: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Route {
    pub dest: String,
    pub next_hop: String,
    pub if_index: u32,
    pub metric: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DnsServers {
    pub if_index: u32,
    /// `ServerAddresses`, in order.
    #[serde(deserialize_with = "many")]
    pub servers: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FirewallRule {
    pub name: String,
    pub enabled: String,
    pub direction: String,
    pub action: String,
    /// As Windows shows them: `10.42.0.0/255.255.0.0`, `10.0.0.11`, or `Any`.
    #[serde(deserialize_with = "many")]
    pub remote_address: Vec<String>,
}

/// The parts of one `docker network inspect` entry rwin compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkView {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub interface: Option<String>,
    /// Its `com.docker.network.windowsshim.dnsservers` option, as written.
    pub dns_servers: Option<String>,
}

/// One script that prints one JSON object; read-only, and quiet about what is absent (no
/// firewall rule, no network, no Docker, no RRAS). It stops at the first error it does not
/// expect (`$ErrorActionPreference = 'Stop'`): every probe that may find nothing says so with
/// its own `-ErrorAction SilentlyContinue`, and every native command's exit code is checked or
/// said to be tolerated. Without that, a failure Windows PowerShell reports as a
/// statement-terminating error (a cmdlet this host does not have, a parameter that does not
/// bind) would let the script go on and exit 0 with facts that look like an unconfigured host
/// (about_Error_Handling; tests/winsim/BEHAVIOURS.md).
pub fn facts_script(d: &DesiredHost) -> String {
    let rule = quote(&firewall_rule_name(&d.cluster));
    let label = quote(&format!("label={CLUSTER_LABEL}={}", d.cluster));
    format!(
        r#"# rwin facts for node {node} of cluster {cluster}: read-only, prints one JSON object, stops at the first unexpected error.
$ErrorActionPreference = 'Stop'
$cv = Get-ItemProperty -Path {version_key} -ErrorAction SilentlyContinue
$tcp = Get-ItemProperty -Path {tcpip_key} -ErrorAction SilentlyContinue
$features = @(Get-WindowsFeature -Name 'RemoteAccess', 'Routing' -ErrorAction SilentlyContinue | ForEach-Object {{ [ordered]@{{ name = [string]$_.Name; install_state = [string]$_.InstallState }} }})
$routing = $null
$natDump = $null
foreach ($f in $features) {{
  if ($f.name -eq 'RemoteAccess' -and $f.install_state -eq 'Installed') {{
    $ra = Get-RemoteAccess -ErrorAction SilentlyContinue
    if ($null -ne $ra) {{ $routing = [string]$ra.RoutingStatus }}
  }}
}}
if ($routing -eq 'Installed') {{
  # Parsed in Rust from `add interface name="…" mode=…` lines [unverified against a real host].
  # Its exit code is not checked: without RRAS NAT installed netsh fails, and a dump without
  # the NAT lines reads as no NAT.
  $natDump = netsh routing ip nat dump | Out-String
}}
$services = @(Get-Service -Name 'RemoteAccess', 'docker', 'rwin-*' -ErrorAction SilentlyContinue | ForEach-Object {{ [ordered]@{{ name = [string]$_.Name; status = [string]$_.Status; start_type = [string]$_.StartType }} }})
$devcon = Test-Path -Path {devcon}
$rebootServicing = Test-Path -Path '{reboot0}'
$rebootUpdate = Test-Path -Path '{reboot1}'
$os = Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime -ErrorAction SilentlyContinue
$adapters = @(Get-NetAdapter -ErrorAction SilentlyContinue | ForEach-Object {{ [ordered]@{{ name = [string]$_.Name; if_index = [int]$_.ifIndex; mac = [string]$_.MacAddress; description = [string]$_.InterfaceDescription; status = [string]$_.Status }} }})
$addresses = @(Get-NetIPAddress -AddressFamily IPv4 -ErrorAction SilentlyContinue | ForEach-Object {{ [ordered]@{{ if_index = [int]$_.InterfaceIndex; ip = [string]$_.IPAddress; prefix_length = [int]$_.PrefixLength }} }})
$interfaces = @(Get-NetIPInterface -AddressFamily IPv4 -ErrorAction SilentlyContinue | ForEach-Object {{ [ordered]@{{ if_index = [int]$_.InterfaceIndex; alias = [string]$_.InterfaceAlias; forwarding = [string]$_.Forwarding }} }})
# The routing table in use: without -PolicyStore a route saved in both stores (New-NetRoute's default) is listed twice.
$routes = @(Get-NetRoute -AddressFamily IPv4 -PolicyStore ActiveStore -ErrorAction SilentlyContinue | ForEach-Object {{ [ordered]@{{ dest = [string]$_.DestinationPrefix; next_hop = [string]$_.NextHop; if_index = [int]$_.InterfaceIndex; metric = [int]$_.RouteMetric }} }})
$dns = @(Get-DnsClientServerAddress -AddressFamily IPv4 -ErrorAction SilentlyContinue | ForEach-Object {{ [ordered]@{{ if_index = [int]$_.InterfaceIndex; servers = @($_.ServerAddresses) }} }})
$rule = $null
$fw = Get-NetFirewallRule -Name {rule} -ErrorAction SilentlyContinue
if ($null -ne $fw) {{
  $af = Get-NetFirewallRule -Name {rule} -ErrorAction SilentlyContinue | Get-NetFirewallAddressFilter
  $rule = [ordered]@{{ name = [string]$fw.Name; enabled = [string]$fw.Enabled; direction = [string]$fw.Direction; action = [string]$fw.Action; remote_address = @($af.RemoteAddress) }}
}}
$dockerVersion = $null
$networks = $null
$docker = Get-Service -Name 'docker' -ErrorAction SilentlyContinue
if ($null -ne $docker) {{
  # Its exit code is not checked: with the engine stopped docker version exits 1 but still
  # prints the client's version, and the blockers say the engine does not answer.
  $dockerVersion = docker version --format '{{{{json .}}}}' | Out-String
  if ($LASTEXITCODE -eq 0) {{
    $ids = docker network ls -q --filter {label}
    if ($LASTEXITCODE -ne 0) {{ throw 'rwin: listing the container networks failed (docker network ls; its message is above)' }}
    if ($null -ne $ids) {{
      $networks = docker network inspect $ids | Out-String
      if ($LASTEXITCODE -ne 0) {{ throw 'rwin: reading the container networks failed (docker network inspect; its message is above)' }}
    }}
  }}
}}
[ordered]@{{
  build = [string]$cv.CurrentBuildNumber
  ubr = $cv.UBR
  edition = [string]$cv.EditionID
  features = $features
  routing_status = $routing
  services = $services
  ip_enable_router = $tcp.IPEnableRouter
  reboot_pending = $rebootServicing -or $rebootUpdate
  last_boot = [string]$os.LastBootUpTime
  adapters = $adapters
  addresses = $addresses
  interfaces = $interfaces
  routes = $routes
  dns = $dns
  firewall_rule = $rule
  devcon = $devcon
  nat_dump = $natDump
  docker_version = $dockerVersion
  networks = $networks
}} | ConvertTo-Json -Depth 5 -Compress
"#,
        node = crate::powershell::comment_text(&d.node),
        cluster = crate::powershell::comment_text(&d.cluster),
        version_key = quote(VERSION_KEY),
        tcpip_key = quote(TCPIP_KEY),
        devcon = quote(super::DEVCON),
        reboot0 = REBOOT_KEYS[0],
        reboot1 = REBOOT_KEYS[1],
    )
}

/// Read the facts script's answer: the last line that is a JSON object (a profile or a
/// banner may print before it).
pub fn parse_facts(stdout: &str) -> Result<WindowsFacts, String> {
    let line = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| {
            format!(
                "the Windows facts script printed no JSON object; its output starts with: {}",
                start_of(stdout)
            )
        })?;
    let mut facts: WindowsFacts = serde_json::from_str(line).map_err(|e| {
        format!(
            "the Windows facts script's answer is not the expected JSON ({e}); it starts with: {}",
            start_of(line)
        )
    })?;
    facts.routes = distinct(std::mem::take(&mut facts.routes));
    Ok(facts)
}

/// Each route once: the facts read the ActiveStore only, but a route listed once per policy
/// store (ActiveStore and PersistentStore, as a Get-NetRoute without -PolicyStore lists one
/// New-NetRoute made) is still one route, not two to replace.
fn distinct(routes: Vec<Route>) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::with_capacity(routes.len());
    for r in routes {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

fn start_of(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        return "(nothing)".into();
    }
    let head: String = s.chars().take(200).collect();
    if head.len() < s.len() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

impl WindowsFacts {
    /// The build as a number (`CurrentBuildNumber`).
    pub fn build_number(&self) -> Option<u32> {
        self.build.as_deref()?.trim().parse().ok()
    }

    pub fn feature_state(&self, name: &str) -> Option<&str> {
        self.features
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.install_state.as_str())
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub fn adapter(&self, name: &str) -> Option<&Adapter> {
        self.adapters.iter().find(|a| a.name == name)
    }

    pub fn adapter_by_index(&self, if_index: u32) -> Option<&Adapter> {
        self.adapters.iter().find(|a| a.if_index == if_index)
    }

    /// The interface that holds `ip` (where routes via neighbours must go out).
    pub fn if_index_of(&self, ip: std::net::Ipv4Addr) -> Option<u32> {
        let ip = ip.to_string();
        self.addresses
            .iter()
            .find(|a| a.ip == ip)
            .map(|a| a.if_index)
    }

    /// The interface of the host's default route (the lowest metric's): where outbound traffic
    /// leaves, RRAS NAT's public side, and whose DNS servers the containers get.
    pub fn default_route_if(&self) -> Option<u32> {
        self.routes
            .iter()
            .filter(|r| r.dest == "0.0.0.0/0")
            .min_by_key(|r| r.metric)
            .map(|r| r.if_index)
    }

    /// The IP interface's name (for an adapter, the adapter's name).
    pub fn interface_alias(&self, if_index: u32) -> Option<&str> {
        self.interfaces
            .iter()
            .find(|i| i.if_index == if_index)
            .map(|i| i.alias.as_str())
            .or_else(|| self.adapter_by_index(if_index).map(|a| a.name.as_str()))
    }

    /// The DNS servers Windows lists for interface `if_index` (empty: none, or no such
    /// interface).
    pub fn dns_servers(&self, if_index: u32) -> &[String] {
        self.dns
            .iter()
            .find(|d| d.if_index == if_index)
            .map_or(&[], |d| d.servers.as_slice())
    }

    pub fn forwarding(&self, if_index: u32) -> Option<&str> {
        self.interfaces
            .iter()
            .find(|i| i.if_index == if_index)
            .map(|i| i.forwarding.as_str())
    }

    /// The container network's host adapter: the `vEthernet*` adapter with the bound NIC's MAC
    /// and the highest ifIndex (Rancher's rule; its name differs between Windows releases).
    pub fn container_adapter(&self, route_if: &Adapter) -> Option<&Adapter> {
        self.adapters
            .iter()
            .filter(|a| is_vethernet(&a.name) && a.mac.eq_ignore_ascii_case(&route_if.mac))
            .max_by_key(|a| a.if_index)
    }

    /// The Docker engine's version (`Server.Version`, or the client's if the engine did not
    /// answer) and whether the engine answered at all.
    pub fn docker(&self) -> Option<(String, bool)> {
        let v = self.docker_version.as_ref()?;
        let server = v.get("Server").and_then(|s| s.get("Version"));
        let version = server.or_else(|| v.get("Client").and_then(|c| c.get("Version")))?;
        Some((version.as_str()?.to_string(), server.is_some()))
    }

    pub fn network(&self, name: &str) -> Option<NetworkView> {
        self.networks
            .iter()
            .filter_map(network_view)
            .find(|n| n.name == name)
    }

    /// `(interface name, mode)` pairs from the NAT dump, mode upper-case (FULL, PRIVATE).
    pub fn nat_interfaces(&self) -> Vec<(String, String)> {
        let Some(dump) = &self.nat_dump else {
            return Vec::new();
        };
        dump.lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("add interface name=\"")?;
                let (name, tail) = rest.split_once('"')?;
                let mode = tail.trim().strip_prefix("mode=")?.trim().to_uppercase();
                Some((name.to_string(), mode))
            })
            .collect()
    }

    /// RRAS NAT is installed: the dump has its `install` line or any interface.
    pub fn nat_installed(&self) -> bool {
        self.nat_dump.as_deref().is_some_and(|d| {
            d.lines().any(|l| l.trim() == "install") || d.contains("add interface")
        })
    }
}

pub(crate) fn is_vethernet(name: &str) -> bool {
    name.starts_with("vEthernet")
}

fn network_view(v: &Value) -> Option<NetworkView> {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let ipam = v.get("IPAM")?.get("Config")?.as_array()?.first();
    Some(NetworkView {
        id: s(v.get("Id")).unwrap_or_default(),
        name: s(v.get("Name"))?,
        driver: s(v.get("Driver")).unwrap_or_default(),
        subnet: s(ipam.and_then(|c| c.get("Subnet"))),
        gateway: s(ipam.and_then(|c| c.get("Gateway"))),
        interface: s(v
            .get("Options")
            .and_then(|o| o.get(super::INTERFACE_OPTION))),
        dns_servers: s(v.get("Options").and_then(|o| o.get(super::DNS_OPTION))),
    })
}

/// A list that PowerShell may have sent as an array, one object, null, or (Windows
/// PowerShell 5.1 with an ETS-wrapped array) `{"value": [...], "Count": n}`.
pub(super) fn many<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let items = match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(Value::Object(mut m)) if m.contains_key("value") && m.contains_key("Count") => {
            match m.remove("value") {
                Some(Value::Array(a)) => a,
                Some(v) => vec![v],
                None => Vec::new(),
            }
        }
        Some(v) => vec![v],
    };
    items
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| serde_json::from_value(v).map_err(D::Error::custom))
        .collect()
}

/// A string where empty (PowerShell's `[string]$null`) means absent.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }))
}

/// JSON printed by a native command, carried as text. Unreadable text counts as absent: the
/// blockers then say what is missing.
fn json_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(text(d)?.and_then(|s| serde_json::from_str(s.trim()).ok()))
}

fn json_list_text<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(match json_text(d)? {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(v) => vec![v],
    })
}
