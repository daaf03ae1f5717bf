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
    // RemoteAccess started with the interfaces the host has now.
    st.rras_started();
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
    // The vEthernet adapter came after RemoteAccess started: RRAS takes it once RemoteAccess
    // restarts (its own test below).
    ok(&h, "Restart-Service -Name 'RemoteAccess'");
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

/// Behaviour: Get-DnsClientServerAddress lists every IP interface with its DNS servers (the
/// Loopback Pseudo-Interface with none); a vEthernet adapter takes its NIC's, a loopback
/// adapter devcon made (DHCP, no DHCP server) has none. winsim models IPv4 only.
#[test]
fn get_dnsclientserveraddress_lists_each_ip_interfaces_dns_servers() {
    let (h, _d) = host("dns-client", |st| {
        st.vswitch_ms = 0;
        put_devcon(st);
    });
    let list = |h: &Host| {
        rows(
            h,
            "Get-DnsClientServerAddress -AddressFamily IPv4",
            &["InterfaceAlias", "InterfaceIndex", "ServerAddresses"],
        )
    };
    assert_eq!(
        list(&h),
        "Loopback Pseudo-Interface 1|1|\r\nEthernet|6|10.0.0.2\r\n"
    );
    let (_, err, code) = run(&h, "Get-DnsClientServerAddress");
    assert_eq!(code, 1);
    assert!(
        err.contains("winsim: unsupported Get-DnsClientServerAddress without -AddressFamily IPv4"),
        "{err}"
    );
    ok(
        &h,
        &format!("& '{DEVCON}' install 'C:\\Windows\\inf\\netloop.inf' '*MSLOOP' | Out-Null"),
    );
    ok(&h, CREATE_ON_ETHERNET);
    assert_eq!(
        list(&h),
        "Loopback Pseudo-Interface 1|1|\r\nEthernet 2|7|\r\nvEthernet (Ethernet)|8|10.0.0.2\r\n"
    );
}

/// Behaviour: `docker network create -o com.docker.network.windowsshim.dnsservers=A,B` keeps
/// the option (network inspect shows it), and a container on the network gets those DNS
/// servers; on a transparent network created without it a container has no DNS server.
#[test]
fn a_container_on_a_transparent_network_has_the_networks_dns_servers_or_none() {
    let (h, _d) = host("container-dns", |st| st.vswitch_ms = 0);
    let options = |h: &Host| {
        let out = ok(h, "docker network inspect rwin | Out-String");
        let v: serde_json::Value = serde_json::from_str(&out).expect("inspect's JSON");
        v[0]["Options"].clone()
    };
    let container_dns = |h: &Host, name: &str| {
        WinState::load(&h.state_path)
            .expect("state")
            .container_dns
            .get(name)
            .cloned()
    };
    ok(&h, CREATE_ON_ETHERNET);
    assert_eq!(
        options(&h),
        serde_json::json!({"com.docker.network.windowsshim.interface": "Ethernet"})
    );
    ok(
        &h,
        "docker run -d --name c1 --network rwin busybox:1 ping /t 127.0.0.1 | Out-Null",
    );
    assert_eq!(
        container_dns(&h, "c1"),
        Some(Vec::new()),
        "no DNS server at all"
    );
    ok(
        &h,
        "docker rm -f c1 | Out-Null\ndocker network rm rwin | Out-Null",
    );
    assert_eq!(container_dns(&h, "c1"), None);
    ok(&h, "docker network create -d transparent --subnet 10.42.1.0/24 --gateway 10.42.1.1 -o 'com.docker.network.windowsshim.interface=Ethernet' -o 'com.docker.network.windowsshim.dnsservers=10.0.0.2,10.0.0.3' rwin | Out-Null");
    assert_eq!(
        options(&h)["com.docker.network.windowsshim.dnsservers"],
        "10.0.0.2,10.0.0.3"
    );
    ok(
        &h,
        "docker run -d --name c2 --network rwin busybox:1 ping /t 127.0.0.1 | Out-Null",
    );
    assert_eq!(
        container_dns(&h, "c2"),
        Some(vec!["10.0.0.2".to_string(), "10.0.0.3".to_string()])
    );
    // The namespace's Linux container is given the same servers.
    let log = h.fx.log.lock().expect("the effects log").clone();
    let run = log
        .iter()
        .find(|argv| argv.contains(&"c2".to_string()))
        .expect("c2's docker run");
    assert!(
        run.windows(4)
            .any(|w| w == ["--dns", "10.0.0.2", "--dns", "10.0.0.3"]),
        "{run:?}"
    );
}

/// Behaviour (**inferred**, BEHAVIOURS.md): RRAS NAT knows the IP interfaces there were when
/// RemoteAccess last started; one made afterwards (a new container network's vEthernet
/// adapter) is "not known" to `netsh routing ip nat` until RemoteAccess restarts.
#[test]
fn nat_takes_an_interface_made_after_remoteaccess_started_only_after_a_restart() {
    let (h, _d) = host("nat-restart", |st| {
        rras(st);
        st.vswitch_ms = 0;
        put_devcon(st);
    });
    ok(&h, "netsh routing ip nat install | Out-Null");
    ok(
        &h,
        &format!("& '{DEVCON}' install 'C:\\Windows\\inf\\netloop.inf' '*MSLOOP' | Out-Null"),
    );
    ok(&h, "docker network create -d transparent --subnet 10.42.1.0/24 --gateway 10.42.1.1 -o 'com.docker.network.windowsshim.interface=Ethernet 2' rwin | Out-Null");
    let add = "netsh routing ip nat add interface 'vEthernet (Ethernet 2)' private\n$LASTEXITCODE";
    assert_eq!(
        ok(&h, add),
        "The interface vEthernet (Ethernet 2) is not known.\r\n1\r\n"
    );
    // Interfaces RRAS knew are unaffected.
    assert_eq!(
        ok(
            &h,
            "netsh routing ip nat add interface 'Ethernet' full\n$LASTEXITCODE"
        ),
        "0\r\n"
    );
    ok(&h, "Restart-Service -Name 'RemoteAccess'");
    assert_eq!(ok(&h, add), "0\r\n");
    assert_eq!(
        rows(&h, "Get-Service -Name 'RemoteAccess'", &["Status"]),
        "Running\r\n"
    );
}

/// Behaviour: Install-RemoteAccess asks to confirm before configuring RRAS (its ConfirmImpact
/// is at the default $ConfirmPreference), and powershell.exe -NonInteractive cannot prompt: the
/// cmdlet fails without acting, a statement-terminating error that -ErrorAction does not reach.
/// `-Confirm:$false`, or $ConfirmPreference 'None', lets it run.
#[test]
fn install_remoteaccess_asks_to_confirm_which_a_noninteractive_host_cannot() {
    let (h, _d) = host("confirm", |st| {
        st.features
            .insert("RemoteAccess".into(), "Installed".into());
        st.features.insert("Routing".into(), "Installed".into());
    });
    let routing = |h: &Host| ok(h, "(Get-RemoteAccess).RoutingStatus");
    let (out, err, code) = run(
        &h,
        "Install-RemoteAccess -VpnType RoutingOnly -ErrorAction SilentlyContinue\n'after'",
    );
    assert_eq!((out.as_str(), code), ("after\r\n", 0));
    assert!(
        err.starts_with("Install-RemoteAccess : Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."),
        "{err}"
    );
    assert_eq!(routing(&h), "Uninstalled\r\n");
    let (out, err, code) = run(
        &h,
        "$ErrorActionPreference = 'Stop'\nInstall-RemoteAccess -VpnType RoutingOnly\n'after'",
    );
    assert_eq!((out.as_str(), code), ("", 1), "{err}");
    assert_eq!(routing(&h), "Uninstalled\r\n");
    ok(
        &h,
        "$ConfirmPreference = 'None'\nInstall-RemoteAccess -VpnType RoutingOnly",
    );
    assert_eq!(routing(&h), "Installed\r\n");
    ok(&h, "Uninstall-RemoteAccess -Force");
    ok(
        &h,
        "Install-RemoteAccess -VpnType RoutingOnly -Confirm:$false",
    );
    assert_eq!(routing(&h), "Installed\r\n");
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

/// The container network's options as `docker network inspect` shows them.
fn network_options(h: &Host) -> serde_json::Value {
    let out = ok(h, "docker network inspect rwin | Out-String");
    let v: serde_json::Value = serde_json::from_str(&out).expect("inspect's JSON");
    v[0]["Options"].clone()
}

/// The DNS servers a container started on rwin's network has.
fn dns_of_a_container(h: &Host) -> Option<Vec<String>> {
    ok(
        h,
        "docker run -d --name probe --network rwin busybox:1 ping /t 127.0.0.1 | Out-Null",
    );
    WinState::load(&h.state_path)
        .expect("state")
        .container_dns
        .get("probe")
        .cloned()
}

/// rwin's container network carries the host's own DNS servers (those of the interface its
/// default route leaves by): on a transparent network without them a container has no DNS
/// server at all (rancher/rancher#11419; BEHAVIOURS.md).
#[test]
fn rwin_gives_the_container_network_the_hosts_dns_servers() {
    let (h, _d) = host("rwin-dns", |st| {
        rras(st);
        put_devcon(st);
        st.vswitch_ms = 0;
    });
    let (out, err, code) = rwin_apply(&h, &desired(false));
    assert_eq!(code, 0, "apply\nstdout:\n{out}\nstderr:\n{err}");
    let dns = dns_of_a_container(&h);
    assert!(
        dns.as_deref() == Some(&["10.0.0.2".to_string()][..]),
        "a container on rwin's network must have the host's DNS server 10.0.0.2, it has {dns:?}; the network's options: {}",
        network_options(&h)
    );
}

/// A container network an earlier rwin made without DNS servers is recreated with them.
#[test]
fn rwin_recreates_a_container_network_that_has_no_dns_servers() {
    let (h, _d) = host("rwin-dns-again", |st| {
        rras(st);
        put_devcon(st);
        st.vswitch_ms = 0;
    });
    ok(&h, &format!("& '{DEVCON}' install 'C:\\Windows\\inf\\netloop.inf' '*MSLOOP' | Out-Null\nRename-NetAdapter -Name 'Ethernet 2' -NewName 'rwin-containers'\ndocker network create -d transparent --subnet 10.42.1.0/24 --gateway 10.42.1.1 -o 'com.docker.network.windowsshim.interface=rwin-containers' --label 'io.rwin.cluster=demo' rwin | Out-Null"));
    let (out, err, code) = rwin_apply(&h, &desired(false));
    assert_eq!(code, 0, "apply\nstdout:\n{out}\nstderr:\n{err}");
    assert_eq!(
        network_options(&h)["com.docker.network.windowsshim.dnsservers"],
        "10.0.0.2",
        "{}",
        network_options(&h)
    );
}

/// When rwin recreates the container network, its new vEthernet adapter is one RRAS did not
/// know: rwin restarts RemoteAccess, so RRAS NAT takes it (BEHAVIOURS.md, inferred).
#[test]
fn rwin_restarts_remoteaccess_when_it_recreates_the_network() {
    let (h, _d) = host("rwin-rras-restart", |st| {
        rras(st);
        put_devcon(st);
        st.vswitch_ms = 0;
    });
    let (out, err, code) = rwin_apply(&h, &desired(true));
    assert_eq!(code, 0, "first apply\nstdout:\n{out}\nstderr:\n{err}");
    let mut d = desired(true);
    d.windows.driver = rwin::config::WindowsDriver::L2bridge;
    let (out, err, code) = rwin_apply(&h, &d);
    assert_eq!(
        code, 0,
        "the apply that recreates the network\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert_eq!(
        ok(
            &h,
            "netsh routing ip nat set interface 'vEthernet (rwin-containers)' mode=private\n$LASTEXITCODE"
        ),
        "0\r\n",
        "RRAS NAT knows the recreated network's adapter"
    );
}

/// netsh prints its messages on stdout: when a NAT step fails, rwin's error carries netsh's
/// own words (before, `| Out-Null` threw them away and the error pointed at "its message is
/// above", where nothing was). Here the RemoteAccess restart is left out of rwin's changes, so
/// RRAS does not know the new network's adapter and netsh refuses it.
#[test]
fn a_failing_netsh_step_says_what_netsh_said() {
    let (h, _d) = host("rwin-netsh-message", |st| {
        rras(st);
        put_devcon(st);
        st.vswitch_ms = 0;
    });
    let d = desired(true);
    let (out, err, code) = run(&h, &facts_script(&d));
    assert_eq!(code, 0, "facts: {err}");
    let f = parse_facts(&out).expect("the facts parse");
    let changes: Vec<_> = diff(&d, &f)
        .into_iter()
        .filter(|c| !matches!(c, rwin::os::windows::Change::RestartRemoteAccess))
        .collect();
    let (out, err, code) = run(&h, &apply_script(&d, &changes));
    assert_ne!(code, 0, "the NAT step must fail\nstdout:\n{out}");
    assert!(
        err.contains("netsh said:") && err.contains("is not known"),
        "the error carries netsh's message\nstderr:\n{err}"
    );
}
