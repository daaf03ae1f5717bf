//! NetTCPIP and NetAdapter cmdlets: adapters, IPv4 addresses, per-interface forwarding and
//! routes. Each change is made in the state and, through effects, in the namespace.

use super::{need, Fail};
use crate::net::{contains, network_of, valid_prefix};
use crate::ps::args::Bound;
use crate::ps::value::{Obj, Value};
use crate::ps::Interp;
use crate::state::{now_ms, Adapter, IpAddress, Route, WinState};

const IPV4: Value = Value::Enum("IPv4", 2);

fn family(b: &Bound, cmdlet: &str) -> Result<(), Fail> {
    match b.text("AddressFamily") {
        Some(f) if !f.eq_ignore_ascii_case("IPv4") => Err(Fail::Failed(format!(
            "{cmdlet}: winsim models IPv4 only, not -AddressFamily {f}"
        ))),
        _ => Ok(()),
    }
}

/// An interface index parameter (UInt32): a value outside it is a parameter binding error.
fn index(b: &Bound, name: &str) -> Result<Option<u32>, Fail> {
    match b.int(name)? {
        Some(n) => u32::try_from(n).map(Some).map_err(|_| {
            Fail::Terminating(format!(
                "Cannot bind parameter '{name}'. Cannot convert value \"{n}\" to type \"System.UInt32\"."
            ))
        }),
        None => Ok(None),
    }
}

/// The IP interface `idx` (MSFT_NetIPInterface): an adapter present now with TCP/IP bound. A
/// NIC an external vSwitch took has none (its addresses moved to the vEthernet adapter), and a
/// vEthernet adapter HNS is still creating is not there yet.
fn adapter(state: &WinState, idx: u32) -> Result<Adapter, Fail> {
    let now = now_ms();
    state
        .adapter(idx)
        .filter(|a| a.is_ip_interface(now))
        .cloned()
        .ok_or_else(|| {
            Fail::NotFound(format!(
            "No MSFT_NetIPInterface objects found with property 'InterfaceIndex' equal to '{idx}'."
        ))
        })
}

/// The Linux device an address of `a` belongs on: on a shared vEthernet adapter, an address
/// inside one of its container networks' subnets (the gateway address) goes on the container
/// bridge, any other (the host's own) on the physical NIC.
fn dev_for(state: &WinState, a: &Adapter, ip: &str) -> String {
    let in_container_net = state
        .networks
        .iter()
        .any(|n| n.adapter_index == a.if_index && contains(&n.subnet, ip));
    match &a.uplink {
        Some(up) if !in_container_net => up.clone(),
        _ => a.linux_dev.clone(),
    }
}

/// The Linux device an on-link route (NextHop 0.0.0.0) of `a` to `prefix` belongs on. On the
/// shared vEthernet adapter of a transparent network the rule is: the route goes on the
/// container bridge unless its destination lies inside one of the physical NIC's own connected
/// subnets (the networks of the adapter's addresses outside its container subnets), which stay
/// on the physical NIC. So the container subnet and host routes such as rwin's metadata
/// 169.254.169.250/32 reach the containers, while the host's LAN stays on eth0.
fn route_dev(state: &WinState, a: &Adapter, prefix: &str) -> String {
    let Some(up) = &a.uplink else {
        return a.linux_dev.clone();
    };
    if physical_subnets(state, a)
        .iter()
        .any(|net| prefix_within(prefix, net))
    {
        up.clone()
    } else {
        a.linux_dev.clone()
    }
}

/// The connected subnets of the physical NIC behind a vEthernet adapter: the networks of the
/// adapter's addresses that are not in one of its container networks.
fn physical_subnets(state: &WinState, a: &Adapter) -> Vec<String> {
    let container: Vec<&str> = state
        .networks
        .iter()
        .filter(|n| n.adapter_index == a.if_index)
        .map(|n| n.subnet.as_str())
        .collect();
    state
        .addresses
        .iter()
        .filter(|x| x.if_index == a.if_index && !container.iter().any(|c| contains(c, &x.ip)))
        .map(|x| network_of(&x.ip, x.prefix_length))
        .collect()
}

/// True when every address of `prefix` (`a.b.c.d/n`) lies inside `net`.
fn prefix_within(prefix: &str, net: &str) -> bool {
    let len = |p: &str| p.split_once('/').and_then(|(_, l)| l.parse::<u8>().ok());
    match (prefix.split_once('/'), len(prefix), len(net)) {
        (Some((addr, _)), Some(pl), Some(nl)) => pl >= nl && contains(net, addr),
        _ => false,
    }
}

/// One MSFT_NetRoute instance: `store` is "ActiveStore" or "PersistentStore", shown as the
/// Store enum (MSFT_NetRoute class docs: Persistent 0, Active 1).
fn route_obj(state: &WinState, r: &Route, store: &str) -> Value {
    let alias = state
        .adapter(r.if_index)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    Obj::new("Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetRoute")
        .with("DestinationPrefix", r.prefix.as_str())
        .with("NextHop", r.next_hop.as_str())
        .with("InterfaceIndex", r.if_index)
        .with("InterfaceAlias", alias)
        .with("RouteMetric", r.metric)
        .with("AddressFamily", IPV4)
        .with(
            "Store",
            if store == "PersistentStore" {
                Value::Enum("PersistentStore", 0)
            } else {
                Value::Enum("ActiveStore", 1)
            },
        )
        .into()
}

fn enabled(on: bool) -> Value {
    if on {
        Value::Enum("Enabled", 1)
    } else {
        Value::Enum("Disabled", 0)
    }
}

/// An `Enabled`/`Disabled` parameter (the NetTCPIP enums): anything else does not bind.
fn on_off(b: &Bound, name: &str) -> Result<Option<bool>, Fail> {
    match b.text(name) {
        None => Ok(None),
        Some(f) => match f.to_ascii_lowercase().as_str() {
            "enabled" => Ok(Some(true)),
            "disabled" => Ok(Some(false)),
            _ => Err(Fail::Terminating(format!("Cannot bind parameter '{name}'. Cannot convert value \"{f}\": specify one of the following enumerator names and try again: Disabled, Enabled"))),
        },
    }
}

fn address_obj(state: &WinState, a: &IpAddress) -> Value {
    let adapter = state.adapter(a.if_index);
    let alias = adapter.map(|x| x.name.clone()).unwrap_or_default();
    // PrefixOrigin: Manual for a static address, Dhcp for one a DHCP-enabled interface holds
    // (MSFT_NetIPAddress; winsim gives a DHCP interface's addresses the Dhcp origin).
    let origin = match (adapter.is_some_and(|x| x.dhcp), a.if_index) {
        (_, 1) => Value::Enum("WellKnown", 2),
        (true, _) => Value::Enum("Dhcp", 3),
        (false, _) => Value::Enum("Manual", 1),
    };
    Obj::new("Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetIPAddress")
        .with("IPAddress", a.ip.as_str())
        .with("InterfaceIndex", a.if_index)
        .with("InterfaceAlias", alias)
        .with("AddressFamily", IPV4)
        .with("PrefixLength", u32::from(a.prefix_length))
        .with("PrefixOrigin", origin)
        .into()
}

fn effect(r: Result<(), String>) -> Result<(), Fail> {
    r.map_err(|e| Fail::Failed(format!("winsim effect failed: {e}")))
}

pub fn run(i: &mut Interp, name: &str, b: &Bound) -> Result<Option<Vec<Value>>, Fail> {
    let state = &mut *i.ctx.state;
    let fx = i.ctx.fx;
    let out = match name {
        "Get-NetAdapter" => state
            .adapters
            .iter()
            .filter(|a| a.linux_dev != "lo" && a.present(now_ms()))
            .map(|a| {
                Obj::new("Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetAdapter")
                    .with("Name", a.name.as_str())
                    .with("InterfaceDescription", a.description.as_str())
                    .with("ifIndex", a.if_index)
                    .with("Status", a.status.as_str())
                    .with("MacAddress", a.mac.as_str())
                    // MSFT_NetAdapter's PnPDeviceID: the device instance ID (`ROOT\NET\0000`
                    // for a root-enumerated one such as devcon's loopback adapter).
                    .with("PnPDeviceID", a.instance_id.clone().unwrap_or_default())
                    .with("LinkSpeed", "10 Gbps")
                    .into()
            })
            .collect(),
        "Get-NetIPAddress" => {
            family(b, name)?;
            let want = index(b, "InterfaceIndex")?;
            let ip = b.text("IPAddress");
            let out: Vec<Value> = state
                .addresses
                .iter()
                .filter(|a| want.is_none_or(|w| w == a.if_index) && ip.as_ref().is_none_or(|i| *i == a.ip))
                .filter(|a| state.ip_interface(a.if_index))
                .map(|a| address_obj(state, a))
                .collect();
            if out.is_empty() {
                return Err(Fail::NotFound("No matching MSFT_NetIPAddress objects found by CIM query for instances of the ROOT/StandardCimv2/MSFT_NetIPAddress class on the  CIM server".into()));
            }
            out
        }
        "New-NetIPAddress" => {
            let idx = index(b, "InterfaceIndex")?.ok_or_else(|| Fail::Failed("InterfaceIndex is required".into()))?;
            let ip = need(b, "IPAddress", name)?;
            let len = b.int("PrefixLength")?.unwrap_or(32);
            let len = u8::try_from(len).ok().filter(|l| *l <= 32).ok_or_else(|| Fail::Failed(format!("Invalid PrefixLength {len}")))?;
            if ip.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(Fail::Failed(format!("Invalid parameter IPAddress {ip}")));
            }
            let a = adapter(state, idx)?;
            // A static address on a DHCP-enabled interface: New-NetIPAddress saves it in the
            // PersistentStore, which contradicts DHCP (the error Windows answers, quoted at
            // https://serverdevworker.com/119964cbfe; seed 002 step 7 disables DHCP first).
            if a.dhcp {
                return Err(Fail::Failed("Inconsistent parameters PolicyStore PersistentStore and Dhcp Enabled".into()));
            }
            if state.addresses.iter().any(|x| x.ip == ip) {
                return Err(Fail::Failed("The object already exists.".into()));
            }
            let dev = dev_for(state, &a, &ip);
            effect(fx.run(&["ip", "addr", "add", &format!("{ip}/{len}"), "dev", &dev]))?;
            state.addresses.push(IpAddress { if_index: idx, ip: ip.clone(), prefix_length: len });
            let connected = network_of(&ip, len);
            if !state.routes.iter().any(|r| r.prefix == connected && r.if_index == idx) {
                state.routes.push(Route { prefix: connected, next_hop: "0.0.0.0".into(), if_index: idx, metric: 256, persistent: false });
            }
            vec![Obj::new("Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetIPAddress")
                .with("IPAddress", ip.as_str())
                .with("InterfaceIndex", idx)
                .with("InterfaceAlias", a.name.as_str())
                .with("AddressFamily", IPV4)
                .with("PrefixLength", u32::from(len))
                .into()]
        }
        "Remove-NetIPAddress" => {
            family(b, name)?;
            let ip = b.text("IPAddress");
            let idx = index(b, "InterfaceIndex")?;
            if ip.is_none() && idx.is_none() {
                return Err(Fail::Failed("Remove-NetIPAddress: winsim needs -IPAddress or -InterfaceIndex".into()));
            }
            let chosen: Vec<usize> = state
                .addresses
                .iter()
                .enumerate()
                .filter(|(_, x)| ip.as_ref().is_none_or(|i| *i == x.ip) && idx.is_none_or(|i| i == x.if_index))
                .filter(|(_, x)| x.if_index != 1 && state.ip_interface(x.if_index))
                .map(|(n, _)| n)
                .collect();
            if chosen.is_empty() {
                let (property, value) = match (&ip, idx) {
                    (Some(i), _) => ("IPAddress", i.clone()),
                    (None, Some(i)) => ("InterfaceIndex", i.to_string()),
                    (None, None) => unreachable!("checked above"),
                };
                return Err(Fail::NotFound(format!("No matching MSFT_NetIPAddress objects found with property '{property}' equal to '{value}'.")));
            }
            for n in chosen.into_iter().rev() {
                let addr = state.addresses.remove(n);
                if let Some(a) = state.adapter(addr.if_index).cloned() {
                    let dev = dev_for(state, &a, &addr.ip);
                    effect(fx.run(&["ip", "addr", "del", &format!("{}/{}", addr.ip, addr.prefix_length), "dev", &dev]))?;
                }
                let connected = network_of(&addr.ip, addr.prefix_length);
                state.routes.retain(|r| !(r.prefix == connected && r.if_index == addr.if_index && r.next_hop == "0.0.0.0"));
            }
            Vec::new()
        }
        // One MSFT_DNSClientServerAddress per IP interface (the Loopback Pseudo-Interface
        // too, with no servers, as rancher/rancher#11419's output lists it), its IPv4 DNS
        // servers in `ServerAddresses`. winsim has no IPv6: -AddressFamily IPv4 is required.
        "Get-DnsClientServerAddress" => {
            if !b
                .text("AddressFamily")
                .is_some_and(|f| f.eq_ignore_ascii_case("IPv4"))
            {
                return Err(Fail::Flow(crate::ps::Flow::Unsupported(
                    "winsim: unsupported Get-DnsClientServerAddress without -AddressFamily IPv4 (winsim models IPv4 only)".into(),
                )));
            }
            let now = now_ms();
            state
                .adapters
                .iter()
                .filter(|a| a.is_ip_interface(now))
                .map(|a| {
                    let servers: Vec<Value> =
                        a.dns_servers.iter().map(|d| Value::Str(d.clone())).collect();
                    Obj::new("Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_DNSClientServerAddress")
                        .with("InterfaceAlias", a.name.as_str())
                        .with("InterfaceIndex", a.if_index)
                        .with("AddressFamily", IPV4)
                        .with("ServerAddresses", Value::Array(servers))
                        .into()
                })
                .collect()
        }
        "Get-NetIPInterface" => {
            family(b, name)?;
            let want = index(b, "InterfaceIndex")?;
            let all = state.rras_routing();
            let now = now_ms();
            let out: Vec<Value> = state
                .adapters
                .iter()
                // An adapter without TCP/IP bound is no IP interface: a NIC an external
                // vSwitch took is listed by Get-NetAdapter but not here.
                .filter(|a| a.is_ip_interface(now))
                .filter(|a| want.is_none_or(|w| w == a.if_index))
                .map(|a| {
                    Obj::new("Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetIPInterface")
                        .with("InterfaceIndex", a.if_index)
                        .with("InterfaceAlias", a.name.as_str())
                        .with("AddressFamily", IPV4)
                        .with("Forwarding", enabled(all || a.forwarding))
                        .with("Dhcp", enabled(a.dhcp))
                        .with("ConnectionState", Value::Enum("Connected", 1))
                        .into()
                })
                .collect();
            // Get-NetIPInterface -InterfaceIndex N for an index with no IP interface is an
            // ObjectNotFound error (CIM cmdlets' "No MSFT_NetIPInterface objects found").
            if let (Some(w), true) = (want, out.is_empty()) {
                return Err(Fail::Failed(format!(
                    "No MSFT_NetIPInterface objects found with property 'InterfaceIndex' equal to '{w}'.  Verify the value of the property and retry."
                )));
            }
            out
        }
        "Set-NetIPInterface" => {
            family(b, name)?;
            let idx = index(b, "InterfaceIndex")?.ok_or_else(|| Fail::Failed("InterfaceIndex is required".into()))?;
            adapter(state, idx)?;
            let forwarding = on_off(b, "Forwarding")?;
            let dhcp = on_off(b, "Dhcp")?;
            if forwarding.is_none() && dhcp.is_none() {
                return Err(Fail::Failed("Set-NetIPInterface: winsim needs -Forwarding or -Dhcp".into()));
            }
            if let Some(a) = state.adapters.iter_mut().find(|a| a.if_index == idx) {
                if let Some(on) = forwarding {
                    a.forwarding = on;
                }
                // Turning DHCP off keeps the addresses the interface holds (seed 002 step 7
                // removes the address itself afterwards; inferred).
                if let Some(on) = dhcp {
                    a.dhcp = on;
                }
            }
            effect(fx.sync_forwarding(state))?;
            Vec::new()
        }
        "Rename-NetAdapter" => {
            let old = need(b, "Name", name)?;
            let new = need(b, "NewName", name)?;
            let now = now_ms();
            if state.adapters.iter().any(|a| a.name.eq_ignore_ascii_case(&new) && a.present(now)) {
                return Err(Fail::Failed(format!("Rename-NetAdapter: an adapter named '{new}' already exists")));
            }
            let Some(a) = state.adapters.iter_mut().find(|a| a.name.eq_ignore_ascii_case(&old) && a.present(now) && a.linux_dev != "lo") else {
                return Err(Fail::NotFound(format!("No MSFT_NetAdapter objects found with property 'Name' equal to '{old}'.  Verify the value of the property and retry.")));
            };
            a.name = new;
            Vec::new()
        }
        "Get-NetRoute" => {
            family(b, name)?;
            let prefix = b.text("DestinationPrefix");
            let idx = index(b, "InterfaceIndex")?;
            // Each MSFT_NetRoute instance is in one store (its Store property: Persistent 0,
            // Active 1; MSFT_NetRoute class docs), -PolicyStore selects the instances of one
            // store (Get-NetRoute docs), and without it every instance is listed: a route
            // saved in both stores comes back twice, its ActiveStore instance and its
            // PersistentStore one. (No page prints that outright; winsim lists the active
            // instances first.)
            let stores: &[&str] = match b.text("PolicyStore") {
                None => &["ActiveStore", "PersistentStore"],
                Some(p) if p.eq_ignore_ascii_case("ActiveStore") => &["ActiveStore"],
                Some(p) if p.eq_ignore_ascii_case("PersistentStore") => &["PersistentStore"],
                Some(p) => return Err(Fail::Flow(crate::ps::Flow::Unsupported(format!("winsim: unsupported -PolicyStore {p} of Get-NetRoute (only ActiveStore, PersistentStore)")))),
            };
            let wanted = |r: &&Route| prefix.as_ref().is_none_or(|p| *p == r.prefix) && idx.is_none_or(|i| i == r.if_index) && state.ip_interface(r.if_index);
            let mut out: Vec<Value> = Vec::new();
            for store in stores {
                let persistent_only = *store == "PersistentStore";
                out.extend(
                    state
                        .routes
                        .iter()
                        .filter(wanted)
                        .filter(|r| !persistent_only || r.persistent)
                        .map(|r| route_obj(state, r, store)),
                );
            }
            // A filter matching nothing, as a Windows host words it (ovn-kubernetes/
            // ovn-kubernetes#3074 shows `Get-NetRoute -DestinationPrefix "169.254."` answering
            // this); no filter matching nothing is no error.
            let filter = match (&prefix, idx) {
                (Some(p), _) => Some(("DestinationPrefix", p.clone())),
                (None, Some(i)) => Some(("InterfaceIndex", i.to_string())),
                (None, None) => None,
            };
            if let (true, Some((property, value))) = (out.is_empty(), filter) {
                return Err(Fail::NotFound(format!("No MSFT_NetRoute objects found with property '{property}' equal to '{value}'.  Verify the value of the property and retry.")));
            }
            out
        }
        "New-NetRoute" => {
            let prefix = need(b, "DestinationPrefix", name)?;
            if !valid_prefix(&prefix) {
                return Err(Fail::Failed(format!("Invalid DestinationPrefix {prefix}")));
            }
            let idx = index(b, "InterfaceIndex")?.ok_or_else(|| Fail::Failed("InterfaceIndex is required".into()))?;
            let next_hop = b.text("NextHop").unwrap_or_else(|| "0.0.0.0".into());
            let metric = b.int("RouteMetric")?.unwrap_or(256).clamp(0, 9999) as u32;
            let a = adapter(state, idx)?;
            if state.routes.iter().any(|r| r.prefix == prefix && r.if_index == idx && r.next_hop == next_hop) {
                return Err(Fail::Failed("Instance MSFT_NetRoute already exists".into()));
            }
            let m = metric.to_string();
            if next_hop == "0.0.0.0" {
                let dev = route_dev(state, &a, &prefix);
                effect(fx.run(&["ip", "route", "replace", &prefix, "dev", &dev, "metric", &m]))?;
            } else {
                effect(fx.run(&["ip", "route", "replace", &prefix, "via", &next_hop, "metric", &m]))?;
            }
            // Without -PolicyStore (the contract has none for New-NetRoute) the route is saved
            // in both stores (New-NetRoute docs, -PolicyStore).
            let r = Route { prefix, next_hop, if_index: idx, metric, persistent: true };
            state.routes.push(r.clone());
            // New-NetRoute answers with the route in both stores, as Windows does.
            vec![route_obj(state, &r, "ActiveStore"), route_obj(state, &r, "PersistentStore")]
        }
        "Remove-NetRoute" => {
            let prefix = need(b, "DestinationPrefix", name)?;
            let idx = index(b, "InterfaceIndex")?;
            let nh = b.text("NextHop");
            let (gone, kept): (Vec<Route>, Vec<Route>) = state.routes.drain(..).partition(|r| {
                r.prefix == prefix && idx.is_none_or(|i| i == r.if_index) && nh.as_ref().is_none_or(|n| *n == r.next_hop)
            });
            state.routes = kept;
            if gone.is_empty() {
                return Err(Fail::NotFound(format!("No matching MSFT_NetRoute objects found with property 'DestinationPrefix' equal to '{prefix}'.")));
            }
            for r in gone {
                let m = r.metric.to_string();
                effect(fx.run(&["ip", "route", "del", &r.prefix, "metric", &m]))?;
            }
            Vec::new()
        }
        _ => return Ok(None),
    };
    Ok(Some(out))
}
