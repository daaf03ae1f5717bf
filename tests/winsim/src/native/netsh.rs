//! `netsh routing ip nat …`: RRAS NAT interfaces and port mappings, made real as iptables
//! MASQUERADE and DNAT rules by effects. netsh prints its errors on stdout, as Windows does.

use super::{failed, ok, NativeOut};
use crate::host::Ctx;
use crate::state::{NatInterface, PortMapping};

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
            if !state.nat_installed {
                return Ok(not_installed());
            }
            let mut s = String::from("\r\n#NAT configuration\r\npushd routing ip nat\r\n");
            for i in &state.nat_interfaces {
                s.push_str(&format!(
                    "add interface name=\"{}\" mode={}\r\n",
                    i.name, i.mode
                ));
            }
            for m in &state.port_mappings {
                s.push_str(&format!(
                    "add portmapping name=\"{}\" proto={} publicip={} publicport={} privateip={} privateport={}\r\n",
                    m.interface, m.proto, m.public_ip, m.public_port, m.private_ip, m.private_port
                ));
            }
            s.push_str("popd\r\n");
            ok(&s)
        }
        ["routing", "ip", "nat", verb @ ("add" | "delete"), "interface", _, rest @ ..] => {
            if !state.nat_installed {
                return Ok(not_installed());
            }
            let name = words[5].to_string();
            if state.adapter_by_name(&name).is_none() {
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
            match (*verb, rest, existing) {
                ("add", [mode @ ("full" | "private")], None) => {
                    state.nat_interfaces.push(NatInterface {
                        name,
                        mode: mode.to_string(),
                    });
                    ok("")
                }
                ("add", [_], Some(_)) => failed(
                    1,
                    "An interface with this name is already registered with the router.\r\n",
                    "",
                ),
                ("delete", [], Some(p)) => {
                    state.nat_interfaces.remove(p);
                    state
                        .port_mappings
                        .retain(|m| !m.interface.eq_ignore_ascii_case(&name));
                    ok("")
                }
                ("delete", [], None) => failed(
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
