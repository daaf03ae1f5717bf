//! The simulated Windows host's configuration, kept as JSON so a restarted winsim keeps it and
//! tests can read it (`winsim state --file F`). Each field is something a Windows cmdlet shows;
//! the Linux device behind each adapter is recorded so effects know where to act.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Service {
    pub name: String,
    pub status: String,
    pub start_type: String,
    #[serde(default)]
    pub bin_path: String,
    #[serde(default)]
    pub depend: Vec<String>,
    #[serde(default)]
    pub failure_actions: Option<String>,
    /// `sc.exe delete` ran while the service was running: Windows marks it for deletion and
    /// removes it once it stops.
    #[serde(default)]
    pub delete_pending: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Adapter {
    pub name: String,
    pub if_index: u32,
    pub mac: String,
    pub description: String,
    pub status: String,
    /// The Linux device that stands for this adapter in the namespace.
    pub linux_dev: String,
    /// For a vEthernet adapter of a transparent network: the physical NIC's device, which
    /// carries the host's own traffic (the Linux bridge carries the containers').
    #[serde(default)]
    pub uplink: Option<String>,
    pub forwarding: bool,
    /// DHCP enabled on the adapter's IPv4 interface (`Get-NetIPInterface`'s `Dhcp`). A
    /// vEthernet adapter takes its NIC's setting when a vSwitch binds the NIC.
    #[serde(default)]
    pub dhcp: bool,
    /// The adapter has TCP/IP bound (it is an IP interface). A NIC an external vSwitch binds
    /// loses it: its addresses and routes move to the `vEthernet (…)` adapter.
    #[serde(default = "yes")]
    pub ip_bound: bool,
    /// HNS creates a vEthernet adapter asynchronously: until this time (ms since the Unix
    /// epoch) the adapter, its addresses and its routes are not there yet.
    #[serde(default)]
    pub ready_at_ms: Option<u64>,
    /// The Plug and Play device instance ID of a device devcon.exe created (`ROOT\NET\0000`).
    #[serde(default)]
    pub instance_id: Option<String>,
    /// The IPv4 DNS servers of the adapter's IP interface, in order (Get-DnsClientServerAddress's
    /// `ServerAddresses`). A vEthernet adapter takes its NIC's when a vSwitch binds the NIC.
    #[serde(default)]
    pub dns_servers: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Adapter {
    /// Present at `now`: not a vEthernet adapter HNS has not finished creating.
    pub fn present(&self, now: u64) -> bool {
        self.ready_at_ms.is_none_or(|t| now >= t)
    }

    /// An IP interface at `now`: present and with TCP/IP bound.
    pub fn is_ip_interface(&self, now: u64) -> bool {
        self.ip_bound && self.present(now)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IpAddress {
    pub if_index: u32,
    pub ip: String,
    pub prefix_length: u8,
}

/// A route. Every route here is in the ActiveStore (the routing table in use); `persistent`
/// ones are also in the PersistentStore, which Windows copies to the ActiveStore at boot, and
/// a Get-NetRoute without -PolicyStore lists such a route once per store (BEHAVIOURS.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Route {
    pub prefix: String,
    pub next_hop: String,
    pub if_index: u32,
    pub metric: u32,
    /// Also in the PersistentStore: New-NetRoute's default ("By default, a route is saved in
    /// both stores", New-NetRoute docs) and a static default gateway's route (KB 2966111 shows
    /// it under route print's "Persistent Routes"). Not the on-link route of an address's
    /// subnet, which Windows derives from the address [inferred: route print lists those under
    /// "Active Routes" only].
    #[serde(default)]
    pub persistent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FirewallRule {
    pub name: String,
    pub display_name: String,
    pub direction: String,
    pub action: String,
    pub remote_address: Vec<String>,
    pub profile: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NatInterface {
    pub name: String,
    pub mode: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PortMapping {
    pub interface: String,
    pub proto: String,
    pub public_ip: String,
    pub public_port: u16,
    pub private_ip: String,
    pub private_port: u16,
}

/// A container network as Windows shows it, and the Linux bridge that carries it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerNetwork {
    pub name: String,
    pub id: String,
    pub driver: String,
    pub subnet: String,
    pub gateway: String,
    pub interface: String,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub linux_bridge: String,
    pub adapter_index: u32,
    /// The NIC's routes (prefix, next hop) the vEthernet adapter took over when the network was
    /// made: `docker network rm` gives them back to the NIC with its addresses. Routes made on
    /// the vEthernet afterwards go with it (a route belongs to its interface).
    #[serde(default)]
    pub nic_routes: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub directory: bool,
    /// Lowercase hex SHA-256 of a file's bytes (what Get-FileHash reports, uppercased).
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    /// The bytes name `StartServiceCtrlDispatcher`, the call by which a service process
    /// connects to the service manager: winsim's stand-in for "this program is a Windows
    /// service" (see native/sc.rs).
    #[serde(default)]
    pub calls_scm: bool,
    /// The text of a file a cmdlet wrote as text (Set-Content with a text encoding), as its
    /// bytes decode (a BOM is the first character): what a program that reads it sees (docker's
    /// `--env-file`, native/docker.rs). `None` for files written as bytes or put there whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A `Restart-Computer` under way: the host still answers until `down_at_ms` (shutting down),
/// answers nothing until `up_at_ms` (down and booting), then has booted. Times are ms since
/// the Unix epoch, on this machine's clock.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Restart {
    pub down_at_ms: u64,
    pub up_at_ms: u64,
}

/// How long a restart takes: shutting down (the host still answers) and then down until it has
/// booted. Tests shorten them; see cmdlets/reboot.rs for the defaults and their sources.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct RestartTiming {
    pub shutdown_ms: u64,
    pub boot_ms: u64,
}

impl Default for RestartTiming {
    fn default() -> Self {
        RestartTiming {
            shutdown_ms: 10_000,
            boot_ms: 60_000,
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Everything winsim knows about the host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WinState {
    /// Registry keys (as written after `HKLM:\`, matched case-insensitively) and their values.
    pub registry: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Why a reboot is pending (empty: none): only feature operations that need one. Shown
    /// through the CBS RebootPending registry key.
    pub reboot_pending: Vec<String>,
    /// When true, feature installs end InstallPending and need a reboot.
    #[serde(default)]
    pub feature_install_needs_reboot: bool,
    pub features: BTreeMap<String, String>,
    pub services: Vec<Service>,
    /// `Some("RoutingOnly")` once Install-RemoteAccess ran.
    pub remote_access: Option<String>,
    pub nat_installed: bool,
    pub nat_interfaces: Vec<NatInterface>,
    pub port_mappings: Vec<PortMapping>,
    pub adapters: Vec<Adapter>,
    pub addresses: Vec<IpAddress>,
    pub routes: Vec<Route>,
    pub firewall_rules: Vec<FirewallRule>,
    pub networks: Vec<ContainerNetwork>,
    pub files: BTreeMap<String, FileEntry>,
    /// PowerShell modules this host does not have (a test's setup: a fresh host has them
    /// all). Their cmdlets are then unknown commands: CommandNotFoundException, a
    /// statement-terminating error (about_Error_Handling). On Windows Server a role's
    /// PowerShell module is one of its management tools, which Install-WindowsFeature adds
    /// only with -IncludeManagementTools (Install-WindowsFeature docs).
    #[serde(default)]
    pub missing_modules: Vec<String>,
    /// Win32_OperatingSystem.LastBootUpTime: when the host last booted (ms since the Unix
    /// epoch). A state file without it: the host booted when winsim first read it.
    #[serde(default = "now_ms")]
    pub last_boot_ms: u64,
    #[serde(default)]
    pub restart: Option<Restart>,
    #[serde(default)]
    pub restart_timing: RestartTiming,
    /// How long HNS takes to bind an external vSwitch to a NIC (ms): the vEthernet adapter and
    /// the NIC's addresses appear on it after this. Default 5 000 ms ("it takes a few seconds
    /// for the interface to be ready again. Sometimes, it takes more than 5 seconds",
    /// flannel-io/flannel#1857); tests shorten it.
    #[serde(default = "default_vswitch_ms")]
    pub vswitch_ms: u64,
    /// While a vSwitch binds the NIC the front doors (SSH, WinRM) are reached through, its
    /// connections drop and new ones fail, until this time (ms since the Unix epoch).
    #[serde(default)]
    pub nic_down_until_ms: Option<u64>,
    /// How long `docker pull` takes (ms) before it answers. Windows base images are several
    /// GB (Microsoft's container base images page: the Windows Server image 3.1 GB, the
    /// Windows image 3.4 GB), so a real pull takes minutes; tests set a delay. Default 0.
    #[serde(default)]
    pub pull_ms: u64,
    /// Images the registry does not have: `docker pull` of one fails as the daemon reports
    /// a manifest the registry does not know (native/docker.rs). A test's setup.
    #[serde(default)]
    pub absent_images: Vec<String>,
    /// The account the front doors log on as: its logon session's environment and profile
    /// (host.rs, `logon`). winsim serves one account (`serve --user`).
    #[serde(default = "default_account")]
    pub account: String,
    /// What an administrator turns on to see what a host runs, both off on a fresh Windows:
    /// process creation auditing with command lines (Security event 4688) and PowerShell
    /// Script Block Logging (event 4104). While on, winsim keeps their events below.
    #[serde(default)]
    pub auditing: bool,
    /// Event 4688: the command line of each process started (powershell.exe, and each native
    /// program a script runs), while `auditing` is on.
    #[serde(default)]
    pub process_events: Vec<String>,
    /// Event 4104: the text of each script block compiled (`[ScriptBlock]::Create`), while
    /// `auditing` is on.
    #[serde(default)]
    pub script_block_events: Vec<String>,
    /// The IP interfaces (ifIndex) there were when RemoteAccess last started: RRAS's NAT knows
    /// only these until RemoteAccess starts again (an interface made later, such as a new
    /// container network's vEthernet adapter, is not known to it; **inferred**, BEHAVIOURS.md).
    /// `None`: RemoteAccess has not started under winsim (a state set up by hand): every IP
    /// interface counts as known.
    #[serde(default)]
    pub rras_interfaces: Option<Vec<u32>>,
    /// The IPv4 DNS servers of each container winsim's docker made on a transparent or
    /// l2bridge network, by container name: what Get-DnsClientServerAddress inside it would
    /// list (native/docker.rs). Empty: the container has none.
    #[serde(default)]
    pub container_dns: BTreeMap<String, Vec<String>>,
}

fn default_account() -> String {
    "Administrator".into()
}

fn default_vswitch_ms() -> u64 {
    5_000
}

pub const CURRENT_VERSION: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion";
pub const TCPIP_PARAMETERS: &str = r"SYSTEM\CurrentControlSet\Services\Tcpip\Parameters";
/// The key whose existence means "a servicing operation needs a reboot". It exists exactly
/// while `reboot_pending` is not empty, and only feature operations add to that: an install
/// with `feature_install_needs_reboot` set, or a removal. No registry write does; Windows
/// Update's `RebootRequired` key is never created by winsim.
pub const CBS_REBOOT_PENDING: &str =
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending";

/// What winsim reads from its namespace on first start.
#[derive(Debug, Clone)]
pub struct NetSnapshot {
    pub mac: String,
    pub addresses: Vec<(String, u8)>,
    pub gateway: Option<String>,
    pub connected: Vec<String>,
    /// The namespace's IPv4 name servers (`nameserver` lines of /etc/resolv.conf).
    pub dns: Vec<String>,
}

impl WinState {
    /// `path` (and its folders) as a file the user put on the host, if it is not there yet.
    pub fn put_user_file(&mut self, path: &str) {
        let mut dir = String::new();
        let parts: Vec<&str> = path.split('\\').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !dir.is_empty() {
                dir.push('\\');
            }
            dir.push_str(part);
            if dir.len() > 2 {
                self.files.entry(dir.clone()).or_insert(FileEntry {
                    directory: true,
                    sha256: None,
                    size: None,
                    calls_scm: false,
                    content: None,
                });
            }
        }
        self.files.entry(path.to_string()).or_insert(FileEntry {
            directory: false,
            sha256: Some("00".into()),
            size: Some(1),
            calls_scm: false,
            content: None,
        });
    }

    /// The folders of `account`'s profile, as the User Profile Service makes them at its first
    /// logon ("About User Profiles": a profile is created the first time a user logs on),
    /// with the temporary folder its processes' TEMP names.
    pub fn put_profile(&mut self, account: &str) {
        let profile = format!(r"C:\Users\{account}");
        for dir in [
            r"C:\Users".to_string(),
            profile.clone(),
            format!(r"{profile}\AppData"),
            format!(r"{profile}\AppData\Local"),
            format!(r"{profile}\AppData\Local\Temp"),
        ] {
            self.files.entry(dir).or_insert(FileEntry {
                directory: true,
                sha256: None,
                size: None,
                calls_scm: false,
                content: None,
            });
        }
    }

    /// The environment variables a process of the account's logon session starts with, those
    /// winsim models: `USERNAME`, `USERPROFILE`, and `TEMP`/`TMP` in the profile's
    /// `AppData\Local\Temp` (Microsoft's list for a user session:
    /// https://learn.microsoft.com/previous-versions/windows/desktop/sidebar/system-environment-getenvironmentvariable).
    pub fn logon_environment(&self) -> Vec<(String, String)> {
        let profile = format!(r"C:\Users\{}", self.account);
        let temp = format!(r"{profile}\AppData\Local\Temp");
        vec![
            ("USERNAME".into(), self.account.clone()),
            ("USERPROFILE".into(), profile),
            ("TEMP".into(), temp.clone()),
            ("TMP".into(), temp),
        ]
    }

    /// A fresh Windows Server 2022 host whose "Ethernet" is the namespace's eth0.
    pub fn fresh(net: &NetSnapshot) -> WinState {
        let mut registry = BTreeMap::new();
        let cv: BTreeMap<String, serde_json::Value> = [
            ("CurrentBuildNumber", serde_json::json!("20348")),
            ("CurrentBuild", serde_json::json!("20348")),
            ("UBR", serde_json::json!(2340)),
            ("EditionID", serde_json::json!("ServerStandard")),
            (
                "ProductName",
                serde_json::json!("Windows Server 2022 Standard"),
            ),
            ("DisplayVersion", serde_json::json!("21H2")),
            ("InstallationType", serde_json::json!("Server")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        registry.insert(CURRENT_VERSION.to_string(), cv);
        let tcpip = [("IPEnableRouter".to_string(), serde_json::json!(0))].into();
        registry.insert(TCPIP_PARAMETERS.to_string(), tcpip);
        let features = [("RemoteAccess", "Available"), ("Routing", "Available")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let docker = Service {
            name: "docker".into(),
            status: "Running".into(),
            start_type: "Automatic".into(),
            bin_path: r"C:\Program Files\Docker\dockerd.exe --run-service".into(),
            depend: Vec::new(),
            failure_actions: None,
            delete_pending: false,
        };
        let ethernet = Adapter {
            name: "Ethernet".into(),
            if_index: 6,
            mac: net.mac.clone(),
            description: "Microsoft Hyper-V Network Adapter".into(),
            status: "Up".into(),
            linux_dev: "eth0".into(),
            uplink: None,
            forwarding: false,
            // The namespace's address is configured statically (`ip addr add`), so this
            // host's NIC is static; tests set DHCP where they need it.
            dhcp: false,
            ip_bound: true,
            ready_at_ms: None,
            instance_id: None,
            dns_servers: net.dns.clone(),
        };
        let loopback = Adapter {
            name: "Loopback Pseudo-Interface 1".into(),
            if_index: 1,
            mac: String::new(),
            description: "Software Loopback Interface 1".into(),
            status: "Up".into(),
            linux_dev: "lo".into(),
            uplink: None,
            forwarding: false,
            dhcp: false,
            ip_bound: true,
            ready_at_ms: None,
            instance_id: None,
            dns_servers: Vec::new(),
        };
        let mut addresses = vec![IpAddress {
            if_index: 1,
            ip: "127.0.0.1".into(),
            prefix_length: 8,
        }];
        addresses.extend(net.addresses.iter().map(|(ip, len)| IpAddress {
            if_index: 6,
            ip: ip.clone(),
            prefix_length: *len,
        }));
        let mut routes: Vec<Route> = net
            .connected
            .iter()
            .map(|p| Route {
                prefix: p.clone(),
                next_hop: "0.0.0.0".into(),
                if_index: 6,
                metric: 256,
                persistent: false,
            })
            .collect();
        if let Some(gw) = &net.gateway {
            routes.insert(
                0,
                Route {
                    prefix: "0.0.0.0/0".into(),
                    next_hop: gw.clone(),
                    if_index: 6,
                    metric: 0,
                    persistent: true,
                },
            );
        }
        let mut fresh = WinState {
            registry,
            reboot_pending: Vec::new(),
            feature_install_needs_reboot: false,
            features,
            services: vec![docker],
            remote_access: None,
            nat_installed: false,
            nat_interfaces: Vec::new(),
            port_mappings: Vec::new(),
            adapters: vec![loopback, ethernet],
            addresses,
            routes,
            firewall_rules: Vec::new(),
            networks: Vec::new(),
            // The directories every Windows Server install has, so a host rwin cleaned up
            // compares equal to a fresh one (rwin creates only its own folders under them).
            files: [
                r"C:\Program Files",
                r"C:\ProgramData",
                r"C:\Windows",
                r"C:\Windows\System32",
            ]
            .into_iter()
            .map(|d| {
                (
                    d.to_string(),
                    FileEntry {
                        directory: true,
                        sha256: None,
                        size: None,
                        calls_scm: false,
                        content: None,
                    },
                )
            })
            .collect(),
            missing_modules: Vec::new(),
            last_boot_ms: now_ms(),
            restart: None,
            restart_timing: RestartTiming::default(),
            vswitch_ms: default_vswitch_ms(),
            nic_down_until_ms: None,
            pull_ms: 0,
            absent_images: Vec::new(),
            account: default_account(),
            auditing: false,
            process_events: Vec::new(),
            script_block_events: Vec::new(),
            rras_interfaces: None,
            container_dns: BTreeMap::new(),
        };
        // The account winsim serves has logged on before.
        fresh.put_profile(&default_account());
        fresh
    }

    /// Reads the state file.
    pub fn load(path: &Path) -> anyhow::Result<WinState> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("parsing {}: {e}", path.display()))
    }

    /// Writes the state file atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&tmp, text)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| anyhow::anyhow!("renaming to {}: {e}", path.display()))
    }

    /// True when the host has no PowerShell module of this name.
    pub fn lacks_module(&self, module: &str) -> bool {
        self.missing_modules
            .iter()
            .any(|m| m.eq_ignore_ascii_case(module))
    }

    pub fn adapter(&self, if_index: u32) -> Option<&Adapter> {
        self.adapters.iter().find(|a| a.if_index == if_index)
    }

    /// An adapter present now, by name.
    pub fn adapter_by_name(&self, name: &str) -> Option<&Adapter> {
        let now = now_ms();
        self.adapters
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name) && a.present(now))
    }

    /// True when the interface `if_index` is an IP interface now (its addresses and routes
    /// show).
    pub fn ip_interface(&self, if_index: u32) -> bool {
        let now = now_ms();
        self.adapter(if_index)
            .is_some_and(|a| a.is_ip_interface(now))
    }

    /// True when a file (or directory) exists at `path` (case-insensitive, as NTFS matches).
    pub fn file_exists(&self, path: &str) -> bool {
        self.files.keys().any(|k| k.eq_ignore_ascii_case(path))
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    pub fn service_mut(&mut self, name: &str) -> Option<&mut Service> {
        self.services
            .iter_mut()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// A registry key, matched case-insensitively on its path.
    pub fn reg_key(&self, key: &str) -> Option<&BTreeMap<String, serde_json::Value>> {
        self.registry
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// True when the key exists (the CBS RebootPending key exists while a reboot is pending).
    pub fn reg_key_exists(&self, key: &str) -> bool {
        if CBS_REBOOT_PENDING.eq_ignore_ascii_case(key) {
            return !self.reboot_pending.is_empty();
        }
        self.reg_key(key).is_some()
    }

    /// True when RRAS routes: the service runs and is configured routing-only.
    pub fn rras_routing(&self) -> bool {
        self.remote_access.as_deref() == Some("RoutingOnly")
            && self
                .services
                .iter()
                .any(|s| s.name.eq_ignore_ascii_case("RemoteAccess") && s.status == "Running")
    }

    /// RemoteAccess has (re)started: RRAS takes the IP interfaces there are now.
    pub fn rras_started(&mut self) {
        let now = now_ms();
        self.rras_interfaces = Some(
            self.adapters
                .iter()
                .filter(|a| a.is_ip_interface(now))
                .map(|a| a.if_index)
                .collect(),
        );
    }

    /// True when RRAS knows the IP interface `if_index` (it was there when RemoteAccess last
    /// started).
    pub fn rras_knows(&self, if_index: u32) -> bool {
        self.rras_interfaces
            .as_ref()
            .is_none_or(|known| known.contains(&if_index))
    }

    pub fn next_if_index(&self) -> u32 {
        self.adapters.iter().map(|a| a.if_index).max().unwrap_or(6) + 1
    }
}
