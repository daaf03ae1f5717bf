//! Scripts in the style rwin sends, run with --dry-effects semantics: what they print, what
//! they refuse, what they leave in the state file and which namespace commands they ask for.

use crate::effects::Effects;
use crate::host::Host;
use crate::ps::cmdline::encode;
use crate::state::WinState;

/// rwin's bootstrap (README.md, "Command line"), which makes the console UTF-8 first.
pub(crate) const BOOTSTRAP: &str = "$ProgressPreference = 'SilentlyContinue'; [Console]::InputEncoding = [Console]::OutputEncoding = New-Object -TypeName System.Text.UTF8Encoding; $s = $input | Out-String; & ([ScriptBlock]::Create($s))";

pub(crate) fn host() -> (Host, tempdir::Dir) {
    let dir = tempdir::Dir::new();
    let path = dir.path.join("state.json");
    drop(
        Host::open(path.clone(), Effects::new(true, "unix:///nonexistent")).expect("state created"),
    );
    // HNS's vSwitch delay has its own test (tests/network.rs); here the vEthernet adapter is
    // there at once, so these tests see what they test.
    let mut st = WinState::load(&path).expect("state");
    st.vswitch_ms = 0;
    st.save(&path).expect("state saved");
    let h = Host::open(path, Effects::new(true, "unix:///nonexistent")).expect("state opened");
    (h, dir)
}

/// Runs `script` exactly as rwin does: the encoded bootstrap with the script on stdin.
fn run(h: &Host, script: &str) -> (String, String, i32) {
    let line = format!(
        "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {}",
        encode(BOOTSTRAP)
    );
    let out = h.run_sync(&line, script.as_bytes());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.code,
    )
}

pub(crate) mod tempdir {
    /// A scratch directory removed on drop (no extra dependency for one helper).
    pub struct Dir {
        pub path: std::path::PathBuf,
    }
    impl Dir {
        pub fn new() -> Dir {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = std::env::temp_dir().join(format!("winsim-test-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&path).expect("temp dir");
            Dir { path }
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[test]
fn bootstrap_runs_the_script_from_stdin_and_facts_come_back_as_json() {
    let (h, _d) = host();
    let script = "$ErrorActionPreference = 'Stop'\r\n$v = Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'\r\n[ordered]@{ build = [int]$v.CurrentBuildNumber; ubr = $v.UBR; nics = @(Get-NetAdapter | ForEach-Object { $_.MacAddress }); svc = (Get-Service -Name docker).Status } | ConvertTo-Json -Compress\r\n";
    let (out, err, code) = run(&h, script);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "{\"build\":20348,\"ubr\":2340,\"nics\":[\"02-00-0A-00-00-0B\"],\"svc\":4}\r\n"
    );
}

#[test]
fn unknown_cmdlet_parameter_and_construct_are_refused_with_their_line() {
    let (h, _d) = host();
    for (script, want) in [
        (
            "Write-Output 'a'\nGet-Process",
            "winsim: unsupported cmdlet 'Get-Process' at line 2",
        ),
        (
            "Get-Service -Name docker -Verbose",
            "winsim: unsupported parameter -Verbose of Get-Service at line 1",
        ),
        ("try { 1 } catch { 2 }", "winsim: unsupported"),
        ("$a = 1 * 2", "winsim: unsupported operator"),
        (
            "docker image prune -f",
            "winsim: unsupported docker subcommand 'image' at line 1",
        ),
        (
            "docker images -a",
            "winsim: unsupported docker command line 'docker images -a' at line 1",
        ),
        (
            "netsh advfirewall set allprofile state off",
            "winsim: unsupported netsh command line",
        ),
    ] {
        let (_, err, code) = run(&h, script);
        assert_eq!(code, 1, "{script}");
        assert!(err.contains(want), "{script}: {err}");
    }
    let out = h.run_sync("cmd.exe /c dir", b"");
    assert_eq!(out.code, 1);
}

#[test]
fn throw_and_error_action_decide_the_exit() {
    let (h, _d) = host();
    let (out, err, code) = run(
        &h,
        "Write-Output 'before'\nif ($true) { throw 'boom' }\nWrite-Output 'after'",
    );
    assert_eq!((out.as_str(), code), ("before\r\n", 1));
    assert!(err.starts_with("boom\r\nAt line:2"), "{err}");
    let (out, err, code) = run(
        &h,
        "$s = Get-Service -Name nosuch -ErrorAction SilentlyContinue\nif ($s -eq $null) { 'none' }",
    );
    assert_eq!((out.as_str(), err.as_str(), code), ("none\r\n", "", 0));
    let (_, err, code) = run(
        &h,
        "$ErrorActionPreference = 'Stop'\nGet-Service -Name nosuch\n'not reached'",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("Cannot find any service with service name 'nosuch'"),
        "{err}"
    );
    let (out, err, code) = run(&h, "Get-Service -Name nosuch\n'reached'");
    assert_eq!((out.as_str(), code), ("reached\r\n", 0));
    assert!(!err.is_empty());
}

#[test]
fn routing_setup_persists_and_asks_for_the_namespace_commands() {
    let (h, d) = host();
    let script = "$ErrorActionPreference = 'Stop'
Install-WindowsFeature -Name RemoteAccess,Routing -IncludeManagementTools | Out-Null
Install-RemoteAccess -VpnType RoutingOnly -Confirm:$false
Set-ItemProperty -Path HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters -Name IPEnableRouter -Value 1 -Type DWord
docker network create -d transparent --subnet 10.42.3.0/24 --gateway 10.42.3.1 -o com.docker.network.windowsshim.interface=Ethernet --label rwin=1 podnet | Out-Null
if ($LASTEXITCODE -ne 0) { throw 'network' }
$i = (Get-NetAdapter | Where-Object { $_.Name -eq 'vEthernet (Ethernet)' }).ifIndex
New-NetIPAddress -InterfaceIndex $i -IPAddress 10.42.3.1 -PrefixLength 24 | Out-Null
New-NetRoute -DestinationPrefix 10.42.2.0/24 -InterfaceIndex $i -NextHop 10.0.0.12 | Out-Null
Restart-Service -Name RemoteAccess
netsh routing ip nat install
netsh routing ip nat add interface \"vEthernet (Ethernet)\" full
sc.exe create rwin-agent binPath= \"C:\\rwin\\agent.exe --x\" start= auto depend= docker | Out-Null
Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'
";
    let (out, err, code) = run(&h, script);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    // IPEnableRouter's registry write marks no reboot pending.
    assert_eq!(out, "False\r\n");
    let s = WinState::load(&d.path.join("state.json")).expect("state saved");
    assert_eq!(s.features["Routing"], "Installed");
    assert_eq!(s.remote_access.as_deref(), Some("RoutingOnly"));
    let v = s
        .adapter_by_name("vEthernet (Ethernet)")
        .expect("vEthernet");
    assert_eq!((v.if_index, v.mac.as_str()), (7, "02-00-0A-00-00-0B"));
    assert!(s
        .routes
        .iter()
        .any(|r| r.prefix == "10.42.2.0/24" && r.next_hop == "10.0.0.12"));
    assert!(s
        .services
        .iter()
        .any(|x| x.name == "rwin-agent" && x.depend == ["docker"]));
    let log: Vec<String> =
        h.fx.log
            .lock()
            .expect("log")
            .iter()
            .map(|a| a.join(" "))
            .collect();
    for want in [
        "docker -H unix:///nonexistent network create -d bridge --subnet 10.42.3.0/24 --gateway 10.42.3.1 -o com.docker.network.bridge.name=wsim7 -o com.docker.network.bridge.inhibit_ipv4=true",
        "ip addr add 10.42.3.1/24 dev wsim7",
        "ip route replace 10.42.2.0/24 via 10.0.0.12 metric 256",
        "sysctl -q -w net.ipv4.conf.eth0.forwarding=1",
        "iptables -t nat -A WINSIM-NAT -s 10.42.3.0/24 -o eth0 -j MASQUERADE",
    ] {
        assert!(log.iter().any(|l| l.starts_with(want)), "missing {want} in {log:#?}");
    }
    // The next command sees the saved state: the network's inspect shows the Windows driver.
    let (out, _, code) = run(&h, "$n = docker network inspect podnet | Out-String | ConvertFrom-Json\n$n.Driver\n$n.Options.'com.docker.network.windowsshim.interface'");
    assert_eq!((out.as_str(), code), ("transparent\r\nEthernet\r\n", 0));
}

#[test]
fn pretty_json_and_pipeline_filters() {
    let (h, _d) = host();
    let (out, _, code) = run(&h, "@(1, 2, 3) | Where-Object { $_ -gt 1 } | Select-Object -First 1\n@{ a = @('x') } | ConvertTo-Json");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "2\r\n{\r\n    \"a\":  [\r\n              \"x\"\r\n          ]\r\n}\r\n"
    );
}

#[test]
fn name_lists_return_what_is_found_and_missing_names_are_non_terminating() {
    let (h, _d) = host();
    // rwin's facts line: RemoteAccess is not installed, no rwin-* service exists yet.
    let facts = "$services = @(Get-Service -Name 'RemoteAccess', 'docker', 'rwin-*' -ErrorAction SilentlyContinue | ForEach-Object { [ordered]@{ name = [string]$_.Name; status = [string]$_.Status } })\n[ordered]@{ services = $services } | ConvertTo-Json -Compress";
    let (out, err, code) = run(&h, facts);
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        (
            "{\"services\":[{\"name\":\"docker\",\"status\":\"Running\"}]}\r\n",
            "",
            0
        )
    );
    // A wildcard matching nothing is no error at all, even under Stop.
    let (out, err, code) = run(
        &h,
        "$ErrorActionPreference = 'Stop'\n@(Get-Service -Name 'rwin-*').Count",
    );
    assert_eq!((out.as_str(), err.as_str(), code), ("0\r\n", "", 0));
    // Without SilentlyContinue the missing literal name is written to stderr, the rest returned.
    let (out, err, code) = run(
        &h,
        "Get-Service -Name 'nosuch', 'docker' | ForEach-Object { $_.Name }\n'after'",
    );
    assert_eq!((out.as_str(), code), ("docker\r\nafter\r\n", 0));
    assert!(
        err.contains("Cannot find any service with service name 'nosuch'"),
        "{err}"
    );
    // With Stop it terminates.
    let (_, err, code) = run(
        &h,
        "Get-Service -Name 'nosuch', 'docker' -ErrorAction Stop\n'after'",
    );
    assert_eq!(code, 1);
    assert!(err.contains("'nosuch'"), "{err}");
    // A service matched by two names comes once.
    let (out, _, _) = run(&h, "@(Get-Service -Name 'docker', 'dock*').Count");
    assert_eq!(out, "1\r\n");

    // Get-WindowsFeature: names that match nothing are simply absent.
    let (out, err, code) = run(&h, "Get-WindowsFeature -Name 'RemoteAccess', 'NoSuchFeature', 'Rout*' -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.Name }");
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        ("RemoteAccess\r\nRouting\r\n", "", 0)
    );

    // Get-NetFirewallRule with several names returns the rules that exist.
    let (_, err, code) = run(&h, "New-NetFirewallRule -Name 'rwin-a' -DisplayName 'a' -Direction Inbound -Action Allow -RemoteAddress '10.0.0.1' -Profile Any | Out-Null");
    assert_eq!((err.as_str(), code), ("", 0));
    let (out, err, code) = run(&h, "Get-NetFirewallRule -Name 'nosuch', 'rwin-a' -ErrorAction SilentlyContinue | ForEach-Object { $_.Name }\n@(Get-NetFirewallRule -Name 'zz-*').Count");
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        ("rwin-a\r\n0\r\n", "", 0)
    );
}

#[test]
fn the_mac_comes_from_ip_link_and_the_vethernet_adapter_shares_it() {
    use crate::effects::{mac_of_link, windows_mac};
    let link = serde_json::json!([{"ifindex": 2, "ifname": "eth0", "link_type": "ether", "address": "8a:3f:0c:12:ab:01", "broadcast": "ff:ff:ff:ff:ff:ff"}]);
    assert_eq!(mac_of_link(&link).as_deref(), Some("8A-3F-0C-12-AB-01"));
    assert_eq!(mac_of_link(&serde_json::Value::Null), None);
    assert_eq!(windows_mac("not a mac"), None);

    let (h, _d) = host();
    let (out, err, code) = run(&h, "docker network create -d transparent --subnet 10.42.3.0/24 --gateway 10.42.3.1 -o com.docker.network.windowsshim.interface=Ethernet podnet | Out-Null\nGet-NetAdapter | ForEach-Object { $_.Name; $_.MacAddress }");
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        (
            "Ethernet\r\n02-00-0A-00-00-0B\r\nvEthernet (Ethernet)\r\n02-00-0A-00-00-0B\r\n",
            "",
            0
        )
    );
}

#[test]
fn on_link_routes_on_the_vethernet_adapter_go_to_the_bridge_unless_on_the_physical_subnet() {
    let (h, _d) = host();
    let script = "$ErrorActionPreference = 'Stop'
docker network create -d transparent --subnet 10.42.3.0/24 --gateway 10.42.3.1 -o com.docker.network.windowsshim.interface=Ethernet podnet | Out-Null
$cai = (Get-NetAdapter | Where-Object { $_.Name -eq 'vEthernet (Ethernet)' }).ifIndex
New-NetIPAddress -InterfaceIndex $cai -IPAddress 10.42.3.1 -PrefixLength 24 | Out-Null
New-NetRoute -DestinationPrefix '169.254.169.250/32' -InterfaceIndex $cai -NextHop '0.0.0.0' | Out-Null
New-NetRoute -DestinationPrefix '169.254.169.251/32' -InterfaceIndex $cai -NextHop '0.0.0.0' | Out-Null
New-NetRoute -DestinationPrefix '10.0.0.99/32' -InterfaceIndex $cai -NextHop '0.0.0.0' | Out-Null
New-NetRoute -DestinationPrefix '10.0.0.0/16' -InterfaceIndex $cai -NextHop '0.0.0.0' | Out-Null
";
    let (out, err, code) = run(&h, script);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let log: Vec<String> =
        h.fx.log
            .lock()
            .expect("log")
            .iter()
            .map(|a| a.join(" "))
            .collect();
    for want in [
        "ip addr add 10.42.3.1/24 dev wsim7",
        "ip route replace 169.254.169.250/32 dev wsim7 metric 256",
        "ip route replace 169.254.169.251/32 dev wsim7 metric 256",
        // Inside the physical NIC's own subnet 10.0.0.0/24: stays on eth0.
        "ip route replace 10.0.0.99/32 dev eth0 metric 256",
        // Wider than it: not inside, so the bridge.
        "ip route replace 10.0.0.0/16 dev wsim7 metric 256",
    ] {
        assert!(log.iter().any(|l| l == want), "missing {want} in {log:#?}");
    }
}

#[test]
fn only_a_feature_install_that_needs_a_reboot_makes_the_reboot_pending_key() {
    let (h, d) = host();
    let cbs = "Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'\nTest-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired'";
    let set = "Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters' -Name IPEnableRouter -Value 1 -Type DWord\n(Get-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters').IPEnableRouter";
    let (out, err, code) = run(&h, set);
    assert_eq!((out.as_str(), err.as_str(), code), ("1\r\n", "", 0));
    let (out, _, _) = run(&h, cbs);
    assert_eq!(out, "False\r\nFalse\r\n");
    // Features installed without a reboot: still nothing pending.
    let (_, err, code) = run(&h, "Install-WindowsFeature -Name RemoteAccess | Out-Null");
    assert_eq!((err.as_str(), code), ("", 0));
    let (out, _, _) = run(&h, cbs);
    assert_eq!(out, "False\r\nFalse\r\n");
    // A host whose feature installs need a reboot: the CBS key appears.
    let path = d.path.join("state.json");
    let mut s = WinState::load(&path).expect("state");
    s.feature_install_needs_reboot = true;
    s.save(&path).expect("saved");
    let (out, err, code) = run(&h, "(Install-WindowsFeature -Name Routing).RestartNeeded\n(Get-WindowsFeature -Name Routing).InstallState");
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        ("Yes\r\nInstallPending\r\n", "", 0)
    );
    let (out, _, _) = run(&h, cbs);
    assert_eq!(out, "True\r\nFalse\r\n");
}

#[test]
fn uninstalling_features_makes_them_available_and_a_reboot_pending() {
    let (h, _d) = host();
    let cbs = "Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'";
    let (_, err, code) = run(
        &h,
        "Install-WindowsFeature -Name RemoteAccess, Routing | Out-Null",
    );
    assert_eq!((err.as_str(), code), ("", 0));
    let (out, _, _) = run(&h, cbs);
    assert_eq!(out, "False\r\n");
    // rwin's teardown line.
    let (out, err, code) = run(&h, "Uninstall-WindowsFeature -Name 'RemoteAccess', 'Routing' -ErrorAction SilentlyContinue | Out-Null\n$left = @(Get-WindowsFeature -Name 'RemoteAccess', 'Routing' | Where-Object { [string]$_.InstallState -eq 'Installed' })\n$left.Count");
    assert_eq!((out.as_str(), err.as_str(), code), ("0\r\n", "", 0));
    let (out, _, _) = run(&h, cbs);
    assert_eq!(out, "True\r\n");
    let (out, _, _) = run(&h, "(Uninstall-WindowsFeature -Name Routing).ExitCode");
    assert_eq!(out, "NoChangeNeeded\r\n");
}

#[test]
fn docker_images_q_is_passed_to_the_docker_cli() {
    let (h, _d) = host();
    let (_, err, code) = run(&h, "$present = docker images -q 10.77.0.5:5000/busybox:1\nif ($LASTEXITCODE -ne 0) { throw 'images' }");
    assert_eq!((err.as_str(), code), ("", 0));
    let log = h.fx.log.lock().expect("log").clone();
    assert!(
        log.iter()
            .any(|a| a.join(" ")
                == "docker -H unix:///nonexistent images -q 10.77.0.5:5000/busybox:1"),
        "{log:?}"
    );
}

#[test]
fn windows_ping_in_a_container_runs_as_the_linux_ping_that_does_the_same() {
    let (h, _d) = host();
    let script = "docker exec 'rwin-probe' ping /n 1 /w 2000 '10.42.0.2' | Out-Null\n\
                  docker run -d --name 'rwin-probe' --restart 'no' 'busybox:1' 'ping' '/t' '127.0.0.1' | Out-Null";
    let (_, err, code) = run(&h, script);
    assert_eq!((err.as_str(), code), ("", 0));
    let log: Vec<String> =
        h.fx.log
            .lock()
            .expect("log")
            .iter()
            .map(|a| a.join(" "))
            .collect();
    for want in [
        "docker -H unix:///nonexistent exec rwin-probe ping -c 1 -W 2 10.42.0.2",
        "docker -H unix:///nonexistent run -d --name rwin-probe --restart no busybox:1 ping 127.0.0.1",
    ] {
        assert!(log.iter().any(|l| l == want), "{want}\n{log:?}");
    }
    let (_, err, code) = run(&h, "docker exec 'rwin-probe' ping /l 1000 '10.42.0.2'");
    assert_eq!(code, 1);
    assert!(err.contains("unsupported ping flag '/l'"), "{err}");
}

#[test]
fn restart_computer_completes_pending_installs_and_applies_ip_enable_router() {
    let (h, d) = host();
    let path = d.path.join("state.json");
    let mut s = WinState::load(&path).expect("state");
    s.feature_install_needs_reboot = true;
    // No time for shutting down and booting: the next command finds the host booted.
    s.restart_timing = crate::state::RestartTiming {
        shutdown_ms: 0,
        boot_ms: 0,
    };
    s.save(&path).expect("saved");
    let setup = "Install-WindowsFeature -Name 'RemoteAccess', 'Routing' -ErrorAction Stop | Out-Null
Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters' -Name 'IPEnableRouter' -Value 1 -Type DWord -ErrorAction Stop
Set-Service -Name 'RemoteAccess' -StartupType Automatic -ErrorAction Stop
Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'
@(Get-NetIPInterface -AddressFamily IPv4 | Where-Object { $_.InterfaceAlias -ne 'Loopback Pseudo-Interface 1' } | ForEach-Object { [string]$_.Forwarding })
";
    let (out, err, code) = run(&h, setup);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out, "True\r\nDisabled\r\n", "pending before the reboot");
    let (out, err, code) = run(&h, "Restart-Computer -Force");
    assert_eq!((out.as_str(), err.as_str(), code), ("", "", 0));
    let after = "Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'
@(Get-WindowsFeature -Name 'Routing' | ForEach-Object { [string]$_.InstallState })
(Get-Service -Name 'RemoteAccess').Status
@(Get-NetIPInterface -AddressFamily IPv4 | Where-Object { $_.InterfaceAlias -ne 'Loopback Pseudo-Interface 1' } | ForEach-Object { [string]$_.Forwarding })
";
    let (out, err, code) = run(&h, after);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out, "False\r\nInstalled\r\nRunning\r\nEnabled\r\n");
    let log: Vec<String> =
        h.fx.log
            .lock()
            .expect("log")
            .iter()
            .map(|a| a.join(" "))
            .collect();
    assert!(
        log.iter()
            .any(|l| l == "sysctl -q -w net.ipv4.conf.eth0.forwarding=1"),
        "{log:#?}"
    );
    // Without -Force winsim refuses (rwin always passes it).
    let (_, err, _) = run(&h, "Restart-Computer");
    assert!(err.contains("-Force"), "{err}");
}

#[test]
fn nat_port_mappings_are_dumped_made_dnat_and_deleted() {
    let (h, d) = host();
    // RRAS NAT runs in RRAS: configured routing-only and running.
    let setup =
        "Install-WindowsFeature -Name RemoteAccess, Routing -IncludeManagementTools | Out-Null
Install-RemoteAccess -VpnType RoutingOnly -Confirm:$false
Start-Service -Name RemoteAccess
netsh routing ip nat install | Out-Null
netsh routing ip nat add interface 'Ethernet' full | Out-Null
$ip = '10.42.3.5'
netsh routing ip nat add portmapping 'Ethernet' udp 0.0.0.0 5353 $ip 53 | Out-Null
if ($LASTEXITCODE -ne 0) { throw 'add' }
netsh routing ip nat add portmapping 'Ethernet' tcp 0.0.0.0 8080 $ip 80 | Out-Null
netsh routing ip nat dump | Out-String
";
    let (out, err, code) = run(&h, setup);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.contains("add portmapping name=\"Ethernet\" proto=UDP publicip=0.0.0.0 publicport=5353 privateip=10.42.3.5 privateport=53"), "{out}");
    let log: Vec<String> =
        h.fx.log
            .lock()
            .expect("log")
            .iter()
            .map(|a| a.join(" "))
            .collect();
    assert!(
        log.iter().any(|l| l == "iptables -t nat -A WINSIM-DNAT -i eth0 -p udp --dport 5353 -j DNAT --to-destination 10.42.3.5:53"),
        "{log:#?}"
    );
    // The same port again is refused, as netsh does; deleting it makes room.
    let (out, _, _) = run(&h, "netsh routing ip nat add portmapping 'Ethernet' tcp 0.0.0.0 8080 10.42.3.6 80\n$LASTEXITCODE");
    assert_eq!(out, "The port mapping already exists.\r\n1\r\n");
    let again = "netsh routing ip nat delete portmapping 'Ethernet' tcp 0.0.0.0 8080 10.42.3.5 80 | Out-Null
if ($LASTEXITCODE -ne 0) { throw 'delete' }
netsh routing ip nat add portmapping 'Ethernet' tcp 0.0.0.0 8080 10.42.3.6 80 | Out-Null
if ($LASTEXITCODE -ne 0) { throw 'add' }
";
    let (out, err, code) = run(&h, again);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let s = WinState::load(&d.path.join("state.json")).expect("state");
    let tcp: Vec<_> = s
        .port_mappings
        .iter()
        .filter(|m| m.proto == "tcp")
        .collect();
    assert_eq!(tcp.len(), 1);
    assert_eq!(tcp[0].private_ip, "10.42.3.6");
    // A reboot keeps them: RRAS NAT's configuration is persistent.
    let (_, _, code) = run(&h, "Restart-Computer -Force");
    assert_eq!(code, 0);
    let s = WinState::load(&d.path.join("state.json")).expect("state");
    assert_eq!(s.port_mappings.len(), 2);
}

/// A host whose RemoteAccess role has no PowerShell module (installed without
/// -IncludeManagementTools): its cmdlets are unknown commands there.
fn host_without(module: &str) -> (Host, tempdir::Dir) {
    let (h, d) = host();
    let mut st = WinState::load(&h.state_path).expect("state");
    st.missing_modules.push(module.into());
    st.save(&h.state_path).expect("save");
    (h, d)
}

/// about_Error_Handling: CommandNotFoundException and ParameterBindingException are
/// statement-terminating. The statement stops, the script goes on at the next one, and
/// `-ErrorAction` changes neither; `$ErrorActionPreference` does ('Stop' ends the script with
/// exit code 1, 'SilentlyContinue' hides the error). A script that ran to its end exits 0
/// whatever it wrote to the error stream.
#[test]
fn statement_terminating_errors_end_the_statement_and_the_script_goes_on() {
    let (h, _d) = host_without("RemoteAccess");
    let (out, err, code) = run(
        &h,
        "Install-RemoteAccess -VpnType RoutingOnly -ErrorAction Stop\n'after'",
    );
    assert_eq!((out.as_str(), code), ("after\r\n", 0), "{err}");
    assert!(
        err.starts_with("Install-RemoteAccess : The term 'Install-RemoteAccess' is not recognized as the name of a cmdlet"),
        "{err}"
    );
    assert!(
        err.contains(
            "At line:1 char:1\r\n+ Install-RemoteAccess -VpnType RoutingOnly -ErrorAction Stop\r\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("FullyQualifiedErrorId : CommandNotFoundException"),
        "{err}"
    );
    // -ErrorAction SilentlyContinue does not hide it either.
    let (out, err, code) = run(
        &h,
        "$ra = Get-RemoteAccess -ErrorAction SilentlyContinue\n'after'",
    );
    assert_eq!((out.as_str(), code), ("after\r\n", 0));
    assert!(err.contains("CommandNotFoundException"), "{err}");
    // A failed assignment leaves the variable as it was.
    let (out, _, code) = run(&h, "$ra = 'old'\n$ra = Get-RemoteAccess\n$ra");
    assert_eq!((out.as_str(), code), ("old\r\n", 0));
    // Inside a block only that block's statement stops.
    let (out, _, code) = run(
        &h,
        "if ($true) { Get-RemoteAccess; 'in the block' }\n'after'",
    );
    assert_eq!((out.as_str(), code), ("in the block\r\nafter\r\n", 0));
    // $ErrorActionPreference = 'Stop' makes it script-terminating.
    let (out, err, code) = run(
        &h,
        "$ErrorActionPreference = 'Stop'\n'before'\nGet-RemoteAccess\n'not reached'",
    );
    assert_eq!((out.as_str(), code), ("before\r\n", 1));
    assert!(err.contains("CommandNotFoundException"), "{err}");
    // 'SilentlyContinue' hides it.
    let (out, err, code) = run(
        &h,
        "$ErrorActionPreference = 'SilentlyContinue'\nGet-RemoteAccess\n'after'",
    );
    assert_eq!((out.as_str(), err.as_str(), code), ("after\r\n", "", 0));
    // The other modules are there.
    let (out, err, code) = run(&h, "@(Get-WindowsFeature -Name 'RemoteAccess').Count");
    assert_eq!((out.as_str(), err.as_str(), code), ("1\r\n", "", 0));
}

#[test]
fn parameter_binding_errors_are_statement_terminating() {
    let (h, _d) = host();
    // A parameter without its argument, and a value that does not convert.
    for script in [
        "Get-Service -Name\n'after'",
        "Start-Sleep -Seconds 'soon' -ErrorAction Stop\n'after'",
        "Set-NetIPInterface -InterfaceIndex 6 -AddressFamily IPv4 -Forwarding Sometimes -ErrorAction Stop\n'after'",
    ] {
        let (out, err, code) = run(&h, script);
        assert_eq!((out.as_str(), code), ("after\r\n", 0), "{script}: {err}");
        assert!(
            err.contains("Missing an argument for parameter") || err.contains("Cannot bind parameter"),
            "{script}: {err}"
        );
        let stop = format!("$ErrorActionPreference = 'Stop'\n{script}");
        let (out, _, code) = run(&h, &stop);
        assert_eq!((out.as_str(), code), ("", 1), "{stop}");
    }
}

/// Non-terminating errors follow `-ErrorAction`, else `$ErrorActionPreference`.
#[test]
fn non_terminating_errors_follow_the_preference_when_no_error_action_is_given() {
    let (h, _d) = host();
    let (out, err, code) = run(
        &h,
        "$ErrorActionPreference = 'SilentlyContinue'\nGet-Service -Name nosuch\n'after'",
    );
    assert_eq!((out.as_str(), err.as_str(), code), ("after\r\n", "", 0));
    // -ErrorAction wins over the preference.
    let (out, err, code) = run(
        &h,
        "$ErrorActionPreference = 'Stop'\nGet-Service -Name nosuch -ErrorAction Continue\n'after'",
    );
    assert_eq!((out.as_str(), code), ("after\r\n", 0));
    assert!(err.contains("Cannot find any service"), "{err}");
    // Bad JSON is one too (ConvertFromJsonCommand calls WriteError).
    let (out, err, code) = run(&h, "'{' | ConvertFrom-Json\n'after'");
    assert_eq!((out.as_str(), code), ("after\r\n", 0));
    assert!(err.starts_with("ConvertFrom-Json : "), "{err}");
}

/// New-NetRoute without -PolicyStore saves the route in both stores ("By default, a route is
/// saved in both stores", New-NetRoute docs); each MSFT_NetRoute instance is in one store
/// (its Store property, MSFT_NetRoute class docs) and Get-NetRoute's -PolicyStore picks the
/// instances of one store, so without it such a route is listed twice. The on-link route of
/// an address's subnet is in the ActiveStore only; Remove-NetRoute without -PolicyStore
/// removes the route from both.
#[test]
fn routes_live_in_the_active_and_the_persistent_store() {
    let (h, _d) = host();
    let script = "$ErrorActionPreference = 'Stop'
New-NetRoute -DestinationPrefix '10.42.0.0/24' -InterfaceIndex 6 -NextHop '10.0.0.10' | Out-Null
@(Get-NetRoute -AddressFamily IPv4 -DestinationPrefix '10.42.0.0/24').Count
@(Get-NetRoute -AddressFamily IPv4 -DestinationPrefix '10.42.0.0/24' -PolicyStore ActiveStore).Count
@(Get-NetRoute -AddressFamily IPv4 -DestinationPrefix '10.42.0.0/24' -PolicyStore PersistentStore).Count
Get-NetRoute -AddressFamily IPv4 -DestinationPrefix '10.42.0.0/24' | ForEach-Object { [string]$_.Store }
@(Get-NetRoute -AddressFamily IPv4 -DestinationPrefix '10.0.0.0/24').Count
@(Get-NetRoute -AddressFamily IPv4 -DestinationPrefix '10.0.0.0/24' -PolicyStore PersistentStore -ErrorAction SilentlyContinue).Count
Remove-NetRoute -DestinationPrefix '10.42.0.0/24' -Confirm:$false
@(Get-NetRoute -AddressFamily IPv4 -DestinationPrefix '10.42.0.0/24' -ErrorAction SilentlyContinue).Count
";
    let (out, err, code) = run(&h, script);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out,
        "2\r\n1\r\n1\r\nActiveStore\r\nPersistentStore\r\n1\r\n0\r\n0\r\n"
    );
    let (_, err, _) = run(&h, "Get-NetRoute -DestinationPrefix '169.254.'");
    assert!(
        err.starts_with("Get-NetRoute : No MSFT_NetRoute objects found with property 'DestinationPrefix' equal to '169.254.'."),
        "{err}"
    );
    let (_, err, code) = run(&h, "Get-NetRoute -PolicyStore GPO");
    assert_eq!(code, 1);
    assert!(
        err.contains("winsim: unsupported -PolicyStore GPO"),
        "{err}"
    );
}

/// powershell.exe by its bare name (cmd.exe and OpenSSH's shell find it on PATH) or by its
/// full path (what WinRS needs without cmd.exe); any other program is not in the contract.
#[test]
fn powershell_runs_by_name_or_by_full_path() {
    let (h, _d) = host();
    let encoded = encode(BOOTSTRAP);
    for exe in [
        "powershell.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Windows\system32\WindowsPowerShell\v1.0\powershell.exe",
    ] {
        let line = format!(
            "{exe} -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand {encoded}"
        );
        let out = h.run_sync(&line, b"Write-Output 'hi'\n");
        assert_eq!(
            (String::from_utf8_lossy(&out.stdout).as_ref(), out.code),
            ("hi\r\n", 0),
            "{exe}"
        );
    }
    let out = h.run_sync(
        &format!(r"C:\Windows\System32\cmd.exe /c powershell.exe -EncodedCommand {encoded}"),
        b"",
    );
    assert_eq!(out.code, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("winsim: unsupported command line"));
}

/// Invoke-WebRequest reports a failed request with ThrowTerminatingError
/// (WebCmdletWebResponseException, PowerShell's WebRequestPSCmdlet.cs): statement-terminating,
/// so `-ErrorAction SilentlyContinue` does not hide it and the variable keeps its value.
#[test]
fn a_failed_web_request_is_statement_terminating() {
    let (h, _d) = host();
    let (out, err, code) = run(
        &h,
        "$r = 'none'\n$r = Invoke-WebRequest -Uri 'http://127.0.0.1:1/' -UseBasicParsing -TimeoutSec 2 -ErrorAction SilentlyContinue\n$r",
    );
    assert_eq!((out.as_str(), code), ("none\r\n", 0));
    assert!(err.starts_with("Invoke-WebRequest : "), "{err}");
    let (out, _, code) = run(
        &h,
        "$ErrorActionPreference = 'Stop'\nInvoke-WebRequest -Uri 'http://127.0.0.1:1/' -UseBasicParsing -TimeoutSec 2\n'not reached'",
    );
    assert_eq!((out.as_str(), code), ("", 1));
}
