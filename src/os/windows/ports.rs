//! Published component ports on Windows: RRAS NAT port mappings on the route NIC, to the
//! container's address on the node's container network. They do TCP and UDP, which
//! `netsh interface portproxy` cannot (it is TCP only; WINDOWS.md "Port mapping"), and they are
//! the only publishing there is: a transparent or l2bridge network publishes nothing with
//! `docker run -p` (Docker's `-p` needs the Windows `nat` network), so rwin does not pass it.
//! The container's address exists only once it runs, so the mapping script runs after the
//! component is deployed on the host.

use std::fmt;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use serde::Serialize;

use super::WindowsFacts;
use crate::docker::cli::{container_address_template, DONE};
use crate::os::{Check, DesiredHost};
use crate::powershell::quote;

pub use crate::os::Published;

pub use crate::state::windows::NatPortMapping;

impl NatPortMapping {
    /// Whether both map the same public port (netsh keeps one mapping per interface, protocol
    /// and port).
    pub fn same_port(&self, other: &NatPortMapping) -> bool {
        self.interface == other.interface
            && self.proto == other.proto
            && self.public_port == other.public_port
    }
}

impl fmt::Display for NatPortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}:{} to {}:{} on {}",
            self.proto,
            self.public_ip,
            self.public_port,
            self.private_ip,
            self.private_port,
            self.interface
        )
    }
}

/// One component's port mappings to (re)make once its container runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMappingChange {
    pub component: String,
    pub container: String,
    /// The route NIC: RRAS NAT's public interface.
    pub interface: String,
    pub ports: Vec<Published>,
    /// Mappings of the same ports that are there now and go first (old container address).
    pub stale: Vec<NatPortMapping>,
    pub why: String,
}

impl fmt::Display for PortMappingChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ports: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("{}/{} to {}", p.host_port, p.proto, p.container_port))
            .collect();
        write!(
            f,
            "+ port mapping {} in {} (RRAS NAT on {}; {})",
            ports.join(", "),
            self.container,
            self.interface,
            self.why
        )
    }
}

impl WindowsFacts {
    /// The port mappings of the NAT dump (`add portmapping name="…" proto=… publicip=…
    /// publicport=… privateip=… privateport=…`).
    pub fn port_mappings(&self) -> Vec<NatPortMapping> {
        let Some(dump) = &self.nat_dump else {
            return Vec::new();
        };
        dump.lines().filter_map(parse_mapping).collect()
    }
}

/// One `add portmapping` line, each field read into its type: `tcp`|`udp`, IPv4 addresses,
/// ports, and an interface name without control characters. A line that does not read is
/// not a mapping rwin knows (host text never reaches a script unchecked).
fn parse_mapping(line: &str) -> Option<NatPortMapping> {
    let rest = line.trim().strip_prefix("add portmapping name=\"")?;
    let (interface, tail) = rest.split_once('"')?;
    if interface.is_empty() || interface.chars().any(char::is_control) {
        return None;
    }
    let field = |key: &str| {
        tail.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
    };
    let proto = field("proto")?.to_ascii_lowercase();
    if proto != "tcp" && proto != "udp" {
        return None;
    }
    let ip = |key: &str| field(key)?.parse::<Ipv4Addr>().ok().map(|a| a.to_string());
    Some(NatPortMapping {
        interface: interface.to_string(),
        proto,
        public_ip: ip("publicip")?,
        public_port: field("publicport")?.parse().ok()?,
        private_ip: ip("privateip")?,
        private_port: field("privateport")?.parse().ok()?,
    })
}

/// The mapping of `p` the dump shows on `interface`, if any (one per protocol and port).
fn found<'a>(
    mappings: &'a [NatPortMapping],
    interface: &str,
    p: &Published,
) -> Option<&'a NatPortMapping> {
    mappings
        .iter()
        .find(|m| m.interface == interface && m.proto == p.proto && m.public_port == p.host_port)
}

/// Whether the mapping sends `p` to the container: to its address when known, else to some
/// address in the node's container subnet.
fn right(d: &DesiredHost, m: &NatPortMapping, p: &Published, container_ip: Option<&str>) -> bool {
    let ip_ok = match container_ip {
        Some(ip) => m.private_ip == ip,
        None => m
            .private_ip
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| d.subnet.contains(&ip)),
    };
    ip_ok && m.private_port == p.container_port && m.public_ip == "0.0.0.0"
}

/// The mapping changes of one component on this host. `recreated`: its container is created,
/// replaced or started now, so its address may change and every mapping is made again.
/// `container_ip`: the running container's address on the pod network, if known.
pub fn port_mapping_change(
    d: &DesiredHost,
    f: &WindowsFacts,
    interface: &str,
    ports: &[Published],
    recreated: bool,
    container_ip: Option<&str>,
) -> Option<PortMappingChange> {
    let first = ports.first()?;
    let mappings = f.port_mappings();
    let stale: Vec<NatPortMapping> = ports
        .iter()
        .filter_map(|p| found(&mappings, interface, p))
        .cloned()
        .collect();
    let missing = ports
        .iter()
        .filter(|p| found(&mappings, interface, p).is_none())
        .count();
    let wrong = ports
        .iter()
        .filter_map(|p| Some((p, found(&mappings, interface, p)?)))
        .filter(|(p, m)| !right(d, m, p, container_ip))
        .count();
    let why = if recreated {
        "the container is new".to_string()
    } else if missing > 0 {
        format!("{missing} missing")
    } else if wrong > 0 {
        format!("{wrong} not to the container")
    } else {
        return None;
    };
    Some(PortMappingChange {
        component: first.component.clone(),
        container: first.container.clone(),
        interface: interface.to_string(),
        ports: ports.to_vec(),
        stale,
        why,
    })
}

/// Mappings on the route NIC into this node's container subnet that no published port wants:
/// the container subnet is rwin's, so such a mapping is a leftover of a removed port.
pub fn stray_mappings(d: &DesiredHost, f: &WindowsFacts, interface: &str) -> Vec<NatPortMapping> {
    f.port_mappings()
        .into_iter()
        .filter(|m| m.interface == interface)
        .filter(|m| {
            m.private_ip
                .parse::<Ipv4Addr>()
                .is_ok_and(|ip| d.subnet.contains(&ip))
        })
        .filter(|m| {
            !d.published
                .iter()
                .any(|p| p.proto == m.proto && p.host_port == m.public_port)
        })
        .collect()
}

/// `netsh routing ip nat delete portmapping …` for one mapping, its output dropped (where a
/// failure is tolerated or reported by the caller's own line).
pub(crate) fn delete_call(m: &NatPortMapping) -> String {
    format!("{} | Out-Null", delete_command(m))
}

/// `netsh routing ip nat delete portmapping …` for one mapping, exactly as the dump shows it.
pub(crate) fn delete_command(m: &NatPortMapping) -> String {
    format!(
        "netsh routing ip nat delete portmapping {} {} {} {} {} {}",
        quote(&m.interface),
        quote(&m.proto),
        quote(&m.public_ip),
        m.public_port,
        quote(&m.private_ip),
        m.private_port
    )
}

/// The script that maps `c`'s ports to its running container: reads the container's address,
/// deletes the stale mappings, adds the new ones, prints the address and `rwin: done`
/// (docker::cli::DONE). It stops at the first error (`$ErrorActionPreference = 'Stop'`).
pub fn mapping_script(c: &PortMappingChange) -> String {
    let mut s = crate::powershell::comment_text(&format!(
        "# rwin: RRAS NAT port mappings of component {} (container {}) on {}",
        c.component, c.container, c.interface
    ));
    s.push_str("\n$ErrorActionPreference = 'Stop'\n");
    let name = quote(&c.container);
    let _ = writeln!(
        s,
        "$ip = docker container inspect -f {} {name}\nif ($LASTEXITCODE -ne 0) {{ throw {} }}\nif (!$ip) {{ throw {} }}",
        quote(&container_address_template()),
        quote(&format!("{}: reading the container's address failed: is it running?", c.container)),
        quote(&format!("{}: the container has no address on the container network", c.container)),
    );
    for m in &c.stale {
        // Gone already (removed by hand) is fine: the add below is what must succeed.
        let _ = writeln!(s, "{}", delete_call(m));
    }
    for p in &c.ports {
        // The same mapping may exist already where the facts could not see it (RRAS keeps its
        // NAT configuration while RemoteAccess is stopped, and netsh cannot dump it then): it
        // goes first, as any mapping to the same address goes, and a missing one is fine. netsh
        // keeps one mapping per interface, protocol and public port.
        let (if_, proto) = (quote(&c.interface), quote(&p.proto));
        let (hp, cp) = (p.host_port, p.container_port);
        let _ = writeln!(
            s,
            "netsh routing ip nat delete portmapping {if_} {proto} 0.0.0.0 {hp} $ip {cp} | Out-Null"
        );
        s.push_str(&super::netsh_checked(
            &format!("netsh routing ip nat add portmapping {if_} {proto} 0.0.0.0 {hp} $ip {cp}"),
            None,
            &format!(
                "{}: adding the RRAS NAT port mapping {hp}/{} (is {} registered with RRAS NAT?)",
                c.container, p.proto, c.interface
            ),
        ));
    }
    // The address goes back to rwin (the state file records each mapping as made).
    let _ = writeln!(s, "Write-Output $ip\nWrite-Output {}", quote(DONE));
    s
}

/// The container address a mapping script printed (the line before `rwin: done`).
pub fn parse_mapped_address(stdout: &str) -> Option<Ipv4Addr> {
    let mut lines = stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .rev();
    if lines.next()? != DONE {
        return None;
    }
    lines.next()?.parse().ok()
}

/// The mappings the script made, as `netsh routing ip nat dump` will show them, for the state
/// file: `container_ip` is the address the script read.
pub fn mapped(c: &PortMappingChange, container_ip: &str) -> Vec<NatPortMapping> {
    c.ports
        .iter()
        .map(|p| NatPortMapping {
            interface: c.interface.clone(),
            proto: p.proto.clone(),
            public_ip: "0.0.0.0".into(),
            public_port: p.host_port,
            private_ip: container_ip.to_string(),
            private_port: p.container_port,
        })
        .collect()
}

/// `rwin doctor`: every published port has its mapping on the route NIC, into the container
/// subnet, to the right container port.
pub(crate) fn check(d: &DesiredHost, f: &WindowsFacts, interface: &str) -> Check {
    let mappings = f.port_mappings();
    let bad: Vec<String> = d
        .published
        .iter()
        .filter_map(|p| match found(&mappings, interface, p) {
            None => Some(format!(
                "{}/{} of {} has no mapping",
                p.host_port, p.proto, p.component
            )),
            Some(m) if !right(d, m, p, None) => Some(format!(
                "{}/{} of {} goes to {}:{}, not to port {} in {}",
                p.host_port,
                p.proto,
                p.component,
                m.private_ip,
                m.private_port,
                p.container_port,
                d.subnet
            )),
            Some(_) => None,
        })
        .collect();
    if bad.is_empty() {
        let ports: Vec<String> = d
            .published
            .iter()
            .map(|p| format!("{}/{}", p.host_port, p.proto))
            .collect();
        Check::pass(
            "published ports",
            format!("RRAS NAT maps {} on {interface}", ports.join(", ")),
        )
    } else {
        Check::fail("published ports", bad.join("; "), "rwin up")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> DesiredHost {
        DesiredHost {
            cluster: "demo".into(),
            subnet: "10.42.1.0/24".parse().unwrap(),
            gateway: "10.42.1.1".parse().unwrap(),
            cluster_cidr: "10.42.0.0/16".parse().unwrap(),
            outbound_nat: false,
            routes: Vec::new(),
            node: "win1".into(),
            internal_address: "10.0.0.11".parse().unwrap(),
            node_addresses: Vec::new(),
            plain_bridge: false,
            allow_reboot: false,
            published: vec![port("tcp", 8080, 80), port("udp", 5353, 53)],
            windows: crate::os::WindowsDesired::default(),
        }
    }

    fn port(proto: &str, host_port: u16, container_port: u16) -> Published {
        Published {
            component: "web".into(),
            container: "rwin-web".into(),
            proto: proto.into(),
            host_port,
            container_port,
        }
    }

    fn facts(dump: &str) -> WindowsFacts {
        WindowsFacts {
            nat_dump: Some(dump.into()),
            ..Default::default()
        }
    }

    const DUMP: &str = "pushd routing ip nat\r\nadd interface name=\"Ethernet 2\" mode=FULL\r\nadd portmapping name=\"Ethernet 2\" proto=TCP publicip=0.0.0.0 publicport=8080 privateip=10.42.1.5 privateport=80\r\nadd portmapping name=\"Ethernet 2\" proto=UDP publicip=0.0.0.0 publicport=5353 privateip=10.42.1.5 privateport=53\r\nadd portmapping name=\"Ethernet 2\" proto=TCP publicip=0.0.0.0 publicport=9090 privateip=10.42.1.7 privateport=90\r\npopd\r\n";

    #[test]
    fn the_dump_gives_the_mappings() {
        let m = facts(DUMP).port_mappings();
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].proto, "udp");
        assert_eq!(
            m[0].to_string(),
            "tcp 0.0.0.0:8080 to 10.42.1.5:80 on Ethernet 2"
        );
    }

    #[test]
    fn mappings_to_the_running_container_are_left_alone_and_the_rest_made_again() {
        let d = desired();
        let ports = &d.published;
        let f = facts(DUMP);
        let unchanged = port_mapping_change(&d, &f, "Ethernet 2", ports, false, Some("10.42.1.5"));
        assert_eq!(unchanged, None);
        let moved = port_mapping_change(&d, &f, "Ethernet 2", ports, false, Some("10.42.1.6"))
            .expect("the container's address changed");
        assert_eq!(moved.why, "2 not to the container");
        assert_eq!(moved.stale.len(), 2);
        let new = port_mapping_change(&d, &f, "Ethernet 2", ports, true, Some("10.42.1.5"))
            .expect("a new container is mapped again");
        assert_eq!(new.why, "the container is new");
        let missing = port_mapping_change(&d, &facts(""), "Ethernet 2", ports, false, None)
            .expect("nothing mapped yet");
        assert_eq!(
            (missing.why.as_str(), missing.stale.len()),
            ("2 missing", 0)
        );
        assert_eq!(
            missing.to_string(),
            "+ port mapping 8080/tcp to 80, 5353/udp to 53 in rwin-web (RRAS NAT on Ethernet 2; 2 missing)"
        );
    }

    #[test]
    fn a_mapping_into_the_subnet_no_port_wants_is_stray() {
        let d = desired();
        let stray = stray_mappings(&d, &facts(DUMP), "Ethernet 2");
        assert_eq!(stray.len(), 1);
        assert_eq!(stray[0].public_port, 9090);
        assert!(stray_mappings(&d, &facts(DUMP), "Ethernet 3").is_empty());
    }

    #[test]
    fn the_script_reads_the_address_deletes_the_stale_and_adds_each_port() {
        let d = desired();
        let c = port_mapping_change(&d, &facts(DUMP), "Ethernet 2", &d.published, true, None)
            .expect("a change");
        let script = mapping_script(&c);
        insta::assert_snapshot!(script);
        assert_eq!(
            parse_mapped_address("10.42.1.9\r\nrwin: done\r\n"),
            Some("10.42.1.9".parse().unwrap())
        );
        assert_eq!(parse_mapped_address("10.42.1.9\r\n"), None);
        assert_eq!(mapped(&c, "10.42.1.9")[1].private_ip, "10.42.1.9");
    }

    #[test]
    fn doctor_names_each_missing_or_wrong_mapping() {
        let d = desired();
        let ok = check(&d, &facts(DUMP), "Ethernet 2");
        assert_eq!(ok.detail, "RRAS NAT maps 8080/tcp, 5353/udp on Ethernet 2");
        let bad = check(&d, &facts("add portmapping name=\"Ethernet 2\" proto=TCP publicip=0.0.0.0 publicport=8080 privateip=10.42.1.5 privateport=81\r\n"), "Ethernet 2");
        assert_eq!(bad.detail, "8080/tcp of web goes to 10.42.1.5:81, not to port 80 in 10.42.1.0/24; 5353/udp of web has no mapping");
    }

    #[test]
    fn the_reboot_script_restarts_by_force() {
        insta::assert_snapshot!(super::super::reboot_script());
    }

    /// Host text is read into its type or refused: a forged dump line cannot smuggle a
    /// command into `delete portmapping`, and a forged record (the state file) is quoted.
    #[test]
    fn a_forged_dump_line_is_no_mapping_and_every_field_is_quoted() {
        for line in [
            "add portmapping name=\"Ethernet 2\" proto=TCP;calc publicip=0.0.0.0 publicport=8080 privateip=10.42.1.5 privateport=80",
            "add portmapping name=\"Ethernet 2\" proto=TCP publicip=0.0.0.0;calc publicport=8080 privateip=10.42.1.5 privateport=80",
            "add portmapping name=\"Ethernet 2\" proto=TCP publicip=0.0.0.0 publicport=8080 privateip=$(calc) privateport=80",
            "add portmapping name=\"Eth\u{1b}\" proto=TCP publicip=0.0.0.0 publicport=8080 privateip=10.42.1.5 privateport=80",
        ] {
            assert_eq!(parse_mapping(line), None, "{line}");
        }
        let forged = NatPortMapping {
            interface: "Ethernet".into(),
            proto: "tcp;calc".into(),
            public_ip: "0.0.0.0".into(),
            public_port: 1,
            private_ip: "$(calc)".into(),
            private_port: 2,
        };
        assert_eq!(
            delete_call(&forged),
            "netsh routing ip nat delete portmapping 'Ethernet' 'tcp;calc' '0.0.0.0' 1 '$(calc)' 2 | Out-Null"
        );
    }
}
