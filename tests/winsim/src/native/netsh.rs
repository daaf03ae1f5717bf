//! `netsh routing ip nat …`: RRAS NAT interfaces and port mappings, made real as iptables
//! MASQUERADE and DNAT rules by effects. netsh prints its errors on stdout, as Windows does.
//!
//! What Windows requires (BEHAVIOURS.md, "netsh routing ip nat"): RRAS NAT is a routing
//! protocol of the Routing and Remote Access service, so the commands need RRAS configured
//! (`Install-RemoteAccess -VpnType RoutingOnly`) and RemoteAccess running; NAT interfaces are
//! IP interfaces RRAS knows (those there were when RemoteAccess last started), each with one
//! mode (`full`, `addressonly` or `private`; a second `add` of the same interface fails, `set
//! interface` would change it); the dump is a netsh script.

use super::{failed, ok, NativeOut};
use crate::host::Ctx;
use crate::state::{now_ms, NatInterface, PortMapping};

/// An interface's name and mode from `add interface "NAME" MODE` or its tagged form
/// `add interface name="NAME" mode=MODE` (what the dump prints and published scripts use).
fn name_and_mode(words: &[&str]) -> Option<(String, Option<String>)> {
    let tag = |w: &str, t: &str| {
        w.split_once('=')
            .filter(|(k, _)| k.eq_ignore_ascii_case(t))
            .map(|(_, v)| v.trim_matches('"').to_string())
    };
    match words {
        [n] => Some((tag(n, "name").unwrap_or_else(|| n.to_string()), None)),
        [n, m] => Some((
            tag(n, "name").unwrap_or_else(|| n.to_string()),
            Some(
                tag(m, "mode")
                    .unwrap_or_else(|| m.to_string())
                    .to_ascii_lowercase(),
            ),
        )),
        _ => None,
    }
}

pub fn run(ctx: &mut Ctx, args: &[String]) -> Result<NativeOut, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    let lw: Vec<&str> = lower.iter().map(String::as_str).collect();
    let state = &mut *ctx.state;
    let not_installed = || {
        failed(
            1,
            "The following command was not found: routing ip nat.\r\n",
            "",
        )
    };
    // RRAS NAT runs inside the RemoteAccess service: configured routing-only and running.
    // Windows' wording when it is not was not captured: winsim says so in its own words.
    if lw.starts_with(&["routing", "ip", "nat"]) && !state.rras_routing() {
        return Ok(failed(
            1,
            "winsim: the Routing and Remote Access service is not configured and running (Install-RemoteAccess -VpnType RoutingOnly, then Start-Service RemoteAccess); Windows' own wording for this was not captured\r\n",
            "",
        ));
    }
    let answer = match lw.as_slice() {
        ["routing", "ip", "nat", "install"] => {
            state.nat_installed = true;
            ok("")
        }
        ["routing", "ip", "nat", "uninstall"] => {
            state.nat_installed = false;
            state.nat_interfaces.clear();
            state.port_mappings.clear();
            ok("")
        }
        ["routing", "ip", "nat", "dump"] => {
            // A netsh script ("Displays the NAT configuration … in script form", netsh
            // routing ip nat docs): the section header and `pushd routing ip nat` as a real
            // host's `netsh dump` prints them, then `install`, the interfaces with their
            // modes and the port mappings in the tagged form (names quoted, values upper
            // case, as published netsh NAT scripts write them), then `popd`.
            let mut s = String::from(
                "\r\n# ----------------------------------\r\n# NAT configuration\r\n# ----------------------------------\r\npushd routing ip nat\r\n",
            );
            if !state.nat_installed {
                s.push_str("uninstall\r\n\r\n\r\npopd\r\n");
                return Ok(ok(&s));
            }
            // `set global` with netsh's defaults, as a published netsh NAT script writes it.
            s.push_str("uninstall\r\ninstall\r\nset global tcptimeoutmins=1440 udptimeoutmins=1 loglevel=ERROR\r\n\r\n");
            for i in &state.nat_interfaces {
                s.push_str(&format!(
                    "add interface name=\"{}\" mode={}\r\n",
                    i.name,
                    i.mode.to_ascii_uppercase()
                ));
            }
            for m in &state.port_mappings {
                s.push_str(&format!(
                    "add portmapping name=\"{}\" proto={} publicip={} publicport={} privateip={} privateport={}\r\n",
                    m.interface, m.proto.to_ascii_uppercase(), m.public_ip, m.public_port, m.private_ip, m.private_port
                ));
            }
            s.push_str("\r\n\r\npopd\r\n");
            ok(&s)
        }
        ["routing", "ip", "nat", verb @ ("add" | "delete" | "set"), "interface", ..] => {
            if !state.nat_installed {
                return Ok(not_installed());
            }
            let Some((name, mode)) = name_and_mode(&words[5..]) else {
                return Err(format!("netsh command line 'netsh {}'", words.join(" ")));
            };
            // Only an IP interface: a NIC an external vSwitch took has no TCP/IP binding
            // (its addresses are on the vEthernet adapter), and a vEthernet adapter HNS is
            // still creating is not there yet.
            // And only one RRAS knows: an interface made after RemoteAccess last started
            // (a new container network's vEthernet adapter) is not, until RemoteAccess
            // restarts (**inferred** from the practice of restarting it before adding NAT
            // interfaces; BEHAVIOURS.md).
            let now = now_ms();
            let known = state.adapter_by_name(&name).is_some_and(|a| {
                a.is_ip_interface(now) && (*verb == "delete" || state.rras_knows(a.if_index))
            });
            if !known {
                return Ok(failed(
                    1,
                    &format!("The interface {name} is not known.\r\n"),
                    "",
                ));
            }
            let existing = state
                .nat_interfaces
                .iter()
                .position(|i| i.name.eq_ignore_ascii_case(&name));
            const MODES: [&str; 3] = ["full", "addressonly", "private"];
            match (*verb, mode.as_deref(), existing) {
                // Without a mode the interface is the private side: published scripts add
                // the internal interface bare and set the public one to full afterwards
                // (inferred from REDACTD-DEV/Hyper-V-Lab-Deploy GW01-PostInstall.ps1,
                // victorar/azure-hybrid-networking Configure-NVA.ps1).
                ("add", m, None) if m.is_none_or(|m| MODES.contains(&m)) => {
                    state.nat_interfaces.push(NatInterface {
                        name,
                        mode: m.unwrap_or("private").to_string(),
                    });
                    ok("")
                }
                // The one way to change an interface's mode.
                ("set", Some(m), Some(p)) if MODES.contains(&m) => {
                    state.nat_interfaces[p].mode = m.to_string();
                    ok("")
                }
                ("set", Some(_), None) => failed(
                    1,
                    "The specified interface is not registered with the router.\r\n",
                    "",
                ),
                // One mode per interface: a second add fails, whatever its mode.
                ("add", _, Some(_)) => failed(
                    1,
                    "An interface with this name is already registered with the router.\r\n",
                    "",
                ),
                ("delete", None, Some(p)) => {
                    state.nat_interfaces.remove(p);
                    state
                        .port_mappings
                        .retain(|m| !m.interface.eq_ignore_ascii_case(&name));
                    ok("")
                }
                ("delete", None, None) => failed(
                    1,
                    "The specified interface is not registered with the router.\r\n",
                    "",
                ),
                _ => return Err(format!("netsh command line 'netsh {}'", words.join(" "))),
            }
        }
        ["routing", "ip", "nat", verb @ ("add" | "delete"), "portmapping", _, proto @ ("tcp" | "udp"), _, _, _, _] =>
        {
            if !state.nat_installed {
                return Ok(not_installed());
            }
            let port = |s: &str| s.parse::<u16>().map_err(|_| format!("netsh port '{s}'"));
            let m = PortMapping {
                interface: words[5].to_string(),
                proto: proto.to_string(),
                public_ip: words[7].to_string(),
                public_port: port(words[8])?,
                private_ip: words[9].to_string(),
                private_port: port(words[10])?,
            };
            if !state
                .nat_interfaces
                .iter()
                .any(|i| i.name.eq_ignore_ascii_case(&m.interface))
            {
                return Ok(failed(
                    1,
                    "The specified interface is not configured for NAT.\r\n",
                    "",
                ));
            }
            let same = |x: &PortMapping| {
                x.interface.eq_ignore_ascii_case(&m.interface)
                    && x.proto == m.proto
                    && x.public_port == m.public_port
            };
            let pos = state.port_mappings.iter().position(same);
            match (*verb, pos) {
                ("add", None) => {
                    state.port_mappings.push(m);
                    ok("")
                }
                ("add", Some(_)) => failed(1, "The port mapping already exists.\r\n", ""),
                (_, Some(p)) => {
                    state.port_mappings.remove(p);
                    ok("")
                }
                (_, None) => failed(1, "The port mapping was not found.\r\n", ""),
            }
        }
        _ => return Err(format!("netsh command line 'netsh {}'", words.join(" "))),
    };
    if answer.code == 0 {
        if let Err(e) = ctx.fx.sync_nat(ctx.state) {
            return Ok(failed(1, &format!("winsim effect failed: {e}\r\n"), ""));
        }
    }
    Ok(answer)
}
