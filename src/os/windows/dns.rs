//! The DNS servers the container network gives its containers. A container on a transparent or
//! l2bridge network gets only the network's `dnsservers` option: Docker gives the gateway's DNS
//! to `nat` networks alone (moby `daemon/libnetwork/drivers/windows/windows.go`), so without
//! the option it resolves nothing (rancher/rancher#11419; tests/winsim/BEHAVIOURS.md). rwin
//! gives the network `network.windows_dns_servers`, else the host's own, read as Rancher's
//! per-host-subnet fix read them (Get-DnsClientServerAddress -AddressFamily IPv4 of the NIC
//! outbound traffic leaves by; rancher/per-host-subnet commit 955bc0b).

use std::net::Ipv4Addr;

use super::diff::route_interface;
use super::facts::WindowsFacts;
use crate::os::DesiredHost;

/// `network.windows_dns_servers` when set; otherwise the IPv4 DNS servers of the interface the
/// host's default route leaves by, else those of the route NIC. An error, naming the fix,
/// when there are none (a network without them would leave its containers without DNS) or
/// when Windows answered something that is not an IPv4 address.
pub fn dns_servers(d: &DesiredHost, f: &WindowsFacts) -> Result<Vec<Ipv4Addr>, String> {
    if let Some(servers) = &d.windows.dns_servers {
        return Ok(servers.clone());
    }
    let default_route = f.default_route_if();
    let route_nic = route_interface(d, f).ok().map(|a| a.if_index);
    let mut asked = Vec::new();
    for if_index in [default_route, route_nic].into_iter().flatten() {
        if asked.contains(&if_index) {
            continue;
        }
        asked.push(if_index);
        let found = f.dns_servers(if_index);
        if found.is_empty() {
            continue;
        }
        return found
            .iter()
            .map(|s| {
                s.trim().parse::<Ipv4Addr>().map_err(|_| {
                    format!(
                        "{} has the DNS server {s:?}, which is not an IPv4 address (as Get-DnsClientServerAddress -AddressFamily IPv4 reports it): set network.windows_dns_servers in cluster.yml to the servers the containers should use",
                        name(f, if_index)
                    )
                })
            })
            .collect();
    }
    let looked = if asked.is_empty() {
        "no default route and no route NIC were found to read them from".to_string()
    } else {
        let names: Vec<String> = asked.iter().map(|i| name(f, *i)).collect();
        format!(
            "{} {} none (Get-DnsClientServerAddress -AddressFamily IPv4)",
            names.join(" and "),
            if names.len() == 1 { "has" } else { "have" }
        )
    };
    Err(format!(
        "no DNS servers to give the container network, and without them its containers resolve no name: {looked}. Give the host's NIC a DNS server (Set-DnsClientServerAddress), or set network.windows_dns_servers in cluster.yml"
    ))
}

fn name(f: &WindowsFacts, if_index: u32) -> String {
    match f.interface_alias(if_index) {
        Some(alias) => format!("{alias:?}"),
        None => format!("interface {if_index}"),
    }
}

/// The servers as the network option writes them: `10.0.0.2,10.0.0.3`.
pub(crate) fn option_value(servers: &[Ipv4Addr]) -> String {
    servers
        .iter()
        .map(Ipv4Addr::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A network's option value as a list (spaces and empty entries dropped).
pub(crate) fn option_list(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
