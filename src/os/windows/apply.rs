//! The apply script: straight-line PowerShell that makes a list of changes. It runs under
//! `$ErrorActionPreference = 'Stop'`, so any error ends it with exit code 1, including those
//! `-ErrorAction` cannot reach (Windows PowerShell's statement-terminating errors: a cmdlet the
//! host does not have, a parameter that does not bind; about_Error_Handling). Every cmdlet
//! also runs with `-ErrorAction Stop`, except probes that may find nothing, which say
//! `-ErrorAction SilentlyContinue`; every native command's exit code is checked and a failure
//! throws a sentence naming the step. The container adapter exists only once the network does, so it
//! is looked up when the script runs, by the bound NIC's MAC and the highest ifIndex, waiting up to
//! [`HNS_WAIT_SECS`] for HNS to make it.

use std::fmt::Write as _;

/// How long the script waits for HNS: it applies a new network asynchronously, so the
/// vEthernet adapter (and the NIC's address moving to it) appear some time after `docker
/// network create` returns. flannel's Windows backend waits for them the same way, polling
/// every second for a bounded time (hostgw_windows.go, `wait.Poll`/`PollImmediate` for the
/// management IP and the renamed interface).
pub const HNS_WAIT_SECS: u32 = 60;

use super::change::{driver_name, Change};
use super::{
    firewall_rule_name, CLUSTER_LABEL, DEVCON, DNS_OPTION, INTERFACE_OPTION, LOOPBACK_NAME,
    NETLOOP_INF, NETWORK, TCPIP_KEY,
};
use crate::os::DesiredHost;
use crate::powershell::quote;

/// One script that makes all `changes`, stopping at the first failure. Prints one JSON line:
/// `{"reboot_needed":…,"container_if_index":…,"container_adapter":…}`.
pub fn apply_script(d: &DesiredHost, changes: &[Change]) -> String {
    let mut s = format!(
        "# rwin apply for node {} of cluster {}: straight-line, stops at the first failure.\n$ErrorActionPreference = 'Stop'\n$reboot = $false\n$cai = $null\n$can = $null\n",
        crate::powershell::comment_text(&d.node),
        crate::powershell::comment_text(&d.cluster)
    );
    let mut have_ri = false;
    let mut have_ca = false;
    for c in changes {
        if needs_route_if(c) && !have_ri {
            find_route_if(&mut s, d);
            have_ri = true;
        }
        if needs_container(c) && !have_ca {
            find_container(&mut s, d, changes);
            have_ca = true;
        }
        step(&mut s, d, c);
    }
    s.push_str("[ordered]@{ reboot_needed = $reboot; container_if_index = $cai; container_adapter = $can } | ConvertTo-Json -Compress\n");
    s
}

fn needs_route_if(c: &Change) -> bool {
    matches!(
        c,
        Change::AddRoute { .. }
            | Change::ReplaceRoute { .. }
            | Change::EnableForwarding {
                container: false,
                ..
            }
    )
}

fn needs_container(c: &Change) -> bool {
    matches!(
        c,
        Change::RemoveAddress { .. }
            | Change::AddGatewayAddress { .. }
            | Change::AddHostRoute { .. }
            | Change::EnableForwarding {
                container: true,
                ..
            }
            | Change::AddNatInterface { private: true, .. }
            // After the network's adapter exists: HNS makes it some time after `docker network
            // create`, and RRAS takes only the interfaces there are when it starts.
            | Change::RestartRemoteAccess
    )
}

/// `$ri`: the interface holding the node's internal address, where routes to neighbours go.
fn find_route_if(s: &mut String, d: &DesiredHost) {
    let ip = quote(&d.internal_address.to_string());
    wait_for(
        s,
        "ri",
        &format!("foreach ($ip in @(Get-NetIPAddress -AddressFamily IPv4 -ErrorAction Stop)) {{ if ($ip.IPAddress -eq {ip}) {{ $ri = [int]$ip.InterfaceIndex }} }}"),
        &format!(
            "rwin: finding the interface that holds {}: no interface has had that address for {HNS_WAIT_SECS}s",
            d.internal_address
        ),
    );
}

/// `$cai`/`$can`: the container network's adapter: the vEthernet with the bound adapter's MAC
/// (the highest ifIndex, Rancher's rule), waiting for HNS to make it.
fn find_container(s: &mut String, d: &DesiredHost, changes: &[Change]) {
    let nic = bound_adapter_name(d, changes);
    let _ = writeln!(
        s,
        "$all = Get-NetAdapter -ErrorAction Stop\n$nic = $all | Where-Object {{ $_.Name -eq {} }} | Select-Object -First 1\nif ($null -eq $nic) {{ throw {} }}\n$mac = $nic.MacAddress",
        quote(&nic),
        quote(&format!("rwin: finding the container network's adapter: there is no adapter {nic}")),
    );
    wait_for(
        s,
        "ca",
        "foreach ($a in @(Get-NetAdapter -ErrorAction Stop)) {\n  if ($a.MacAddress -eq $mac -and $a.Name -like 'vEthernet*') {\n    if ($null -eq $ca) { $ca = $a } elseif ($a.ifIndex -gt $ca.ifIndex) { $ca = $a }\n  }\n}",
        &format!("rwin: finding the container network's adapter: no vEthernet adapter has had the MAC address of {nic} for {HNS_WAIT_SECS}s; is network {NETWORK} bound to it?"),
    );
    s.push_str("$cai = [int]$ca.ifIndex\n$can = [string]$ca.Name\n");
}

/// `$var = $null`, then `look` once a second until it sets `$var`, for at most
/// [`HNS_WAIT_SECS`]; then `gone` is thrown if it never did. `look` sees every adapter or
/// address afresh each time (HNS makes them asynchronously). One pass of `look` sets `$var`
/// only when it found it, so the highest-ifIndex rule of a pass holds.
fn wait_for(s: &mut String, var: &str, look: &str, gone: &str) {
    let look: String = look.lines().map(|l| format!("    {l}\n")).collect();
    let _ = writeln!(
        s,
        "${var} = $null\nforeach ($try in @({})) {{\n  if ($null -eq ${var}) {{\n    if ($try -gt 1) {{ Start-Sleep -Seconds 1 }}\n{look}  }}\n}}\nif ($null -eq ${var}) {{ throw {} }}",
        hns_tries(),
        quote(gone),
    );
}

/// `1, 2, … HNS_WAIT_SECS`, written out: a loop over them is one try a second. (A range
/// expression would do the same, but the PowerShell grammar the scripts are checked with
/// reads `1..60` in a foreach header as a command.)
fn hns_tries() -> String {
    (1..=HNS_WAIT_SECS)
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The name of the adapter the container network is bound to: what the network change
/// carries, else `container_interface`, else the loopback adapter rwin makes.
fn bound_adapter_name(d: &DesiredHost, changes: &[Change]) -> String {
    changes
        .iter()
        .find_map(|c| match c {
            Change::CreateNetwork { interface, .. } | Change::RecreateNetwork { interface, .. } => {
                Some(interface.clone())
            }
            _ => None,
        })
        .or_else(|| d.windows.container_interface.clone())
        .unwrap_or_else(|| LOOPBACK_NAME.to_string())
}

fn check_exit(s: &mut String, what: &str) {
    let _ = writeln!(
        s,
        "if ($LASTEXITCODE -ne 0) {{ throw {} }}",
        quote(&format!(
            "rwin: {what} failed (exit code non-zero; its message is above)"
        ))
    );
}

fn step(s: &mut String, d: &DesiredHost, c: &Change) {
    // The description names host text (adapter names, what a setting was): a line break in
    // it would end the comment and start a statement, so every control character goes.
    let _ = writeln!(s, "# {}", crate::powershell::comment_text(&c.to_string()));
    match c {
        Change::InstallFeatures { names } => {
            let names: Vec<String> = names.iter().map(|n| quote(n)).collect();
            let _ = writeln!(s, "$fr = Install-WindowsFeature -Name {} -IncludeManagementTools -ErrorAction Stop\nif ([string]$fr.RestartNeeded -eq 'Yes') {{ $reboot = $true }}", names.join(", "));
        }
        // It asks to confirm (its docs page's Example 2), and powershell.exe -NonInteractive
        // cannot: the prompt fails and nothing is configured (about_PowerShell_exe;
        // tests/winsim/BEHAVIOURS.md, "Routing and RRAS").
        Change::ConfigureRouting => s.push_str(
            "Install-RemoteAccess -VpnType RoutingOnly -Confirm:$false -ErrorAction Stop | Out-Null\n",
        ),
        Change::RemoteAccessAutomatic { .. } => s.push_str(
            "Set-Service -Name 'RemoteAccess' -StartupType Automatic -ErrorAction Stop\n",
        ),
        Change::StartRemoteAccess => {
            s.push_str("Start-Service -Name 'RemoteAccess' -ErrorAction Stop\n")
        }
        Change::RestartRemoteAccess => {
            s.push_str("Restart-Service -Name 'RemoteAccess' -ErrorAction Stop\n")
        }
        Change::SetIpEnableRouter => {
            let _ = writeln!(s, "Set-ItemProperty -Path {} -Name 'IPEnableRouter' -Value 1 -Type DWord -ErrorAction Stop\n$reboot = $true", quote(TCPIP_KEY));
        }
        Change::AddFirewallRule { name, remote }
        | Change::ReplaceFirewallRule { name, remote, .. } => {
            if matches!(c, Change::ReplaceFirewallRule { .. }) {
                let _ = writeln!(
                    s,
                    "Remove-NetFirewallRule -Name {} -ErrorAction Stop",
                    quote(name)
                );
            }
            let remote: Vec<String> = remote.iter().map(|r| quote(r)).collect();
            let _ = writeln!(
                s,
                "New-NetFirewallRule -Name {} -DisplayName {} -Direction Inbound -Action Allow -RemoteAddress {} -Profile Any -ErrorAction Stop | Out-Null",
                quote(name),
                quote(&format!("rwin: cluster {} (nodes and container subnets)", d.cluster)),
                remote.join(", ")
            );
            debug_assert_eq!(*name, firewall_rule_name(&d.cluster));
        }
        Change::CreateLoopback { name } => create_loopback(s, name),
        Change::CreateNetwork {
            driver,
            subnet,
            gateway,
            interface,
            dns,
        }
        | Change::RecreateNetwork {
            driver,
            subnet,
            gateway,
            interface,
            dns,
            ..
        } => {
            if matches!(c, Change::RecreateNetwork { .. }) {
                // Docker removes no network that still has endpoints ("has active endpoints",
                // moby libnetwork's ActiveEndpointsError), so rwin's own containers on it go
                // first; the diff has planned each of them for replacement on the new network.
                // Anyone else's container on it stops the script at `network rm`, named there.
                let _ = writeln!(
                    s,
                    "$attached = docker ps -aq --filter {} --filter {}",
                    quote(&format!("network={NETWORK}")),
                    quote(&format!("label={CLUSTER_LABEL}={}", d.cluster)),
                );
                check_exit(s, &format!("listing rwin's containers on the old container network {NETWORK}"));
                let _ = writeln!(s, "foreach ($c in $attached) {{");
                let _ = writeln!(s, "docker rm -f $c | Out-Null");
                check_exit(s, &format!("removing rwin's containers from the old container network {NETWORK}"));
                let _ = writeln!(s, "}}");
                let _ = writeln!(s, "docker network rm {} | Out-Null", quote(NETWORK));
                check_exit(s, &format!("removing the old container network {NETWORK} (are containers still attached to it?)"));
            }
            // The DNS servers go with the network: on a transparent or l2bridge network a
            // container gets no other (`dns.rs`). The diff never plans a network without them;
            // should a change list ever hold one, the script stops rather than make it.
            if dns.is_empty() {
                let _ = writeln!(
                    s,
                    "throw {}",
                    quote(&format!("rwin: no DNS servers for the container network {NETWORK}: its containers would resolve no name"))
                );
            }
            let _ = writeln!(
                s,
                "docker network create -d {} --subnet {subnet} --gateway {gateway} -o {} -o {} --label {} {} | Out-Null",
                driver_name(*driver),
                quote(&format!("{INTERFACE_OPTION}={interface}")),
                quote(&format!("{DNS_OPTION}={}", super::dns::option_value(dns))),
                quote(&format!("{CLUSTER_LABEL}={}", d.cluster)),
                quote(NETWORK),
            );
            check_exit(
                s,
                &format!("creating the container network {NETWORK} on {interface}"),
            );
        }
        Change::RemoveAddress { ip } => {
            let _ = writeln!(
                s,
                "Remove-NetIPAddress -IPAddress {} -Confirm:$false -ErrorAction Stop",
                quote(&ip.to_string())
            );
        }
        Change::AddGatewayAddress {
            gateway,
            prefix_len,
        } => {
            let gw = quote(&gateway.to_string());
            {
                // The vEthernet of the container adapter inherits its DHCP (a loopback adapter
                // comes with DHCP on), and New-NetIPAddress fails on a DHCP interface: make it
                // static and take every other address off, as seed 002 step 7 converts an
                // adapter (Set-NetIPInterface -Dhcp Disabled, Remove-NetIPAddress,
                // New-NetIPAddress). The container adapter is never the route NIC, so this never
                // touches the host's own address or default route.
                let _ = writeln!(s, "$ipif = Get-NetIPInterface -InterfaceIndex $cai -AddressFamily IPv4 -ErrorAction Stop\nif ([string]$ipif.Dhcp -eq 'Enabled') {{ Set-NetIPInterface -InterfaceIndex $cai -AddressFamily IPv4 -Dhcp Disabled -ErrorAction Stop }}\nforeach ($x in @(Get-NetIPAddress -AddressFamily IPv4 -InterfaceIndex $cai -ErrorAction SilentlyContinue)) {{ if ($x.IPAddress -ne {gw}) {{ Remove-NetIPAddress -InterfaceIndex $cai -IPAddress $x.IPAddress -Confirm:$false -ErrorAction Stop }} }}");
            }
            let _ = writeln!(s, "$have = Get-NetIPAddress -AddressFamily IPv4 -InterfaceIndex $cai -ErrorAction SilentlyContinue | Where-Object {{ $_.IPAddress -eq {gw} }}\nif ($null -eq $have) {{ New-NetIPAddress -InterfaceIndex $cai -IPAddress {gw} -PrefixLength {prefix_len} -ErrorAction Stop | Out-Null }}");
        }
        Change::EnableForwarding { container, .. } => {
            let i = if *container { "$cai" } else { "$ri" };
            let _ = writeln!(s, "Set-NetIPInterface -InterfaceIndex {i} -AddressFamily IPv4 -Forwarding Enabled -ErrorAction Stop");
        }
        Change::AddRoute { dest, via, .. } | Change::ReplaceRoute { dest, via, .. } => {
            let p = quote(&dest.to_string());
            if matches!(c, Change::ReplaceRoute { .. }) {
                remove_routes(s, &p);
            }
            let _ = writeln!(s, "New-NetRoute -DestinationPrefix {p} -InterfaceIndex $ri -NextHop {} -ErrorAction Stop | Out-Null", quote(&via.to_string()));
        }
        Change::DeleteRoute { dest, via } => {
            let _ = writeln!(s, "Remove-NetRoute -DestinationPrefix {} -NextHop {} -Confirm:$false -ErrorAction Stop", quote(&dest.to_string()), quote(&via.to_string()));
        }
        Change::AddHostRoute { address, .. } => {
            let p = quote(&format!("{address}/32"));
            remove_routes(s, &p);
            let _ = writeln!(s, "New-NetRoute -DestinationPrefix {p} -InterfaceIndex $cai -NextHop '0.0.0.0' -ErrorAction Stop | Out-Null");
        }
        Change::DeletePortMapping { mapping } => {
            s.push_str(&super::netsh_checked(
                &super::ports::delete_command(mapping),
                None,
                &format!("deleting the port mapping {mapping}"),
            ));
        }
        Change::InstallNat => {
            s.push_str(&super::netsh_checked(
                "netsh routing ip nat install",
                None,
                "installing RRAS NAT (netsh routing ip nat install)",
            ));
        }
        Change::AddNatInterface { interface, private } => {
            // An interface has one NAT mode: `add` fails when RRAS already knows it (its NAT
            // configuration outlives a stopped RemoteAccess, whose dump the facts then could
            // not read), and `set interface` gives it the mode instead (tests/winsim/BEHAVIOURS.md,
            // "netsh routing ip nat").
            let (name, mode, what) = if *private {
                (
                    "$can".to_string(),
                    "private",
                    "the container network's adapter to RRAS NAT as private".to_string(),
                )
            } else {
                (
                    quote(interface),
                    "full",
                    format!("{interface} to RRAS NAT as the public side"),
                )
            };
            s.push_str(&super::netsh_checked(
                &format!("netsh routing ip nat add interface {name} {mode}"),
                Some(&format!("netsh routing ip nat set interface {name} {mode}")),
                &format!("adding {what}"),
            ));
        }
    }
}

/// devcon makes a loopback adapter ("Microsoft KM-TEST Loopback Adapter", named "Ethernet N");
/// the new one (not there before, described as a loopback adapter) is renamed `name`.
fn create_loopback(s: &mut String, name: &str) {
    let _ = writeln!(
        s,
        "$before = @(Get-NetAdapter -ErrorAction Stop | ForEach-Object {{ [int]$_.ifIndex }})\n& {devcon} install {inf} '*MSLOOP' | Out-Null",
        devcon = quote(DEVCON),
        inf = quote(NETLOOP_INF),
    );
    check_exit(
        s,
        &format!("making the loopback adapter (devcon install {NETLOOP_INF} *MSLOOP)"),
    );
    wait_for(
        s,
        "lb",
        "foreach ($a in @(Get-NetAdapter -ErrorAction Stop)) {\n  $new = $true\n  foreach ($i in $before) { if ($i -eq [int]$a.ifIndex) { $new = $false } }\n  if ($new -and $a.InterfaceDescription -like '*Loopback Adapter*') { $lb = $a }\n}",
        &format!("rwin: devcon made no loopback adapter that appeared within {HNS_WAIT_SECS}s"),
    );
    let _ = writeln!(
        s,
        "Rename-NetAdapter -Name $lb.Name -NewName {} -ErrorAction Stop",
        quote(name)
    );
}

/// Every route to `prefix` goes, in both stores: `Set-NetRoute` cannot change a next hop.
fn remove_routes(s: &mut String, prefix: &str) {
    let _ = writeln!(s, "$old = Get-NetRoute -AddressFamily IPv4 -DestinationPrefix {prefix} -ErrorAction SilentlyContinue\nif ($null -ne $old) {{ Remove-NetRoute -DestinationPrefix {prefix} -Confirm:$false -ErrorAction Stop }}");
}
