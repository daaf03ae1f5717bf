//! Undoing what rwin made on a Windows node, from what the state file recorded. Every step
//! runs even if one fails, and is verified afterwards; the script prints `removed=WHAT`,
//! `left=WHAT` and `reboot=WHY` lines, like the Linux teardown. The router (features, RRAS,
//! IPEnableRouter) is put back only where rwin turned it on.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::change::Change;
use super::{firewall_rule_name, CLUSTER_LABEL, TCPIP_KEY};
use crate::powershell::quote;

pub use crate::state::windows::TurnedOn;

impl TurnedOn {
    /// What applying `changes` turns on (merge it into what earlier runs recorded).
    pub fn from_changes(changes: &[Change]) -> TurnedOn {
        let mut t = TurnedOn::default();
        for c in changes {
            match c {
                Change::InstallFeatures { names } => t.features = names.clone(),
                Change::ConfigureRouting => t.routing = true,
                Change::RemoteAccessAutomatic { was } => {
                    t.remote_access_start_type = Some(was.clone())
                }
                Change::StartRemoteAccess => t.remote_access_started = true,
                Change::SetIpEnableRouter => t.ip_enable_router = true,
                Change::InstallNat => t.nat = true,
                Change::CreateLoopback { .. } => t.loopback = true,
                _ => {}
            }
        }
        t
    }
}

/// Everything rwin made on a Windows host, as recorded in the state file, to undo.
#[derive(Debug, Clone, Default)]
pub struct Teardown {
    pub cluster: String,
    /// The gateway address on the container adapter, with its prefix.
    pub gateway: Option<Ipv4Net>,
    /// Routes to other nodes' subnets: (destination, next hop).
    pub routes: Vec<(Ipv4Net, Ipv4Addr)>,
    /// /32 routes on the container adapter (metadata, DNS).
    pub host_routes: Vec<Ipv4Addr>,
    /// Interfaces rwin added to RRAS NAT (the route NIC, the container adapter).
    pub nat_interfaces: Vec<String>,
    /// RRAS NAT port mappings of published component ports.
    pub port_mappings: Vec<super::NatPortMapping>,
    pub turned_on: TurnedOn,
    /// Windows services of service components, with the files uploaded for them.
    pub services: Vec<crate::state::windows::ServiceRecord>,
}

/// One script that removes service components' Windows services and files, the cluster's
/// containers and network, rwin's routes, addresses,
/// firewall rule and NAT interfaces, and then what rwin turned on in the router.
///
/// Unlike every other script it does not stop at the first error: every step runs and is
/// read back, and a step that failed prints `left=`, which is what the teardown phase reports
/// (it reads these lines, not the exit code). Under `$ErrorActionPreference = 'Stop'` a
/// failing step would end the script before the later steps and their `left=` lines.
pub fn teardown_script(t: &Teardown) -> String {
    let label = quote(&format!("label={CLUSTER_LABEL}={}", t.cluster));
    let mut s = format!(
        "# rwin teardown of cluster {}: every step runs; prints removed=/left=/reboot= lines.\n",
        t.cluster
    );
    // Services first: an agent could otherwise start containers again while they go.
    super::service_teardown::teardown_services(&mut s, &t.services);
    let _ = writeln!(
        s,
        "$cs = docker ps -aq --filter {label}\nforeach ($c in $cs) {{\n  docker rm -f $c | Out-Null\n  if ($LASTEXITCODE -eq 0) {{ Write-Output 'removed=a container of the cluster' }} else {{ Write-Output 'left=a container of the cluster (docker rm -f failed)' }}\n}}"
    );
    // Before the NAT interfaces: deleting an interface takes its mappings with it.
    for m in &t.port_mappings {
        let _ = writeln!(
            s,
            "{}\nif ($LASTEXITCODE -eq 0) {{ Write-Output {} }} else {{ Write-Output {} }}",
            super::ports::delete_call(m),
            quote(&format!("removed=port mapping {m}")),
            quote(&format!(
                "left=port mapping {m} (netsh delete portmapping failed)"
            ))
        );
    }
    for name in &t.nat_interfaces {
        let q = quote(name);
        let _ = writeln!(
            s,
            "netsh routing ip nat delete interface {q} | Out-Null\nif ($LASTEXITCODE -eq 0) {{ Write-Output {} }} else {{ Write-Output {} }}",
            quote(&format!("removed=NAT interface {name}")),
            quote(&format!("left=NAT interface {name} (netsh routing ip nat delete interface failed)"))
        );
    }
    for a in &t.host_routes {
        remove_route(&mut s, &format!("{a}/32"), None);
    }
    if let Some(gw) = t.gateway {
        let ip = quote(&gw.addr().to_string());
        let _ = writeln!(
            s,
            "$have = Get-NetIPAddress -AddressFamily IPv4 -ErrorAction SilentlyContinue | Where-Object {{ $_.IPAddress -eq {ip} }}\nif ($null -ne $have) {{ Remove-NetIPAddress -IPAddress {ip} -Confirm:$false -ErrorAction SilentlyContinue }}\n$have = Get-NetIPAddress -AddressFamily IPv4 -ErrorAction SilentlyContinue | Where-Object {{ $_.IPAddress -eq {ip} }}\nif ($null -eq $have) {{ Write-Output {} }} else {{ Write-Output {} }}",
            quote(&format!("removed=gateway address {gw}")),
            quote(&format!("left=gateway address {gw}"))
        );
    }
    let _ = writeln!(
        s,
        "$ns = docker network ls -q --filter {label}\nforeach ($n in $ns) {{\n  docker network rm $n | Out-Null\n  if ($LASTEXITCODE -eq 0) {{ Write-Output 'removed=container network' }} else {{ Write-Output 'left=container network (docker network rm failed)' }}\n}}"
    );
    if t.turned_on.loopback {
        remove_loopback(&mut s);
    }
    for (dest, via) in &t.routes {
        remove_route(&mut s, &dest.to_string(), Some(*via));
    }
    let rule = quote(&firewall_rule_name(&t.cluster));
    let _ = writeln!(
        s,
        "$fw = Get-NetFirewallRule -Name {rule} -ErrorAction SilentlyContinue\nif ($null -ne $fw) {{ Remove-NetFirewallRule -Name {rule} -ErrorAction SilentlyContinue }}\n$fw = Get-NetFirewallRule -Name {rule} -ErrorAction SilentlyContinue\nif ($null -eq $fw) {{ Write-Output {} }} else {{ Write-Output {} }}",
        quote(&format!("removed=firewall rule {}", firewall_rule_name(&t.cluster))),
        quote(&format!("left=firewall rule {}", firewall_rule_name(&t.cluster)))
    );
    router(&mut s, &t.turned_on);
    let _ = writeln!(s, "Write-Output {}", quote(crate::os::TEARDOWN_DONE));
    s
}

fn remove_route(s: &mut String, dest: &str, via: Option<Ipv4Addr>) {
    let p = quote(dest);
    let (hop, left, what) = match via {
        Some(v) => {
            let q = quote(&v.to_string());
            (
                format!(" -NextHop {q}"),
                format!(" | Where-Object {{ $_.NextHop -eq {q} }}"),
                format!("route {dest} via {v}"),
            )
        }
        None => (String::new(), String::new(), format!("route {dest}")),
    };
    let _ = writeln!(
        s,
        "$r = Get-NetRoute -AddressFamily IPv4 -DestinationPrefix {p} -ErrorAction SilentlyContinue{left}\nif ($null -ne $r) {{ Remove-NetRoute -DestinationPrefix {p}{hop} -Confirm:$false -ErrorAction SilentlyContinue }}\n$r = Get-NetRoute -AddressFamily IPv4 -DestinationPrefix {p} -ErrorAction SilentlyContinue{left}\nif ($null -eq $r) {{ Write-Output {} }} else {{ Write-Output {} }}",
        quote(&format!("removed={what}")),
        quote(&format!("left={what}")),
    );
}

fn router(s: &mut String, t: &TurnedOn) {
    if t.nat {
        s.push_str("netsh routing ip nat uninstall | Out-Null\nif ($LASTEXITCODE -eq 0) { Write-Output 'removed=RRAS NAT (rwin had installed it)' } else { Write-Output 'left=RRAS NAT (netsh routing ip nat uninstall failed)' }\n");
    }
    if t.routing {
        s.push_str("Uninstall-RemoteAccess -Force -ErrorAction SilentlyContinue\n$ra = Get-RemoteAccess -ErrorAction SilentlyContinue\nif ([string]$ra.RoutingStatus -ne 'Installed') { Write-Output 'removed=routing-only RRAS configuration (rwin had configured it)' } else { Write-Output 'left=routing-only RRAS configuration' }\n");
    }
    // Each step reads back what it changed and reports that, not what it asked for: a step
    // run with -ErrorAction SilentlyContinue can fail without stopping the script (Stop-Service
    // refuses while services that depend on RemoteAccess run, unless -Force, which would stop
    // services that are not rwin's).
    if t.remote_access_started {
        s.push_str("Stop-Service -Name 'RemoteAccess' -ErrorAction SilentlyContinue\n$svc = Get-Service -Name 'RemoteAccess' -ErrorAction SilentlyContinue\nif ([string]$svc.Status -eq 'Stopped') { Write-Output 'removed=RemoteAccess service running (rwin had started it)' } else { Write-Output 'left=RemoteAccess service running (Stop-Service failed; services that depend on it may still run)' }\n");
    }
    if let Some(was) = &t.remote_access_start_type {
        if matches!(was.as_str(), "Manual" | "Disabled") {
            let _ = writeln!(
                s,
                "Set-Service -Name 'RemoteAccess' -StartupType {was} -ErrorAction SilentlyContinue\n$svc = Get-Service -Name 'RemoteAccess' -ErrorAction SilentlyContinue\nif ([string]$svc.StartType -eq {}) {{ Write-Output {} }} else {{ Write-Output {} }}",
                quote(was),
                quote(&format!("removed=RemoteAccess automatic start (back to {was})")),
                quote(&format!("left=RemoteAccess automatic start (Set-Service -StartupType {was} failed)"))
            );
        }
    }
    if t.ip_enable_router {
        let key = quote(TCPIP_KEY);
        let _ = writeln!(s, "Set-ItemProperty -Path {key} -Name 'IPEnableRouter' -Value 0 -Type DWord -ErrorAction SilentlyContinue\n$ipr = Get-ItemProperty -Path {key} -Name 'IPEnableRouter' -ErrorAction SilentlyContinue\nif ($null -ne $ipr -and [int]$ipr.IPEnableRouter -eq 0) {{ Write-Output 'removed=IPEnableRouter=1 (rwin had set it)'; Write-Output 'reboot=IPEnableRouter is back to 0; it takes full effect after a reboot' }} else {{ Write-Output 'left=IPEnableRouter=1 (Set-ItemProperty failed)' }}");
    }
    if !t.features.is_empty() {
        let names = t
            .features
            .iter()
            .map(|f| quote(f))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            s,
            "Uninstall-WindowsFeature -Name {names} -ErrorAction SilentlyContinue | Out-Null\n$left = @(Get-WindowsFeature -Name {names} | Where-Object {{ [string]$_.InstallState -eq 'Installed' }})\nif ($left.Count -eq 0) {{ Write-Output {} ; Write-Output {} }} else {{ Write-Output {} }}",
            quote(&format!("removed=Windows features {} (rwin had installed them)", t.features.join(", "))),
            quote("reboot=removing Windows features completes at the next reboot"),
            quote(&format!("left=Windows features {} (Uninstall-WindowsFeature failed)", t.features.join(", ")))
        );
    }
}

/// The loopback adapter rwin made, by its device instance ID (only that device, not every
/// `*MSLOOP` one: the host may have loopback adapters of its own).
fn remove_loopback(s: &mut String) {
    let name = quote(super::LOOPBACK_NAME);
    let devcon = quote(super::DEVCON);
    let _ = writeln!(
        s,
        "$lb = $null\nforeach ($a in @(Get-NetAdapter -ErrorAction SilentlyContinue)) {{ if ($a.Name -eq {name}) {{ $lb = $a }} }}\nif ($null -ne $lb) {{\n  $id = '@' + [string]$lb.PnPDeviceID\n  & {devcon} remove $id | Out-Null\n  $lb = $null\n  foreach ($a in @(Get-NetAdapter -ErrorAction SilentlyContinue)) {{ if ($a.Name -eq {name}) {{ $lb = $a }} }}\n  if ($null -eq $lb) {{ Write-Output {} }} else {{ Write-Output {} }}\n}}",
        quote(&format!("removed=loopback adapter {}", super::LOOPBACK_NAME)),
        quote(&format!("left=loopback adapter {} (devcon remove failed; remove it in Device Manager)", super::LOOPBACK_NAME)),
    );
}
