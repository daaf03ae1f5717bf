//! The network behaviours of issue 12 §3, each specified in tests/winsim/BEHAVIOURS.md from its
//! source: an external vSwitch binding a NIC (asynchronously, dropping connections through
//! it), DHCP and New-NetIPAddress, `netsh routing ip nat`'s requirements and dump, and the
//! loopback adapter devcon.exe makes. The tests at the end run rwin's own scripts against
//! them; those rwin fails today are ignored until rwin's container-adapter layout lands.

use rwin::os::windows::{apply_script, diff, facts_script, parse_facts, script_command};
use rwin::os::DesiredHost;
use std::time::Duration;
use winsim::host::Host;
use winsim::state::WinState;

mod common;
use common::{desired, host, put_devcon, DEVCON};

/// Runs a script as rwin does: (stdout, stderr, exit code).
fn run(h: &Host, script: &str) -> (String, String, i32) {
    let out = h.run_sync(&script_command(), script.as_bytes());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.code,
    )
}

/// stdout of a script that must succeed without errors.
fn ok(h: &Host, script: &str) -> String {
    let (out, err, code) = run(h, script);
    assert_eq!((code, err.as_str()), (0, ""), "{script}\nstdout:\n{out}");
    out
}

/// `command`'s objects, one line each: the `props` values joined by `|` then `\r\n` (read
/// through ConvertTo-Json, as rwin reads facts).
fn rows(h: &Host, command: &str, props: &[&str]) -> String {
    let fields: Vec<String> = props
        .iter()
        .enumerate()
        .map(|(i, p)| format!("p{i} = [string]$_.{p}"))
        .collect();
    let out = ok(
        h,
        &format!(
            "{command} | ForEach-Object {{ [ordered]@{{ {} }} | ConvertTo-Json -Compress }}",
            fields.join("; ")
        ),
    );
    out.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let vals: Vec<String> = (0..props.len())
                .map(|i| v[format!("p{i}")].as_str().unwrap_or_default().to_string())
                .collect();
            format!("{}\r\n", vals.join("|"))
        })
        .collect()
}

fn adapters(h: &Host) -> String {
    rows(
        h,
        "Get-NetAdapter",
        &["Name", "ifIndex", "MacAddress", "InterfaceDescription"],
    )
}

const CREATE_ON_ETHERNET: &str = "docker network create -d transparent --subnet 10.42.1.0/24 --gateway 10.42.1.1 -o 'com.docker.network.windowsshim.interface=Ethernet' rwin | Out-Null\n$LASTEXITCODE";

/// Behaviour: a transparent network bound to a NIC makes an external vSwitch: the NIC loses
/// TCP/IP (no IP interface, no addresses), and after HNS's delay a `vEthernet (NIC)` with the
/// NIC's MAC and DHCP setting holds the NIC's addresses and routes; connections through the
/// NIC are down meanwhile.
#[test]
fn a_vswitch_moves_the_nic_address_to_vethernet_after_a_delay_and_drops_connections() {
    let (h, _d) = host("network-vswitch", |st| {
        st.vswitch_ms = 1500;
        if let Some(a) = st.adapters.iter_mut().find(|a| a.name == "Ethernet") {
            a.dhcp = true;
        }
    });
    let before = adapters(&h);
    assert!(h.reachable());
    assert_eq!(ok(&h, CREATE_ON_ETHERNET), "0\r\n");
    // At once: the NIC is no IP interface any more, the vEthernet is not there yet, and the
    // host cannot be reached through its NIC.
    assert_eq!(adapters(&h), before, "no vEthernet adapter yet");
    let ifs = ok(
        &h,
        "Get-NetIPInterface -AddressFamily IPv4 | ForEach-Object { $_.InterfaceAlias }",
    );
    assert!(!ifs.lines().any(|l| l == "Ethernet"), "{ifs}");
    let (out, err, _) = run(&h, "Get-NetIPAddress -AddressFamily IPv4 -InterfaceIndex 6");
    assert!(
        out.is_empty() && err.contains("No matching MSFT_NetIPAddress"),
        "{out}{err}"
    );
    assert!(
        !h.reachable(),
        "connections through the NIC drop while the vSwitch binds it"
    );
    std::thread::sleep(Duration::from_millis(1700));
    assert!(h.reachable(), "and come back once it is bound");
    let after = adapters(&h);
    let mac = before
        .lines()
        .find(|l| l.starts_with("Ethernet|"))
        .and_then(|l| l.split('|').nth(2))
        .expect("Ethernet's MAC")
        .to_string();
    let veth = after
        .lines()
        .find(|l| l.starts_with("vEthernet (Ethernet)|"))
        .unwrap_or_else(|| panic!("a vEthernet (Ethernet) adapter:\n{after}"));
    let idx = veth.split('|').nth(1).expect("its ifIndex");
    assert_eq!(veth.split('|').nth(2), Some(mac.as_str()), "{veth}");
    assert!(
        after.lines().any(|l| l.starts_with("Ethernet|6|")),
        "Get-NetAdapter still lists the NIC:\n{after}"
    );
    let addrs = rows(
        &h,
        &format!("Get-NetIPAddress -AddressFamily IPv4 -InterfaceIndex {idx}"),
        &["IPAddress", "PrefixLength", "PrefixOrigin"],
    );
    assert_eq!(addrs, "10.0.0.11|24|Dhcp\r\n");
    let ifs = rows(
        &h,
        "Get-NetIPInterface -AddressFamily IPv4",
        &["InterfaceAlias", "Dhcp"],
    );
    assert!(
        ifs.contains("vEthernet (Ethernet)|Enabled\r\n"),
        "the vEthernet inherits DHCP:\n{ifs}"
    );
    let routes = rows(
        &h,
        "Get-NetRoute -AddressFamily IPv4 -PolicyStore ActiveStore",
        &["DestinationPrefix", "NextHop", "InterfaceIndex"],
    );
    assert!(
        routes.contains(&format!("0.0.0.0/0|10.0.0.1|{idx}\r\n")),
        "{routes}"
    );
    assert!(
        !routes.lines().any(|l| l.ends_with("|6")),
        "no route is left on the NIC:\n{routes}"
    );
}

/// Behaviour: New-NetIPAddress on a DHCP-enabled interface fails ("Inconsistent parameters
/// PolicyStore PersistentStore and Dhcp Enabled"); seed 002 step 7's conversion (DHCP off,
/// remove the address, add it back static) works.
#[test]
fn new_netipaddress_fails_on_dhcp_and_seed_002_step_7_makes_the_address_static() {
    let (h, _d) = host("network-dhcp", |st| {
        if let Some(a) = st.adapters.iter_mut().find(|a| a.name == "Ethernet") {
            a.dhcp = true;
        }
    });
    let (_, err, code) = run(
        &h,
        "New-NetIPAddress -InterfaceIndex 6 -IPAddress '10.0.0.50' -PrefixLength 24",
    );
    assert_eq!(code, 0, "a non-terminating error");
    assert!(
        err.contains("New-NetIPAddress : Inconsistent parameters PolicyStore PersistentStore and Dhcp Enabled"),
        "{err}"
    );
    // Seed 002 step 7 (Rancher's Windows docs), with the parameters' full names.
    ok(&h, "$ip = Get-NetIPAddress -IPAddress '10.0.0.11'\nSet-NetIPInterface -InterfaceIndex $ip.InterfaceIndex -AddressFamily $ip.AddressFamily -Dhcp Disabled\nRemove-NetIPAddress -InterfaceIndex $ip.InterfaceIndex -AddressFamily $ip.AddressFamily -Confirm:$false\nNew-NetIPAddress -InterfaceIndex $ip.InterfaceIndex -IPAddress $ip.IPAddress -PrefixLength $ip.PrefixLength | Out-Null");
    let addr = rows(
        &h,
        "Get-NetIPAddress -AddressFamily IPv4 -InterfaceIndex 6",
        &["IPAddress", "PrefixLength", "PrefixOrigin"],
    );
    assert_eq!(addr, "10.0.0.11|24|Manual\r\n");
    let ifs = rows(
        &h,
        "Get-NetIPInterface -AddressFamily IPv4",
        &["InterfaceAlias", "Dhcp"],
    );
    assert!(ifs.contains("Ethernet|Disabled\r\n"), "{ifs}");
}

/// RRAS configured routing-only and RemoteAccess running.
fn rras(st: &mut WinState) {
    st.features
        .insert("RemoteAccess".into(), "Installed".into());
    st.features.insert("Routing".into(), "Installed".into());
    st.remote_access = Some("RoutingOnly".into());
    st.services.push(winsim::state::Service {
        name: "RemoteAccess".into(),
        status: "Running".into(),
        start_type: "Automatic".into(),
        bin_path: r"C:\Windows\System32\svchost.exe -k netsvcs".into(),
        depend: Vec::new(),
        failure_actions: None,
        delete_pending: false,
    });
}

/// Behaviour: `netsh routing ip nat` needs RRAS configured and running; NAT interfaces are IP
/// interfaces with one mode each (a second add fails, `set interface` changes it); the dump
/// is a netsh script.
#[test]
fn netsh_nat_needs_rras_running_takes_ip_interfaces_with_one_mode_and_dumps_a_script() {
    let (h, _d) = host("nat-off", |_| {});
    let (out, _, _) = run(&h, "netsh routing ip nat install\n$LASTEXITCODE");
    assert!(
        out.ends_with("\r\n1\r\n") && out.contains("Routing and Remote Access"),
        "{out}"
    );
    let (h, _d2) = host("nat", |st| {
        rras(st);
        st.vswitch_ms = 0;
    });
    let dump = ok(&h, "netsh routing ip nat dump");
    assert!(
        dump.contains("pushd routing ip nat\r\nuninstall\r\n") && !dump.contains("\r\ninstall"),
        "{dump}"
    );
    assert_eq!(
        ok(&h, "netsh routing ip nat install\n$LASTEXITCODE"),
        "0\r\n"
    );
    assert_eq!(ok(&h, CREATE_ON_ETHERNET), "0\r\n");
    // The vSwitch took Ethernet's TCP/IP: it is no IP interface for RRAS any more.
    let out = ok(
        &h,
        "netsh routing ip nat add interface 'Ethernet' full\n$LASTEXITCODE",
    );
    assert_eq!(out, "The interface Ethernet is not known.\r\n1\r\n");
    let out = ok(&h, "netsh routing ip nat add interface 'vEthernet (Ethernet)' full\n$LASTEXITCODE\nnetsh routing ip nat add interface 'vEthernet (Ethernet)' private\n$LASTEXITCODE");
    assert_eq!(
        out,
        "0\r\nAn interface with this name is already registered with the router.\r\n1\r\n"
    );
    ok(&h, "netsh routing ip nat add portmapping 'vEthernet (Ethernet)' tcp 0.0.0.0 8080 10.42.1.5 80 | Out-Null");
    let dump = ok(&h, "netsh routing ip nat dump");
    assert_eq!(
        dump,
        "\r\n# ----------------------------------\r\n# NAT configuration\r\n# ----------------------------------\r\npushd routing ip nat\r\nuninstall\r\ninstall\r\nset global tcptimeoutmins=1440 udptimeoutmins=1 loglevel=ERROR\r\n\r\nadd interface name=\"vEthernet (Ethernet)\" mode=FULL\r\nadd portmapping name=\"vEthernet (Ethernet)\" proto=TCP publicip=0.0.0.0 publicport=8080 privateip=10.42.1.5 privateport=80\r\n\r\n\r\npopd\r\n"
    );
    assert_eq!(
        ok(
            &h,
            "netsh routing ip nat set interface 'vEthernet (Ethernet)' mode=private\n$LASTEXITCODE"
        ),
        "0\r\n"
    );
    assert!(ok(&h, "netsh routing ip nat dump").contains("mode=PRIVATE"));
}

/// Behaviour: devcon.exe (user-supplied) installs the loopback adapter: "Ethernet N",
/// "Microsoft KM-TEST Loopback Adapter", DHCP on with an APIPA address; Rename-NetAdapter
/// renames it; a network bound to it makes its vEthernet without dropping the host's
/// connections; devcon remove takes it away.
#[test]
fn devcon_installs_a_dhcp_loopback_adapter_only_where_the_tool_is() {
    let install =
        format!("& '{DEVCON}' install 'C:\\Windows\\inf\\netloop.inf' '*MSLOOP'\n$LASTEXITCODE");
    let (h, _d) = host("devcon-missing", |_| {});
    let (out, err, code) = run(&h, &install);
    assert_eq!(code, 0);
    assert!(
        err.contains(&format!("The term '{DEVCON}' is not recognized")),
        "{out}{err}"
    );
    let (h, _d2) = host("devcon", |st| {
        st.vswitch_ms = 1500;
        // The user put devcon.exe on the host.
        put_devcon(st);
    });
    assert_eq!(
        ok(&h, &install),
        "Device node created. Install is complete when drivers are installed...\r\nUpdating drivers for *MSLOOP from C:\\Windows\\inf\\netloop.inf.\r\nDrivers installed successfully.\r\n0\r\n"
    );
    let listed = adapters(&h);
    let lo = listed
        .lines()
        .find(|l| l.ends_with("|Microsoft KM-TEST Loopback Adapter"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(lo.starts_with("Ethernet 2|"), "{lo}");
    let idx = lo.split('|').nth(1).expect("ifIndex");
    let addr = rows(
        &h,
        &format!("Get-NetIPAddress -AddressFamily IPv4 -InterfaceIndex {idx}"),
        &["IPAddress", "PrefixLength", "PrefixOrigin"],
    );
    assert!(
        addr.starts_with("169.254.") && addr.ends_with("|16|Dhcp\r\n"),
        "{addr}"
    );
    ok(
        &h,
        "Rename-NetAdapter -Name 'Ethernet 2' -NewName 'rwin-containers'",
    );
    assert!(adapters(&h).contains(&format!("rwin-containers|{idx}|")));
    ok(&h, "docker network create -d transparent --subnet 10.42.1.0/24 --gateway 10.42.1.1 -o 'com.docker.network.windowsshim.interface=rwin-containers' rwin | Out-Null");
    assert!(
        h.reachable(),
        "a vSwitch on the loopback adapter drops no connection to the host"
    );
    std::thread::sleep(Duration::from_millis(1700));
    assert!(adapters(&h).contains("vEthernet (rwin-containers)|"));
    // The route NIC keeps its address.
    assert_eq!(
        ok(
            &h,
            "(Get-NetIPAddress -AddressFamily IPv4 -InterfaceIndex 6).IPAddress"
        ),
        "10.0.0.11\r\n"
    );
    ok(&h, "docker network rm rwin | Out-Null");
    assert_eq!(
        ok(&h, &format!("& '{DEVCON}' remove '@ROOT\\NET\\0000'")),
        format!(
            "{:<60}: Removed\r\n1 device(s) were removed.\r\n",
            r"ROOT\NET\0000"
        )
    );
    assert!(!adapters(&h).contains("Loopback"));
}

/// rwin's facts, diff and apply once; the apply's (stdout, stderr, code).
fn rwin_apply(h: &Host, d: &DesiredHost) -> (String, String, i32) {
    let (out, err, code) = run(h, &facts_script(d));
    assert_eq!(code, 0, "facts: {err}");
    let f = parse_facts(&out).expect("the facts parse");
    let changes = diff(d, &f);
    run(h, &apply_script(d, &changes))
}

/// rwin on a host as Windows Server is after its RRAS setup, with HNS's real delay: the
/// container network must go on its own adapter, so the route NIC keeps its address (the
/// connection rwin works through is not dropped), and the apply succeeds.
#[test]
fn rwin_keeps_the_route_nic_out_of_the_vswitch() {
    let (h, _d) = host("rwin-vswitch", |st| {
        rras(st);
        put_devcon(st);
        st.registry
            .get_mut(winsim::state::TCPIP_PARAMETERS)
            .map(|k| k.insert("IPEnableRouter".into(), serde_json::json!(1)));
        st.vswitch_ms = 3000;
    });
    let (out, err, code) = rwin_apply(&h, &desired(false));
    let reachable = h.reachable();
    let (nic, lookup, _) = run(
        &h,
        "(Get-NetIPAddress -AddressFamily IPv4 -IPAddress '10.0.0.11').InterfaceIndex",
    );
    assert!(
        code == 0 && nic == "6\r\n" && reachable,
        "rwin's apply must leave the route NIC (ifIndex 6) holding 10.0.0.11 and the host reachable through it\nreachable: {reachable}\n10.0.0.11 is on: {nic}{lookup}\napply exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    );
}

/// rwin on a host whose NIC is DHCP-enabled (most cloud VMs): the gateway address must be set
/// where New-NetIPAddress works (a static container adapter, or converted as seed 002 does).
#[test]
fn rwin_sets_the_gateway_on_a_host_whose_nic_uses_dhcp() {
    let (h, _d) = host("rwin-dhcp", |st| {
        rras(st);
        put_devcon(st);
        st.vswitch_ms = 0;
        if let Some(a) = st.adapters.iter_mut().find(|a| a.name == "Ethernet") {
            a.dhcp = true;
        }
    });
    let (out, err, code) = rwin_apply(&h, &desired(false));
    assert_eq!(
        code, 0,
        "rwin's apply failed on a DHCP host\nstdout:\n{out}\nstderr:\n{err}"
    );
}

/// rwin with outbound NAT: RRAS NAT `full` must go on an IP interface (the one holding the
/// host's outbound address), never on a NIC a vSwitch took.
#[test]
fn rwin_puts_nat_on_ip_interfaces_only() {
    let (h, _d) = host("rwin-nat", |st| {
        rras(st);
        put_devcon(st);
        st.vswitch_ms = 0;
    });
    let (out, err, code) = rwin_apply(&h, &desired(true));
    assert_eq!(
        code, 0,
        "rwin's apply failed registering RRAS NAT\nstdout:\n{out}\nstderr:\n{err}"
    );
}

/// RRAS keeps its NAT configuration while RemoteAccess is stopped, but the facts cannot read
/// it then: rwin plans the NAT interfaces again, and its apply, which starts RemoteAccess
/// first, must give an interface NAT already knows its mode (`set interface`) rather than fail
/// on `add interface` (one mode per interface).
#[test]
fn rwin_repairs_a_stopped_remoteaccess_whose_nat_interfaces_exist() {
    let (h, _d) = host("rwin-nat-again", |st| {
        rras(st);
        put_devcon(st);
        st.vswitch_ms = 0;
    });
    let (out, err, code) = rwin_apply(&h, &desired(true));
    assert_eq!(code, 0, "first apply\nstdout:\n{out}\nstderr:\n{err}");
    ok(&h, "Stop-Service -Name 'RemoteAccess'");
    let (out, err, code) = rwin_apply(&h, &desired(true));
    assert_eq!(
        code, 0,
        "the repair after RemoteAccess was stopped\nstdout:\n{out}\nstderr:\n{err}"
    );
}
