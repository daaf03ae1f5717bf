//! Unit tests: parsing a realistic facts answer, the diff on a fresh and on a converged host,
//! route replacement, doctor, and image selection.

use std::collections::BTreeMap;

use super::*;
use crate::os::{DesiredHost, Status, WindowsDesired};

fn desired() -> DesiredHost {
    DesiredHost {
        cluster: "demo".into(),
        subnet: "10.42.1.0/24".parse().unwrap(),
        gateway: "10.42.1.1".parse().unwrap(),
        cluster_cidr: "10.42.0.0/16".parse().unwrap(),
        outbound_nat: true,
        routes: vec![
            (
                "10.42.0.0/24".parse().unwrap(),
                "10.0.0.10".parse().unwrap(),
                "lin1".into(),
            ),
            (
                "10.42.2.0/24".parse().unwrap(),
                "10.0.0.12".parse().unwrap(),
                "win2".into(),
            ),
        ],
        node: "win1".into(),
        internal_address: "10.0.0.11".parse().unwrap(),
        node_addresses: vec![
            "10.0.0.10".parse().unwrap(),
            "10.0.0.11".parse().unwrap(),
            "10.0.0.12".parse().unwrap(),
        ],
        plain_bridge: false,
        allow_reboot: false,
        published: Vec::new(),
        windows: WindowsDesired {
            metadata_address: Some("169.254.169.250".parse().unwrap()),
            ..Default::default()
        },
    }
}

/// What a converged Windows Server 2022 node answers, as Windows PowerShell 5.1 prints it
/// (one element lists as bare objects, enums as strings, firewall subnets as address/mask).
///
/// Said plainly: this is written by hand, not captured from a Windows host (none was
/// available); each field follows the output its cmdlet's docs page describes. The same
/// convergence is checked end to end against winsim by the mixed lab test (a second `up`
/// changes nothing), which rests on winsim's sourced behaviours, not on this text.
const CONVERGED: &str = r#"{"build":"20348","ubr":2849,"edition":"ServerStandard","features":[{"name":"RemoteAccess","install_state":"Installed"},{"name":"Routing","install_state":"Installed"}],"routing_status":"Installed","services":[{"name":"docker","status":"Running","start_type":"Automatic"},{"name":"RemoteAccess","status":"Running","start_type":"Automatic"}],"ip_enable_router":1,"reboot_pending":false,"adapters":[{"name":"Ethernet","if_index":4,"mac":"00-15-5D-01-02-01","description":"Microsoft Hyper-V Network Adapter","status":"Up"},{"name":"Ethernet 2","if_index":6,"mac":"00-15-5D-01-02-03","description":"Microsoft Hyper-V Network Adapter #2","status":"Up"},{"name":"rwin-containers","if_index":8,"mac":"02-00-4C-4F-4F-50","description":"Microsoft KM-TEST Loopback Adapter","status":"Up"},{"name":"vEthernet (rwin-containers)","if_index":14,"mac":"02-00-4C-4F-4F-50","description":"Hyper-V Virtual Ethernet Adapter","status":"Up"}],"addresses":[{"if_index":4,"ip":"192.168.1.20","prefix_length":24},{"if_index":6,"ip":"10.0.0.11","prefix_length":24},{"if_index":14,"ip":"10.42.1.1","prefix_length":24},{"if_index":1,"ip":"127.0.0.1","prefix_length":8}],"interfaces":[{"if_index":6,"alias":"Ethernet 2","forwarding":"Enabled"},{"if_index":14,"alias":"vEthernet (rwin-containers)","forwarding":"Enabled"},{"if_index":4,"alias":"Ethernet","forwarding":"Disabled"}],"routes":[{"dest":"0.0.0.0/0","next_hop":"192.168.1.1","if_index":4,"metric":0},{"dest":"10.42.0.0/24","next_hop":"10.0.0.10","if_index":6,"metric":0},{"dest":"10.42.2.0/24","next_hop":"10.0.0.12","if_index":6,"metric":0},{"dest":"10.42.1.0/24","next_hop":"0.0.0.0","if_index":14,"metric":256},{"dest":"10.42.1.1/32","next_hop":"0.0.0.0","if_index":14,"metric":256},{"dest":"169.254.169.250/32","next_hop":"0.0.0.0","if_index":14,"metric":0}],"dns":[{"if_index":4,"servers":["192.168.1.2","192.168.1.3"]},{"if_index":6,"servers":[]},{"if_index":14,"servers":[]},{"if_index":1,"servers":[]}],"devcon":true,"firewall_rule":{"name":"rwin-demo","enabled":"True","direction":"Inbound","action":"Allow","remote_address":["10.42.0.0/255.255.0.0","10.0.0.10","10.0.0.11","10.0.0.12"]},"nat_dump":"\r\n# ----------------------------------\r\n# NAT configuration\r\n# ----------------------------------\r\npushd routing ip nat\r\nuninstall\r\ninstall\r\nset global tcptimeoutmins=1440 udptimeoutmins=1 loglevel=ERROR\r\n\r\n#\r\n#NAT Configuration For Interface Ethernet\r\n#\r\nadd interface name=\"Ethernet\" mode=FULL\r\n\r\n#\r\n#NAT Configuration For Interface vEthernet (rwin-containers)\r\n#\r\nadd interface name=\"vEthernet (rwin-containers)\" mode=PRIVATE\r\n\r\npopd\r\n","docker_version":"{\"Client\":{\"Version\":\"24.0.7\",\"Os\":\"windows\"},\"Server\":{\"Platform\":{\"Name\":\"Mirantis Container Runtime\"},\"Version\":\"24.0.7\",\"Os\":\"windows\"}}\r\n","networks":"[\r\n    {\r\n        \"Name\": \"rwin\",\r\n        \"Id\": \"4f6a\",\r\n        \"Driver\": \"transparent\",\r\n        \"IPAM\": {\"Driver\": \"windows\", \"Config\": [{\"Subnet\": \"10.42.1.0/24\", \"Gateway\": \"10.42.1.1\"}]},\r\n        \"Options\": {\"com.docker.network.windowsshim.interface\": \"rwin-containers\", \"com.docker.network.windowsshim.dnsservers\": \"192.168.1.2,192.168.1.3\", \"com.docker.network.windowsshim.hnsid\": \"A1B2\"},\r\n        \"Labels\": {\"io.rwin.cluster\": \"demo\"}\r\n    }\r\n]\r\n"}"#;

/// A fresh Server 2019 host: Docker installed, nothing else. `features` comes as one object
/// and `routes` in 5.1's `{value, Count}` wrapping, as ConvertTo-Json sometimes prints them.
const FRESH: &str = r#"{"build":"17763","ubr":6414,"edition":"ServerDatacenter","features":{"name":"RemoteAccess","install_state":"Available"},"routing_status":null,"services":[{"name":"docker","status":"Running","start_type":"Automatic"}],"ip_enable_router":0,"reboot_pending":false,"adapters":[{"name":"Ethernet 2","if_index":6,"mac":"00-15-5D-01-02-03","description":"Intel(R) 82574L","status":"Up"}],"addresses":[{"if_index":6,"ip":"10.0.0.11","prefix_length":24}],"interfaces":[{"if_index":6,"alias":"Ethernet 2","forwarding":"Disabled"}],"routes":{"value":[{"dest":"0.0.0.0/0","next_hop":"10.0.0.1","if_index":6,"metric":0}],"Count":1},"dns":{"if_index":6,"servers":"10.0.0.2"},"devcon":true,"firewall_rule":null,"nat_dump":null,"docker_version":"{\"Client\":{\"Version\":\"20.10.9\"},\"Server\":{\"Version\":\"20.10.9\"}}","networks":null}"#;

fn facts(s: &str) -> WindowsFacts {
    parse_facts(s).unwrap()
}

#[test]
fn parse_facts_reads_a_converged_host() {
    let f = facts(&format!("Windows PowerShell banner\r\n{CONVERGED}\r\n"));
    assert_eq!(f.build_number(), Some(20348));
    assert_eq!(
        f.service("remoteaccess").map(|s| s.status.as_str()),
        Some("Running")
    );
    assert_eq!(f.docker(), Some(("24.0.7".to_string(), true)));
    let n = f.network("rwin").unwrap();
    assert_eq!(
        (
            n.driver.as_str(),
            n.subnet.as_deref(),
            n.interface.as_deref()
        ),
        ("transparent", Some("10.42.1.0/24"), Some("rwin-containers"))
    );
    assert_eq!(
        f.nat_interfaces(),
        vec![
            ("Ethernet".to_string(), "FULL".to_string()),
            (
                "vEthernet (rwin-containers)".to_string(),
                "PRIVATE".to_string()
            )
        ]
    );
    let nic = f.adapter("rwin-containers").unwrap();
    assert_eq!(f.container_adapter(nic).map(|a| a.if_index), Some(14));
}

#[test]
fn parse_facts_accepts_one_objects_and_wrapped_arrays_and_quotes_garbage() {
    let f = facts(FRESH);
    assert_eq!(f.features.len(), 1);
    assert_eq!(f.routes.len(), 1);
    assert!(f.firewall_rule.is_none() && f.networks.is_empty());
    let err = parse_facts("Get-NetAdapter : The term is not recognized").unwrap_err();
    assert!(
        err.contains("printed no JSON object") && err.contains("Get-NetAdapter : The term"),
        "{err}"
    );
    let err = parse_facts("{\"build\": [}").unwrap_err();
    assert!(
        err.contains("not the expected JSON") && err.contains("{\\\"build\\\""),
        "{err}"
    );
}

#[test]
fn converged_host_needs_no_change_and_passes_doctor() {
    let (d, f) = (desired(), facts(CONVERGED));
    assert_eq!(diff(&d, &f), vec![]);
    assert!(blockers(&d, &f).is_empty(), "{:?}", blockers(&d, &f));
    let bad: Vec<_> = checks(&d, &f)
        .into_iter()
        .filter(|c| c.status != Status::Pass)
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

/// A route New-NetRoute made is in the ActiveStore and the PersistentStore, and a
/// Get-NetRoute without -PolicyStore lists it once per store (tests/winsim/BEHAVIOURS.md). The
/// facts read the ActiveStore only, and a route listed twice anyway is still one route: a
/// converged host needs no change.
#[test]
fn a_route_listed_once_per_store_is_one_route() {
    assert!(
        facts_script(&desired())
            .contains("Get-NetRoute -AddressFamily IPv4 -PolicyStore ActiveStore"),
        "the facts read the routing table in use"
    );
    let twice = CONVERGED.replace(
        r#"{"dest":"10.42.0.0/24","next_hop":"10.0.0.10","if_index":6,"metric":0},"#,
        r#"{"dest":"10.42.0.0/24","next_hop":"10.0.0.10","if_index":6,"metric":0},{"dest":"10.42.0.0/24","next_hop":"10.0.0.10","if_index":6,"metric":0},"#,
    );
    assert_ne!(twice, CONVERGED);
    let f = facts(&twice);
    assert_eq!(
        f.routes.iter().filter(|r| r.dest == "10.42.0.0/24").count(),
        1
    );
    assert_eq!(diff(&desired(), &f), vec![]);
}

#[test]
fn fresh_host_gets_every_change_in_apply_order() {
    let (d, f) = (desired(), facts(FRESH));
    let shown: Vec<String> = diff(&d, &f).iter().map(|c| c.to_string()).collect();
    assert_eq!(
        shown,
        [
            "+ install Windows features RemoteAccess, Routing (with management tools)",
            "+ configure Routing and Remote Access as routing only",
            "~ RemoteAccess service starts automatically (was not installed)",
            "+ start the RemoteAccess service",
            "+ IPEnableRouter=1 (persisted; full effect after a reboot: rwin does it only with --allow-reboot)",
            "+ firewall rule rwin-demo admitting 10.42.0.0/16, 10.0.0.10, 10.0.0.11, 10.0.0.12",
            "+ loopback adapter rwin-containers for the container network (devcon install netloop.inf *MSLOOP)",
            "+ container network rwin (transparent, 10.42.1.0/24, gateway 10.42.1.1, on rwin-containers, DNS 10.0.0.2)",
            "+ gateway 10.42.1.1/24 on the container network's adapter",
            "+ IPv4 forwarding on Ethernet 2",
            "+ IPv4 forwarding on vEthernet (rwin-containers)",
            "+ route 10.42.0.0/24 via 10.0.0.10 (lin1)",
            "+ route 10.42.2.0/24 via 10.0.0.12 (win2)",
            "+ metadata route 169.254.169.250/32 on the container network's adapter",
            "~ restart the RemoteAccess service, so RRAS takes the new container network's adapter",
            "+ install RRAS NAT",
            "+ outbound NAT: Ethernet 2 as the public (full) side",
            "+ outbound NAT: vEthernet (rwin-containers) as the private side",
        ]
    );
    assert!(blockers(&d, &f).is_empty());
    // The restart comes once the new adapter exists (the script waits for HNS to make it)
    // and before NAT takes its interfaces.
    let script = apply_script(&d, &diff(&d, &f));
    let at = |needle: &str| {
        script
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in\n{script}"))
    };
    assert!(at("$cai = [int]$ca.ifIndex") < at("Restart-Service -Name 'RemoteAccess'"));
    assert!(at("Restart-Service -Name 'RemoteAccess'") < at("netsh routing ip nat install"));
}

#[test]
fn a_moved_node_route_is_replaced_and_a_stale_one_deleted() {
    let d = desired();
    let mut f = facts(CONVERGED);
    f.routes[2].next_hop = "10.0.0.99".into();
    f.routes.push(Route {
        dest: "10.42.9.0/24".into(),
        next_hop: "10.0.0.19".into(),
        if_index: 6,
        metric: 0,
    });
    let changes = diff(&d, &f);
    assert_eq!(
        changes,
        vec![
            Change::ReplaceRoute {
                dest: "10.42.2.0/24".parse().unwrap(),
                via: "10.0.0.12".parse().unwrap(),
                node: "win2".into(),
                was: "via 10.0.0.99 on interface 6".into()
            },
            Change::DeleteRoute {
                dest: "10.42.9.0/24".parse().unwrap(),
                via: "10.0.0.19".parse().unwrap()
            },
        ]
    );
    let script = apply_script(&d, &changes);
    let remove = script
        .find("Remove-NetRoute -DestinationPrefix '10.42.2.0/24' -Confirm:$false")
        .unwrap();
    let add = script.find("New-NetRoute -DestinationPrefix '10.42.2.0/24' -InterfaceIndex $ri -NextHop '10.0.0.12'").unwrap();
    assert!(remove < add, "replace is remove, then add:\n{script}");
    let failed: Vec<_> = checks(&d, &f)
        .into_iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, ["routes to other nodes", "no stray routes"]);
}

#[test]
fn changed_network_is_recreated_with_everything_on_its_new_adapter() {
    let mut d = desired();
    d.windows.driver = crate::config::WindowsDriver::L2bridge;
    let changes = diff(&d, &facts(CONVERGED));
    assert!(
        matches!(&changes[0], Change::RecreateNetwork { why, .. } if why == "transparent, 10.42.1.0/24, gateway 10.42.1.1, on rwin-containers, DNS 192.168.1.2, 192.168.1.3"),
        "{changes:?}"
    );
    assert!(changes
        .iter()
        .any(|c| matches!(c, Change::AddHostRoute { .. })));
    assert!(changes.iter().any(|c| matches!(c, Change::ReplaceRoute { was, .. } if was.ends_with("re-added with the new network"))));
    assert!(changes.contains(&Change::RestartRemoteAccess));
}

#[test]
fn route_interface_is_detected_or_the_blocker_lists_the_choices() {
    let d = desired();
    let mut f = facts(FRESH);
    f.addresses.clear();
    f.adapters.push(Adapter {
        name: "Ethernet 3".into(),
        if_index: 7,
        mac: "00-15-5D-01-02-04".into(),
        status: "Up".into(),
        ..Default::default()
    });
    let b = blockers(&d, &f);
    assert_eq!(b, ["no Up network adapter (other than vEthernet) holds the internal address 10.0.0.11: set route_interface: to one of: Ethernet 2, Ethernet 3"]);
    // Bound (by an rwin that bound the network to the route NIC), Windows moved the address
    // to the NIC's vEthernet twin: the NIC is still found, and the network moves off it.
    let mut f = facts(CONVERGED);
    f.adapters.push(Adapter {
        name: "vEthernet (Ethernet 2)".into(),
        if_index: 15,
        mac: "00-15-5D-01-02-03".into(),
        status: "Up".into(),
        ..Default::default()
    });
    f.addresses[1].if_index = 15;
    assert_eq!(
        diff::route_interface(&d, &f).map(|a| a.name.as_str()),
        Ok("Ethernet 2")
    );
    let mut f = facts(FRESH);
    f.docker_version = Some(serde_json::json!({"Server": {"Version": "17.03.2-ee-8"}}));
    f.build = None;
    let b = blockers(&d, &f);
    assert!(
        b[0].starts_with("could not read the Windows build")
            && b[1] == "Docker 17.03.2-ee-8 is too old: Windows nodes need Docker 17.06 or later",
        "{b:?}"
    );
}

#[test]
fn firewall_addresses_compare_as_networks_whatever_their_spelling() {
    assert!(diff::same_remote(
        &["10.42.0.0/16".into(), "10.0.0.1".into()],
        &[
            "10.0.0.1/255.255.255.255".into(),
            "10.42.0.0/255.255.0.0".into()
        ]
    ));
    assert!(!diff::same_remote(
        &["10.42.0.0/16".into()],
        &["Any".into()]
    ));
}

#[test]
fn turned_on_records_only_what_rwin_changed() {
    let t = TurnedOn::from_changes(&diff(&desired(), &facts(FRESH)));
    assert_eq!(t.features, ["RemoteAccess", "Routing"]);
    assert!(t.routing && t.ip_enable_router && t.nat && t.remote_access_started);
    assert_eq!(TurnedOn::from_changes(&[]), TurnedOn::default());
}

#[test]
fn image_selection() {
    let images: BTreeMap<String, String> = [("ltsc2019", "app:1809"), ("20348", "app:ltsc2022")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        select_image(17763, &images, false).as_deref(),
        Ok("app:1809")
    );
    assert_eq!(
        select_image(20348, &images, false).as_deref(),
        Ok("app:ltsc2022")
    );
    assert_eq!(
        select_image(26100, &images, false).as_deref(),
        Ok("app:ltsc2022"),
        "2025 runs 2022 images"
    );
    let err = select_image(19041, &images, false).unwrap_err();
    assert_eq!(err, "no image for Windows build 19041: images exist for 17763 (ltsc2019), 20348 (ltsc2022); add an image for this build, or set isolation: hyperv to run an older image");
    assert_eq!(
        select_image(19041, &images, true).as_deref(),
        Ok("app:1809"),
        "Hyper-V: newest not newer than the host"
    );
    let only_new: BTreeMap<String, String> =
        [("ltsc2025".to_string(), "app:2025".to_string())].into();
    assert!(select_image(17763, &only_new, true)
        .unwrap_err()
        .contains("cannot run an image newer than the host"));
}

/// A route interface named with a typographic apostrophe (U+2019, as Windows' own adapter
/// names such as "Bob’s NIC" can be): PowerShell ends a single-quoted string at ’ as at `'`,
/// so every literal holding the name must double it. Left single, `'Bob’s NIC'` would end at
/// `Bob’` and run `s NIC'` as code.
#[test]
fn a_route_interface_with_a_typographic_quote_is_quoted_whole() {
    let name = "Bob\u{2019}s NIC";
    let mut d = desired();
    d.windows.container_interface = Some(name.into());
    let mut f = facts(FRESH);
    f.adapters.push(Adapter {
        name: name.into(),
        if_index: 7,
        mac: "00-15-5D-01-02-04".into(),
        status: "Up".into(),
        ..Default::default()
    });
    let changes = diff(&d, &f);
    assert!(
        changes.iter().any(
            |c| matches!(c, Change::CreateNetwork { interface, .. } if interface.as_str() == name)
        ),
        "{changes:?}"
    );
    let script = apply_script(&d, &changes);
    assert!(
        script.contains("$_.Name -eq 'Bob\u{2019}\u{2019}s NIC'"),
        "{script}"
    );
    assert!(
        script.contains("'com.docker.network.windowsshim.interface=Bob\u{2019}\u{2019}s NIC'"),
        "{script}"
    );
    // No ’ is left single outside comments (which end only at the end of their line).
    for line in script.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert!(
            !line.replace("\u{2019}\u{2019}", "").contains('\u{2019}'),
            "{line}"
        );
    }
}

/// Seed 001's layout: the route NIC ("Ethernet", 10.0.0.11, default route) keeps its address,
/// and the transparent network goes on a second NIC of its own ("Ethernet 2", DHCP, so it has
/// only an APIPA address).
const TWO_NICS: &str = r#"{"build":"20348","ubr":1,"edition":"ServerStandard","features":[{"name":"RemoteAccess","install_state":"Installed"},{"name":"Routing","install_state":"Installed"}],"routing_status":"Installed","services":[{"name":"docker","status":"Running","start_type":"Automatic"},{"name":"RemoteAccess","status":"Running","start_type":"Automatic"}],"ip_enable_router":1,"reboot_pending":false,"adapters":[{"name":"Ethernet","if_index":4,"mac":"00-15-5D-01-02-01","description":"Microsoft Hyper-V Network Adapter","status":"Up"},{"name":"Ethernet 2","if_index":6,"mac":"00-15-5D-01-02-03","description":"Microsoft Hyper-V Network Adapter #2","status":"Up"}],"addresses":[{"if_index":4,"ip":"10.0.0.11","prefix_length":24},{"if_index":6,"ip":"169.254.20.7","prefix_length":16}],"interfaces":[{"if_index":4,"alias":"Ethernet","forwarding":"Disabled"},{"if_index":6,"alias":"Ethernet 2","forwarding":"Disabled"}],"routes":[{"dest":"0.0.0.0/0","next_hop":"10.0.0.1","if_index":4,"metric":0}],"dns":[{"if_index":4,"servers":["10.0.0.2"]},{"if_index":6,"servers":[]}],"firewall_rule":null,"nat_dump":null,"docker_version":"{\"Client\":{\"Version\":\"24.0.7\"},\"Server\":{\"Version\":\"24.0.7\"}}","networks":null}"#;

fn on_own_nic(nic: &str) -> DesiredHost {
    let mut d = desired();
    d.windows.route_interface = None;
    d.windows.container_interface = Some(nic.into());
    d
}

#[test]
fn the_container_network_goes_on_a_nic_of_its_own_and_nat_public_is_the_route_side() {
    let (d, f) = (on_own_nic("Ethernet 2"), facts(TWO_NICS));
    assert!(blockers(&d, &f).is_empty(), "{:?}", blockers(&d, &f));
    let shown: Vec<String> = diff(&d, &f).iter().map(|c| c.to_string()).collect();
    for want in [
        "+ container network rwin (transparent, 10.42.1.0/24, gateway 10.42.1.1, on Ethernet 2, DNS 10.0.0.2)",
        "+ IPv4 forwarding on Ethernet",
        "+ IPv4 forwarding on vEthernet (Ethernet 2)",
        "+ outbound NAT: Ethernet as the public (full) side",
        "+ outbound NAT: vEthernet (Ethernet 2) as the private side",
    ] {
        assert!(
            shown.iter().any(|s| s == want),
            "{want:?} not in {shown:#?}"
        );
    }
    // The gateway goes on the container vEthernet made static first: it inherits the NIC's DHCP.
    let script = apply_script(&d, &diff(&d, &f));
    let dhcp = script
        .find("-Dhcp Disabled")
        .expect("DHCP turned off on the container adapter");
    let gw = script
        .find("New-NetIPAddress -InterfaceIndex $cai")
        .expect("gateway");
    assert!(dhcp < gw, "DHCP off before the gateway is added");
    assert!(
        script.contains("$nic = $all | Where-Object { $_.Name -eq 'Ethernet 2' }"),
        "the container adapter is found by the container NIC's MAC"
    );
}

#[test]
fn a_container_interface_that_is_the_route_nic_or_missing_is_a_blocker() {
    let f = facts(TWO_NICS);
    let b = blockers(&on_own_nic("Ethernet"), &f);
    assert!(b.iter().any(|e| e.contains("is the route NIC")), "{b:?}");
    let b = blockers(&on_own_nic("Ethernet 9"), &f);
    assert!(
        b.iter().any(
            |e| e.contains("container_interface \"Ethernet 9\" is not a network adapter")
                && e.contains("Ethernet 2")
        ),
        "{b:?}"
    );
    // Without container_interface and without devcon there is no adapter to use: a blocker.
    let mut f = facts(FRESH);
    f.devcon = false;
    let b = blockers(&desired(), &f);
    assert!(
        b.iter()
            .any(|e| e.contains("devcon.exe") && e.contains("container_interface")),
        "{b:?}"
    );
}

/// Host text in the description comment of a step (an adapter name read from the host) cannot
/// end the comment and start a statement.
#[test]
fn a_line_break_in_host_text_stays_inside_the_comment() {
    let evil = "Ethernet\nRemove-Item -Recurse C:\\\r\u{2028}x";
    let changes = vec![Change::CreateNetwork {
        driver: crate::config::WindowsDriver::Transparent,
        subnet: "10.42.1.0/24".parse().unwrap(),
        gateway: "10.42.1.1".parse().unwrap(),
        interface: evil.into(),
        dns: vec!["10.0.0.2".parse().unwrap()],
    }];
    let script = apply_script(&desired(), &changes);
    let lines: Vec<&str> = script.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("# + container network"))
        .expect("the step's comment");
    assert_eq!(
        lines[at],
        "# + container network rwin (transparent, 10.42.1.0/24, gateway 10.42.1.1, on Ethernet Remove-Item -Recurse C:\\  x, DNS 10.0.0.2)"
    );
    // The statement after the comment is the step's own (the name inside it is quoted).
    assert!(
        lines[at + 1].starts_with("docker network create"),
        "{script}"
    );
}

/// The container network's DNS servers: the default route's interface's (the host's outbound
/// side), else the route NIC's; `network.windows_dns_servers` wins; none, or a server that is
/// not IPv4, is a blocker and no network is planned (a network without them leaves its
/// containers without DNS: tests/winsim/BEHAVIOURS.md).
#[test]
fn the_network_carries_the_hosts_dns_servers_or_a_blocker_says_why_not() {
    let (d, f) = (desired(), facts(CONVERGED));
    let ip = |s: &str| s.parse::<std::net::Ipv4Addr>().unwrap();
    assert_eq!(
        dns_servers(&d, &f),
        Ok(vec![ip("192.168.1.2"), ip("192.168.1.3")])
    );
    // No default route: the route NIC's.
    let mut g = facts(CONVERGED);
    g.routes.retain(|r| r.dest != "0.0.0.0/0");
    g.dns[1].servers = vec!["10.0.0.2".into()];
    assert_eq!(dns_servers(&d, &g), Ok(vec![ip("10.0.0.2")]));
    // cluster.yml's list wins.
    let mut set = desired();
    set.windows.dns_servers = Some(vec![ip("10.9.9.9")]);
    assert_eq!(dns_servers(&set, &f), Ok(vec![ip("10.9.9.9")]));
    let changes = diff(&set, &f);
    assert!(
        matches!(&changes[0], Change::RecreateNetwork { dns, why, .. } if *dns == [ip("10.9.9.9")] && why.ends_with("DNS 192.168.1.2, 192.168.1.3")),
        "{changes:?}"
    );
    // None anywhere: a blocker naming the fix, and no network in the plan.
    let mut none = facts(FRESH);
    none.dns.clear();
    let b = blockers(&d, &none);
    assert!(
        b.iter().any(
            |e| e.starts_with("no DNS servers to give the container network")
                && e.contains("\"Ethernet 2\" has none")
                && e.contains("network.windows_dns_servers")
        ),
        "{b:?}"
    );
    assert!(!diff(&d, &none).iter().any(|c| matches!(
        c,
        Change::CreateNetwork { .. } | Change::RecreateNetwork { .. }
    )));
    // Windows answering something else than IPv4 is refused, not passed on.
    let mut odd = facts(FRESH);
    odd.dns[0].servers = vec!["fec0:0:0:ffff::1".into()];
    let b = blockers(&d, &odd);
    assert!(
        b.iter().any(|e| e.contains(
            "\"Ethernet 2\" has the DNS server \"fec0:0:0:ffff::1\", which is not an IPv4 address"
        )),
        "{b:?}"
    );
    // The apply script passes them as the network's option, quoted.
    let script = apply_script(&d, &diff(&d, &facts(FRESH)));
    assert!(
        script.contains(" -o 'com.docker.network.windowsshim.dnsservers=10.0.0.2' "),
        "{script}"
    );
}

/// doctor says when the network gives its containers other DNS servers, or none.
#[test]
fn doctor_checks_the_networks_dns_servers() {
    let d = desired();
    let mut f = facts(CONVERGED);
    let dns = |f: &WindowsFacts| {
        checks(&d, f)
            .into_iter()
            .find(|c| c.name == "container DNS")
            .unwrap()
    };
    assert_eq!(dns(&f).status, Status::Pass);
    f.networks[0]["Options"]
        .as_object_mut()
        .unwrap()
        .remove("com.docker.network.windowsshim.dnsservers");
    let c = dns(&f);
    assert_eq!(
        (c.status, c.detail.as_str(), c.fix.as_str()),
        (
            Status::Fail,
            "rwin gives containers no DNS server, should be 192.168.1.2, 192.168.1.3",
            "rwin up (recreates it)"
        )
    );
}
