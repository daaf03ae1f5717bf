//! One host's checks, in the order they are shown: the connection, the container engine and
//! network, the operating system's own checks (forwarding, routes, NAT, firewall, persistence
//! at boot: `HostOs::checks`), the clock, then the host's components, services and orphans.

use super::components;
use crate::config::Connection;
use crate::docker::spec::POD_NETWORK;
use crate::os::Check;
use crate::phases::{self, ErrorKind, Host, HostFacts, NetworkChange};

pub(super) async fn checks(ctx: &phases::RunContext, h: &Host) -> Vec<Check> {
    let connected = connection(h);
    let Some(facts) = &h.facts else {
        return no_facts(h, connected);
    };
    let mut v = vec![connected];
    let os = h.node.host_os;
    if !os.checks_cover_engine() && !h.desired.plain_bridge {
        v.push(Check::pass(
            "container engine",
            format!("Docker {}", facts.docker_version),
        ));
    }
    v.extend(container_network(h));
    v.extend(os.checks(&h.desired, &facts.os));
    v.extend(clock(h, facts));
    let Some(t) = h.transport.as_ref() else {
        return v;
    };
    v.extend(components::components(ctx, h, facts, t.as_ref()).await);
    v.extend(components::services(ctx, h, facts));
    v.push(components::orphans(facts));
    v
}

/// The connection row: how rwin reached and authenticated to the host.
fn connection(h: &Host) -> Check {
    let node = &h.node.node;
    match &node.winrm {
        Some(w) if node.connection == Connection::Winrm => Check::pass(
            "reachable, authenticated, TLS",
            format!(
                "{}@{}:{} over WinRM ({}, {}){}",
                w.user,
                h.node.address,
                w.port,
                if w.https { "HTTPS" } else { "HTTP" },
                w.auth.as_str(),
                match (w.https, w.insecure_skip_verify) {
                    (true, false) => ", certificate verified",
                    (true, true) => ", certificate NOT verified (insecure_skip_verify)",
                    (false, _) => ", NTLM message encryption",
                }
            ),
        ),
        _ => Check::pass(
            "reachable, authenticated, host key",
            format!(
                "{}@{}:{} over SSH, host key matches known_hosts",
                node.user, h.node.address, node.port
            ),
        ),
    }
}

/// The rows of a host whose facts are missing: the connection failed, or the facts did.
fn no_facts(h: &Host, connected: Check) -> Vec<Check> {
    let kind = h.error.as_ref().map(|e| e.kind);
    let err = h
        .error
        .as_ref()
        .map_or_else(|| "not checked".to_string(), |e| e.message.clone());
    let err = err
        .strip_prefix(&format!("{}: ", h.node.name))
        .unwrap_or(&err)
        .to_string();
    // Connected but the facts failed: the connection row passes, the failure is named.
    if h.transport.is_some() {
        let check = if kind == Some(ErrorKind::Engine) {
            "container engine"
        } else {
            "host facts"
        };
        return vec![
            connected,
            Check::fail(check, err, "as the message says; then rwin doctor again"),
        ];
    }
    vec![Check::fail(
        "reachable, authenticated, host key",
        err,
        "as the message says",
    )]
}

/// The container network, unless the OS's own checks cover it (Windows).
fn container_network(h: &Host) -> Option<Check> {
    match &h.changes.network {
        _ if h.node.host_os.checks_cover_engine() => None,
        None => Some(Check::pass(
            "container network",
            format!(
                "{POD_NETWORK}: {} gateway {}",
                h.node.subnet, h.node.gateway
            ),
        )),
        Some(NetworkChange::Create) => Some(Check::fail(
            "container network",
            format!("{POD_NETWORK} does not exist"),
            "rwin up",
        )),
        Some(NetworkChange::Recreate { was }) => Some(Check::fail(
            "container network",
            format!(
                "{POD_NETWORK} is {was}, planned {} gateway {}",
                h.node.subnet, h.node.gateway
            ),
            "rwin up (recreates it)",
        )),
    }
}

/// The host's clock against this machine's, where the facts carry it (Linux).
fn clock(h: &Host, facts: &HostFacts) -> Option<Check> {
    let clock = h.node.host_os.clock(&facts.os)?;
    // The script ran within one round trip before its answer arrived.
    let skew = clock - facts.received_at;
    let detail = format!("{skew:+.2}s from this machine");
    Some(if skew.abs() > 10.0 {
        Check::fail(
            "clock",
            detail,
            "synchronise the clock (systemd-timesyncd, chrony)",
        )
    } else if skew.abs() > 1.0 {
        Check::warn(
            "clock",
            detail,
            "synchronise the clock (systemd-timesyncd, chrony)",
        )
    } else {
        Check::pass("clock", detail)
    })
}
