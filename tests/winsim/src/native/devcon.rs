//! devcon.exe, Microsoft's Device Console (a WDK tool; no Windows ships it, the user puts it on
//! the host): `devcon [/r] install INF HWID` makes a root-enumerated device node and installs
//! its driver; `devcon [/r] remove ID…` removes matching devices (`*` wildcards, `@` before a
//! device instance ID). winsim models the one device rwin's layout needs: the Microsoft
//! loopback adapter (`install C:\Windows\inf\netloop.inf *MSLOOP`, Rancher's and seed 002's
//! tool), a network adapter "Ethernet N" described "Microsoft KM-TEST Loopback Adapter", with
//! DHCP on, so with no DHCP server it holds an APIPA address (169.254.x.y/16). In the namespace
//! it is a Linux bridge without ports. Sources: BEHAVIOURS.md, "A loopback adapter".

use super::{failed, ok, NativeOut};
use crate::host::Ctx;
use crate::state::{Adapter, IpAddress, Route};

const NETLOOP_INF: &str = r"C:\Windows\inf\netloop.inf";
const MSLOOP: &str = "*MSLOOP";
const DESCRIPTION: &str = "Microsoft KM-TEST Loopback Adapter";

pub fn run(ctx: &mut Ctx, args: &[String]) -> Result<NativeOut, String> {
    let mut words: Vec<&str> = args.iter().map(String::as_str).collect();
    // `/r` (or `-r`): reboot if needed; a loopback adapter never needs one.
    if words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("/r") || w.eq_ignore_ascii_case("-r"))
    {
        words.remove(0);
    }
    match words.as_slice() {
        [cmd, inf, hwid] if cmd.eq_ignore_ascii_case("install") => Ok(install(ctx, inf, hwid)),
        [cmd, ids @ ..] if cmd.eq_ignore_ascii_case("remove") && !ids.is_empty() => {
            Ok(remove(ctx, ids))
        }
        _ => Err(format!("devcon command line 'devcon {}'", words.join(" "))),
    }
}

fn install(ctx: &mut Ctx, inf: &str, hwid: &str) -> NativeOut {
    // The hardware ID must match the INF's exactly: "Patterns are not valid" (DevCon Install).
    if !inf.eq_ignore_ascii_case(NETLOOP_INF) || hwid != MSLOOP {
        return failed(
            2,
            "",
            &format!(
                "winsim: devcon install models only {NETLOOP_INF} {MSLOOP}, not {inf} {hwid}\r\n"
            ),
        );
    }
    let state = &mut *ctx.state;
    let if_index = state.next_if_index();
    let n = state
        .adapters
        .iter()
        .filter(|a| a.instance_id.is_some())
        .count();
    let instance = format!(r"ROOT\NET\{n:04}");
    // The next free "Ethernet N" (Windows names a new Ethernet adapter so).
    let name = (2..)
        .map(|k| format!("Ethernet {k}"))
        .find(|c| {
            !state
                .adapters
                .iter()
                .any(|a| a.name.eq_ignore_ascii_case(c))
        })
        .unwrap_or_default();
    let dev = format!("wsimlo{if_index}");
    // APIPA: 169.254.0.0/16 less its first and last /24 (RFC 3927 2.1), derived from the
    // ifIndex so it is stable.
    let apipa = format!(
        "169.254.{}.{}",
        1 + (if_index % 253),
        1 + (if_index * 7 % 253)
    );
    // A Linux bridge with no ports stands for it: an interface that is up, holds addresses and
    // leads nowhere, as a loopback adapter does (a `dummy` device would do too, but the lab
    // machines' kernels have no dummy driver; every lab kernel has bridges).
    for argv in [
        vec!["ip", "link", "add", &dev, "type", "bridge"],
        vec!["ip", "link", "set", &dev, "up"],
    ] {
        if let Err(e) = ctx.fx.run(&argv) {
            return failed(2, "", &format!("winsim effect failed: {e}\r\n"));
        }
    }
    if let Err(e) = ctx
        .fx
        .run(&["ip", "addr", "add", &format!("{apipa}/16"), "dev", &dev])
    {
        return failed(2, "", &format!("winsim effect failed: {e}\r\n"));
    }
    state.adapters.push(Adapter {
        name,
        if_index,
        // The loopback driver's fixed MAC ("LOOP" in ASCII after 02-00) [unverified].
        mac: "02-00-4C-4F-4F-50".into(),
        description: DESCRIPTION.into(),
        status: "Up".into(),
        linux_dev: dev,
        uplink: None,
        forwarding: false,
        dhcp: true,
        ip_bound: true,
        ready_at_ms: None,
        instance_id: Some(instance),
        // DHCP with no DHCP server: no DNS servers either.
        dns_servers: Vec::new(),
    });
    state.addresses.push(IpAddress {
        if_index,
        ip: apipa,
        prefix_length: 16,
    });
    state.routes.push(Route {
        prefix: "169.254.0.0/16".into(),
        next_hop: "0.0.0.0".into(),
        if_index,
        metric: 256,
        persistent: false,
    });
    ok(&format!(
        "Device node created. Install is complete when drivers are installed...\r\nUpdating drivers for {MSLOOP} from {inf}.\r\nDrivers installed successfully.\r\n"
    ))
}

/// Whether device `a` matches a devcon ID: `@INSTANCE` (an instance ID, `*` wildcards
/// allowed), else a hardware ID pattern (the loopback's is `*MSLOOP`; `*` matches any run).
fn matches(a: &Adapter, id: &str) -> bool {
    let Some(instance) = &a.instance_id else {
        return false;
    };
    match id.strip_prefix('@') {
        Some(pattern) => crate::ps::value::like(instance, pattern),
        None => crate::ps::value::like(MSLOOP, id),
    }
}

fn remove(ctx: &mut Ctx, ids: &[&str]) -> NativeOut {
    let state = &mut *ctx.state;
    let gone: Vec<Adapter> = state
        .adapters
        .iter()
        .filter(|a| ids.iter().any(|id| matches(a, id)))
        .cloned()
        .collect();
    if gone.is_empty() {
        // [unverified: devcon's exact words when nothing matched]
        return ok("No devices were removed.\r\n");
    }
    // A transparent network still bound to it is not modelled: refuse loudly.
    if let Some(n) = state.networks.iter().find(|n| {
        gone.iter()
            .any(|a| a.name.eq_ignore_ascii_case(&n.interface))
    }) {
        return failed(
            2,
            "",
            &format!(
                "winsim: devcon remove of the adapter network {} is bound to is not modelled\r\n",
                n.name
            ),
        );
    }
    let mut out = String::new();
    for a in &gone {
        if let Err(e) = ctx.fx.run(&["ip", "link", "del", &a.linux_dev]) {
            return failed(2, "", &format!("winsim effect failed: {e}\r\n"));
        }
        let id = a.instance_id.clone().unwrap_or_default();
        out.push_str(&format!("{id:<60}: Removed\r\n"));
        state.adapters.retain(|x| x.if_index != a.if_index);
        state.addresses.retain(|x| x.if_index != a.if_index);
        state.routes.retain(|r| r.if_index != a.if_index);
    }
    out.push_str(&format!("{} device(s) were removed.\r\n", gone.len()));
    ok(&out)
}
