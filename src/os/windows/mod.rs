//! What to run on a Windows host: PowerShell built as text, and the JSON it answers parsed
//! back. Pure functions, snapshot-tested; every script is checked with tree-sitter-powershell
//! and against the cmdlet table in tests/powershell/cmdlets.tsv (the contract winsim enforces,
//! tests/winsim/README.md). One facts script and one apply script per host per run.

mod apply;
mod change;
mod checks;
mod diff;
mod dns;
mod facts;
mod host_os;
mod image;
mod ports;
mod reboot;
mod service;
mod service_teardown;
mod teardown;

#[cfg(test)]
mod tests;

/// The data of service components, as this OS's scripts take it.
pub use crate::os::service::{service_name, ServiceFacts, ServiceSpec, ServiceWork};
pub use crate::state::windows::ServiceRecord;
pub use apply::apply_script;
pub use change::Change;
pub use checks::checks;
pub use diff::{blockers, diff, route_interface};
pub use dns::dns_servers;
pub use facts::{
    facts_script, parse_facts, Adapter, Address, DnsServers, Feature, FirewallRule, IpInterface,
    NetworkView, Route, Service, WindowsFacts,
};
pub use host_os::Windows;
pub use image::select_image;
pub use ports::{
    mapped, mapping_script, parse_mapped_address, port_mapping_change, NatPortMapping,
    PortMappingChange, Published,
};
pub use reboot::reboot_script;
pub use service::{apply_result, bin_path, remote_path};
pub use service::{
    parse_qc, parse_service_facts, service_apply_script, service_facts_script, service_work,
    WindowsServices, DATA_DIR, DONE as SERVICE_DONE, PROGRAM_DIR,
};
pub use service_teardown::removal_order;
pub use teardown::{teardown_script, Teardown, TurnedOn};

/// The command every script runs under (the script goes on stdin).
pub use crate::powershell::script_command;

/// The container network rwin creates on every Windows node.
pub const NETWORK: &str = "rwin";
/// The Docker label that marks rwin's networks and containers with their cluster.
pub const CLUSTER_LABEL: &str = "io.rwin.cluster";
/// The `docker network create -o` key that binds a transparent/l2bridge network to a NIC.
pub const INTERFACE_OPTION: &str = "com.docker.network.windowsshim.interface";
/// The `docker network create -o` key that gives the network's containers their DNS servers,
/// comma-separated (moby `libnetwork/drivers/windows/labels.go`, `DNSServers`).
pub const DNS_OPTION: &str = "com.docker.network.windowsshim.dnsservers";
/// Where Windows keeps `IPEnableRouter` (seed 000).
pub const TCPIP_KEY: &str = r"HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters";
/// Where Windows keeps `CurrentBuildNumber`, `UBR` and `EditionID`.
pub const VERSION_KEY: &str = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion";
/// The features that give Windows its router (ServerManager docs; seed 002).
/// The loopback adapter rwin makes for the container network when no `container_interface`
/// is given (seeds 000/002: the transparent network on a private adapter of its own).
pub const LOOPBACK_NAME: &str = "rwin-containers";
/// Where rwin expects Microsoft's devcon.exe (a Windows Driver Kit tool no Windows ships; the
/// user puts it there), which makes and removes that adapter: `devcon install
/// C:\Windows\inf\netloop.inf *MSLOOP` (Rancher's command, WINDOWS.md; Microsoft Learn, "DevCon
/// Install") and `devcon remove @<device instance ID>` ("DevCon Remove"). It is outside rwin's
/// own folders, which teardown removes whole: the tool is the user's.
pub const DEVCON: &str = r"C:\Program Files\devcon\devcon.exe";
/// Where Windows keeps the loopback adapter's driver description (Windows in C:\Windows).
pub const NETLOOP_INF: &str = r"C:\Windows\inf\netloop.inf";

pub const FEATURES: [&str; 2] = ["RemoteAccess", "Routing"];

/// The name of the firewall rule that admits the cluster's traffic.
pub fn firewall_rule_name(cluster: &str) -> String {
    format!("rwin-{cluster}")
}

/// A netsh command whose failure stops the script with netsh's own words: netsh prints its
/// messages on stdout, so they are kept in `$netsh` (not thrown away with `Out-Null`) and go
/// into the error. `fallback`, if any, is tried when `command` fails (e.g. `set` after `add`).
fn netsh_checked(command: &str, fallback: Option<&str>, failure: &str) -> String {
    let mut s = format!("$netsh = {command}\n");
    if let Some(f) = fallback {
        s.push_str(&format!("if ($LASTEXITCODE -ne 0) {{ $netsh = {f} }}\n"));
    }
    s.push_str(&format!(
        "if ($LASTEXITCODE -ne 0) {{ $msg = $netsh | Out-String; throw ({} + $msg) }}\n",
        crate::powershell::quote(&format!("rwin: {failure} failed; netsh said: "))
    ));
    s
}
