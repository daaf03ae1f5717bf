//! The simulated host's changes made real in winsim's network namespace: `sysctl` for
//! forwarding, `ip addr`/`ip route`, iptables for RRAS NAT, the docker CLI for containers. With
//! `--dry-effects` nothing runs; every command is only recorded, so unit tests need no root.

use crate::state::{NetSnapshot, WinState};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// What a native program printed and returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NativeOut {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs (or, dry, records) the commands that give the Windows state its effect.
pub struct Effects {
    pub dry: bool,
    /// `unix:///…` of the dockerd that stands for the Windows Docker engine.
    pub docker_host: String,
    /// Every command asked for, in order (dry or not), for tests and debugging.
    pub log: Mutex<Vec<Vec<String>>>,
}

const NAT_CHAIN: &str = "WINSIM-NAT";
const DNAT_CHAIN: &str = "WINSIM-DNAT";

impl Effects {
    pub fn new(dry: bool, docker_host: &str) -> Effects {
        Effects {
            dry,
            docker_host: docker_host.to_string(),
            log: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, argv: &[String]) {
        if let Ok(mut log) = self.log.lock() {
            log.push(argv.to_vec());
        }
    }

    /// Runs a program with its stdin, capturing output. Dry: recorded, and answers nothing.
    pub fn capture(&self, argv: &[String], stdin: Option<&str>) -> NativeOut {
        self.record(argv);
        if self.dry {
            return NativeOut::default();
        }
        let Some((prog, args)) = argv.split_first() else {
            return NativeOut::default();
        };
        let child = Command::new(prog)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                return NativeOut {
                    stdout: String::new(),
                    stderr: format!("winsim: cannot run {prog}: {e}\n"),
                    code: 1,
                }
            }
        };
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A command that exits without reading its stdin is not an error here.
            let _ = pipe.write_all(text.as_bytes());
        }
        match child.wait_with_output() {
            Ok(o) => NativeOut {
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
                code: o.status.code().unwrap_or(1),
            },
            Err(e) => NativeOut {
                stdout: String::new(),
                stderr: format!("winsim: {prog}: {e}\n"),
                code: 1,
            },
        }
    }

    /// Runs a command that must succeed; its stderr is the error.
    pub fn run(&self, argv: &[&str]) -> Result<(), String> {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let out = self.capture(&argv, None);
        if out.code == 0 {
            Ok(())
        } else {
            Err(format!("{}: {}", argv.join(" "), out.stderr.trim_end()))
        }
    }

    /// The docker CLI against winsim's dockerd.
    pub fn docker(&self, args: &[String], stdin: Option<&str>) -> NativeOut {
        let mut argv = vec!["docker".to_string(), "-H".into(), self.docker_host.clone()];
        argv.extend(args.iter().cloned());
        self.capture(&argv, stdin)
    }

    pub fn forwarding(&self, dev: &str, on: bool) -> Result<(), String> {
        let key = format!("net.ipv4.conf.{dev}.forwarding={}", u8::from(on));
        self.run(&["sysctl", "-q", "-w", &key])
    }

    /// Makes every adapter's Linux forwarding match the state: per-interface settings, or all
    /// on while RRAS routes (routing-only RRAS forwards on every interface).
    pub fn sync_forwarding(&self, state: &WinState) -> Result<(), String> {
        let all = state.rras_routing();
        for a in state.adapters.iter().filter(|a| a.linux_dev != "lo") {
            self.forwarding(&a.linux_dev, all || a.forwarding)?;
            if let Some(up) = &a.uplink {
                let physical_on = state
                    .adapters
                    .iter()
                    .any(|p| &p.linux_dev == up && p.forwarding);
                self.forwarding(up, all || a.forwarding || physical_on)?;
            }
        }
        Ok(())
    }

    /// Rebuilds the NAT chains from the state's NAT interfaces and port mappings.
    pub fn sync_nat(&self, state: &WinState) -> Result<(), String> {
        for (chain, hook) in [(NAT_CHAIN, "POSTROUTING"), (DNAT_CHAIN, "PREROUTING")] {
            // Creating an existing chain fails harmlessly; flushing makes the rebuild idempotent.
            let _ = self.run(&["iptables", "-t", "nat", "-N", chain]);
            self.run(&["iptables", "-t", "nat", "-F", chain])?;
            if self
                .run(&["iptables", "-t", "nat", "-C", hook, "-j", chain])
                .is_err()
            {
                self.run(&["iptables", "-t", "nat", "-A", hook, "-j", chain])?;
            }
        }
        if !state.nat_installed {
            return Ok(());
        }
        let dev_of = |name: &str| {
            state
                .adapter_by_name(name)
                .map(|a| a.uplink.clone().unwrap_or_else(|| a.linux_dev.clone()))
        };
        let private_subnets: Vec<String> = state
            .nat_interfaces
            .iter()
            .filter(|n| n.mode == "private")
            .filter_map(|n| state.adapter_by_name(&n.name))
            .flat_map(|a| {
                let mut subnets: Vec<String> = state
                    .networks
                    .iter()
                    .filter(|net| net.adapter_index == a.if_index)
                    .map(|net| net.subnet.clone())
                    .collect();
                subnets.extend(
                    state
                        .addresses
                        .iter()
                        .filter(|ip| ip.if_index == a.if_index)
                        .map(|ip| crate::net::network_of(&ip.ip, ip.prefix_length)),
                );
                subnets
            })
            .collect();
        // With no private interface registered, RRAS NAT's internal side is taken to be the
        // container networks (the way Rancher used it: only the public NIC added as `full`).
        let private_subnets = if private_subnets.is_empty() {
            state.networks.iter().map(|n| n.subnet.clone()).collect()
        } else {
            private_subnets
        };
        for full in state.nat_interfaces.iter().filter(|n| n.mode == "full") {
            let Some(dev) = dev_of(&full.name) else {
                continue;
            };
            for subnet in &private_subnets {
                self.run(&[
                    "iptables",
                    "-t",
                    "nat",
                    "-A",
                    NAT_CHAIN,
                    "-s",
                    subnet,
                    "-o",
                    &dev,
                    "-j",
                    "MASQUERADE",
                ])?;
            }
            for m in state
                .port_mappings
                .iter()
                .filter(|m| m.interface.eq_ignore_ascii_case(&full.name))
            {
                let to = format!("{}:{}", m.private_ip, m.private_port);
                let port = m.public_port.to_string();
                let mut argv = vec![
                    "iptables", "-t", "nat", "-A", DNAT_CHAIN, "-i", &dev, "-p", &m.proto,
                    "--dport", &port,
                ];
                if m.public_ip != "0.0.0.0" {
                    argv.extend(["-d", m.public_ip.as_str()]);
                }
                argv.extend(["-j", "DNAT", "--to-destination", &to]);
                self.run(&argv)?;
            }
        }
        Ok(())
    }

    /// eth0's MAC, addresses, default gateway and connected prefixes, from `ip -j`.
    pub fn snapshot(&self) -> NetSnapshot {
        if self.dry {
            return NetSnapshot {
                mac: "02-00-0A-00-00-0B".into(),
                addresses: vec![("10.0.0.11".into(), 24)],
                gateway: Some("10.0.0.1".into()),
                connected: vec!["10.0.0.0/24".into()],
                dns: vec!["10.0.0.2".into()],
            };
        }
        let json = |args: &[&str]| -> serde_json::Value {
            Command::new("ip")
                .args(args)
                .output()
                .ok()
                .and_then(|o| serde_json::from_slice(&o.stdout).ok())
                .unwrap_or(serde_json::Value::Null)
        };
        let addr = json(&["-j", "-4", "addr", "show", "dev", "eth0"]);
        let link = &addr[0];
        // `ip -4 addr` leaves the link-layer address out, so the MAC comes from `ip -j link`.
        // Not from /sys/class/net: lab.sh enters the namespace without remounting /sys, so
        // sysfs there still shows the devices of the namespace that mounted it.
        let mac = mac_of_link(&json(&["-j", "link", "show", "dev", "eth0"]))
            .unwrap_or_else(|| "00-00-00-00-00-00".into());
        let addresses = link["addr_info"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| {
                        Some((
                            i["local"].as_str()?.to_string(),
                            u8::try_from(i["prefixlen"].as_u64()?).ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let routes = json(&["-j", "-4", "route", "show", "dev", "eth0"]);
        let mut gateway = None;
        let mut connected = Vec::new();
        for r in routes.as_array().into_iter().flatten() {
            match (r["dst"].as_str(), r["gateway"].as_str()) {
                (Some("default"), Some(gw)) => gateway = Some(gw.to_string()),
                (Some(dst), None) if r["scope"].as_str() == Some("link") => {
                    connected.push(if dst.contains('/') {
                        dst.to_string()
                    } else {
                        format!("{dst}/32")
                    })
                }
                _ => {}
            }
        }
        NetSnapshot {
            mac,
            addresses,
            gateway,
            connected,
            dns: name_servers(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
        }
    }
}

/// `aa:bb:cc:dd:ee:ff` → `AA-BB-CC-DD-EE-FF`, the way Get-NetAdapter shows a MAC; `None` for
/// anything that is not six hex octets.
pub fn windows_mac(linux: &str) -> Option<String> {
    let octets: Vec<&str> = linux.trim().split(':').collect();
    let ok = octets.len() == 6
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.chars().all(|c| c.is_ascii_hexdigit()));
    ok.then(|| octets.join("-").to_ascii_uppercase())
}

/// The MAC in `ip -j link show dev D`'s answer, in Windows' form.
pub fn mac_of_link(link: &serde_json::Value) -> Option<String> {
    link[0]["address"].as_str().and_then(windows_mac)
}

/// The IPv4 `nameserver` lines of a resolv.conf, in order.
fn name_servers(resolv_conf: &str) -> Vec<String> {
    resolv_conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(str::trim)
        .filter(|a| a.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_string)
        .collect()
}
