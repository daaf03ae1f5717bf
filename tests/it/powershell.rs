//! The PowerShell rwin generates for Windows nodes, for a reference mixed cluster (one Linux
//! node, two Windows nodes): host setup, teardown, port mappings, services, containers (the
//! docker CLI scripts of src/docker/cli.rs) and doctor's probe (src/docker/cli/probe.rs). Every
//! script parses with tree-sitter-powershell without an error, uses only the cmdlets,
//! parameters and native commands of tests/powershell/cmdlets.tsv (the contract winsim
//! enforces; tests/it/powershell_docs.rs checks the table against the docs), and is snapshotted.

use std::collections::BTreeMap;

use rwin::config::WindowsDriver;
use rwin::os::windows::{
    apply_script, diff, facts_script, mapping_script, parse_facts, port_mapping_change,
    reboot_script, remote_path, teardown_script, Change, NatPortMapping, Published, Teardown,
    TurnedOn,
};
use rwin::os::{DesiredHost, WindowsDesired};

fn node(name: &str, n: u8, windows: WindowsDesired) -> DesiredHost {
    let subnets = ["10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24"];
    let names = ["lin1", "win1", "win2"];
    let routes = (0..3u8)
        .filter(|i| *i != n)
        .map(|i| {
            let dest = subnets[usize::from(i)].parse().expect("a subnet");
            (
                dest,
                format!("10.0.0.{}", 10 + i).parse().expect("an address"),
                names[usize::from(i)].to_string(),
            )
        })
        .collect();
    DesiredHost {
        cluster: "demo".into(),
        subnet: subnets[usize::from(n)].parse().expect("a subnet"),
        gateway: format!("10.42.{n}.1").parse().expect("an address"),
        cluster_cidr: "10.42.0.0/16".parse().expect("a range"),
        outbound_nat: true,
        routes,
        node: name.into(),
        internal_address: format!("10.0.0.{}", 10 + n).parse().expect("an address"),
        node_addresses: (10..13)
            .map(|i| format!("10.0.0.{i}").parse().expect("an address"))
            .collect(),
        plain_bridge: false,
        allow_reboot: false,
        published: Vec::new(),
        windows,
    }
}

/// win1: transparent, route interface detected. win2: l2bridge on a named NIC, with
/// metadata and DNS routes.
fn cluster() -> (DesiredHost, DesiredHost) {
    let win1 = node("win1", 1, WindowsDesired::default());
    let mut win2 = node(
        "win2",
        2,
        WindowsDesired {
            route_interface: Some("Ethernet 2".into()),
            container_interface: None,
            driver: WindowsDriver::L2bridge,
            metadata_address: Some("169.254.169.250".parse().expect("an address")),
            dns_address: Some("169.254.169.251".parse().expect("an address")),
            dns_servers: None,
        },
    );
    win2.published = vec![published("tcp", 8080, 80), published("udp", 5353, 53)];
    (win1, win2)
}

/// A port of win2's `web` component.
fn published(proto: &str, host_port: u16, container_port: u16) -> Published {
    Published {
        component: "web".into(),
        container: "rwin-web".into(),
        proto: proto.into(),
        host_port,
        container_port,
    }
}

/// A mapping as the NAT dump shows it.
fn mapping(proto: &str, public_port: u16, private_ip: &str, private_port: u16) -> NatPortMapping {
    NatPortMapping {
        interface: "Ethernet 2".into(),
        proto: proto.into(),
        public_ip: "0.0.0.0".into(),
        public_port,
        private_ip: private_ip.into(),
        private_port,
    }
}

/// A fresh host: Docker and one NIC holding the node's address, nothing else.
fn fresh_facts(d: &DesiredHost) -> String {
    format!(
        r#"{{"build":"20348","ubr":2849,"edition":"ServerStandard","features":[{{"name":"RemoteAccess","install_state":"Available"}},{{"name":"Routing","install_state":"Available"}}],"services":[{{"name":"docker","status":"Running","start_type":"Automatic"}}],"ip_enable_router":0,"adapters":[{{"name":"Ethernet 2","if_index":6,"mac":"00-15-5D-01-02-03","description":"NIC","status":"Up"}}],"addresses":[{{"if_index":6,"ip":"{}","prefix_length":24}}],"interfaces":[{{"if_index":6,"alias":"Ethernet 2","forwarding":"Disabled"}}],"routes":[],"dns":[{{"if_index":6,"servers":["10.0.0.2"]}}],"devcon":true,"docker_version":"{{\"Server\":{{\"Version\":\"24.0.7\"}}}}"}}"#,
        d.internal_address
    )
}

/// Every kind of change, in apply order, so the apply snapshot shows every step rwin can
/// take: a fresh host's changes with the "replace" forms swapped in where a drifted host
/// would have them.
fn every_change(d: &DesiredHost) -> Vec<Change> {
    let facts = parse_facts(&fresh_facts(d)).expect("the fresh facts parse");
    let mut changes = Vec::new();
    for c in diff(d, &facts) {
        match c {
            Change::AddFirewallRule { name, remote } => changes.push(Change::ReplaceFirewallRule {
                name,
                remote,
                why: "admitted Any".into(),
            }),
            Change::CreateNetwork {
                driver,
                subnet,
                gateway,
                interface,
                dns,
            } => changes.push(Change::RecreateNetwork {
                driver,
                subnet,
                gateway,
                interface,
                dns,
                why: "nat, 172.20.0.0/16, gateway 172.20.0.1, on none, DNS none".into(),
            }),
            Change::AddGatewayAddress { .. } => {
                changes.push(Change::RemoveAddress {
                    ip: "10.42.9.1".parse().expect("an address"),
                });
                changes.push(c);
            }
            Change::AddRoute { dest, via, node } if dest == d.routes[0].0 => {
                changes.push(Change::ReplaceRoute {
                    dest,
                    via,
                    node,
                    was: "via 10.0.0.99 on interface 6".into(),
                })
            }
            Change::AddHostRoute { .. }
                if !changes
                    .iter()
                    .any(|c| matches!(c, Change::DeleteRoute { .. })) =>
            {
                changes.push(Change::DeleteRoute {
                    dest: "10.42.9.0/24".parse().expect("a subnet"),
                    via: "10.0.0.19".parse().expect("an address"),
                });
                changes.push(c);
            }
            Change::AddNatInterface { private: false, .. } => {
                changes.push(c);
                changes.push(Change::DeletePortMapping {
                    mapping: mapping("tcp", 9090, "10.42.2.7", 90),
                });
            }
            c => changes.push(c),
        }
    }
    changes
}

fn teardown(d: &DesiredHost) -> Teardown {
    Teardown {
        cluster: d.cluster.clone(),
        gateway: Some("10.42.1.1/24".parse().expect("a gateway")),
        routes: d
            .routes
            .iter()
            .map(|(dest, via, _)| (*dest, *via))
            .collect(),
        host_routes: vec!["169.254.169.250".parse().expect("an address")],
        nat_interfaces: vec!["Ethernet 2".into(), "vEthernet (Ethernet 2)".into()],
        turned_on: TurnedOn::from_changes(&every_change(d)),
        port_mappings: vec![mapping("tcp", 8080, "10.42.1.5", 80)],
        ..Default::default()
    }
}

fn scripts() -> Vec<(&'static str, String)> {
    let (win1, win2) = cluster();
    vec![
        ("facts_win1", facts_script(&win1)),
        (
            "apply_win1_fresh",
            apply_script(
                &win1,
                &diff(&win1, &parse_facts(&fresh_facts(&win1)).expect("facts")),
            ),
        ),
        (
            "apply_win2_every_change",
            apply_script(&win2, &every_change(&win2)),
        ),
        ("teardown_win1", teardown_script(&teardown(&win1))),
        ("map_ports_win2", map_ports(&win2)),
        ("reboot", reboot_script()),
    ]
    .into_iter()
    .chain(service_scripts())
    .chain(container_scripts())
    .chain(probe_scripts())
    .collect()
}

/// win2's `web` ports once its container is replaced: the old tcp mapping goes first.
fn map_ports(d: &DesiredHost) -> String {
    let mut facts = parse_facts(&fresh_facts(d)).expect("facts");
    facts.nat_dump = Some("add interface name=\"Ethernet 2\" mode=FULL\r\nadd portmapping name=\"Ethernet 2\" proto=TCP publicip=0.0.0.0 publicport=8080 privateip=10.42.2.4 privateport=80\r\n".into());
    let c = port_mapping_change(d, &facts, "Ethernet 2", &d.published, true, None)
        .expect("a replaced container's ports are mapped again");
    assert_eq!(c.stale, vec![mapping("tcp", 8080, "10.42.2.4", 80)]);
    mapping_script(&c)
}

/// cmdlets.tsv: name → allowed parameters (cmdlets) or allowed words and flags (natives).
fn table() -> BTreeMap<String, Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/powershell/cmdlets.tsv");
    let text = std::fs::read_to_string(path).expect("tests/powershell/cmdlets.tsv is readable");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "cmdlets.tsv row needs 3 columns: {l}");
            assert!(
                cols[2].starts_with("https://"),
                "cmdlets.tsv row needs a docs page: {l}"
            );
            let params = cols[1]
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            (cols[0].to_string(), params)
        })
        .collect()
}

fn parse(script: &str) -> tree_sitter::Tree {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    parser
        .parse(script, None)
        .expect("tree-sitter returns a tree")
}

fn walk<'t>(node: tree_sitter::Node<'t>, out: &mut Vec<tree_sitter::Node<'t>>) {
    out.push(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, out);
    }
}

/// `'--flag='` (a native flag with an empty value, quoted) → `--flag`.
fn quoted_flag(word: &str) -> Option<&str> {
    let flag = word
        .strip_prefix('\'')?
        .strip_suffix('\'')?
        .strip_suffix('=')?;
    let name = flag.strip_prefix("--").or_else(|| flag.strip_prefix('-'))?;
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphabetic() || c == '-');
    ok.then_some(flag)
}

/// Every problem in one script: syntax errors and commands or parameters outside the table.
fn problems(script: &str, table: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let tree = parse(script);
    let mut nodes = Vec::new();
    walk(tree.root_node(), &mut nodes);
    let text = |n: tree_sitter::Node| n.utf8_text(script.as_bytes()).unwrap_or("").to_string();
    let at = |n: tree_sitter::Node| format!("line {}", n.start_position().row + 1);
    let mut bad = Vec::new();
    for n in &nodes {
        if n.is_error() || n.is_missing() {
            bad.push(format!("{}: syntax error at {:?}", at(*n), text(*n)));
        }
    }
    for cmd in nodes.iter().filter(|n| n.kind() == "command") {
        // `& (…)` calls a script block (the bootstrap's `& ([ScriptBlock]::Create($s))`): the
        // language's call operator, not a command; what is inside is checked on its own.
        let name_node = cmd.child_by_field_name("command_name");
        if name_node.is_some_and(|n| {
            n.kind() == "command_name_expr"
                && n.named_child(0)
                    .is_some_and(|e| e.kind() == "parenthesized_expression")
        }) {
            continue;
        }
        // `& 'C:\path\tool.exe'` runs a native command by its path: the row is the tool's name.
        let Some(name) = cmd.child_by_field_name("command_name").map(|n| {
            let t = text(n);
            match t.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
                Some(path) => path
                    .rsplit('\\')
                    .next()
                    .unwrap_or(path)
                    .trim_end_matches(".exe")
                    .to_string(),
                None => t,
            }
        }) else {
            bad.push(format!("{}: a command without a plain name", at(*cmd)));
            continue;
        };
        let Some(allowed) = table.get(&name) else {
            bad.push(format!("{}: {name} is not in cmdlets.tsv", at(*cmd)));
            continue;
        };
        let native = !name.contains('-');
        let mut args = Vec::new();
        if let Some(elements) = cmd.child_by_field_name("command_elements") {
            let mut cursor = elements.walk();
            args = elements
                .children(&mut cursor)
                .filter(|a| a.kind() != "command_argument_sep")
                .collect();
        }
        // Whose words these are: the command's, until `docker exec CONTAINER CMD` names a
        // command to run in the container (the probe's ping): CMD's words are then CMD's.
        let exec = name == "docker" && args.first().map(|a| text(*a)).as_deref() == Some("exec");
        let (mut owner, mut allowed) = (name.clone(), allowed);
        for (i, arg) in args.iter().enumerate() {
            let word = text(*arg);
            if exec && i == 2 && arg.kind() == "generic_token" {
                match table.get(&word) {
                    Some(row) => (owner, allowed) = (word, row),
                    None => bad.push(format!(
                        "{}: docker exec runs {word}, which is not in cmdlets.tsv",
                        at(*arg)
                    )),
                }
                continue;
            }
            let checked = match arg.kind() {
                "command_parameter" | "generic_token" if native => word.clone(),
                "command_parameter" => word
                    .trim_start_matches('-')
                    .trim_end_matches(':')
                    .to_string(),
                // A flag given an empty value in its `--flag=` form must be quoted (5.1 drops
                // empty arguments), but it is still a flag: `'--entrypoint='` is --entrypoint.
                _ if native && quoted_flag(&word).is_some() => {
                    quoted_flag(&word).unwrap_or_default().to_string()
                }
                _ => continue,
            };
            let ok = if native {
                // Native words: flags (`-x`, `--x`, Windows' `/x`) and plain words must be
                // listed; addresses, numbers, and quoted or variable arguments are data.
                let plain = !checked.trim_start_matches(['-', '/']).is_empty()
                    && checked
                        .trim_start_matches('/')
                        .chars()
                        .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '=');
                !plain || allowed.contains(&checked)
            } else {
                allowed.contains(&checked)
            };
            if !ok {
                bad.push(format!(
                    "{}: {owner} {word} is not in cmdlets.tsv",
                    at(*arg)
                ));
            }
        }
    }
    bad
}

/// The bootstrap every script runs under is PowerShell too, in every command line rwin sends.
#[test]
fn the_bootstrap_uses_only_the_contract() {
    let bad = problems(rwin::powershell::BOOTSTRAP, &table());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn every_script_parses_and_uses_only_the_contract() {
    let table = table();
    for (name, script) in scripts() {
        assert!(!script.trim().is_empty(), "{name} is empty");
        let bad = problems(&script, &table);
        assert!(bad.is_empty(), "{name}:\n{}\n\n{script}", bad.join("\n"));
    }
}

#[test]
fn the_checker_catches_what_the_contract_forbids() {
    let table = table();
    let bad = problems("Stop-Computer -Force\nGet-NetRoute -InterfaceAlias 'Ethernet'\ndocker system prune\ndocker exec 'c' sleep 120\ndocker exec 'c' ping -c 1 -W 2 '10.0.0.1'\ndocker run -d '--rm=' 'img'\nping /x 10.0.0.1\nif ($x { }\n", &table);
    for expected in [
        "docker exec runs sleep, which is not in cmdlets.tsv",
        "ping -c is not in cmdlets.tsv",
        "ping -W is not in cmdlets.tsv",
        "docker '--rm=' is not in cmdlets.tsv",
        "ping /x is not in cmdlets.tsv",
    ] {
        assert!(
            bad.iter().any(|b| b.contains(expected)),
            "{expected}: {bad:?}"
        );
    }
    assert!(
        bad.iter()
            .any(|b| b.contains("Stop-Computer is not in cmdlets.tsv")),
        "{bad:?}"
    );
    assert!(
        bad.iter()
            .any(|b| b.contains("Get-NetRoute -InterfaceAlias")),
        "{bad:?}"
    );
    assert!(bad.iter().any(|b| b.contains("docker system")), "{bad:?}");
    assert!(bad.iter().any(|b| b.contains("syntax error")), "{bad:?}");
}

/// Windows PowerShell goes on after a statement-terminating error (a cmdlet the host does not
/// have, a parameter that does not bind) whatever `-ErrorAction` says, and powershell.exe then
/// exits 0 (about_Error_Handling; tests/winsim/BEHAVIOURS.md). So every script stops at the
/// first error with `$ErrorActionPreference = 'Stop'` before its first command. Not the
/// teardown, which runs every step and reports each as removed= or left= (its phase reads
/// those lines), nor the reboot and service-facts scripts, whose generators are another
/// change's (src/os/windows/{reboot,service}.rs).
#[test]
fn every_script_stops_at_the_first_error() {
    let exempt = [
        "teardown_win1",
        "teardown_services",
        "reboot",
        "service_facts_agent",
    ];
    for (name, script) in scripts() {
        if exempt.contains(&name) {
            continue;
        }
        let first = script
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'));
        assert_eq!(
            first,
            Some("$ErrorActionPreference = 'Stop'"),
            "{name} does not start with $ErrorActionPreference = 'Stop':\n{script}"
        );
    }
}

#[test]
fn scripts_snapshot() {
    for (name, script) in scripts() {
        insta::assert_snapshot!(name, script);
    }
}

/// The reference cluster's service components on win1: `network` (a per-host-subnet style
/// service with a configuration file) and `agent`, which depends on it.
fn service_specs() -> (
    rwin::os::windows::ServiceSpec,
    rwin::os::windows::ServiceSpec,
) {
    use rwin::config::{Service, ServiceFile};
    use rwin::os::windows::ServiceSpec;
    let file = |name: &str, hash: &str| ServiceFile {
        local: format!("/srv/rwin/{name}").into(),
        name: name.into(),
        sha256: hash.repeat(64),
        size: 3,
    };
    let network = ServiceSpec::new(
        "network",
        &Service {
            binary: file("per-host-subnet.exe", "a"),
            files: vec![file("network.conf", "b")],
            args: Vec::new(),
            depends_on: Vec::new(),
        },
        vec!["--subnet".into(), "10.42.1.0/24".into()],
    );
    let agent = ServiceSpec::new(
        "agent",
        &Service {
            binary: file("agent.exe", "c"),
            files: Vec::new(),
            args: Vec::new(),
            depends_on: vec!["network".into()],
        },
        vec![
            "--log".into(),
            r"C:\ProgramData\rwin\agent\agent.log".into(),
            "it's quoted".into(),
        ],
    );
    (network, agent)
}

/// Service components: the facts script, a first deploy (upload, create, start), a changed
/// binary and command line on a running service (stop, upload, reconfigure, start), and the
/// teardown of both services (agent first).
fn service_scripts() -> Vec<(&'static str, String)> {
    use rwin::os::windows::{
        service_apply_script, service_facts_script, service_work, ServiceFacts, ServiceRecord,
    };
    let (network, agent) = service_specs();
    let fresh = service_work(&agent, &ServiceFacts::default());
    let changed = service_work(
        &agent,
        &ServiceFacts {
            files: Vec::new(),
            status: Some("Running".into()),
            config: Some("BINARY_PATH_NAME   : \"C:\\old.exe\"\r\n".into()),
        },
    );
    let bytes = |n: usize| vec![b"abc".to_vec(); n];
    let record = |s: &rwin::os::windows::ServiceSpec| ServiceRecord {
        name: s.name.clone(),
        depends_on: s.depends_on.clone(),
        files: s.all_files().map(|f| remote_path(s, f)).collect(),
    };
    vec![
        ("service_facts_agent", service_facts_script(&agent)),
        (
            "service_apply_agent_fresh",
            service_apply_script(&agent, &fresh, &bytes(fresh.upload.len())).expect("script"),
        ),
        (
            "service_apply_agent_changed",
            service_apply_script(&agent, &changed, &bytes(changed.upload.len())).expect("script"),
        ),
        (
            "teardown_services",
            teardown_script(&Teardown {
                cluster: "demo".into(),
                services: vec![record(&network), record(&agent)],
                ..Default::default()
            }),
        ),
    ]
}

/// win1's `web` container, with every setting the docker CLI scripts turn into a flag: labels,
/// restart policy, pod network, privileged, environment, binds, ports, an entrypoint of two
/// words and a command.
fn web_spec() -> rwin::docker::spec::ContainerSpec {
    use rwin::config::{NetworkMode, PortMapping};
    use std::collections::BTreeMap;
    rwin::docker::spec::ContainerSpec {
        name: "rwin-web".into(),
        component: "web".into(),
        node: "win1".into(),
        image: "reg.example:5000/web:ltsc2022".into(),
        entrypoint: Some(vec![r"C:\web\run.exe".into(), "--serve".into()]),
        command: vec!["--port".into(), "80".into()],
        env: BTreeMap::from([
            ("SITE_NAME".into(), "Default Web Site".into()),
            ("NODE".into(), "win1".into()),
        ]),
        binds: vec![r"C:\ProgramData\rwin\web:C:\data".into()],
        ports: vec![PortMapping {
            host: 8080,
            container: 80,
            protocol: "tcp".into(),
        }],
        network: NetworkMode::Pod,
        privileged: true,
        restart: "always".into(),
        labels: BTreeMap::from([
            ("io.rwin.cluster".into(), "demo".into()),
            ("io.rwin.component".into(), "web".into()),
        ]),
        hash: "3f2a9c0d1b7e4a55".into(),
    }
}

fn health(check: rwin::config::HealthCheck) -> rwin::config::Health {
    rwin::config::Health {
        check,
        timeout: std::time::Duration::from_secs(10),
        interval: std::time::Duration::from_secs(2),
    }
}

/// The container scripts of src/docker/cli.rs: the image pull (behind a registry login, and
/// from Docker Hub without one), a first deploy (the environment through an env file, Hyper-V
/// isolation, an http health check on the container's address), a replacement on the host
/// network with the image's entrypoint cleared and a tcp check on the node's address, a start
/// with an exec check, the removal, the inspection, the image list and the version query.
fn container_scripts() -> Vec<(&'static str, String)> {
    use rwin::config::{HealthCheck, NetworkMode, Registry};
    use rwin::docker::cli::{
        ensure_script, images_script, inspect_script, pull_script, remove_script, version_script,
        Isolation, CONTAINER_IP,
    };
    use rwin::docker::ensure::ContainerChange;
    let registry = Registry {
        url: "reg.example:5000".into(),
        user: Some("deploy".into()),
        password: Some(rwin::secret::Secret::new("s3cr'et")),
        is_default: true,
    };
    let web = web_spec();
    let replaced = rwin::docker::spec::ContainerSpec {
        entrypoint: Some(Vec::new()),
        network: NetworkMode::Host,
        privileged: false,
        restart: "unless-stopped".into(),
        ports: Vec::new(),
        ..web.clone()
    };
    let ensure = |spec, change, check, isolation| {
        ensure_script(spec, &change, Some(&health(check)), isolation)
            .expect("an ensure script")
            .text()
            .to_string()
    };
    let pull = |image: &str, registries: &[Registry]| {
        pull_script(image, registries)
            .expect("a pull script")
            .text()
            .to_string()
    };
    vec![
        (
            "container_pull_login",
            pull(&web.image, std::slice::from_ref(&registry)),
        ),
        (
            "container_pull",
            pull("mcr.microsoft.com/windows/nanoserver:ltsc2022", &[]),
        ),
        (
            "container_ensure_create",
            ensure(
                &web,
                ContainerChange::Create,
                HealthCheck::Http(format!("http://{CONTAINER_IP}:80/healthz")),
                Isolation::HyperV,
            ),
        ),
        (
            "container_ensure_replace",
            ensure(
                &replaced,
                ContainerChange::Replace {
                    reason: "configuration changed".into(),
                },
                HealthCheck::Tcp("10.0.0.11:80".into()),
                Isolation::Default,
            ),
        ),
        (
            "container_ensure_start",
            ensure(
                &web,
                ContainerChange::Start,
                HealthCheck::Exec(vec!["cmd".into(), "/c".into(), "exit 0".into()]),
                Isolation::Default,
            ),
        ),
        (
            "container_remove",
            remove_script(&["rwin-web".into(), "0123456789ab".into()]).expect("a script"),
        ),
        (
            "container_inspect",
            inspect_script("demo").expect("a script"),
        ),
        ("container_images", images_script()),
        ("container_version", version_script()),
    ]
}

/// doctor --probe on a host without the Docker API: the probe container (started by an ensure
/// script running the probe's keep-alive command), its address, and the pings from it.
fn probe_scripts() -> Vec<(&'static str, String)> {
    use rwin::docker::cli::{ensure_script, probe, Isolation};
    use rwin::docker::ensure::ContainerChange;
    let spec = rwin::docker::spec::ContainerSpec {
        name: "rwin-probe".into(),
        component: "probe".into(),
        entrypoint: None,
        command: probe::KEEP_ALIVE.map(String::from).to_vec(),
        env: Default::default(),
        binds: Vec::new(),
        ports: Vec::new(),
        privileged: false,
        restart: "no".into(),
        labels: [("io.rwin.cluster", "demo"), ("io.rwin.component", "probe")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        ..web_spec()
    };
    let start = ensure_script(&spec, &ContainerChange::Create, None, Isolation::Default)
        .expect("the probe's ensure script");
    vec![
        ("probe_start", start.text().to_string()),
        ("probe_address", probe::address_script("rwin-probe")),
        (
            "probe_ping",
            probe::ping_script("rwin-probe", &["10.42.0.2".into(), "10.42.2.2".into()]),
        ),
    ]
}

/// The probe container's command is rwin's, not the user's: what it runs must be a command
/// Windows images have, used as documented (it reaches the script quoted, as data).
#[test]
fn the_probe_container_runs_a_documented_windows_command() {
    let line = rwin::docker::cli::probe::KEEP_ALIVE.join(" ");
    let bad = problems(&line, &table());
    assert!(bad.is_empty(), "{line}: {bad:?}");
}
